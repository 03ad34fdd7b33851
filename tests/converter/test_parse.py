"""The chunk parser: fast path, quarantine, exact path and in-chunk conflicts."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.json as pj
import pytest

from ndjson_parquet.converter.field_markers import is_json_text
from ndjson_parquet.converter.parse import ChunkParser
from ndjson_parquet.converter.parsed import ParsedChunk


def parse(data: bytes, hint: pa.Schema | None = None, piece: int = 4) -> ParsedChunk:
    return ChunkParser(declared=None, block_size=1 << 20, exact_piece_lines=piece).parse(
        data, 1, "src", hint
    )


def rows(out: ParsedChunk) -> dict[int, dict[str, object]]:
    """Rows by line number."""
    found: dict[int, dict[str, object]] = {}
    for p in out.pieces:
        for line, row in zip(p.lines.tolist(), p.table.to_pylist(), strict=True):
            found[line] = row
    return found


def test_blank_lines_are_counted_and_line_numbers_kept() -> None:
    out = parse(b'{"a":1}\n\n  \r\n{"a":2}\n')
    assert (out.lines, out.blank, out.bad) == (4, 2, [])
    assert rows(out) == {1: {"a": 1}, 4: {"a": 2}}


def test_bad_lines_are_quarantined_with_reasons() -> None:
    data = b'{"a":1}\nnot json\n[1,2]\n"s"\n{"a":"\xff"}\n{"a":1,"a":2}\n{"a":"\\ud800"}\n{"a":3}\n'
    out = parse(data)
    errors = {b.line: b.error for b in out.bad}
    assert set(errors) == {2, 3, 4, 5, 6, 7}
    assert "not valid JSON" in errors[2]
    assert "array" in errors[3]
    assert "string" in errors[4]
    assert "UTF-8" in errors[5]
    assert "duplicate key 'a'" in errors[6]
    assert "surrogate" in errors[7]
    assert rows(out) == {1: {"a": 1}, 8: {"a": 3}}


def test_integers_beyond_int64_and_huge_floats_are_kept_exactly() -> None:
    out = parse(b'{"a":99999999999999999999}\n{"a":1e400}\n{"a":-123456789012345678901234567890}\n')
    assert out.bad == []
    got = rows(out)
    assert [got[i]["a"] for i in (1, 2, 3)] == [
        "99999999999999999999",
        "1e400",
        "-123456789012345678901234567890",
    ]
    assert {(path, line) for path, line, _ in out.exact} == {("a", 1), ("a", 2), ("a", 3)}
    assert all(is_json_text(p.schema.field("a")) for p in out.pieces)


def test_integers_beyond_2_53_in_a_float_column_are_not_rounded() -> None:
    out = parse(b'{"a":9007199254740993}\n{"a":0.5}\n', hint=pa.schema([("a", pa.float64())]))
    got = rows(out)
    assert got[1]["a"] == 9007199254740993
    assert got[2]["a"] == 0.5


def test_a_type_conflict_inside_a_chunk_keeps_every_value() -> None:
    lines = (
        [b'{"a":%d}' % i for i in range(40)]
        + [b'{"a":"x"}']
        + [b'{"a":%d}' % i for i in range(40, 80)]
    )
    out = parse(b"\n".join(lines) + b"\n")
    assert out.bad == []
    got = rows(out)
    assert len(got) == 81
    assert got[41] == {"a": "x"}
    assert got[81] == {"a": 79}
    assert got[1] == {"a": 0}


def test_iso_timestamps_stay_text() -> None:
    out = parse(b'{"t":"2024-01-01T00:00:00","d":"2024-01-01","o":{"t":"2024-01-01T01:02:03Z"}}\n')
    assert rows(out)[1] == {
        "t": "2024-01-01T00:00:00",
        "d": "2024-01-01",
        "o": {"t": "2024-01-01T01:02:03Z"},
    }


def test_mixed_kinds_inside_one_list_take_the_exact_path() -> None:
    out = parse(b"\n".join([b'{"l":[1,2]}'] * 10 + [b'{"l":[1,"a",{"b":true}]}']) + b"\n")
    got = rows(out)
    assert len(got) == 11
    assert out.bad == []
    assert got[11]["l"] == ["1", '"a"', '{"b":true}']  # elements as JSON text


def test_nested_and_list_conflicts_are_grouped_without_losing_rows() -> None:
    nested = [b'{"u":{"v":%d}}' % i for i in range(30)] + [b'{"u":{"v":"x"}}']
    listed = [b'{"l":[{"k":%d}]}' % i for i in range(30)] + [b'{"l":[{"k":"y"}]}']
    for lines in (nested, listed):
        out = parse(b"\n".join(lines) + b"\n")
        assert out.bad == []
        assert len(rows(out)) == 31
    parser = ChunkParser(declared=None, block_size=1 << 20, exact_piece_lines=4)
    parser.parse(b"\n".join(nested) + b"\n", 1, "src", None)
    assert parser.conflicts.paths == ["/u/v"]


def test_group_chunk_splits_by_kind_and_skips_empty_lines() -> None:
    from ndjson_parquet.converter.grouping import group_chunk

    data = b'{"a":1}\r\n\n{"a":"x"}\n{"b":2}\n{"a":  true}\n{"a":3}'
    grouped = group_chunk(data, ["/a"])
    assert grouped is not None
    groups, empty = grouped
    assert empty == 1
    by_rows = {tuple(rows.tolist()): raw for raw, rows in groups}
    assert by_rows == {
        (0, 3, 5): b'{"a":1}\r\n{"b":2}\n{"a":3}',
        (2,): b'{"a":"x"}\n',
        (4,): b'{"a":  true}\n',
    }
    assert group_chunk(data, ["/l/[]"]) is None


def test_chunks_after_a_conflict_are_grouped_and_still_lose_nothing() -> None:
    parser = ChunkParser(declared=None, block_size=1 << 20, exact_piece_lines=2)
    first = b"\n".join([b'{"a":1}'] * 5 + [b'{"a":"s"}']) + b"\n"
    parser.parse(first, 1, "src", None)
    assert parser.conflicts.paths == ["/a"]
    second = b'{"a":2}\r\n\n   \n{"a":"t"}\nnot json\n{"a":[1,"x"]}\n{"a":99999999999999999999}\n{"a":4}\n'
    out = parser.parse(second, 7, "src", None)
    assert out.blank == 2
    assert [b.line for b in out.bad] == [11]
    got = rows(out)
    assert sorted(got) == [7, 10, 12, 13, 14]
    assert got[13]["a"] == "99999999999999999999"


def test_group_chunk_reads_kinds_with_space_around_the_colon_and_ignores_values() -> None:
    from ndjson_parquet.converter.grouping import group_chunk

    # `"a"` as a string value is not the key; white space may precede the ':' too.
    data = b'{"a":1}\n{"a" : [1]}\n{"b":"a"}\n{"a"\t:{"c":1}}\n{"a":2}\n'
    grouped = group_chunk(data, ["/a"])
    assert grouped is not None
    groups, empty = grouped
    assert empty == 0
    by_rows = {tuple(rows.tolist()): raw for raw, rows in groups}
    assert by_rows == {
        (0, 2, 4): b'{"a":1}\n{"b":"a"}\n{"a":2}\n',
        (1,): b'{"a" : [1]}\n',
        (3,): b'{"a"\t:{"c":1}}\n',
    }


def test_a_lone_surrogate_escape_in_plain_ascii_data_is_still_caught() -> None:
    lines = [b'{"a":"x%d"}' % i for i in range(100)]
    lines[57] = b'{"a":"\\ud800"}'
    out = parse(b"\n".join(lines) + b"\n")
    assert [b.line for b in out.bad] == [58]
    assert len(rows(out)) == 99
    # Escapes that decode to valid text are kept.
    out = parse(b'{"a":"\\u00e9\\"q\\""}\n' * 3)
    assert out.bad == []
    assert [r["a"] for r in rows(out).values()] == ['é"q"'] * 3


def test_a_list_starting_with_nulls_is_read_whole() -> None:
    # pyarrow's reader builds a malformed list array from this (offsets beyond the values):
    # the chunk must still come out exact.
    out = parse(b'{}\n{"a":[null,null,-5.916418156252657e+16]}\n')
    assert out.bad == []
    assert rows(out)[2]["a"] == [None, None, -5.916418156252657e16]


def _counting_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Number of bytes of every call of pyarrow's JSON reader, recorded as it is made."""
    calls: list[int] = []
    real = pj.read_json

    def counted(source: pa.BufferReader, **kwargs: object) -> pa.Table:
        calls.append(source.size())
        return real(source, **kwargs)

    monkeypatch.setattr(pj, "read_json", counted)
    return calls


