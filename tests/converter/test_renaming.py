"""A column whose values change kind is read in one pass (keys renamed by kind), with the same
result as grouping the lines by kind, and grouping wherever renaming cannot be trusted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ndjson_parquet.converter import ConvertOptions, Summary, convert
from ndjson_parquet.converter.parse import ChunkParser
from ndjson_parquet.converter.renaming import rename_by_kind


def test_keys_are_renamed_in_place_by_the_kind_of_their_value() -> None:
    data = b'{"id":1}\n{"id":"a"}\n{"id": true}\n{"id":null}\n\n{"id":{"x":1},"b":[1]}\n'
    renamed = rename_by_kind(data, ["id"])
    assert renamed is not None
    assert len(renamed.data) == len(data)  # nothing moves
    lines = [json.loads(line) for line in bytes(renamed.data).splitlines() if line]
    assert [sorted(line) for line in lines] == [["~d"], ["id"], ["^d"], ["id"], ["b", "|d"]]
    assert renamed.aliases == {"id": ["~d", "^d", "|d"]}
    assert renamed.per_line["id"].tolist() == [1, 1, 1, 0, 0, 1]  # null and blank: no value


def test_no_renaming_when_an_alias_is_a_key_of_the_chunk_or_the_key_too_short() -> None:
    assert rename_by_kind(b'{"id":1,"~d":2}\n', ["id"]) is None
    assert rename_by_kind(b'{"":1}\n', [""]) is None
    assert rename_by_kind(b'{"id":"x"}\n', ["id"]) is not None


def _lines(values: list[Any], extra: dict[str, Any] | None = None, key: str = "v") -> bytes:
    out = []
    for i, v in enumerate(values):
        row = {"i": i, key: v, **(extra or {})}
        out.append(json.dumps(row).encode())
    return b"\n".join(out) + b"\n"


def _convert(tmp_path: Path, name: str, data: bytes) -> tuple[Summary, list[dict[str, Any]]]:
    (tmp_path / name).mkdir()
    src = tmp_path / name / "in.ndjson"
    src.write_bytes(data)
    # Small chunks: the conflict found in an early chunk makes later chunks take the route.
    options = ConvertOptions(chunk_bytes=512, run_id=name, sample_bytes=0)
    summary = convert([src], tmp_path / name / "out", options)
    rows = pq.read_table(tmp_path / name / "out").to_pylist() if summary.rows_written else []
    return summary, sorted(rows, key=lambda r: r["i"])


def _both_ways(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: bytes, name: str = "x"
) -> tuple[tuple[Summary, list[dict[str, Any]]], tuple[Summary, list[dict[str, Any]]]]:
    renamed = _convert(tmp_path, f"{name}-renamed", data)
    with monkeypatch.context() as m:
        m.setattr(ChunkParser, "_renamed", lambda *a, **k: False)
        grouped = _convert(tmp_path, f"{name}-grouped", data)
    return renamed, grouped


def _same(a: Summary, b: Summary, *, exact_drift: bool = True) -> None:
    for field in ("lines_read", "rows_written", "lines_quarantined", "schema", "exact_values"):
        assert getattr(a, field) == getattr(b, field), field

    def where(s: Summary) -> list[dict[str, Any]]:
        return [{**d, "file": Path(d["file"]).name if d["file"] else None} for d in s.drift]

    if exact_drift:
        assert where(a) == where(b)
    else:
        # Which lines are read together changes which intermediate widenings are reported
        # (int + float before JSON text, or JSON text at once); the columns never differ.
        assert {d["column"] for d in a.drift} == {d["column"] for d in b.drift}


def test_an_id_that_turns_into_text_is_read_in_one_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    values: list[Any] = [n if n % 7 else f"anon-{n}" for n in range(400)]
    (summary, rows), (grouped, grouped_rows) = _both_ways(tmp_path, monkeypatch, _lines(values))
    assert summary.extra["routes"]["renamed"]["lines"] > 300
    assert grouped.extra["routes"]["renamed"]["lines"] == 0
    _same(summary, grouped)
    assert rows == grouped_rows
    assert [json.loads(r["v"]) for r in rows] == values


def test_a_chunk_after_the_conflict_is_renamed_whatever_its_hint() -> None:
    # Chunks are parsed while earlier ones are: a chunk's hint may be from before the chunk
    # where the values changed kind.
    parser = ChunkParser(declared=None, block_size=1 << 20)
    hint = parser.parse(_lines([1, 2, 3]), 1, "f", None, order=0).pieces[0].schema
    assert str(hint.field("v").type) == "int64"
    changed = parser.parse(_lines([4, "x"]), 4, "f", hint, order=1)
    assert changed.rows_by_route.get("regrouped") == 2

    later = parser.parse(_lines([5, "y", 6]), 6, "f", hint, order=2)
    assert later.rows_by_route.get("renamed") == 3
    assert [json.loads(v) for v in later.pieces[0].table.column("v").to_pylist()] == [5, "y", 6]
    # A chunk before the one where the change was seen is grouped: its rows come first, so
    # drift must name its own lines.
    before = parser.parse(_lines([7, "z"]), 1, "f", hint, order=0)
    assert not before.rows_by_route.get("renamed")
    assert before.rows_by_route.get("regrouped") == 2


@pytest.mark.parametrize(
    "late",
    [
        {"n": {"v": 1}},  # the key also nested: renaming would reach it
        {"w": "x", "V": 1},  # another key of another case
        {"~": 1, "v": 2},  # the key twice on a line (json.dumps keeps the last)
    ],
    ids=["nested", "other-key", "twice"],
)
def test_what_renaming_cannot_trust_is_grouped_instead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, late: dict[str, Any]
) -> None:
    values: list[Any] = [n if n % 7 else f"anon-{n}" for n in range(300)]
    data = _lines(values[:150]) + _lines(values[150:], late)
    (summary, rows), (grouped, grouped_rows) = _both_ways(tmp_path, monkeypatch, data)
    _same(summary, grouped)
    assert rows == grouped_rows


def test_a_line_with_the_key_twice_is_not_renamed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    head = _lines([n if n % 5 else "s" for n in range(200)])
    twice = b'{"i":200,"v":1,"v":"x"}\n'
    (summary, rows), (grouped, grouped_rows) = _both_ways(tmp_path, monkeypatch, head + twice)
    _same(summary, grouped)
    assert rows == grouped_rows


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=6),
)
values = st.one_of(
    scalars,
    st.lists(scalars, max_size=3),
    st.dictionaries(st.sampled_from(["v", "user_id", "a", "~", "~ser_id"]), scalars, max_size=2),
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(values, min_size=20, max_size=120),
    st.integers(0, 2**32),
    st.sampled_from(["v", "user_id"]),  # keys of one character are searched for differently
)
def test_renaming_gives_what_grouping_gives(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    later: list[Any],
    seed: int,
    key: str,
) -> None:
    tmp_path = tmp_path_factory.mktemp("renaming")
    rng = np.random.default_rng(seed)
    # A conflict early (number and string), then arbitrary values of every kind.
    first: list[Any] = [1, "x"] * 10
    data = _lines(first + later, key=key)
    # Some lines written with spaces around the colon, as other producers do.
    lines = data.split(b"\n")
    for i in rng.choice(len(lines) - 1, size=min(5, len(lines) - 1), replace=False):
        lines[i] = lines[i].replace(f'"{key}": '.encode(), f'"{key}" : '.encode(), 1)
    data = b"\n".join(lines)
    (summary, rows), (grouped, grouped_rows) = _both_ways(tmp_path, monkeypatch, data)
    _same(summary, grouped, exact_drift=False)

    assert rows == grouped_rows
    assert summary.rows_written + summary.lines_quarantined == len(first) + len(later)
