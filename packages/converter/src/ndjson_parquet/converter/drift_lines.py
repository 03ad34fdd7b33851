"""Drift entries: where they point (the first line of a piece holding a value of the column),
whether a column is (inside) one that already holds JSON text, and the entry for a number
kept as JSON text."""

from __future__ import annotations

import dataclasses
import re

import pyarrow as pa
import pyarrow.compute as pc

from ndjson_parquet.converter.field_markers import is_json_text
from ndjson_parquet.converter.parsed import Piece
from ndjson_parquet.converter.schema import Drift


def within_json_text(schema: pa.Schema | None, column: str) -> bool:
    """Whether a drift entry's column ("a.b", "a[].b") is, or is inside, a column of `schema`
    that holds JSON text."""
    parts = [p for p in re.split(r"(\[\])|\.", column) if p]
    if schema is None or not parts or parts[0] not in schema.names:
        return False
    field = schema.field(parts[0])
    for part in parts[1:]:
        if is_json_text(field):
            return True
        t = field.type
        if part == "[]" and pa.types.is_list(t):
            field = t.value_field
        elif pa.types.is_struct(t) and t.get_field_index(part) >= 0:
            field = t.field(part)
        else:
            return False
    return is_json_text(field)


def locate(d: Drift, piece: Piece) -> Drift:
    """Point a drift entry at the first line of the piece holding a value of the column
    (through structs; into lists, the first row holding the list)."""
    parts = [p for p in re.split(r"(\[\])|\.", d.column) if p is not None]
    top = parts[0]
    if top is None or top not in piece.table.column_names:
        return d
    array: pa.Array = piece.table.column(top).combine_chunks()
    for part in parts[1:]:
        if not part or not pa.types.is_struct(array.type):
            break
        index = array.type.get_field_index(part)
        if index < 0:
            break
        array = _child(array, index)
    valid = array.is_valid()
    idx = pc.index(valid, True).as_py()
    if idx is None or idx < 0:
        return d
    return dataclasses.replace(d, line=int(piece.lines[idx]))


def _child(array: pa.StructArray, index: int) -> pa.Array:
    """A struct's child, null where the struct is null."""
    child = array.field(index)
    if not array.null_count:
        return child
    return pc.if_else(array.is_valid(), child, pa.nulls(len(child), child.type))


def inexact_number(column: str, literal: str, source: str, line: int) -> Drift:
    """The entry for a number literal kept as JSON text: no int64 or float64 holds it."""
    return Drift(
        column,
        "number",
        "number",
        "json",
        f"{literal} has no exact int64/float64 form, kept as JSON text",
        source,
        line,
    )
