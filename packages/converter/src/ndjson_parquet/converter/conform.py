"""Casting Arrow data to a unified schema with the widening rules of `schema.py`."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ndjson_parquet.converter.errors import ConversionError
from ndjson_parquet.converter.field_markers import (
    EMPTY_STRUCT_KEY,
    NULL_ONLY_KEY,
    TRUE,
    is_json_text,
    is_nested,
    same_field,
    same_schema,
)
from ndjson_parquet.converter.names import key_of


class RawJson(str):
    """JSON text to embed as is (a number kept exactly, or a JSON-text column's value)."""

    __slots__ = ()


# Integral floats below this print as integers (beyond it orjson writes an exponent).
_INTEGRAL_TEXT_BELOW = 1e16


def float_text(value: float) -> str:
    """A float's JSON text, the same whichever route read it: pyarrow's reader reads `5` and
    `5.0` alike (a column with both is float64), so integral values below 1e16 are written as
    integers (`5`), others as orjson writes them (`0.5`, `1e20`)."""
    if value.is_integer() and abs(value) < _INTEGRAL_TEXT_BELOW:
        return str(int(value))
    return orjson.dumps(value).decode()


def _float_texts(array: pa.Array) -> pa.Array:
    """`float_text` of each value of a float column (nulls stay null), vectorised."""
    values = array.to_numpy(zero_copy_only=False)
    with np.errstate(invalid="ignore"):
        integral = np.isfinite(values) & (np.floor(values) == values)
        integral &= np.abs(values) < _INTEGRAL_TEXT_BELOW
    as_ints = pc.cast(pc.cast(array, pa.int64(), safe=False), pa.string())
    rest = np.flatnonzero(~integral & array.is_valid().to_numpy(zero_copy_only=False))
    texts = as_ints.to_numpy(zero_copy_only=False).astype(object)
    if len(rest):
        # A float's text has no comma: one dump of those values, split.
        dumped = orjson.dumps(values[rest].tolist())[1:-1].decode().split(",")
        texts[rest] = dumped
    texts[~array.is_valid().to_numpy(zero_copy_only=False)] = None
    return pa.array(texts, pa.string())


def _dump(value: Any) -> str:
    """JSON text of a Python value whose RawJson parts are embedded verbatim."""
    if isinstance(value, RawJson):
        return str(value)
    if isinstance(value, float):
        return float_text(value)
    if isinstance(value, dict):
        # Keys in order, null fields left out (a struct cannot tell absent from null, nor keep
        # each object's key order), so that an object's text does not depend on the route that
        # read it.
        fields = (
            f"{_dump(str(k))}:{_dump(v)}"
            for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))
            if v is not None
        )
        return "{" + ",".join(fields) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_dump(v) for v in value) + "]"
    return orjson.dumps(value).decode()


def _python_value(value: Any, field: pa.Field) -> Any:
    """Mark the JSON-text parts of a value read back from Arrow so they are embedded raw.

    A struct field that is null is left out: a struct holds the union of the fields of many
    objects, and a field an object did not have is null (absent is not null).
    """
    if value is None:
        return None
    if is_json_text(field):
        return RawJson(value)
    t = field.type
    if pa.types.is_struct(t):
        return {key_of(c): _python_value(value[c.name], c) for c in t if value[c.name] is not None}
    if pa.types.is_list(t):
        return [_python_value(v, t.value_field) for v in value]
    return value


def json_text(array: pa.Array, field: pa.Field) -> pa.Array:
    """Each value's JSON text (nulls stay null)."""
    t = array.type
    if is_json_text(field):
        return array
    if pa.types.is_null(t) or (field.metadata or {}).get(NULL_ONLY_KEY) == TRUE:
        return pa.nulls(len(array), pa.string())
    if pa.types.is_integer(t) or pa.types.is_boolean(t):
        return pc.cast(array, pa.string())
    if pa.types.is_floating(t):
        return _float_texts(array)
    if (
        pa.types.is_string(t)
        and not pc.any(pc.match_substring_regex(array, "[\\x00-\\x1f]")).as_py()
    ):
        # Quoting without control characters needs only two escapes: done column-wise.
        escaped = pc.replace_substring(pc.replace_substring(array, "\\", "\\\\"), '"', '\\"')
        return pc.binary_join_element_wise('"', escaped, '"', "")
    values = array.to_pylist()
    return pa.array(
        [None if v is None else _dump(_python_value(v, field)) for v in values], pa.string()
    )