def test_a_column_whose_kind_changed_against_the_hint_costs_one_more_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The hint (the schema so far) says `a` is a number; this chunk has only strings there,
    # and ISO text that a read without the hint would first infer as timestamps.
    hint = pa.schema([("a", pa.int64()), ("ts", pa.string())])
    data = b"".join(b'{"a":"x%d","ts":"2024-01-01T00:00:00Z"}\n' % i for i in range(50))
    calls = _counting_reads(monkeypatch)
    out = parse(data, hint=hint)
    assert len(calls) == 2  # with the hint, then with the hint but for `a`
    assert out.bad == []
    assert len(rows(out)) == 50
    assert rows(out)[1] == {"a": "x0", "ts": "2024-01-01T00:00:00Z"}


def test_groups_of_a_known_conflict_are_read_once_each(monkeypatch: pytest.MonkeyPatch) -> None:
    hint = pa.schema([("a", pa.int64()), ("ts", pa.string())])
    parser = ChunkParser(declared=None, block_size=1 << 20)
    parser.conflicts.note("/a", None)
    lines = [
        b'{"a":%s,"ts":"2024-01-01T00:00:00Z"}' % (b'"s"' if i % 3 else b"7") for i in range(90)
    ]
    calls = _counting_reads(monkeypatch)
    out = parser.parse(b"\n".join(lines) + b"\n", 1, "src", hint)
    assert len(calls) == 2  # one read per kind of `a`
    assert sorted(len(p.lines) for p in out.pieces) == [30, 60]
