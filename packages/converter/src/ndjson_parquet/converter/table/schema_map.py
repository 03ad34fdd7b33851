"""The table's schema as the converter's declared schema, and the converter's schema as Iceberg's.

Both directions go through the converter's schema file format (`{"fields": [...]}`, the form of
`Summary.schema`), so the converter's own parser (`schema_from_json`) builds every Arrow schema.

Iceberg type → declared type:

* boolean → bool; int, long → int64; float, double → float64 (the converter's numbers are 64-bit:
  an `int` or `float` column is promoted to `long` / `double`, which Iceberg allows, the first
  time a run writes to it); date → date; timestamptz → timestamp;
* string → string, or json when the field's doc marks it as JSON text (see `JSON_DOC`);
* struct and list keep their shape. A struct is declared only when `closed` is asked for: left
  open, the converter infers it, so that new nested fields reach the table (see `run.py`).

Any other Iceberg type (decimal, map, binary, uuid, time, timestamp without zone, fixed) cannot
be written by the converter: `TableSchemaError` names the column.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyarrow as pa

from ndjson_parquet.converter.errors import ConversionError
from ndjson_parquet.converter.field_markers import is_json_text
from ndjson_parquet.converter.schema import schema_from_json

if TYPE_CHECKING:
    from pyiceberg.schema import Schema
    from pyiceberg.types import IcebergType, NestedField

# The doc of an Iceberg string field whose values are JSON text (the converter's `json` type).
# Readers see it as the column comment; the converter reads it back as the `json` type.
JSON_DOC = "ndjson-parquet: JSON text (each value is the input value's JSON text)"
_DOC_KEY = b"doc"  # the Arrow field metadata pyiceberg reads a field's doc from


class TableSchemaError(ConversionError):
    """The table has a column type the converter cannot write, or a run's data does not fit."""


def declared_fields(schema: Schema, *, closed: bool) -> list[dict[str, Any]]:
    """The table's columns in the schema file format: the converter's declared schema.

    With `closed=False`, structs (and lists of structs) are left out, so the converter infers
    them and may find new nested fields.
    """
    out = []
    for field in schema.fields:
        if not closed and _holds_struct(field.field_type):
            continue
        out.append(_field_doc(field, field.name))
    return out


def merge_fields(base: list[dict[str, Any]], seen: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`base` fields (the table's) with the nested fields only `seen` (a run's) has appended.

    Used to declare structs closed without losing the nested fields a first pass found.
    """
    seen_by_name = {f["name"]: f for f in seen}
    out = []
    for field in base:
        other = seen_by_name.get(field["name"])
        out.append(field if other is None else {**field, "type": _merge_type(field, other)})
    return out


def _merge_type(base: dict[str, Any], seen: dict[str, Any]) -> Any:
    a, b = base["type"], seen["type"]
    if isinstance(a, dict) and isinstance(b, dict):
        if "struct" in a and "struct" in b:
            names = {f["name"] for f in a["struct"]}
            extra = [f for f in b["struct"] if f["name"] not in names]
            return {"struct": merge_fields(a["struct"], b["struct"]) + extra}
        if "list" in a and "list" in b:
            item = _merge_type({"type": a["list"]}, {"type": b["list"]})
            return {"list": item}
    return a


def arrow_schema(fields: list[dict[str, Any]]) -> pa.Schema:
    """An Arrow schema for `fields` (schema file format), JSON-text columns marked with
    `JSON_DOC` for Iceberg (the doc becomes the Iceberg field's doc)."""
    parsed = schema_from_json({"fields": fields}, "table schema")
    return pa.schema([_with_doc(f) for f in parsed])


def _with_doc(field: pa.Field) -> pa.Field:
    t = field.type
    if is_json_text(field):
        return pa.field(field.name, t, True, {_DOC_KEY: JSON_DOC.encode()})
    if pa.types.is_struct(t):
        t = pa.struct([_with_doc(c) for c in t])
    elif pa.types.is_list(t):
        t = pa.list_(_with_doc(t.value_field))
    # Converter markers (null_only, wide_int, ...) mean nothing to Iceberg: dropped.
    return pa.field(field.name, t, True)


def _holds_struct(t: IcebergType) -> bool:
    from pyiceberg.types import ListType, StructType

    if isinstance(t, StructType):
        return True
    return isinstance(t, ListType) and _holds_struct(t.element_type)


def _field_doc(field: NestedField, path: str) -> dict[str, Any]:
    return {"name": field.name, "type": _type_doc(field, path)}


def _type_doc(field: NestedField, path: str) -> Any:
    from pyiceberg import types as it

    t = field.field_type
    if isinstance(t, it.StringType):
        return "json" if field.doc == JSON_DOC else "string"
    if isinstance(t, it.StructType):
        return {"struct": [_field_doc(c, f"{path}.{c.name}") for c in t.fields]}
    if isinstance(t, it.ListType):
        return {"list": _type_doc(t.element_field, f"{path}[]")}
    scalars: dict[type, str] = {
        it.BooleanType: "bool",
        it.IntegerType: "int64",
        it.LongType: "int64",
        it.FloatType: "float64",
        it.DoubleType: "float64",
        it.DateType: "date",
        it.TimestamptzType: "timestamp",
    }
    name = scalars.get(type(t))
    if name is None:
        raise TableSchemaError(
            f"table column {path} has the Iceberg type {t}, which the converter cannot write; "
            "supported: boolean, int, long, float, double, string, date, timestamptz, struct, list"
        )
    return name
