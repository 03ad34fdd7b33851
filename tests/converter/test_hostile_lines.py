"""A line is the unit of failure: whatever one line holds, the run goes on and the counts add up.

Also the outputs that engines must accept: names, depth, exact JSON text, drift locations.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from ndjson_parquet.converter import ConvertOptions, column_name, convert, key_of
from ndjson_parquet.converter.nesting import MAX_COLUMN_DEPTH, MAX_LINE_DEPTH, type_depth
from ndjson_parquet.converter.workdir import PART_SUFFIX, WORK_FOLDER
from tests.converter.conftest import Run, assert_engines_agree, duckdb_rows


def _nested(depth: int, leaf: str = "1") -> str:
    return '{"k":' * depth + leaf + "}" * depth


def _quarantined(summary: Any) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for path in summary.quarantine_files:
        records.extend(json.loads(line) for line in Path(path).read_bytes().splitlines())
    return records


def test_a_line_nested_hundreds_deep_is_json_text_and_readable(run: Run) -> None:
    deep = _nested(200)
    summary, rows = run(f'{{"id": 1, "v": {deep}}}\n{{"id": 2, "v": {{"j": 2}}}}\n'.encode())
    assert (summary.rows_written, summary.lines_quarantined) == (2, 0)
    # Nothing deeper than the limit reaches the Parquet schema; pyarrow reads it back.
    table = pq.read_table(summary.output_files[0])
    value: Any = rows[0]["v"]
    for _ in range(MAX_COLUMN_DEPTH):
        value = value["k"]
    assert json.loads(value) == json.loads(_nested(200 - MAX_COLUMN_DEPTH))
    assert rows[1]["v"] == {"k": None, "j": 2}
    assert any("deeper than" in d["resolution"] for d in summary.drift)
    assert table.num_rows == 2
    summary.to_dict()  # does not recurse into user data


def test_lines_too_deep_to_parse_go_to_quarantine(run: Run) -> None:
    too_deep = _nested(MAX_LINE_DEPTH + 1)
    crash_deep = '{"a":' + "[" * 200_000 + "]" * 200_000 + "}"  # crashed pyarrow's reader
    summary, rows = run(f'{{"id": 1}}\n{too_deep}\n{crash_deep}\n{{"id": 4}}\n'.encode())
    assert (summary.rows_written, summary.lines_quarantined) == (2, 2)
    assert [r["line"] for r in _quarantined(summary)] == [2, 3]
    assert all("nested" in r["error"] for r in _quarantined(summary))
    assert [r["id"] for r in rows] == [1, 4]


@pytest.mark.parametrize("depth", [MAX_LINE_DEPTH, MAX_LINE_DEPTH + 1])
def test_the_line_depth_limit_is_exact(run: Run, depth: int) -> None:
    value: Any = 1
    for i in range(depth - 1):  # objects and arrays, inside the line's own object
        value = [value] if i % 2 else {"k": value}
    line = json.dumps({"deep": value})
    summary, rows = run(f'{{"id": 1}}\n{line}\n{{"id": 3, "deep": null}}\n'.encode())
    stored = depth <= MAX_LINE_DEPTH
    assert (summary.rows_written, summary.lines_quarantined) == (3, 0) if stored else (2, 1)
    schema = pq.read_schema(summary.output_files[0])
    assert all(type_depth(f.type) <= MAX_COLUMN_DEPTH for f in schema)
    if stored:
        kept: Any = rows[1]["deep"]
        for i in range(MAX_COLUMN_DEPTH):
            kept = kept[0] if i % 2 else kept["k"]
        expected: Any = value
        for i in range(MAX_COLUMN_DEPTH):
            expected = expected[0] if i % 2 else expected["k"]
        assert json.loads(kept) == expected


def test_lone_surrogate_in_a_key_is_quarantined(run: Run) -> None:
    summary, _rows = run(b'{"a": 1}\n{"\\udfaa": 0}\n{"a": 3}\n')
    assert (summary.rows_written, summary.lines_quarantined) == (2, 1)
    (record,) = _quarantined(summary)
    assert record["line"] == 2
    assert "surrogate" in record["error"]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_quarantined(run: Run, literal: str) -> None:
    summary, rows = run(f'{{"f": 1.5}}\n{{"f": {literal}}}\n{{"f": 2.5}}\n'.encode())
    assert (summary.rows_written, summary.lines_quarantined) == (2, 1)
    assert [r["f"] for r in rows] == [1.5, 2.5]
    assert _quarantined(summary)[0]["line"] == 2


def test_keys_equal_under_case_folding_get_distinct_names(run: Run) -> None:
    summary, rows = run(b'{"id": 1, "ID": 2, "": 3, "Id": {"X": 1, "x": 2}}\n')
    schema = pq.read_schema(summary.output_files[0])
    folded = [n.casefold() for n in schema.names]
    assert len(set(folded)) == len(folded)
    assert all(schema.names)
    assert schema.names[0] == "id"  # names that engines accept stay as they are
    keys = {key_of(schema.field(n)): n for n in schema.names}
    assert set(keys) == {"id", "ID", "", "Id"}
    assert rows[0][keys["ID"]] == 2
    assert rows[0][keys[""]] == 3
    nested = schema.field(keys["Id"]).type
    assert {key_of(f) for f in nested} == {"X", "x"}
    by_name = {f["name"]: f for f in summary.schema["fields"]}
    assert by_name[keys["ID"]]["key"] == "ID"


def test_column_names_follow_the_documented_rule() -> None:
    for key in ["id", "user_id", "a1", "_x"]:
        assert column_name(key) == key
    for key in ["ID", "", "a.b", "a b", "é", "x" * 300, "_source_file", "id__abcdefghij"]:
        name = column_name(key)
        assert name != key
        assert name == column_name(key)
        assert len(name) <= 255
        assert name == name.lower()
        assert name.isascii()
    assert column_name("a.b") != column_name("a_b")


def test_json_text_holds_the_value_as_read(run: Run) -> None:
    _summary, rows = run(b'{"x": {"a": 1}}\n{"x": {"a": 1, "b": [null]}}\n{"x": "s"}\n')
    assert [json.loads(r["x"]) for r in rows] == [{"a": 1}, {"a": 1, "b": [None]}, "s"]


def test_drift_names_the_line_and_type_of_the_value_that_changed_it(run: Run) -> None:
    summary, _ = run(b'{"a": 1}\n{"a": 2}\n{"a": "x"}\n')
    (entry,) = [d for d in summary.drift if d["column"] == "a"]
    assert (entry["from_type"], entry["seen_type"], entry["line"]) == ("int64", "string", 3)


def test_drift_across_chunks_names_nested_lines(run: Run) -> None:
    lines = [f'{{"u": {{"age": {i}}}}}' for i in range(50)]
    lines += ['{"u": {"name": "n"}}', '{"u": {"age": "x"}}', '{"v": 1}', '{"v": 2.5}']
    summary, _ = run(("\n".join(lines) + "\n").encode(), chunk_bytes=200)
    found = {(d["column"], d["from_type"], d["seen_type"], d["line"]) for d in summary.drift}
    assert found == {
        ("u.name", "absent", "string", 51),
        ("u.age", "int64", "string", 52),
        ("v", "absent", "int64", 53),
        ("v", "int64", "double", 54),
    }


def test_temporary_files_are_never_where_readers_look(tmp_path: Path) -> None:
    src = tmp_path / "in.ndjson"
    src.write_bytes(b'{"a": 1}\n')
    out = tmp_path / "out"
    seen: list[list[str]] = []

    def look(_: object) -> None:
        seen.append([str(p.relative_to(out)) for p in out.rglob("*.parquet")])

    convert([src], out, ConvertOptions(), progress=look)
    assert seen
    assert all(found == [] for found in seen)


HOSTILE = {
    "deep": f'{{"id": 1, "v": {_nested(40)}}}\n{{"id": 2, "v": {{"j": [1, 2]}}}}\n',
    "names": '{"id": 1, "ID": 2, "": 3, "a.b": {"X": 1, "x": [2]}, "_source_line": 4}\n',
    "mixed": '{"x": {"a": 1}}\n{"x": {"a": 1, "b": [null]}}\n{"x": "s"}\n{"x": 1e400}\n',
    "bad": '{"a": NaN}\n{"\\udfaa": 0}\n{"a": 1}\n' + '{"a":' + "[" * 20_000 + "]" * 20_000 + "}\n",
}


@pytest.mark.slow
def test_outputs_are_read_alike_by_pyarrow_duckdb_and_spark(spark: Any, tmp_path: Path) -> None:
    for name, text in HOSTILE.items():
        src = tmp_path / f"{name}.ndjson"
        src.write_text(text)
        out = tmp_path / name
        summary = convert([src], out, ConvertOptions(lineage=True))
        assert summary.counts_add_up
        assert summary.rows_written
        rows = assert_engines_agree(out, spark)
        assert len(rows) == summary.rows_written


@pytest.mark.slow
def test_a_distributed_run_names_columns_alike(spark: Any, tmp_path: Path) -> None:
    from ndjson_parquet.converter.spark import convert_distributed

    a, b = tmp_path / "a.ndjson", tmp_path / "b.ndjson"
    a.write_text('{"id": 1, "ID": "x", "o": {"K": 1}}\n')
    b.write_text('{"ID": 2, "o": {"K": "y", "k": 2}, "Id": true}\n')
    out = tmp_path / "out"
    summary = convert_distributed(spark.sparkContext, [str(a), str(b)], out, shares=2)
    rows = assert_engines_agree(out, spark)
    schema = pq.read_schema(summary.output_files[0])
    assert {key_of(f) for f in schema} == {"id", "ID", "Id", "o"}
    names = {key_of(f): f.name for f in schema}
    by_id = {r[names["ID"]]: r for r in rows}
    assert set(by_id) == {'"x"', "2"}  # string and number: JSON text
    assert {key_of(f) for f in schema.field("o").type} == {"K", "k"}


def test_a_run_killed_mid_write_leaves_nothing_readers_see(tmp_path: Path) -> None:
    src = tmp_path / "in.ndjson"
    src.write_bytes(
        b"".join(b'{"id": %d, "s": "%s"}\n' % (i, b"x" * (i % 50)) for i in range(300_000))
    )
    out = tmp_path / "out"
    script = (
        "import sys; from ndjson_parquet.converter import ConvertOptions, convert; "
        "convert([sys.argv[1]], sys.argv[2], ConvertOptions(chunk_bytes=1 << 16, "
        "row_group_rows=2000, target_file_bytes=1 << 16, run_id='r1'))"
    )
    child = subprocess.Popen([sys.executable, "-c", script, str(src), str(out)])
    try:
        deadline = time.monotonic() + 60
        while not list(out.glob(f"{WORK_FOLDER}/run-*/*{PART_SUFFIX}")):
            assert child.poll() is None, "the run ended before it was killed"
            assert time.monotonic() < deadline
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait()
    debris = list(out.glob(f"{WORK_FOLDER}/run-*"))
    assert debris  # what a killed run leaves ...
    assert duckdb_rows(out) == []  # ... no reader sees: not even DuckDB's glob
    summary = convert([src], out, ConvertOptions(run_id="r1"))
    assert not any(p.exists() for p in debris)  # the next run removes it
    assert not (out / WORK_FOLDER).exists()
    assert len(duckdb_rows(out)) == summary.rows_written == 300_000
