"""Arrow schemas of NDJSON data: the widening rules, drift records and the schema file format.

Every column type is decided by the whole input. Two types of the same column are unified by
`unify_schemas` with these rules, in this order:

* equal types stay; a null-only column takes the other type;
* int64 + float64 → float64, unless the integers go beyond ±2^53 (not exact as float64);
* struct + struct → the union of the fields (first-seen order), each field unified;
* list + list → a list of the unified element type;
* anything else → a string column holding each value's JSON text ("JSON text" column, marked
  with the field metadata ``ndjson_parquet.encoding = json``; the markers: `field_markers`).

Every resolution other than "equal" or "null takes the other type" is a `Drift` entry.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import pyarrow as pa

from ndjson_parquet.converter.errors import SchemaFileError
from ndjson_parquet.converter.field_markers import (
    EMPTY_STRUCT_KEY,
    NULL_ONLY_KEY,
    WIDE_INT_KEY,
    has_flag,
    is_empty_struct_like,
    is_json_text,
    is_nested,
    is_null_like,
    is_wide_int,
    json_text_field,
    same_field,
    with_flag,
)
from ndjson_parquet.converter.names import KEY_META, key_of, named_schema


@dataclass(frozen=True, slots=True)
class Drift:
    """One schema conflict and how it was resolved."""

    column: str
    # the type so far, the type of the new values, and the type both now have
    from_type: str
    seen_type: str
    to_type: str
    resolution: str
    file: str | None = None
    line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a schema was first seen (for drift entries)."""

    file: str | None = None
    line: int | None = None


def describe_type(field: pa.Field) -> str:
    """A short, stable type name for summaries and drift entries."""
    if is_json_text(field):
        return "json"
    if is_null_like(field):
        return "null"
    t = field.type
    if pa.types.is_struct(t):
        return "struct<" + ", ".join(f"{f.name}: {describe_type(f)}" for f in t) + ">"
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return f"list<{describe_type(t.value_field)}>"
    return str(t)


def _keep_key(new: pa.Field, old: pa.Field) -> pa.Field:
    """`new` with the JSON key `old` carries (a mapped name keeps its key)."""
    key = (old.metadata or {}).get(KEY_META)
    if key is None or (new.metadata or {}).get(KEY_META) == key:
        return new
    return new.with_metadata({**(new.metadata or {}), KEY_META: key})


class _Unifier:
    def __init__(self, record_additions: bool) -> None:
        self.drift: list[Drift] = []
        self.record_additions = record_additions
        self.origin = Origin()
        # (column path, literal) of numbers kept as JSON text, filled by the exact path
        self.exact: list[tuple[str, str]] = []

    def note(self, path: str, a: pa.Field, b: pa.Field, to: pa.Field, why: str, o: Origin) -> None:
        self.drift.append(
            Drift(
                path,
                describe_type(a),
                describe_type(b),
                describe_type(to),
                why,
                o.file,
                o.line,
            )
        )

    def field(self, a: pa.Field, b: pa.Field, path: str, origin: Origin) -> pa.Field:
        return _keep_key(self._field(a, b, path, origin), a)

    def _field(self, a: pa.Field, b: pa.Field, path: str, origin: Origin) -> pa.Field:
        name = a.name
        if same_field(a, b):
            return a.with_nullable(a.nullable or b.nullable)
        nested = is_nested(a.type) or is_nested(b.type)
        if not nested and a.type.equals(b.type) and not (is_json_text(a) ^ is_json_text(b)):
            merged = a.with_nullable(a.nullable or b.nullable)
            if is_wide_int(b) and not is_wide_int(a):
                merged = with_flag(merged, WIDE_INT_KEY)
            if has_flag(a, NULL_ONLY_KEY) and not has_flag(b, NULL_ONLY_KEY):
                merged = with_flag(merged, NULL_ONLY_KEY, False)
            if has_flag(a, EMPTY_STRUCT_KEY) and not has_flag(b, EMPTY_STRUCT_KEY):
                merged = with_flag(merged, EMPTY_STRUCT_KEY, False)
            return merged
        if is_null_like(a):
            return b.with_name(name).with_nullable(True)
        if is_null_like(b):
            return a.with_nullable(True)
        if is_empty_struct_like(a) and is_empty_struct_like(b):
            return a
        if is_empty_struct_like(a) and pa.types.is_struct(b.type):
            return b.with_name(name).with_nullable(True)
        if is_empty_struct_like(b) and pa.types.is_struct(a.type):
            return a.with_nullable(True)
        if is_json_text(a):  # already resolved (and reported) as JSON text
            return a
        if is_json_text(b):
            to = json_text_field(name)
            self.note(path, a, b, to, "incompatible types, values kept as JSON text", origin)
            return to
        ints = {pa.types.is_integer(a.type), pa.types.is_integer(b.type)}
        if ints == {True, False} and (pa.types.is_floating(a.type) or pa.types.is_floating(b.type)):
            intf = a if pa.types.is_integer(a.type) else b
            if is_wide_int(intf):
                to = json_text_field(name)
                why = "integers beyond ±2^53 are not exact as float64, values kept as JSON text"
            else:
                to = pa.field(name, pa.float64())
                why = "int + float widened to float64"
            self.note(path, a, b, to, why, origin)
            return to
        if pa.types.is_struct(a.type) and pa.types.is_struct(b.type):
            return pa.field(name, self.struct(a.type, b.type, path, origin), nullable=True)
        if pa.types.is_list(a.type) and pa.types.is_list(b.type):
            item = self.field(a.type.value_field, b.type.value_field, f"{path}[]", origin)
            return pa.field(name, pa.list_(item), nullable=True)
        to = json_text_field(name)
        self.note(path, a, b, to, "incompatible types, values kept as JSON text", origin)
        return to

    def struct(
        self, a: pa.StructType, b: pa.StructType, path: str, origin: Origin
    ) -> pa.StructType:
        fields = self.fields(list(a), list(b), path, origin)
        return pa.struct(fields)

    def fields(
        self, a: list[pa.Field], b: list[pa.Field], path: str, origin: Origin
    ) -> list[pa.Field]:
        out = list(a)
        index = {f.name: i for i, f in enumerate(out)}
        for f in b:
            sub = f"{path}.{key_of(f)}" if path else key_of(f)
            i = index.get(f.name)
            if i is None:
                index[f.name] = len(out)
                out.append(f.with_nullable(True))
                if self.record_additions:
                    self.drift.append(
                        Drift(
                            sub,
                            "absent",
                            describe_type(f),
                            describe_type(f),
                            "new field",
                            origin.file,
                            origin.line,
                        )
                    )
            else:
                out[i] = self.field(out[i], f, sub, origin)
        return out


