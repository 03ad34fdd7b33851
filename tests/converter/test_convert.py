"""`convert` end to end on local files."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ndjson_parquet.common import Manifest, ManifestFile
from ndjson_parquet.converter import (
    ConversionError,
    ConvertOptions,
    MaxErrorRateExceeded,
    Summary,
    convert,
    is_json_text,
    summary_location,
)

Run = Callable[..., tuple[Summary, list[dict[str, Any]]]]


def read_rows(summary: Summary) -> list[dict[str, Any]]:
    return pa.concat_tables([pq.read_table(f) for f in summary.output_files]).to_pylist()


def _files(root: Path, pattern: str = "*.parquet") -> list[Path]:
    return sorted(root.rglob(pattern))


def test_messy_input_counts_add_up_and_bad_lines_are_quarantined(run: Run) -> None:
    summary, rows = run(
        b'\xef\xbb\xbf{"a":1}\r\n\r\n{"a":2}\r\nnope\r\n[1]\r\n{"a":3}',
        b"",
        b"\n\n",
        b'{"a":"\xfe"}\n{"a":4}\n',
    )
    assert sorted(r["a"] for r in rows) == [1, 2, 3, 4]
    assert (summary.lines_read, summary.blank_lines, summary.lines_quarantined) == (10, 3, 3)
    assert summary.rows_written == 4
    assert summary.counts_add_up
    records = [json.loads(x) for x in Path(summary.quarantine_files[0]).read_text().splitlines()]
    assert [(Path(r["source"]).name, r["line"], r["raw"]) for r in records][:2] == [
        ("part0.ndjson", 4, "nope"),
        ("part0.ndjson", 5, "[1]"),
    ]
    assert records[2]["line"] == 1
    assert "UTF-8" in records[2]["error"]
    assert "raw_base64" in records[2]


def test_a_key_first_seen_late_is_kept(run: Run) -> None:
    body = (
        b"".join(b'{"id":%d,"v":"x"}\n' % i for i in range(5000))
        + b'{"id":5000,"late":{"k":[1.5]}}\n'
    )
    summary, rows = run(body, chunk_bytes=4096)
    assert summary.rows_written == 5001
    assert [r["late"] for r in rows if r["id"] == 5000] == [{"k": [1.5]}]
    assert {f["name"] for f in summary.schema["fields"]} == {"id", "v", "late"}


def test_drift_across_files_is_resolved_and_reported(run: Run) -> None:
    summary, rows = run(b'{"a":1,"b":1}\n', b'{"a":2.5,"b":true}\n', b'{"a":3}\n')
    by_a = sorted(rows, key=lambda r: r["a"])
    assert [r["a"] for r in by_a] == [1.0, 2.5, 3.0]
    assert {json.loads(r["b"]) for r in rows if r["b"] is not None} == {1}
    drift = {(d["column"], d["to_type"]) for d in summary.drift}
    assert ("a", "double") in drift
    assert ("b", "json") in drift
    b_entry = next(d for d in summary.drift if d["column"] == "b")
    assert Path(b_entry["file"]).name == "part1.ndjson"
    assert b_entry["line"] == 1


def test_every_output_file_has_the_final_schema(run: Run, tmp_path: Path) -> None:
    first = b"".join(b'{"a":%d}\n' % i for i in range(300))
    second = b"".join(b'{"a":"s%d","n":null}\n' % i for i in range(300))
    summary, rows = run(first, second, chunk_bytes=512, row_group_rows=50, target_file_bytes=1)
    assert len(summary.output_files) > 2
    schemas = {pq.read_schema(f).to_string() for f in summary.output_files}
    assert len(schemas) == 1
    assert len(rows) == 600
    assert {r["a"] for r in rows} >= {"0", '"s0"'}


def test_exact_numbers_are_kept_as_text_and_counted(run: Run) -> None:
    summary, rows = run(b'{"a":1,"b":12345678901234567890123}\n{"a":1e400,"b":2}\n')
    assert sorted(r["b"] for r in rows) == ["12345678901234567890123", "2"]
    assert sorted(r["a"] for r in rows) == ["1", "1e400"]
    assert summary.exact_values == 2


def test_wide_integers_meeting_floats_are_not_rounded(run: Run) -> None:
    summary, rows = run(b'{"a":9007199254740993}\n', b'{"a":0.25}\n')
    assert sorted(json.loads(r["a"]) for r in rows) == [0.25, 9007199254740993]
    assert any("2^53" in d["resolution"] for d in summary.drift)


def test_replay_overwrites_its_own_files_and_removes_stale_parts(tmp_path: Path) -> None:
    src = tmp_path / "in.ndjson"
    src.write_bytes(b"".join(b'{"i":%d}\n' % i for i in range(1000)))
    out = tmp_path / "out"
    many = ConvertOptions(run_id="r1", chunk_bytes=1000, row_group_rows=100, target_file_bytes=1)
    first = convert([src], out, many)
    assert len(first.output_files) > 3
    again = convert([src], out, ConvertOptions(run_id="r1"))
    assert len(again.output_files) == 1
    assert _files(out) == [Path(again.output_files[0])]
    rows = pa.concat_tables([pq.read_table(p) for p in _files(out)]).column("i").to_pylist()
    assert sorted(rows) == list(range(1000))


def test_default_run_id_depends_on_content(tmp_path: Path) -> None:
    src = tmp_path / "in.ndjson"
    src.write_bytes(b'{"i":1}\n')
    a = convert([src], tmp_path / "o").run_id
    assert convert([src], tmp_path / "o").run_id == a
    src.write_bytes(b'{"i":2}\n')
    assert convert([src], tmp_path / "o").run_id != a


def test_max_error_rate_exceeded_commits_nothing(tmp_path: Path) -> None:
    src = tmp_path / "in.ndjson"
    src.write_bytes(b'{"i":1}\nbad\n{"i":2}\n\n')
    out = tmp_path / "out"
    with pytest.raises(MaxErrorRateExceeded, match="1 of 3 non-blank lines"):
        convert([src], out, ConvertOptions(max_error_rate=0.2))
    assert [p for p in out.rglob("*") if p.is_file()] == []
    ok = convert([src], out, ConvertOptions(max_error_rate=0.5))
    assert ok.lines_quarantined == 1


def test_summary_is_written_last_and_matches(tmp_path: Path) -> None:
    src = tmp_path / "in.ndjson"
    src.write_bytes(b'{"i":1}\n')
    summary = convert([src], tmp_path / "out", ConvertOptions(run_id="run-7"))
    written = json.loads(Path(summary_location(str(tmp_path / "out"), "run-7")).read_text())
    assert written["output_files"] == summary.output_files
    assert written["counts_add_up"] is True
    assert Path(summary.output_files[0]).name == "run-7-00000.parquet"
    assert summary.quarantine_files == []


def test_partition_by_writes_hive_folders(run: Run) -> None:
    summary, rows = run(
        b'{"ts":"2024-03-01T10:00:00Z","v":1}\n{"ts":"2024-03-02T00:00:00Z","v":2}\n{"ts":null,"v":3}\n',
        partition_by="ts",
    )
    folders = sorted(Path(f).parent.name for f in summary.output_files)
    assert folders == ["dt=2024-03-01", "dt=2024-03-02", "dt=__HIVE_DEFAULT_PARTITION__"]
    assert len(rows) == 3


def test_manifest_run_uses_its_id_date_folder_and_lineage(tmp_path: Path) -> None:
    src = tmp_path / "in.ndjson"
    src.write_bytes(b'{"i":1}\n\n{"i":2}\n')
    manifest = Manifest.build(
        "2024-03-01-x",
        "2024-03-01",
        [ManifestFile(bucket="bkt", key="k", size=1, etag="e")],
        created_at=datetime(2024, 3, 1, tzinfo=UTC),
    )
    # The manifest names S3 objects; swap in the local file to test naming and lineage.
    from ndjson_parquet.converter import engine

    original = engine.resolve_sources
    engine.resolve_sources = lambda _s: original([src])  # type: ignore[assignment]
    try:
        summary = convert(manifest, tmp_path / "out", ConvertOptions(lineage=True))
    finally:
        engine.resolve_sources = original
    assert summary.run_id == "2024-03-01-x"
    assert [Path(f).parent.name for f in summary.output_files] == ["dt=2024-03-01"]
    rows = read_rows(summary)
    assert [(r["_source_line"], r["_manifest_id"]) for r in rows] == [
        (1, "2024-03-01-x"),
        (3, "2024-03-01-x"),
    ]
    assert {r["_source_file"] for r in rows} == {str(src)}


def test_declared_schema_wins_and_misfits_are_quarantined(run: Run) -> None:
    declared = pa.schema(
        [
            pa.field("id", pa.int64()),
            pa.field("p", pa.string(), metadata={b"ndjson_parquet.encoding": b"json"}),
        ]
    )
    lines = [b'{"id":%d,"p":{"x":1},"extra":true}' % i for i in range(100)]
    lines[50] = b'{"id":"oops","p":[1]}'
    summary, rows = run(b"\n".join(lines) + b"\n", schema=declared)
    assert summary.lines_quarantined == 1
    record = json.loads(Path(summary.quarantine_files[0]).read_text())
    assert record["line"] == 51
    assert "id" in record["error"]
    out = pq.read_schema(summary.output_files[0])
    assert out.field("id").type == pa.int64()
    assert is_json_text(out.field("p"))
    assert out.field("extra").type == pa.bool_()
    assert {json.loads(r["p"])["x"] for r in rows} == {1}


def test_output_parquet_is_plain(run: Run) -> None:
    summary, _ = run(b'{"t":"2024-01-01T00:00:00Z","i":1,"f":0.5,"b":true,"l":[{"x":1}]}\n')
    meta = pq.ParquetFile(summary.output_files[0]).metadata
    column = meta.row_group(0).column(0)
    assert column.compression == "ZSTD"
    physical = {meta.schema.column(i).physical_type for i in range(meta.num_columns)}
    assert "INT96" not in physical
    assert all(
        not pa.types.is_unsigned_integer(f.type) for f in pq.read_schema(summary.output_files[0])
    )


@pytest.mark.parametrize("ext", ["gz", "zst"])
def test_compressed_inputs(tmp_path: Path, ext: str) -> None:
    body = b"".join(b'{"i":%d}\n' % i for i in range(100))
    src = tmp_path / f"in.ndjson.{ext}"
    if ext == "gz":
        src.write_bytes(gzip.compress(body))
    else:
        with pa.CompressedOutputStream(str(src), "zstd") as out:
            out.write(body)
    summary = convert([src], tmp_path / "out")
    assert sorted(r["i"] for r in read_rows(summary)) == list(range(100))
    assert summary.bytes_read == src.stat().st_size


def test_progress_is_reported(tmp_path: Path) -> None:
    src = tmp_path / "in.ndjson"
    src.write_bytes(b'{"i":1}\n' * 1000)
    seen = []
    convert([src], tmp_path / "out", ConvertOptions(chunk_bytes=1000), progress=seen.append)
    assert seen[-1].files_done == 1
    assert seen[-1].lines_read == 1000
    assert seen[-1].rows_written == 1000
    assert len(seen) > 5


def test_empty_objects_are_rows(run: Run) -> None:
    summary, rows = run(b'{}\n{"a":1}\n{}\n')
    assert summary.rows_written == 3
    assert sorted(rows, key=lambda r: r["a"] or 0) == [{"a": None}, {"a": None}, {"a": 1}]


def test_only_empty_objects_go_to_quarantine_without_lineage(run: Run) -> None:
    summary, rows = run(b"{}\n{ }\n")
    assert (summary.rows_written, summary.lines_quarantined) == (0, 2)
    assert summary.counts_add_up
    with_lineage, rows = run(b"{}\n", lineage=True)
    assert with_lineage.rows_written == 1
    assert rows[0]["_source_line"] == 1


def test_declared_timestamps_are_parsed(run: Run) -> None:
    declared = pa.schema([pa.field("ts", pa.timestamp("us", tz="UTC"))])
    summary, rows = run(b'{"ts":"2024-03-01T10:00:00Z"}\n{"ts":"yesterday"}\n', schema=declared)
    assert summary.lines_quarantined == 1
    assert rows[0]["ts"] == datetime(2024, 3, 1, 10, tzinfo=UTC)


def test_replay_with_partitions_removes_stale_parts_in_every_folder(tmp_path: Path) -> None:
    src = tmp_path / "in.ndjson"
    src.write_bytes(b"".join(b'{"d":"2024-01-0%d","i":%d}\n' % (1 + i % 3, i) for i in range(600)))
    out = tmp_path / "out"
    small = ConvertOptions(
        run_id="p", partition_by="d", chunk_bytes=500, row_group_rows=20, target_file_bytes=1
    )
    first = convert([src], out, small)
    again = convert([src], out, ConvertOptions(run_id="p", partition_by="d"))
    assert len(first.output_files) > len(again.output_files) == 3
    assert sorted(map(str, _files(out))) == sorted(again.output_files)
    assert sorted(r["i"] for r in read_rows(again)) == list(range(600))


def test_an_unreadable_source_fails_the_run_naming_it(tmp_path: Path) -> None:
    good = tmp_path / "good.ndjson"
    good.write_bytes(b'{"i":1}\n')
    broken = tmp_path / "broken.ndjson.gz"
    broken.write_bytes(b"this is not gzip")
    out = tmp_path / "out"
    with pytest.raises(ConversionError, match=r"cannot read .*broken\.ndjson\.gz"):
        convert([good, broken], out)
    assert [p for p in out.rglob("*") if p.is_file()] == []


def test_a_missing_source_is_a_conversion_error(tmp_path: Path) -> None:
    with pytest.raises(ConversionError, match=r"cannot read .*nothing-here"):
        convert([tmp_path / "nothing-here.ndjson"], tmp_path / "out")


def test_the_summary_counts_the_rows_of_each_parsing_route(tmp_path: Path) -> None:
    uniform = tmp_path / "1.ndjson"
    uniform.write_bytes(b"".join(b'{"a":%d}\n' % i for i in range(100)))
    mixed = tmp_path / "2.ndjson"
    mixed.write_bytes(
        b"".join(b'{"a":%s}\n' % (b'"s"' if i % 2 else b"%d" % i) for i in range(300))
        + b'{"a":1e400}\n'
    )
    summary = convert([uniform, mixed], tmp_path / "out")
    routes = summary.extra["routes"]
    lines = {r: routes[r]["lines"] for r in routes}
    assert lines["fast"] == 100  # the uniform file, read whole
    assert lines["regrouped"] >= 150  # the strings of the mixed file, at least
    assert lines["exact"] >= 1  # 1e400, at least
    assert sum(lines.values()) == summary.rows_written == 401
    assert all(r["cpu_seconds"] >= 0 for r in routes.values())


def test_a_misfit_names_the_column_path_the_value_kind_and_the_column_type(run: Run) -> None:
    """A declared schema (a table's, for instance) rejects a value with an error that says where
    it is and both types, so an operator knows what to widen before a replay."""
    declared = pa.schema(
        [pa.field("id", pa.int64()), pa.field("u", pa.struct([pa.field("a", pa.int64())]))]
    )
    lines = [
        b'{"id":1,"u":{"a":2}}',
        b'{"id":"x","u":{"a":1}}',
        b'{"id":3,"u":{"a":1.5}}',
        b'{"id":18446744073709551616,"u":{"a":1}}',
    ]
    summary, rows = run(b"\n".join(lines) + b"\n", schema=declared)
    assert [r["id"] for r in rows] == [1]
    records = [json.loads(x) for x in Path(summary.quarantine_files[0]).read_text().splitlines()]
    errors = {r["line"]: r["error"] for r in records}
    assert errors[2] == 'id: string "x" does not fit the column\'s type int64'
    assert errors[3] == "u.a: float 1.5 does not fit the column's type int64"
    assert errors[4].startswith("id: number beyond int64")
