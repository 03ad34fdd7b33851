"""Where a table lives: its catalog (Glue on AWS, SQL on a SQLite file locally) and warehouse.

The same code runs against AWS and an emulator: the Glue catalog's boto3 client and the S3
file IO follow `AWS_ENDPOINT_URL` (the one place that reads it for pyiceberg is here).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

from ndjson_parquet.converter.options import MiB
from ndjson_parquet.converter.table.schema_map import TableSchemaError

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog

CATALOG_NAME: Final = "ndjson_parquet"
SQLITE_FILE: Final = "catalog.db"


class IcebergNotInstalled(TableSchemaError):
    """pyiceberg is missing: the table destination is an optional extra."""


@dataclass(frozen=True, slots=True)
class TableDestination:
    """An Iceberg table to convert into.

    `identifier` is `database.table`. `warehouse` is a folder or an s3:// prefix: new tables are
    created below it (`<warehouse>/<database>.db/<table>`). `catalog="sql"` keeps the catalog
    in `<warehouse>/catalog.db` (SQLite, no server); `catalog="glue"` uses the Glue Data
    Catalog of the current account and region. `partition_by` names the date or timestamp field
    whose day partitions the table (`day(field)`); without it, a manifest's rows are partitioned
    by the manifest's date prefix (`_date_prefix`, identity), and other runs are unpartitioned.
    """

    identifier: str
    warehouse: str
    catalog: Literal["sql", "glue"] = "sql"
    partition_by: str | None = None
    target_file_bytes: int = 128 * MiB

    def __post_init__(self) -> None:
        parts = self.identifier.split(".")
        if len(parts) != 2 or not all(parts):
            raise ValueError(f"table must be database.table, got {self.identifier!r}")
        if self.catalog not in ("sql", "glue"):
            raise ValueError(f"catalog must be sql or glue, not {self.catalog!r}")
        if self.target_file_bytes <= 0:
            raise ValueError("target_file_bytes must be positive")

    @property
    def database(self) -> str:
        return self.identifier.split(".")[0]


def to_iceberg_location(location: str) -> str:
    """A converter location (local path or s3:// URI) as pyiceberg names it."""
    if "://" in location:
        return location
    # Not Path.as_uri(): it percent-encodes `=` (dt=...), which pyiceberg does not decode.
    return "file://" + str(Path(location).absolute())


def to_converter_location(location: str) -> str:
    """A pyiceberg location (file:// or s3:// URI) as the converter's storage names it."""
    if location.startswith("file://"):
        return location[len("file://") :]
    if location.startswith("s3a://"):
        return "s3://" + location[len("s3a://") :]
    return location


def open_catalog(destination: TableDestination) -> Catalog:
    """The pyiceberg catalog of a destination (a local SQL catalog gets its namespace)."""
    try:
        from pyiceberg.catalog import load_catalog
        from pyiceberg.exceptions import NamespaceAlreadyExistsError
    except ImportError as exc:
        raise IcebergNotInstalled(
            "the table destination needs pyiceberg: pip install 'ndjson-parquet-converter[iceberg]'"
        ) from exc
    warehouse = to_iceberg_location(destination.warehouse)
    properties: dict[str, str] = {"warehouse": warehouse}
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:  # an emulator: pyarrow's S3 file system does not read AWS_ENDPOINT_URL
        properties["s3.endpoint"] = endpoint
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if region:
        properties["s3.region"] = region
    if destination.catalog == "sql":
        local = to_converter_location(warehouse)
        if local.startswith("s3://"):
            raise ValueError("the sql catalog keeps its SQLite file in a local warehouse folder")
        Path(local).mkdir(parents=True, exist_ok=True)
        properties |= {"type": "sql", "uri": f"sqlite:///{Path(local) / SQLITE_FILE}"}
    else:
        properties["type"] = "glue"
    catalog = load_catalog(CATALOG_NAME, **properties)
    if destination.catalog == "sql":
        # A Glue database is part of the deployment (Terraform), and the job may not create one.
        with contextlib.suppress(NamespaceAlreadyExistsError):
            catalog.create_namespace(destination.database)
    return catalog