def as_arrow_schema(schema: pa.Schema | Mapping[str, Any]) -> pa.Schema:
    """An Arrow schema from itself or from its JSON form (a Summary's `schema`)."""
    return schema if isinstance(schema, pa.Schema) else schema_from_json(schema)


def unify_schemas(
    schemas: Sequence[pa.Schema | Mapping[str, Any]],
    origins: Sequence[Origin] | None = None,
    *,
    record_additions: bool = False,
) -> tuple[pa.Schema, list[Drift]]:
    """Unify schemas with the widening rules; returns the schema and its drift entries.

    Schemas are Arrow schemas or their JSON form (a Summary's `schema`). The result is final
    when the inputs are (Parquet files of this converter, summaries); otherwise call
    `finalize_schema` before writing Parquet. `origins` (one per schema) name where each schema
    came from; `record_additions` also reports fields that the first schema did not have.
    """
    if not schemas:
        return pa.schema([]), []
    # Fields are matched by column name: the same mapping as every output (see `names`).
    schemas = [named_schema(as_arrow_schema(s)) for s in schemas]
    u = _Unifier(record_additions)
    fields = list(schemas[0])
    for i, s in enumerate(schemas[1:], start=1):
        origin = origins[i] if origins else Origin()
        fields = u.fields(fields, list(s), "", origin)
    return pa.schema(fields), u.drift


def unify_into(
    current: pa.Schema | None, new: pa.Schema, origin: Origin, *, record_additions: bool
) -> tuple[pa.Schema, list[Drift]]:
    """Unify one more schema into a running schema."""
    if current is None:
        return new, []
    u = _Unifier(record_additions)
    return pa.schema(u.fields(list(current), list(new), "", origin)), u.drift


def _finalize_field(f: pa.Field, path: str, drift: list[Drift]) -> pa.Field:
    return _keep_key(_finalized(f, path, drift), f)


def _finalized(f: pa.Field, path: str, drift: list[Drift]) -> pa.Field:
    t = f.type
    if pa.types.is_null(t):
        if path and "[]" not in path:
            drift.append(Drift(path, "null", "null", "string", "null-only column kept as string"))
        return with_flag(pa.field(f.name, pa.string(), True, f.metadata), NULL_ONLY_KEY)
    if pa.types.is_struct(t):
        if t.num_fields == 0:
            return json_text_field(f.name, empty_struct=True)
        kids = [_finalize_field(c, f"{path}.{key_of(c)}", drift) for c in t]
        return pa.field(f.name, pa.struct(kids), f.nullable, f.metadata)
    if pa.types.is_list(t):
        item = _finalize_field(t.value_field, f"{path}[]", drift)
        return pa.field(f.name, pa.list_(item), f.nullable, f.metadata)
    return f


