"""Column names that every query engine accepts, from JSON keys: one reversible rule.

JSON keys are any text; Spark 3.5 refuses a dataset with two columns equal under case-folding,
Athena and the Glue Data Catalog store names lowercase (at most 255 characters), and dots,
spaces and the like need quoting everywhere. So a key becomes a column name by one rule, a
function of the key alone (every share of a distributed run, every replay, names alike):

* a key of 1-255 characters ``a-z 0-9 _`` is its own name, unless it ends like a mapped name
  (``__`` and ten base32 characters) or is a lineage column's name;
* any other key becomes ``<stem>__<hash>``: the stem is the key lowercased with every character
  outside ``a-z 0-9 _`` replaced by ``_``, cut to 64 characters; the hash is ten base32
  characters of the key's SHA-256 (``ID`` → ``id__…``, ``""`` → ``__…``).

Names of the first kind are distinct lowercase text; names of the second kind differ from them
by their ending and from each other by the hash. A mapped field keeps its key in the field
metadata ``ndjson_parquet.key`` (in the Parquet file, and as ``key`` in a summary's schema), so
the mapping is reversible. Internally the converter works with keys; names are given where
Parquet is written (`finalize_schema`).
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Final

import pyarrow as pa

KEY_META: Final = b"ndjson_parquet.key"
MAX_NAME_CHARS: Final = 255
_STEM_CHARS: Final = 64
RESERVED: Final = frozenset({"_source_file", "_source_line", "_manifest_id"})
_PLAIN = re.compile(r"[a-z0-9_]{1,255}")
_MAPPED = re.compile(r".*__[a-z2-7]{10}", re.DOTALL)
_OTHER = re.compile(r"[^a-z0-9_]")


def column_name(key: str) -> str:
    """The Parquet column name of a JSON key (see the module docs)."""
    if key not in RESERVED and _PLAIN.fullmatch(key) and not _MAPPED.fullmatch(key):
        return key
    stem = _OTHER.sub("_", key.lower())[:_STEM_CHARS]
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
    return f"{stem}__{base64.b32encode(digest[:7]).decode().lower()[:10]}"


def key_of(field: pa.Field) -> str:
    """The JSON key a field holds (its name unless the name was mapped)."""
    meta = field.metadata
    if meta and KEY_META in meta:
        return str(meta[KEY_META].decode("utf-8"))
    return str(field.name)


def _named(field: pa.Field, name: str, key: str | None, t: pa.DataType) -> pa.Field:
    meta = {k: v for k, v in (field.metadata or {}).items() if k != KEY_META}
    if key is not None:
        meta[KEY_META] = key.encode("utf-8")
    return pa.field(name, t, field.nullable, meta or None)


def _map_type(t: pa.DataType, to_names: bool) -> pa.DataType:
    if pa.types.is_struct(t):
        return pa.struct([_map_field(c, to_names) for c in t])
    if pa.types.is_list(t):
        item = t.value_field
        return pa.list_(_named(item, item.name, None, _map_type(item.type, to_names)))
    return t


def _map_field(field: pa.Field, to_names: bool) -> pa.Field:
    key = key_of(field)
    t = _map_type(field.type, to_names)
    if not to_names:
        return _named(field, key, None, t)
    name = column_name(key)
    return _named(field, name, key if name != key else None, t)


def named_field(field: pa.Field) -> pa.Field:
    """The field (nested ones too) with column names; idempotent."""
    if _plain_names(field):
        return field
    return _map_field(field, True)


def keyed_field(field: pa.Field) -> pa.Field:
    """The field (nested ones too) named by its keys: the converter's internal form."""
    return _map_field(field, False)


def _plain_names(field: pa.Field) -> bool:
    """Whether no name in the field needs mapping (the common case: nothing is rebuilt)."""
    meta = field.metadata
    if meta and KEY_META in meta:
        return False
    return column_name(field.name) == field.name and _plain_type(field.type)


def _plain_type(t: pa.DataType) -> bool:
    if pa.types.is_struct(t):
        return all(_plain_names(c) for c in t)
    if pa.types.is_list(t):  # a list's item field is not named by a key
        return _plain_type(t.value_type)
    return True


def named_schema(schema: pa.Schema) -> pa.Schema:
    """The schema with column names (see `column_name`); idempotent."""
    fields = [named_field(f) for f in schema]
    if all(a is b for a, b in zip(fields, schema, strict=True)):
        return schema
    return pa.schema(fields, metadata=schema.metadata)


def keyed_schema(schema: pa.Schema) -> pa.Schema:
    """The schema named by JSON keys (a declared schema or a summary's, for the parser)."""
    return pa.schema([keyed_field(f) for f in schema], metadata=schema.metadata)
