"""One run's Parquet files into the table as ONE snapshot, at most once per run id.

The protocol, under the catalog's optimistic concurrency (a commit names the metadata it was
based on; Glue and the SQL catalog refuse it when another commit got there first):

1. Load the table. If a snapshot's summary records this run id (`RUN_ID_PROPERTY`), the run is
   already in the table: return that snapshot, append nothing.
2. In one transaction: evolve the schema to hold the files' columns (`union_by_name`: new
   columns, new nested fields, int→long and float→double), set the name mapping, and fast-append
   one data file per Parquet file, with its statistics and partition, in one snapshot whose
   summary records the run id and the run's counts.
3. Commit. A `CommitFailedException` (someone else committed first) goes back to step 1 with
   the new table state, so two runs committing at once both land and a run never lands twice.

The data files carry no Iceberg field ids: readers resolve their columns by name through the
table's name mapping (`schema.name-mapping.default`, kept up to date by every schema change),
as for files added with pyiceberg's `add_files`. Renaming a column would break that mapping for
existing files, so columns are never renamed here (see the converter README).
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import pyarrow as pa
import pyarrow.parquet as pq

from ndjson_parquet.converter.table.schema_map import TableSchemaError

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog
    from pyiceberg.io import FileIO
    from pyiceberg.manifest import DataFile
    from pyiceberg.table import Table, Transaction
    from pyiceberg.table.metadata import TableMetadata
    from pyiceberg.table.snapshots import Snapshot

log = logging.getLogger(__name__)

RUN_ID_PROPERTY: Final = "ndjson-parquet.run-id"
DATE_PREFIX_COLUMN: Final = "_date_prefix"
NAME_MAPPING: Final = "schema.name-mapping.default"
TARGET_FILE_SIZE: Final = "write.target-file-size-bytes"
RETRIES: Final = "commit.retry.num-retries"
# Merge small manifests as appends go (Java Iceberg's default; pyiceberg's is off): without it
# every snapshot adds one manifest, and query planning reads them all.
MERGE_MANIFESTS: Final = "commit.manifest-merge.enabled"
MAX_ATTEMPTS: Final = 12


class SchemaConflict(TableSchemaError):
    """The files' columns cannot join the table's (a type Iceberg cannot promote to)."""


class CommitRetriesExhausted(TableSchemaError):
    """Other writers kept committing first; the run's files are not in the table."""


@dataclass(frozen=True, slots=True)
class DataFileSpec:
    """One Parquet file to add, and the date prefix of its rows (identity-partitioned tables)."""

    location: str
    date_prefix: str | None = None


@dataclass(frozen=True, slots=True)
class Committed:
    """The snapshot that holds a run, and whether this call created it."""

    snapshot_id: int
    sequence_number: int | None
    created: bool
    properties: dict[str, str]


def find_run(table: Table, run_id: str) -> Snapshot | None:
    """The snapshot that committed `run_id`, if the table still has it (see snapshot expiry)."""
    for snapshot in table.metadata.snapshots:
        summary = snapshot.summary
        if summary is not None and summary.additional_properties.get(RUN_ID_PROPERTY) == run_id:
            return snapshot
    return None


def _committed(snapshot: Snapshot, created: bool) -> Committed:
    props = dict(snapshot.summary.additional_properties) if snapshot.summary else {}
    return Committed(snapshot.snapshot_id, snapshot.sequence_number, created, props)


def check_fits(table: Table, schema: pa.Schema) -> None:
    """Raise `SchemaConflict` when `schema`'s columns cannot join the table's (a dry run on a
    transaction that is never committed)."""
    _evolve(table.transaction(), schema)


def commit_files(
    catalog: Catalog,
    identifier: str,
    files: Sequence[DataFileSpec],
    schema: pa.Schema,
    *,
    run_id: str,
    properties: Mapping[str, str],
    partition_by: str | None,
    by_date_prefix: bool,
    target_file_bytes: int,
    location: str,
) -> Committed:
    """Add `files` (written with `schema`) to the table in one snapshot, once per `run_id`.

    Creates the table at `location` on first use (in the same commit as its first data),
    partitioned by `day(partition_by)`, else by the files' date prefix if `by_date_prefix`. Raises
    `SchemaConflict` when the files do not fit the table, `CommitRetriesExhausted` when
    concurrent commits won every attempt.
    """
    from pyiceberg.exceptions import (
        CommitFailedException,
        NoSuchTableError,
        TableAlreadyExistsError,
    )
    from pyiceberg.io import load_file_io

    io = load_file_io(catalog.properties, location)
    snapshot_props = {**properties, RUN_ID_PROPERTY: run_id}
    for attempt in range(MAX_ATTEMPTS):
        try:
            table = catalog.load_table(identifier)
        except NoSuchTableError:
            table = None
        if table is not None:
            done = find_run(table, run_id)
            if done is not None:
                log.info(
                    "run %s is already in %s (snapshot %s)", run_id, identifier, done.snapshot_id
                )
                return _committed(done, created=False)
        try:
            if table is None:
                txn: Transaction = catalog.create_table_transaction(
                    identifier,
                    schema,
                    location=location,
                    properties={
                        TARGET_FILE_SIZE: str(target_file_bytes),
                        MERGE_MANIFESTS: "true",
                        # one metadata file per commit: keep the last 100, not all
                        "write.metadata.delete-after-commit.enabled": "true",
                        "write.metadata.previous-versions-max": "100",
                    },
                )
                _partition(txn, partition_by, by_date_prefix)
            else:
                txn = _as_pipeline_writer(table).transaction()
                _evolve(txn, schema)
            _name_mapping(txn)
            with txn.update_snapshot(snapshot_properties=snapshot_props).merge_append() as append:
                for data_file in _data_files(txn.table_metadata, files, io):
                    append.append_data_file(data_file)
            committed = txn.commit_transaction()
        except (CommitFailedException, TableAlreadyExistsError):
            # Another writer committed first: start again from its table.
            pause = min(0.05 * 2**attempt, 2.0) * (0.5 + random.random())
            log.info("commit of run %s lost a race (attempt %d), retrying", run_id, attempt + 1)
            time.sleep(pause)
            continue
        snapshot = find_run(committed, run_id)
        assert snapshot is not None, "a committed snapshot carries its run id"
        return _committed(snapshot, created=True)
    raise CommitRetriesExhausted(
        f"{MAX_ATTEMPTS} commits of run {run_id} to {identifier} lost to concurrent writers; "
        "nothing was added: run it again"
    )


