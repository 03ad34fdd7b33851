"""Property: random JSON objects survive NDJSON → Parquet → rows, modulo the documented widening.

Widening: ints in a float64 column come back as floats of the same value; a column (or list
element) with incompatible kinds comes back as each value's JSON text; missing keys and nulls
come back as null.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ndjson_parquet.converter import ConvertOptions, convert, is_json_text, key_of
from ndjson_parquet.converter.nesting import MAX_COLUMN_DEPTH, MAX_LINE_DEPTH, type_depth
from tests.converter.conftest import assert_engines_agree

KEYS = st.sampled_from(["a", "b", "c", "d"])
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=8)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=8,
)
OBJECTS = st.dictionaries(KEYS, VALUES, max_size=4)


def norm(value: Any) -> Any:
    """A form in which equal JSON values compare equal (1 == 1.0, but True != 1)."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("num", value)
    if isinstance(value, list):
        return ("list", [norm(v) for v in value])
    if isinstance(value, dict):
        return ("obj", {k: norm(v) for k, v in value.items() if v is not None})
    return value


def same(original: Any, stored: Any, field: pa.Field) -> bool:
    if original is None:
        return stored is None
    if is_json_text(field):
        return norm(json.loads(stored)) == norm(original)
    t = field.type
    if pa.types.is_struct(t):
        if not isinstance(original, dict) or not isinstance(stored, dict):
            return False
        return all(same(original.get(c.name), stored.get(c.name), c) for c in t) and set(
            original
        ) <= {c.name for c in t}
    if pa.types.is_list(t):
        return (
            isinstance(original, list)
            and isinstance(stored, list)
            and len(original) == len(stored)
            and all(same(o, s, t.value_field) for o, s in zip(original, stored, strict=True))
        )
    if pa.types.is_floating(t):
        return (
            isinstance(original, int | float)
            and not isinstance(original, bool)
            and original == stored
        )
    return norm(original) == norm(stored)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.lists(OBJECTS, max_size=12), min_size=1, max_size=3))
def test_random_objects_round_trip(tmp_path: Path, files: list[list[dict[str, Any]]]) -> None:
    case = tmp_path / f"case{len(list(tmp_path.iterdir()))}"
    paths = []
    expected: dict[tuple[str, int], dict[str, Any]] = {}
    for i, objects in enumerate(files):
        path = case / f"f{i}.ndjson"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(o) + "\n" for o in objects))
        paths.append(path)
        expected.update({(str(path), n): o for n, o in enumerate(objects, start=1)})
    summary = convert(paths, case / "out", ConvertOptions(lineage=True, chunk_bytes=200))
    assert summary.counts_add_up
    assert summary.lines_quarantined == 0
    assert summary.rows_written == len(expected)
    if not summary.output_files:
        return
    table = pa.concat_tables([pq.read_table(f) for f in summary.output_files])
    schema = table.schema
    for row in table.to_pylist():
        original = expected.pop((row["_source_file"], row["_source_line"]))
        for key, value in original.items():
            assert key in schema.names, f"key {key} dropped"
            assert same(value, row[key], schema.field(key)), (key, value, row[key])
    assert expected == {}


# --- arbitrary lines: a line is the unit of failure ----------------------------------------------

HOSTILE_KEYS = st.sampled_from(["id", "ID", "Id", "", "a.b", "a b", "é", "_source_line"]) | st.text(
    st.characters(blacklist_categories=("Cs",)), max_size=4
)
NUMBERS = (
    st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([5e-324, -0.0, 1.7976931348623157e308, 2**53 + 1, -(2**63), 2**64])
)
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=6)  # control chars too
HOSTILE_VALUES = st.recursive(
    st.none() | st.booleans() | NUMBERS | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(HOSTILE_KEYS, inner, max_size=3),
    max_leaves=10,
)


def _deep_line(depth: int) -> bytes:
    """`{"deep": …}` with objects and arrays nested `depth` levels (built as text: json.dumps
    itself cannot go that deep)."""
    opens = ["[" if i % 2 else '{"k":' for i in range(depth)]
    closes = ["]" if i % 2 else "}" for i in reversed(range(depth))]
    return ('{"deep":' + "".join(opens) + "1" + "".join(closes) + "}").encode()


def _dumps(value: Any, ascii_only: bool) -> bytes:
    return json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


VALID_LINES = st.builds(
    _dumps, st.dictionaries(HOSTILE_KEYS, HOSTILE_VALUES, max_size=4), st.booleans()
) | st.sampled_from([31, 33, 200, 255, 256, 300, 2000]).map(_deep_line)
SURROGATE = st.integers(0xD800, 0xDFFF).map(chr)
INVALID_LINES = st.one_of(
    st.builds(lambda s: _dumps({s: 1}, True), SURROGATE),  # lone surrogate in a key
    st.builds(lambda s: _dumps({"v": s}, True), SURROGATE),  # ... in a value
    st.sampled_from([b'{"f": NaN}', b'{"f": -Infinity}', b'{"a": 1, "a": 2}', b"[1]", b"1"]),
    st.builds(
        lambda b: b'{"a": "' + b + b'"}', st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80"])
    ),
    VALID_LINES.map(lambda line: line[:-1]),  # cut short
)
ANY_BYTES = st.binary(max_size=24).map(lambda b: b.replace(b"\n", b""))
LINES = st.lists(VALID_LINES | INVALID_LINES | ANY_BYTES | st.just(b" \r"), min_size=1, max_size=12)


