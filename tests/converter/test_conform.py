from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ndjson_parquet.converter import ConversionError, conform_file, conform_table
from ndjson_parquet.converter.field_markers import json_text_field


def test_missing_columns_are_null_and_ints_widen() -> None:
    table = pa.table({"a": pa.array([1, None, 3])})
    target = pa.schema([pa.field("a", pa.float64()), pa.field("b", pa.string())])
    out = conform_table(table, target)
    assert out.schema.equals(target)
    assert out.to_pylist() == [{"a": 1.0, "b": None}, {"a": None, "b": None}, {"a": 3.0, "b": None}]


def test_values_become_json_text_that_parses_back_to_them() -> None:
    values = [{"x": 1, "s": 'he said "hi"\n'}, None, {"s": "ü", "l": [None]}]
    table = pa.table({"a": pa.array(values), "n": pa.array([1, 2, None]), "t": ["q", None, "\\"]})
    target = pa.schema([json_text_field("a"), json_text_field("n"), json_text_field("t")])
    out = conform_table(table, target).to_pylist()
    # A struct holds the union of the objects' fields: a field an object lacked (null in the
    # struct) is left out of its JSON text; list elements that are null stay.
    assert [None if r["a"] is None else json.loads(r["a"]) for r in out] == values
    assert [r["n"] for r in out] == ["1", "2", None]
    assert [None if r["t"] is None else json.loads(r["t"]) for r in out] == ["q", None, "\\"]


def test_nested_json_text_is_embedded_not_quoted() -> None:
    inner = pa.struct([pa.field("v", pa.string(), metadata={b"ndjson_parquet.encoding": b"json"})])
    src = pa.schema([pa.field("o", inner)])
    table = pa.Table.from_arrays(
        [pa.array([{"v": "[1,2]"}], pa.struct([("v", pa.string())]))], schema=src
    )
    out = conform_table(table, pa.schema([json_text_field("o")]), src)
    assert json.loads(out.column("o")[0].as_py()) == {"v": [1, 2]}


def test_sliced_lists_and_structs_conform() -> None:
    table = pa.table(
        {"l": pa.array([[1], None, [2, 3]]), "s": pa.array([{"a": 1}, None, {"a": 2}])}
    ).slice(1)
    target = pa.schema(
        [
            pa.field("l", pa.list_(pa.float64())),
            pa.field("s", pa.struct([("a", pa.float64()), ("b", pa.bool_())])),
        ]
    )
    out = conform_table(table, target).to_pylist()
    assert out == [{"l": None, "s": None}, {"l": [2.0, 3.0], "s": {"a": 2.0, "b": None}}]


def test_a_column_the_target_lacks_is_an_error_not_a_silent_drop() -> None:
    with pytest.raises(ConversionError, match="missing in the target"):
        conform_table(pa.table({"a": [1], "b": [2]}), pa.schema([pa.field("a", pa.int64())]))


def test_conform_file_rewrites_in_place_only_when_needed(tmp_path: Path) -> None:
    path = tmp_path / "f.parquet"
    pq.write_table(pa.table({"a": [1, 2]}), path)
    target = pa.schema([pa.field("a", pa.float64()), pa.field("z", pa.string())])
    assert conform_file(path, target) is True
    assert pq.read_schema(path).equals(target)
    assert pq.read_table(path).to_pylist() == [{"a": 1.0, "z": None}, {"a": 2.0, "z": None}]
    assert conform_file(path, target) is False


def test_a_float_has_one_json_text_whether_alone_or_inside_a_list() -> None:
    import orjson

    from ndjson_parquet.converter.conform import json_text

    values = [0.0, -0.0, 5.0, 1e15, 1e16, 1e20, 1e-7, 1 / 3, 0.5, None, 2.5e-300, -7.0]
    alone = json_text(pa.array(values, pa.float64()), pa.field("f", pa.float64())).to_pylist()
    in_lists = json_text(
        pa.array([[v] for v in values], pa.list_(pa.float64())),
        pa.field("f", pa.list_(pa.float64())),
    ).to_pylist()
    # Integral values as integers (pyarrow reads 5 and 5.0 alike), others as orjson writes them.
    assert alone[:4] == ["0", "0", "5", "1000000000000000"]
    assert alone[4:] == [None if v is None else orjson.dumps(v).decode() for v in values[4:-1]] + [
        "-7"
    ]
    assert [f"[{a}]" if a is not None else "[null]" for a in alone] == in_lists
    assert [orjson.loads(a) for a in alone if a is not None] == [v for v in values if v is not None]


def test_an_object_has_one_json_text_whether_read_as_a_struct_or_as_text() -> None:
    from ndjson_parquet.converter.conform import _dump, json_text

    as_struct = pa.array(
        [{"y": 2, "x": 1, "z": None}],
        pa.struct([("y", pa.int64()), ("x", pa.int64()), ("z", pa.int64())]),
    )
    text = json_text(as_struct, pa.field("o", as_struct.type)).to_pylist()
    assert text == ['{"x":1,"y":2}']
    assert _dump({"y": 2, "x": 1, "z": None}) == text[0]  # as the exact parser's value
