"""Lineage columns: the source file, line and manifest of every row (`ConvertOptions.lineage`)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ndjson_parquet.converter.errors import ConversionError

LINEAGE_FIELDS = (
    pa.field("_source_file", pa.string()),
    pa.field("_source_line", pa.int64()),
    pa.field("_manifest_id", pa.string()),
)


def with_lineage_fields(schema: pa.Schema) -> pa.Schema:
    return pa.schema([*schema, *LINEAGE_FIELDS])


def with_lineage(
    table: pa.Table, schema: pa.Schema, source: str, lines: np.ndarray, manifest_id: str | None
) -> tuple[pa.Table, pa.Schema]:
    """The table with the lineage columns of rows from `source` at `lines` appended."""
    clash = [f.name for f in LINEAGE_FIELDS if f.name in schema.names]
    if clash:
        raise ConversionError(f"the data has fields {clash}, which lineage columns would replace")
    n = table.num_rows
    table = table.append_column(
        LINEAGE_FIELDS[0], pa.array([source], pa.string()).take(np.zeros(n, dtype=np.int32))
    )
    table = table.append_column(LINEAGE_FIELDS[1], pa.array(lines, pa.int64()))
    table = table.append_column(
        LINEAGE_FIELDS[2],
        pa.nulls(n, pa.string())
        if manifest_id is None
        else pa.array([manifest_id], pa.string()).take(np.zeros(n, dtype=np.int32)),
    )
    return table, with_lineage_fields(schema)