def _strict_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("duplicate key")
    return dict(pairs)


def _reject(_: str) -> Any:
    raise ValueError("not JSON")


def _text_ok(value: Any) -> bool:
    """No lone surrogate anywhere (keys included); not recursive."""
    stack = [value]
    while stack:
        v = stack.pop()
        items = list(v.items()) if isinstance(v, dict) else v if isinstance(v, list) else [v]
        for item in items:
            for part in item if isinstance(item, tuple) else (item,):
                if isinstance(part, str):
                    try:
                        part.encode("utf-8")
                    except UnicodeEncodeError:
                        return False
                elif isinstance(part, dict | list) and part is not v:
                    stack.append(part)
    return True


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 0)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict | list):
            deepest = max(deepest, d + 1)
            stack.extend((c, d + 1) for c in (v.values() if isinstance(v, dict) else v))
    return deepest


def expected_value(raw: bytes) -> Any:
    """The oracle: the object a valid line holds, or None for a line that must be quarantined
    (RFC 8259 JSON object in UTF-8, no duplicate keys, no lone surrogates, at most
    MAX_LINE_DEPTH levels)."""
    try:
        text = raw.decode("utf-8")
        value = json.loads(text, object_pairs_hook=_strict_object, parse_constant=_reject)
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, dict) or not _text_ok(value) or _depth(value) > MAX_LINE_DEPTH:
        return None
    return value


def same_as_read(original: Any, stored: Any, field: pa.Field) -> bool:
    """Stored equals the value read, after the documented rules: names mapped (matched by
    key), widening, JSON text; a struct field an object lacks is null; in JSON text made from a
    struct, null fields are left out."""
    if original is None:
        return stored is None
    if is_json_text(field):
        return _same_json(original, json.loads(stored))
    t = field.type
    if pa.types.is_struct(t):
        if not isinstance(original, dict) or not isinstance(stored, dict):
            return False
        by_key = {key_of(c): c for c in t}
        return set(original) <= set(by_key) and all(
            same_as_read(original.get(k), stored[c.name], c) for k, c in by_key.items()
        )
    if pa.types.is_list(t):
        return (
            isinstance(original, list)
            and isinstance(stored, list)
            and len(original) == len(stored)
            and all(
                same_as_read(o, s, t.value_field) for o, s in zip(original, stored, strict=True)
            )
        )
    return norm(original) == norm(stored)


def _same_json(original: Any, text_value: Any) -> bool:
    if isinstance(original, dict) and isinstance(text_value, dict):
        kept = {k: v for k, v in original.items() if v is not None}
        back = {k: v for k, v in text_value.items() if v is not None}
        return kept.keys() == back.keys() and all(_same_json(kept[k], back[k]) for k in kept)
    if isinstance(original, list) and isinstance(text_value, list):
        return len(original) == len(text_value) and all(
            _same_json(o, b) for o, b in zip(original, text_value, strict=True)
        )
    return norm(original) == norm(text_value)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(LINES, st.booleans())
def test_arbitrary_lines_never_fail_a_run(tmp_path: Path, lines: list[bytes], crlf: bool) -> None:
    case = tmp_path / f"case{len(list(tmp_path.iterdir()))}"
    case.mkdir()
    path = case / "in.ndjson"
    path.write_bytes(b"".join(line + (b"\r\n" if crlf else b"\n") for line in lines))
    out = case / "out"
    summary = convert([path], out, ConvertOptions(lineage=True, chunk_bytes=256))
    assert summary.lines_read == len(lines)
    assert summary.counts_add_up
    quarantined = {}
    for q in summary.quarantine_files:
        for record in map(json.loads, Path(q).read_bytes().splitlines()):
            quarantined[record["line"]] = record
    rows = assert_engines_agree(out)
    stored = {r["_source_line"]: r for r in rows}
    schema = pq.read_schema(summary.output_files[0]) if summary.output_files else None
    assert schema is None or all(type_depth(f.type) <= MAX_COLUMN_DEPTH for f in schema)
    for number, raw in enumerate(lines, start=1):
        if not raw.strip(b" \t\r"):
            assert number not in stored
            assert number not in quarantined
            continue
        value = expected_value(raw)
        if value is None:
            assert number in quarantined, (number, raw)
            continue
        assert number in stored, (number, raw, quarantined.get(number))
        assert schema is not None
        lineage = {"_source_file", "_source_line", "_manifest_id"}
        by_key = {key_of(f): f for f in schema if f.name not in lineage}
        for key, v in value.items():
            f = by_key[key]
            assert same_as_read(v, stored[number][f.name], f), (key, v, stored[number][f.name])
