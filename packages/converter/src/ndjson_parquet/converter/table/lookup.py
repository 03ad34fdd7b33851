"""Which snapshot of a table holds a run (a manifest): what the operator command shows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from ndjson_parquet.converter.table.catalog import TableDestination, open_catalog
from ndjson_parquet.converter.table.commit import find_run


def snapshot_of_run(
    identifier: str, run_id: str, catalog: Literal["sql", "glue"] = "glue", warehouse: str = ""
) -> dict[str, Any] | None:
    """The snapshot that committed `run_id` to the table (id, time, summary), or None.

    `warehouse` is needed only for the SQL catalog (it holds the SQLite file). Raises pyiceberg's
    `NoSuchTableError` when the table does not exist.
    """
    destination = TableDestination(identifier, warehouse or ".", catalog=catalog)
    table = open_catalog(destination).load_table(identifier)
    snapshot = find_run(table, run_id)
    if snapshot is None:
        return None
    summary = snapshot.summary
    return {
        "table": identifier,
        "snapshot_id": snapshot.snapshot_id,
        "sequence_number": snapshot.sequence_number,
        "committed_at": datetime.fromtimestamp(snapshot.timestamp_ms / 1000, UTC).isoformat(),
        "operation": str(summary.operation.value) if summary is not None else None,
        "summary": dict(summary.additional_properties) if summary is not None else {},
    }
