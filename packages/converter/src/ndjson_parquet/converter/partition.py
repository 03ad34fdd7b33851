"""Hive-style date partitions (dt=YYYY-MM-DD) from a field's value."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc

from ndjson_parquet.converter.field_markers import is_json_text

DEFAULT_PARTITION = "__HIVE_DEFAULT_PARTITION__"
_DATE = r"^\d{4}-\d{2}-\d{2}$"


def partition_values(table: pa.Table, field: str) -> pa.Array:
    """The dt value of each row: the date at the start of the field's text, else the default."""
    n = table.num_rows
    i = table.schema.get_field_index(field)
    if i < 0:
        return pa.array([DEFAULT_PARTITION] * n, pa.string())
    f = table.schema.field(i)
    col = table.column(i).combine_chunks()
    if pa.types.is_timestamp(f.type) or pa.types.is_date(f.type):
        text = pc.cast(pc.cast(col, pa.date32()), pa.string())
    elif pa.types.is_string(f.type) or pa.types.is_large_string(f.type):
        # A JSON-text column holds strings with their quotes.
        start = 1 if is_json_text(f) else 0
        text = pc.utf8_slice_codeunits(col, start, start + 10)
    else:
        return pa.array([DEFAULT_PARTITION] * n, pa.string())
    ok = pc.fill_null(pc.match_substring_regex(text, _DATE), False)
    return pc.if_else(ok, text, pa.scalar(DEFAULT_PARTITION))


def split_by_partition(table: pa.Table, field: str) -> Iterator[tuple[str, pa.Table]]:
    """(dt value, rows) for each dt value of the table, in sorted order."""
    values = partition_values(table, field)
    keys = sorted(pc.unique(values).to_pylist())
    if len(keys) == 1:
        yield keys[0], table
        return
    for key in keys:
        yield key, table.filter(pc.equal(values, key))


def partition_folder(value: str) -> str:
    return f"dt={value}"