def _as_pipeline_writer(table: Table) -> Table:
    """The table with pyiceberg's own commit retries off and manifest merging on, for this
    process only.

    pyiceberg (0.12+) retries a conflicting append by re-basing it onto the new table state,
    without the run-id check of step 1: two attempts of one run could then both land. The
    properties are changed in this in-memory copy only (a commit sends its updates, not the
    properties it was read with), so other writers keep the table's settings.
    """
    props = {**table.metadata.properties, RETRIES: "0", MERGE_MANIFESTS: "true"}
    table.metadata = table.metadata.model_copy(update={"properties": props})
    return table


def _partition(txn: Transaction, partition_by: str | None, by_date_prefix: bool) -> None:
    """A new table's partition spec: day(field), or identity of the manifest's date prefix."""
    from pyiceberg.transforms import DayTransform, IdentityTransform

    if partition_by is not None:
        with txn.update_spec() as spec:
            spec.add_field(partition_by, DayTransform(), f"{partition_by}_day")
    elif by_date_prefix:
        from pyiceberg.types import DateType

        # Not a column of the files: readers take an identity partition's value from the
        # partition of each data file (Iceberg spec, "column projection").
        with txn.update_schema() as update:
            update.add_column(DATE_PREFIX_COLUMN, DateType(), doc="date prefix of the input files")
        with txn.update_spec() as spec:
            spec.add_field(DATE_PREFIX_COLUMN, IdentityTransform(), DATE_PREFIX_COLUMN)


def _evolve(txn: Transaction, schema: pa.Schema) -> None:
    from pyiceberg.exceptions import ResolveError, ValidationError

    try:
        with txn.update_schema() as update:
            update.union_by_name(schema)
    except (ValueError, TypeError, ValidationError, ResolveError) as exc:
        raise SchemaConflict(f"the run's columns do not fit the table: {exc}") from exc


def _name_mapping(txn: Transaction) -> None:
    """Files without field ids are read by name: the mapping must cover the current schema.
    (Schema changes extend an existing mapping; a new table needs its first one.)"""
    if txn.table_metadata.properties.get(NAME_MAPPING) is None:
        mapping = txn.table_metadata.schema().name_mapping.model_dump_json()
        txn.set_properties({NAME_MAPPING: mapping})


def _data_files(
    metadata: TableMetadata, files: Sequence[DataFileSpec], io: FileIO
) -> list[DataFile]:
    from pyiceberg.io.pyarrow import (
        compute_statistics_plan,
        data_file_statistics_from_parquet_metadata,
        parquet_path_to_id_mapping,
    )
    from pyiceberg.manifest import DataFile, DataFileContent, FileFormat
    from pyiceberg.typedef import Record

    schema, spec = metadata.schema(), metadata.spec()
    plan = compute_statistics_plan(schema, metadata.properties)
    mapping = parquet_path_to_id_mapping(schema)
    out = []
    for file in files:
        input_file = io.new_input(file.location)
        with input_file.open() as stream:
            footer = pq.read_metadata(stream)
        stats = data_file_statistics_from_parquet_metadata(footer, plan, mapping)
        if any(f.name == DATE_PREFIX_COLUMN for f in spec.fields):
            day = dt.date.fromisoformat(file.date_prefix) if file.date_prefix else None
            partition = Record((day - dt.date(1970, 1, 1)).days if day else None)
        else:
            partition = stats.partition(spec, schema)
        out.append(
            DataFile.from_args(
                content=DataFileContent.DATA,
                file_path=file.location,
                file_format=FileFormat.PARQUET,
                partition=partition,
                file_size_in_bytes=len(input_file),
                sort_order_id=None,
                spec_id=metadata.default_spec_id,
                equality_ids=None,
                key_metadata=None,
                **stats.to_serialized_dict(),
            )
        )
    return out
