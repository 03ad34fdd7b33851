"""Unit tests of the small modules: partition, exact builder, writer, storage."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ndjson_parquet.converter import storage
from ndjson_parquet.converter.field_markers import WIDE_INT_KEY, is_json_text
from ndjson_parquet.converter.partition import (
    DEFAULT_PARTITION,
    partition_values,
    split_by_partition,
)
from ndjson_parquet.converter.pybuild import LineError, build_exact, parse_line
from ndjson_parquet.converter.writer import PartWriter, WriterSettings


def test_partition_values_from_text_dates_and_timestamps() -> None:
    table = pa.table(
        {
            "s": ["2024-01-02T03:04:05Z", "2024-1-2", None, "2024-12-31"],
            "t": pa.array([0, None, 86_400_000_000, 1], pa.timestamp("us", tz="UTC")),
        }
    )
    assert partition_values(table, "s").to_pylist() == [
        "2024-01-02",
        DEFAULT_PARTITION,
        DEFAULT_PARTITION,
        "2024-12-31",
    ]
    assert partition_values(table, "t").to_pylist()[:3] == [
        "1970-01-01",
        DEFAULT_PARTITION,
        "1970-01-02",
    ]
    assert partition_values(table, "missing").to_pylist() == [DEFAULT_PARTITION] * 4
    parts = dict(split_by_partition(table, "s"))
    assert {k: v.num_rows for k, v in parts.items()} == {
        "2024-01-02": 1,
        "2024-12-31": 1,
        DEFAULT_PARTITION: 2,
    }


def test_parse_line_is_exact_and_strict() -> None:
    value = parse_line(b'{"big":123456789012345678901,"f":1e400,"n":1.5}')
    assert str(value["big"]) == "123456789012345678901"
    assert str(value["f"]) == "1e400"
    assert value["n"] == 1.5
    for bad, reason in [
        (b'{"a":NaN}', "not valid JSON"),
        (b'{"a":1,"a":1}', "duplicate key"),
        (b"[]", "array"),
        (b'{"a":"\xc3"}', "UTF-8"),
    ]:
        with pytest.raises(LineError, match=reason):
            parse_line(bad)


def test_build_exact_unifies_rows_and_marks_wide_integers() -> None:
    built = build_exact(
        [(1, b'{"a":1,"w":9007199254740993}'), (2, b'{"a":"x","l":[1,2.5]}'), (3, b"nope")],
        None,
        "src",
    )
    assert built.lines == [1, 2]
    assert [(n, err[:14]) for n, _, err in built.bad] == [(3, "not valid JSON")]
    assert built.schema is not None
    assert built.table is not None
    assert is_json_text(built.schema.field("a"))
    assert built.schema.field("w").metadata[WIDE_INT_KEY] == b"true"
    assert built.table.column("a").to_pylist() == ["1", '"x"']
    assert built.table.column("l").to_pylist() == [None, [1.0, 2.5]]
    assert [d.column for d in built.drift] == ["l[]", "a"]


def test_build_exact_checks_declared_types() -> None:
    declared = pa.schema([pa.field("n", pa.int32())])
    built = build_exact(
        [(1, b'{"n":5}'), (2, b'{"n":3000000000}'), (3, b'{"n":"5"}')], declared, "s"
    )
    assert built.lines == [1]
    assert [n for n, _, _ in built.bad] == [2, 3]
    assert built.table is not None
    assert built.table.column("n").type == pa.int32()


def test_writer_rolls_files_at_the_target_size_and_on_schema_change(tmp_path: Path) -> None:
    writer = PartWriter(
        tmp_path, WriterSettings("zstd", target_file_bytes=1, row_group_bytes=1, row_group_rows=10)
    )
    a = pa.schema([pa.field("i", pa.int64())])
    b = pa.schema([pa.field("i", pa.int64()), pa.field("s", pa.string())])
    for i in range(3):
        writer.put(pa.table({"i": [i]}, schema=a), a, None)
    writer.put(pa.table({"i": [9], "s": ["x"]}, schema=b), b, "p")
    parts = writer.close()
    assert [p.rows for p in parts] == [1, 1, 1, 1]
    assert [p.partition for p in parts] == [None, None, None, "p"]
    assert pq.read_table(parts[-1].path).to_pylist() == [{"i": 9, "s": "x"}]


def test_writer_carries_rows_of_a_part_closed_by_a_schema_change(tmp_path: Path) -> None:
    writer = PartWriter(tmp_path, WriterSettings("zstd", 1 << 30, 1 << 30, 1000))
    a = pa.schema([pa.field("i", pa.int64())])
    b = pa.schema([pa.field("i", pa.float64()), pa.field("s", pa.string())])
    writer.put(pa.table({"i": [1, 2]}, schema=a), a, None)
    writer.put(pa.table({"i": [2.5], "s": ["x"]}, schema=b), b, None)
    parts = writer.close()
    assert len(parts) == 1
    assert parts[0].schema.equals(b)
    assert parts[0].rows == 3
    assert pq.read_table(parts[0].path).to_pylist() == [
        {"i": 1.0, "s": None},
        {"i": 2.0, "s": None},
        {"i": 2.5, "s": "x"},
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == [parts[0].path.name]


def test_writer_copies_rows_at_most_about_once_when_the_schema_keeps_changing(
    tmp_path: Path,
) -> None:
    writer = PartWriter(tmp_path, WriterSettings("zstd", 1 << 30, 1 << 30, 1000))
    expected = []
    for n in range(12):
        schema = pa.schema([pa.field(f"c{k}", pa.int64()) for k in range(n + 1)])
        columns = [pa.array([n if k == n else None], pa.int64()) for k in range(n + 1)]
        writer.put(pa.Table.from_arrays(columns, schema=schema), schema, None)
        expected.append(n)
    parts = writer.close()
    # A part is carried only while the copied rows stay below the rows received: with a
    # change on every table, most parts are left to the rewrite at the end.
    assert 1 < len(parts) < 12
    assert sum(p.rows for p in parts) == 12
    values = []
    for p in parts:
        for row in pq.read_table(p.path).to_pylist():
            values.append(next(v for v in row.values() if v is not None))
    assert values == expected


def test_writer_reports_a_failure_to_the_producer(tmp_path: Path) -> None:
    writer = PartWriter(tmp_path / "missing-folder", WriterSettings("zstd", 1, 1, 10))
    schema = pa.schema([pa.field("i", pa.int64())])
    writer.put(pa.table({"i": [1]}, schema=schema), schema, None)
    with pytest.raises(Exception, match="writing Parquet failed"):
        writer.close()


def test_writer_reports_a_failure_while_closing_instead_of_hanging(tmp_path: Path) -> None:
    import threading

    writer = PartWriter(tmp_path, WriterSettings("zstd", 1 << 30, 1 << 30, 1000))
    schema = pa.schema([pa.field("i", pa.int64())])
    # Buffered until close, where it cannot be cast to the part's schema.
    writer.put(pa.table({"j": ["x"]}), schema, None)
    errors: list[BaseException] = []

    def close() -> None:
        try:
            writer.close()
        except BaseException as exc:
            errors.append(exc)

    closing = threading.Thread(target=close, daemon=True)
    closing.start()
    closing.join(timeout=60)
    assert not closing.is_alive()
    assert len(errors) == 1
    assert "writing Parquet failed" in str(errors[0])


def test_local_storage_put_list_delete(tmp_path: Path) -> None:
    target = storage.join(str(tmp_path), "a", "b.json")
    storage.put_bytes(json.dumps({"x": 1}).encode(), target)
    assert json.loads(storage.read_bytes(target)) == {"x": 1}
    assert storage.list_files(str(tmp_path)) == [target]
    assert storage.list_files(str(tmp_path), recursive=False) == []
    storage.delete([target, target + ".missing"])
    assert storage.list_files(str(tmp_path)) == []
    assert storage.join("s3://bkt/out/", "dt=1", "x.parquet") == "s3://bkt/out/dt=1/x.parquet"


def test_once_drained_the_writer_writes_each_table_as_it_arrives(tmp_path: Path) -> None:
    schema = pa.schema([pa.field("i", pa.int64())])
    row_groups = []
    for drain in (False, True):
        folder = tmp_path / str(drain)
        folder.mkdir()
        writer = PartWriter(folder, WriterSettings("zstd", 1 << 30, 1 << 30, 1000))
        for i in range(3):
            writer.put(pa.table({"i": [i]}, schema=schema), schema, None)
        if drain:
            writer.drain()  # what is buffered is written now, and each later table on its own
        for i in range(3, 5):
            writer.put(pa.table({"i": [i]}, schema=schema), schema, None)
        (part,) = writer.close()
        reader = pq.ParquetFile(part.path)
        row_groups.append(
            [reader.metadata.row_group(g).num_rows for g in range(reader.num_row_groups)]
        )
        assert reader.read().column("i").to_pylist() == [0, 1, 2, 3, 4]
    assert row_groups == [[5], [3, 1, 1]]