def match_fields(src: list[pa.Field], dst: list[pa.Field]) -> tuple[list[int | None], list[str]]:
    """For each target field, the index of the source field holding it (or None); and the
    source fields no target holds.

    A field is matched by name first (same naming on both sides, and lineage columns), then by
    JSON key (a source named by keys, a target by column names: see `names`).
    """
    by_name = {f.name: i for i, f in enumerate(src)}
    by_key: dict[str, int] = {}
    for index, f in enumerate(src):
        by_key.setdefault(key_of(f), index)
    dst_names = {f.name for f in dst}
    used: set[int] = set()
    matched: list[int | None] = []
    for f in dst:
        i: int | None = by_name.get(f.name)
        if i is None or i in used:
            i = by_key.get(key_of(f))
            if i is not None and (i in used or src[i].name in dst_names):
                i = None
        if i is not None:
            used.add(i)
        matched.append(i)
    return matched, [f.name for index, f in enumerate(src) if index not in used]


def conform_array(array: pa.Array, src: pa.Field, dst: pa.Field) -> pa.Array:
    """`array` (typed as `src`) as the type of `dst`."""
    if is_json_text(dst):
        if is_json_text(src) or (src.metadata or {}).get(EMPTY_STRUCT_KEY) == TRUE:
            return array
        if pa.types.is_struct(src.type) and src.type.num_fields == 0:
            return pa.array([None if v is None else "{}" for v in array.to_pylist()], pa.string())
        return json_text(array, src)
    if pa.types.is_null(array.type) or (
        (src.metadata or {}).get(NULL_ONLY_KEY) == TRUE and array.null_count == len(array)
    ):
        return pa.nulls(len(array), dst.type)
    dt = dst.type
    if array.type.equals(dt) and (not is_nested(dt) or same_field(src, dst)):
        return array
    if pa.types.is_struct(dt):
        if (src.metadata or {}).get(EMPTY_STRUCT_KEY) == TRUE or pa.types.is_struct(array.type):
            return _conform_struct(array, src, dst)
    elif pa.types.is_list(dt) and pa.types.is_list(array.type):
        return _conform_list(array, src, dst)
    try:
        return pc.cast(array, dt, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise ConversionError(f"cannot store {src.name} ({src.type}) as {dt}: {exc}") from exc


def _conform_struct(array: pa.Array, src: pa.Field, dst: pa.Field) -> pa.Array:
    mask = array.is_null()
    src_fields: list[pa.Field] = []
    kids: list[pa.Array] = []
    if pa.types.is_struct(array.type):  # else an empty-struct JSON-text column: {} or null
        # `src` carries the field metadata (keys) the array's type may lack.
        declared = src.type if pa.types.is_struct(src.type) else array.type
        if declared.num_fields != array.type.num_fields:
            declared = array.type
        src_fields, kids = list(declared), array.flatten()
    matched, extra = match_fields(src_fields, list(dst.type))
    children = []
    for f, i in zip(dst.type, matched, strict=True):
        if i is None:
            children.append(pa.nulls(len(array), f.type))
        else:
            children.append(conform_array(kids[i], src_fields[i], f))
    if extra:
        raise ConversionError(f"fields {sorted(extra)} of {src.name} missing in the target schema")
    return pa.StructArray.from_arrays(children, fields=list(dst.type), mask=mask)


def _conform_list(array: pa.Array, src: pa.Field, dst: pa.Field) -> pa.Array:
    offsets = array.offsets
    start = offsets[0].as_py()
    end = offsets[-1].as_py()
    values = array.values.slice(start, end - start)
    if start:
        offsets = pc.subtract(offsets, pa.scalar(start, offsets.type))
    item = conform_array(values, src.type.value_field, dst.type.value_field)
    mask = array.is_null() if array.null_count else None
    return pa.ListArray.from_arrays(offsets, item, type=dst.type, mask=mask)


def conform_table(
    table: pa.Table, schema: pa.Schema, source_schema: pa.Schema | None = None
) -> pa.Table:
    """`table` cast to `schema`: missing columns are null, types widened as unified.

    `source_schema` (default: the table's) carries field metadata the table may not have.
    A column of `table` that `schema` lacks raises ConversionError (data is never dropped).
    """
    src_schema = source_schema or table.schema
    if not len(schema):
        if table.num_columns:
            raise ConversionError(f"columns {table.column_names} are missing in the target schema")
        return table
    if table.schema.equals(schema) and same_schema(src_schema, schema):
        return table
    columns = []
    for f, (i, kept) in zip(schema, _plan(src_schema, schema), strict=True):
        if i is None:
            columns.append(pa.nulls(table.num_rows, f.type))
        elif kept:
            columns.append(table.column(i))
        else:
            src = src_schema.field(i)
            chunks = [conform_array(c, src, f) for c in table.column(i).chunks]
            columns.append(pa.chunked_array(chunks, type=f.type))
    return pa.Table.from_arrays(columns, schema=schema)


_PLANS: dict[tuple[bytes, bytes], list[tuple[int | None, bool]]] = {}


def _plan(src_schema: pa.Schema, schema: pa.Schema) -> list[tuple[int | None, bool]]:
    """For each target field, the source column holding it (or None) and whether it is kept
    as it is. A run conforms many tables of the same two schemas: the plan is made once.
    (Serialized schemas are the key: Arrow's equality ignores nested field metadata.)"""
    key = (src_schema.serialize().to_pybytes(), schema.serialize().to_pybytes())
    plan = _PLANS.get(key)
    if plan is None:
        matched, extra = match_fields(list(src_schema), list(schema))
        if extra:
            raise ConversionError(f"columns {extra} are missing in the target schema")
        plan = [
            (i, i is not None and _kept(src_schema.field(i), f))
            for f, i in zip(schema, matched, strict=True)
        ]
        if len(_PLANS) >= 256:
            _PLANS.clear()
        _PLANS[key] = plan
    return plan


def _kept(src: pa.Field, dst: pa.Field) -> bool:
    """Whether every array of `src` is already one of `dst` (what `conform_array` returns
    unchanged whatever the values)."""
    if is_json_text(dst):
        return is_json_text(src) and pa.types.is_string(src.type)
    if pa.types.is_null(src.type) or (src.metadata or {}).get(NULL_ONLY_KEY) == TRUE:
        return False
    return bool(src.type.equals(dst.type)) and same_field(src, dst)


def conform_file(
    location: str | Path,
    schema: pa.Schema | Mapping[str, Any],
    *,
    compression: str = "zstd",
) -> bool:
    """Rewrite one Parquet file (local path or s3:// URI) in place with `schema`.

    Returns False when the file already has the schema (nothing written). `schema` may be an
    Arrow schema or its JSON form (a Summary's `schema`).
    """
    from ndjson_parquet.converter import storage
    from ndjson_parquet.converter.schema import as_arrow_schema

    target = as_arrow_schema(schema)
    loc = str(location)
    with tempfile.TemporaryDirectory(prefix="ndjson-parquet-conform-") as tmp:
        src = Path(tmp) / "in.parquet"
        if storage.is_s3(loc):
            src.write_bytes(storage.read_bytes(loc))
        else:
            src = Path(loc)
        if same_schema(pq.read_schema(str(src)), target):
            return False
        out = Path(tmp) / "out.parquet"
        conform_parquet(src, out, target, compression=compression)
        storage.put_file(out, loc)
    return True


def conform_parquet(
    source: str | Path, destination: str | Path, schema: pa.Schema, *, compression: str = "zstd"
) -> None:
    """Rewrite a Parquet file with `schema` (row groups kept), using `conform_table`."""
    reader = pq.ParquetFile(str(source))
    src_schema = reader.schema_arrow
    from ndjson_parquet.converter.writer import write_options

    with pq.ParquetWriter(str(destination), schema, **write_options(compression)) as writer:
        for i in range(reader.num_row_groups):
            writer.write_table(conform_table(reader.read_row_group(i), schema, src_schema))