def finalize_schema(schema: pa.Schema) -> tuple[pa.Schema, list[Drift]]:
    """Map what Parquet cannot store well: null → string (nulls), struct<> → JSON text, keys
    → column names engines accept (`names.column_name`, the key kept in field metadata)."""
    drift: list[Drift] = []
    fields = [_finalize_field(f, key_of(f), drift) for f in schema]
    return named_schema(pa.schema(fields, metadata=schema.metadata)), drift


# --- schema file format -------------------------------------------------------------------------

_SCALARS: dict[str, pa.DataType] = {
    "string": pa.string(),
    "bool": pa.bool_(),
    "int32": pa.int32(),
    "int64": pa.int64(),
    "float32": pa.float32(),
    "float64": pa.float64(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}


def _type_to_json(field: pa.Field) -> Any:
    if is_json_text(field):
        return "json"
    t = field.type
    if pa.types.is_struct(t):
        return {"struct": [_field_to_json(c) for c in t]}
    if pa.types.is_list(t):
        return {"list": _type_to_json(t.value_field)}
    for name, st in _SCALARS.items():
        if t.equals(st):
            return name
    if pa.types.is_null(t):
        return "null"
    return str(t)


_FLAGS = {"wide_int": WIDE_INT_KEY, "null_only": NULL_ONLY_KEY, "empty_struct": EMPTY_STRUCT_KEY}


def _field_to_json(field: pa.Field) -> dict[str, Any]:
    doc: dict[str, Any] = {"name": field.name, "type": _type_to_json(field)}
    if field.metadata and KEY_META in field.metadata:
        doc["key"] = key_of(field)  # the JSON key of a mapped name
    for name, key in _FLAGS.items():
        if has_flag(field, key):
            doc[name] = True  # markers the unification rules need (see module docs)
    return doc


def schema_to_json(schema: pa.Schema) -> dict[str, Any]:
    """The schema in the schema file format (also the `schema` of a Summary)."""
    return {"fields": [_field_to_json(f) for f in schema]}


def _field_from_json(doc: Any, where: str) -> pa.Field:
    if not isinstance(doc, dict) or not isinstance(doc.get("name"), str):
        raise SchemaFileError(f"{where}: a field is an object with a string 'name' and a 'type'")
    name = doc["name"]
    f = _field_type_from_json(doc, name, where)
    for flag, key in _FLAGS.items():
        if doc.get(flag) is True:
            f = with_flag(f, key)
    if isinstance(doc.get("key"), str):
        f = f.with_metadata({**(f.metadata or {}), KEY_META: doc["key"].encode("utf-8")})
    return f


def _field_type_from_json(doc: dict[str, Any], name: str, where: str) -> pa.Field:
    t = doc.get("type")
    if t == "json":
        return json_text_field(name)
    if isinstance(t, str):
        if t not in _SCALARS:
            known = ", ".join([*_SCALARS, "json"])
            raise SchemaFileError(
                f"{where}: field {name!r} has unknown type {t!r} (known: {known})"
            )
        return pa.field(name, _SCALARS[t])
    if isinstance(t, dict) and isinstance(t.get("struct"), list):
        kids = [_field_from_json(c, f"{where}.{name}") for c in t["struct"]]
        return pa.field(name, pa.struct(kids))
    if isinstance(t, dict) and "list" in t:
        item = _field_from_json({"name": "item", "type": t["list"]}, f"{where}.{name}[]")
        return pa.field(name, pa.list_(item))
    raise SchemaFileError(f"{where}: field {name!r} has an invalid type {t!r}")


def schema_from_json(doc: Any, source: str = "schema") -> pa.Schema:
    """Parse a schema document (see `load_schema`)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("fields"), list):
        raise SchemaFileError(f"{source}: expected an object with a 'fields' list")
    fields = [_field_from_json(f, source) for f in doc["fields"]]
    names = [f.name for f in fields]
    if len(set(names)) != len(names):
        raise SchemaFileError(f"{source}: a field name is declared twice")
    return pa.schema(fields)


def load_schema(location: str | os.PathLike[str]) -> pa.Schema:
    """Read a declared schema file (local path or s3:// URI).

    Format (JSON): ``{"fields": [{"name": "id", "type": "int64"}, ...]}`` where a type is one of
    ``string bool int32 int64 float32 float64 date timestamp json`` (``timestamp`` is
    microseconds UTC from ISO-8601 text; ``json`` keeps each value's JSON text), or
    ``{"struct": [fields...]}``, or ``{"list": <type>}``.
    """
    from ndjson_parquet.converter.storage import read_bytes

    where = os.fspath(location)
    try:
        doc = json.loads(read_bytes(where))
    except (OSError, ValueError) as exc:
        raise SchemaFileError(f"cannot read schema file {where}: {exc}") from exc
    return schema_from_json(doc, where)
