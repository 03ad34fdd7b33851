"""Reading a column whose values change kind in one pass: the key of each value is renamed by
its kind in the bytes, so that pyarrow's reader puts each kind in a column of its own.

A column whose values changed kind (an id that was a number and is now sometimes a string) is
stored as JSON text. pyarrow's reader cannot read two kinds into one column, so such chunks
were split into groups of lines by kind, each group read on its own and the rows put back in
line order. Renaming instead costs one copy of the chunk and a byte written per value:
`"id":12` becomes `"~d":12` (same length, so nothing moves), and one read gives a number
column `~d` beside the string column `id`; their JSON texts are merged into one column.

What does not fit gives None or fails `verify`, and the chunk is grouped as before: a key
too short to rename, an alias that occurs in the chunk, the key also occurring nested, a line
with the key twice, or a value the bytes showed that the read does not hold.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from ndjson_parquet.converter.conform import json_text
from ndjson_parquet.converter.grouping import KIND_CODE, values_after

# Kind codes of `grouping.KIND_CODE` (1 is a string: keeps its key).
_KINDS = (2, 3, 4, 5)  # number, boolean, object, array
# First characters of aliases: ASCII punctuation, which real keys rarely start with.
_MARKS = b"~^|`!#$%&*+;<=>?@"


@dataclass(frozen=True, slots=True)
class Renamed:
    """A chunk with keys renamed by the kind of their value."""

    data: bytearray
    # key -> its alias column names (one per kind found)
    aliases: dict[str, list[str]]
    # key -> values (not null) found on each line of the chunk
    per_line: dict[str, np.ndarray]


def top_level_key(path: str) -> str | None:
    """The key of a reader column path of one level ("/a" → "a"), else None."""
    parts = path.strip("/").split("/")
    if len(parts) != 1 or not parts[0]:
        return None
    return parts[0].replace("~1", "/").replace("~0", "~")


def _find(data: bytes | bytearray, pattern: bytes) -> np.ndarray:
    """Where `pattern` occurs (overlaps left out)."""
    found = re.compile(re.escape(pattern)).finditer(data)
    return np.fromiter((m.start() for m in found), dtype=np.int64)


def _keys_and_aliases(data: bytes | bytearray, encoded: bytes, marks: bytes) -> np.ndarray | None:
    """Where the key `encoded` ("\"name\"") occurs, or None when one of its aliases (the key
    with its first character replaced by a mark) occurs too. One search, for what follows the
    first character, finds both."""
    if len(encoded) < 4:  # one character: look for the key, and for each alias
        aliases = (bytes([ord('"'), mark]) + encoded[2:] for mark in marks)
        return None if any(a in data for a in aliases) else _find(data, encoded)
    buf = np.frombuffer(data, dtype=np.uint8)
    at = _find(data, encoded[2:]) - 2  # where the opening quote would be
    at = at[at >= 0]
    at = at[buf[at] == ord('"')]
    first = buf[at + 1]
    if np.isin(first, np.frombuffer(marks, dtype=np.uint8)).any():
        return None
    keys: np.ndarray = at[first == encoded[1]]
    return keys


def rename_by_kind(data: bytes | bytearray, keys: Sequence[str]) -> Renamed | None:
    """The chunk with each key's non-string values under an alias per kind; None when a key
    cannot be renamed safely."""
    if len(keys) * len(_KINDS) > len(_MARKS):
        return None
    buf = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(buf == 10)
    lines = len(newlines) + (0 if data.endswith(b"\n") else 1)
    out = bytearray(data)
    view = np.frombuffer(out, dtype=np.uint8)
    aliases: dict[str, list[str]] = {}
    per_line: dict[str, np.ndarray] = {}
    for i, key in enumerate(keys):
        encoded = orjson.dumps(key)
        marks = _MARKS[i * len(_KINDS) : (i + 1) * len(_KINDS)]
        if len(encoded) < 3 or encoded[1] == ord("\\"):
            return None  # no first character to replace
        found = _keys_and_aliases(data, encoded, marks)
        if found is None:
            return None  # an alias is a real key (or text) of this chunk
        key_at, value_at, firsts = values_after(data, found, len(encoded))
        kinds = KIND_CODE[firsts]
        per_line[key] = np.bincount(
            np.searchsorted(newlines, value_at[kinds != 0]), minlength=lines
        )
        aliases[key] = []
        for kind, mark in zip(_KINDS, marks, strict=True):
            where = key_at[kinds == kind]
            if len(where):
                view[where + 1] = mark
                aliases[key].append(chr(mark) + key[1:])
    return Renamed(out, aliases, per_line)


def _nested_names(t: pa.DataType) -> set[str]:
    """Field names anywhere inside a type."""
    out: set[str] = set()
    if pa.types.is_struct(t):
        for child in t:
            out.add(child.name)
            out |= _nested_names(child.type)
    elif pa.types.is_list(t) or pa.types.is_large_list(t):
        out |= _nested_names(t.value_type)
    return out


def verify(table: pa.Table, renamed: Renamed, line_index: np.ndarray) -> bool:
    """Whether the table read from `renamed.data` holds exactly the values the bytes showed:
    no key or alias nested anywhere, strings only under the key itself, and on each row one
    value in one of the columns exactly where the line has one (`line_index`: the 0-based
    line of each row)."""
    nested: set[str] = set()
    for f in table.schema:
        nested |= _nested_names(f.type)
    for key, names in renamed.aliases.items():
        counts = renamed.per_line[key][line_index]
        if counts.max(initial=0) > 1 or nested.intersection([key, *names]):
            return False
        if key in table.column_names and not pa.types.is_string(table.column(key).type):
            return False
        valid = np.zeros(len(line_index), dtype=np.int64)
        for name in [key, *names]:
            if name in table.column_names:
                valid += table.column(name).is_valid().to_numpy(zero_copy_only=False)
        if not np.array_equal(valid, counts):
            return False
    return True


def merge(table: pa.Table, renamed: Renamed, fields: dict[str, pa.Field]) -> pa.Table:
    """The table with each key's columns merged into one JSON-text column (`fields[key]`)."""
    for key, names in renamed.aliases.items():
        parts = [
            json_text(table.column(name).combine_chunks(), table.schema.field(name))
            for name in [key, *names]
            if name in table.column_names
        ]
        if not parts:
            continue
        merged = parts[0] if len(parts) == 1 else pc.coalesce(*parts)
        table = table.drop_columns([n for n in names if n in table.column_names])
        if key in table.column_names:
            table = table.set_column(table.column_names.index(key), fields[key], merged)
        else:
            table = table.append_column(fields[key], merged)
    return table


__all__ = ["Renamed", "merge", "rename_by_kind", "top_level_key", "verify"]
