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

from ndjson_parquet.converter import ConvertOptions, convert, is_json_text

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
