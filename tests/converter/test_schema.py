from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from ndjson_parquet.converter import (
    SchemaFileError,
    finalize_schema,
    is_json_text,
    load_schema,
    schema_from_json,
    schema_to_json,
    unify_schemas,
)
from ndjson_parquet.converter.field_markers import (
    NULL_ONLY_KEY,
    WIDE_INT_KEY,
    json_text_field,
    with_flag,
)
from ndjson_parquet.converter.schema import Origin


def s(**fields: pa.DataType | pa.Field) -> pa.Schema:
    return pa.schema([f if isinstance(f, pa.Field) else pa.field(n, f) for n, f in fields.items()])


def test_int_and_float_widen_to_float64_with_a_drift_entry() -> None:
    schema, drift = unify_schemas(
        [s(a=pa.int64()), s(a=pa.float64())], [Origin("f1", 1), Origin("f2", 7)]
    )
    assert schema.field("a").type == pa.float64()
    assert [(d.column, d.file, d.line) for d in drift] == [("a", "f2", 7)]
    assert "float64" in drift[0].resolution


def test_wide_integers_and_floats_become_json_text() -> None:
    wide = with_flag(pa.field("a", pa.int64()), WIDE_INT_KEY)
    schema, drift = unify_schemas([pa.schema([wide]), s(a=pa.float64())])
    assert is_json_text(schema.field("a"))
    assert "2^53" in drift[0].resolution


def test_incompatible_types_become_json_text() -> None:
    schema, drift = unify_schemas([s(a=pa.int64()), s(a=pa.string()), s(a=pa.bool_())])
    assert is_json_text(schema.field("a"))
    assert len(drift) == 1  # reported once, when the column became JSON text


def test_structs_merge_and_lists_unify_their_elements() -> None:
    a = s(u=pa.struct([("x", pa.int64())]), l=pa.list_(pa.int64()))
    b = s(u=pa.struct([("y", pa.string()), ("x", pa.float64())]), l=pa.list_(pa.float64()))
    schema, _ = unify_schemas([a, b])
    assert schema.field("u").type == pa.struct([("x", pa.float64()), ("y", pa.string())])
    assert schema.field("l").type == pa.list_(pa.float64())


def test_null_takes_the_other_type_and_additions_are_reported_on_request() -> None:
    schema, drift = unify_schemas([s(a=pa.null()), s(a=pa.int64(), b=pa.string())])
    assert schema.field("a").type == pa.int64()
    assert drift == []
    _, drift = unify_schemas([s(a=pa.null()), s(b=pa.string())], record_additions=True)
    assert [(d.column, d.resolution) for d in drift] == [("b", "new field")]


def test_finalize_maps_null_and_empty_struct() -> None:
    schema, drift = finalize_schema(s(n=pa.null(), e=pa.struct([]), l=pa.list_(pa.null())))
    assert schema.field("n").type == pa.string()
    assert schema.field("n").metadata[NULL_ONLY_KEY] == b"true"
    assert is_json_text(schema.field("e"))
    assert schema.field("l").type.value_type == pa.string()
    assert [d.column for d in drift] == ["n"]


def test_null_only_columns_of_finished_runs_still_unify_like_null() -> None:
    done_a, _ = finalize_schema(s(a=pa.null()))
    schema, drift = unify_schemas([done_a, s(a=pa.int64())])
    assert schema.field("a").type == pa.int64()
    assert drift == []


def test_schema_json_round_trip_keeps_markers() -> None:
    schema = pa.schema(
        [
            with_flag(pa.field("w", pa.int64()), WIDE_INT_KEY),
            json_text_field("j"),
            pa.field("t", pa.timestamp("us", tz="UTC")),
            pa.field("st", pa.struct([("l", pa.list_(pa.float64()))])),
        ]
    )
    doc = json.loads(json.dumps(schema_to_json(schema)))
    back = schema_from_json(doc)
    assert back.equals(schema, check_metadata=True)


def test_load_schema_reads_a_file_and_reports_bad_ones(tmp_path: Path) -> None:
    good = tmp_path / "schema.json"
    good.write_text(
        json.dumps({"fields": [{"name": "id", "type": "int64"}, {"name": "p", "type": "json"}]})
    )
    schema = load_schema(good)
    assert schema.field("id").type == pa.int64()
    assert is_json_text(schema.field("p"))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"fields": [{"name": "id", "type": "integer"}]}))
    with pytest.raises(SchemaFileError, match="unknown type 'integer'"):
        load_schema(bad)
    with pytest.raises(SchemaFileError, match="cannot read"):
        load_schema(tmp_path / "missing.json")
