"""The markers the converter keeps in Arrow field metadata, and comparing fields with them.

A column's Arrow type does not say everything the widening rules of `schema` need, so fields
carry boolean markers in their metadata (each ``ndjson_parquet.<name>``):

* ``encoding = json``: a string column holding each value's JSON text (the resolution of
  incompatible types, or a declared ``json`` column);
* ``wide_int``: an int64 column with a value beyond ±2^53, which float64 cannot hold exactly;
* ``null_only``: a string column (or list element) that only ever held nulls; it unifies like
  the null type;
* ``empty_struct``: a JSON-text column that only ever held ``{}``; it unifies like an empty
  struct.

Arrow's type equality ignores the metadata of nested fields, so `same_field` and `same_schema`
compare the markers too. The markers travel with the schema: in Parquet files, in a summary's
`schema` and in schema files (`schema.schema_to_json`).
"""

from __future__ import annotations

import pyarrow as pa

ENCODING_KEY = b"ndjson_parquet.encoding"
JSON_ENCODING = b"json"
WIDE_INT_KEY = b"ndjson_parquet.wide_int"
NULL_ONLY_KEY = b"ndjson_parquet.null_only"
EMPTY_STRUCT_KEY = b"ndjson_parquet.empty_struct"
TRUE = b"true"

# Integers beyond ±2^53 are not exact as float64 (the wide-int marker).
MAX_EXACT_FLOAT_INT = 2**53

_FLAG_KEYS = (ENCODING_KEY, WIDE_INT_KEY, NULL_ONLY_KEY, EMPTY_STRUCT_KEY)


def has_flag(field: pa.Field, key: bytes) -> bool:
    """Whether a boolean marker is set on `field`."""
    return bool(field.metadata) and field.metadata.get(key) == TRUE


def is_json_text(field: pa.Field) -> bool:
    """Whether a field holds JSON text (the resolution of incompatible types)."""
    return bool(field.metadata) and field.metadata.get(ENCODING_KEY) == JSON_ENCODING


def is_wide_int(field: pa.Field) -> bool:
    return pa.types.is_integer(field.type) and has_flag(field, WIDE_INT_KEY)


def is_null_like(field: pa.Field) -> bool:
    return pa.types.is_null(field.type) or has_flag(field, NULL_ONLY_KEY)


def is_empty_struct_like(field: pa.Field) -> bool:
    return has_flag(field, EMPTY_STRUCT_KEY) or (
        pa.types.is_struct(field.type) and field.type.num_fields == 0
    )


def is_nested(t: pa.DataType) -> bool:
    return bool(pa.types.is_struct(t) or pa.types.is_list(t))


def same_field(a: pa.Field, b: pa.Field) -> bool:
    """Same type and same markers, nested fields included (Arrow's type equality ignores
    the metadata of nested fields, which carries the JSON-text marker)."""
    meta_a, meta_b = a.metadata or {}, b.metadata or {}
    if any(meta_a.get(k) != meta_b.get(k) for k in _FLAG_KEYS):
        return False
    ta, tb = a.type, b.type
    if pa.types.is_struct(ta) and pa.types.is_struct(tb):
        return ta.num_fields == tb.num_fields and all(
            x.name == y.name and same_field(x, y) for x, y in zip(ta, tb, strict=True)
        )
    if pa.types.is_list(ta) and pa.types.is_list(tb):
        return same_field(ta.value_field, tb.value_field)
    return bool(ta.equals(tb))


def same_schema(a: pa.Schema, b: pa.Schema) -> bool:
    """Same fields, types and markers (nested too)."""
    return a.names == b.names and all(same_field(x, y) for x, y in zip(a, b, strict=True))


def json_text_field(name: str, *, empty_struct: bool = False) -> pa.Field:
    """A nullable string field marked as JSON text."""
    meta = {ENCODING_KEY: JSON_ENCODING}
    if empty_struct:
        meta[EMPTY_STRUCT_KEY] = TRUE
    return pa.field(name, pa.string(), nullable=True, metadata=meta)


def with_flag(field: pa.Field, key: bytes, on: bool = True) -> pa.Field:
    """A copy of `field` with a boolean metadata flag set or removed."""
    meta = dict(field.metadata or {})
    if on:
        meta[key] = TRUE
    else:
        meta.pop(key, None)
    return field.with_metadata(meta) if meta else field.remove_metadata()
