"""Apache Iceberg tables as a destination: each run (manifest) is one atomic snapshot.

    from ndjson_parquet.converter.table import TableDestination, convert_to_table
    summary = convert_to_table(["events.ndjson"], TableDestination("lake.events", "warehouse/"))

Needs the `iceberg` extra (`pip install 'ndjson-parquet-converter[iceberg]'`).
"""

from ndjson_parquet.converter.table.catalog import TableDestination, open_catalog
from ndjson_parquet.converter.table.commit import (
    RUN_ID_PROPERTY,
    CommitRetriesExhausted,
    SchemaConflict,
    find_run,
)
from ndjson_parquet.converter.table.lookup import snapshot_of_run
from ndjson_parquet.converter.table.replay import replay_quarantine
from ndjson_parquet.converter.table.run import convert_to_table
from ndjson_parquet.converter.table.schema_map import JSON_DOC, TableSchemaError

__all__ = [
    "JSON_DOC",
    "RUN_ID_PROPERTY",
    "CommitRetriesExhausted",
    "SchemaConflict",
    "TableDestination",
    "TableSchemaError",
    "convert_to_table",
    "find_run",
    "open_catalog",
    "replay_quarantine",
    "snapshot_of_run",
]
