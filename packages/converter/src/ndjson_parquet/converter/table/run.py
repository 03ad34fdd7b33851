"""`convert_to_table`: the converter's output committed to an Iceberg table, one snapshot per run.

The table is a layer on top of `convert`:

1. A run whose id is already in the table (a retried or replayed manifest) converts nothing.
2. The table's schema is the declared schema of the conversion (`schema_map.py`): a value a
   column cannot hold exactly goes to quarantine with the converter's error. Structs are left
   to inference, so that new nested fields reach the table.
3. `convert` writes Parquet files into a folder of their own under the table's `data/` (a new
   folder per attempt, so an attempt never overwrites a file a snapshot already lists).
4. If an inferred struct does not fit the table's (a nested type Iceberg cannot promote), the
   run is converted once more with every struct declared, including the nested fields the first
   pass found: only the lines that do not fit go to quarantine.
5. `commit.commit_files` adds the files in one snapshot (schema evolution in the same commit).
   Inputs the run set aside as superseded (overwritten or deleted since the manifest was made)
   are listed in the snapshot's summary, so a replay of the run reports them too.

Files of an attempt that fails before its commit, or whose commit surely did not land, are
deleted. When the outcome is unknown (an error during the commit call, a killed process) they
stay: a retry of the run finds it in the table if the commit landed; if not, no snapshot lists
them, readers never see them, and orphan-file removal deletes them.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final

from ndjson_parquet.converter import storage
from ndjson_parquet.converter.engine import convert
from ndjson_parquet.converter.options import ConvertOptions, Progress, Summary
from ndjson_parquet.converter.outputs import summary_location
from ndjson_parquet.converter.run_inputs import SNAPSHOT_PROPERTY
from ndjson_parquet.converter.schema import schema_from_json, schema_to_json
from ndjson_parquet.converter.sources import is_manifest
from ndjson_parquet.converter.table.catalog import (
    TableDestination,
    open_catalog,
    to_converter_location,
    to_iceberg_location,
)
from ndjson_parquet.converter.table.commit import (
    DATE_PREFIX_COLUMN,
    CommitRetriesExhausted,
    Committed,
    DataFileSpec,
    SchemaConflict,
    check_fits,
    commit_files,
    find_run,
)
from ndjson_parquet.converter.table.schema_map import arrow_schema, declared_fields, merge_fields

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog
    from pyiceberg.table import Table

    from ndjson_parquet.common import Manifest

log = logging.getLogger(__name__)

QUARANTINE_FOLDER: Final = "_quarantine"
# Snapshot summary keys for the run's counts (what a replay of the run reports).
_COUNTS: Final = ("files", "lines_read", "blank_lines", "rows_written", "lines_quarantined")
COUNT_PREFIX: Final = "ndjson-parquet."


def table_location(destination: TableDestination) -> str:
    """Where a new table of `destination` is created: `<warehouse>/<database>.db/<table>`."""
    database, name = destination.identifier.split(".")
    return f"{to_iceberg_location(destination.warehouse).rstrip('/')}/{database}.db/{name}"


def default_quarantine(destination: TableDestination) -> str:
    """Bad lines go next to the tables, never inside one (orphan-file removal would take them)."""
    warehouse = to_converter_location(to_iceberg_location(destination.warehouse))
    return storage.join(warehouse, QUARANTINE_FOLDER, destination.identifier)


def convert_to_table(
    sources: Manifest | Sequence[str | os.PathLike[str]],
    destination: TableDestination,
    options: ConvertOptions | None = None,
    *,
    progress: Callable[[Progress], None] | None = None,
) -> Summary:
    """Convert NDJSON sources into an Iceberg table, as one snapshot, at most once per run id.

    Returns the conversion's summary; `summary.extra["table"]` names the table and the snapshot
    (`snapshot_id`, `created`: False when the run was already in the table). Options apply as
    for `convert`, except that the table decides `partition_by` and `target_file_bytes`, and
    its columns are declared (`options.schema` adds declarations for new columns).
    """
    started = time.monotonic()
    opts = options or ConvertOptions()
    manifest = sources if is_manifest(sources) else None
    known_run_id = opts.run_id or (manifest.manifest_id if manifest is not None else None)
    catalog = open_catalog(destination)
    table = _load(catalog, destination.identifier)
    if table is not None and known_run_id is not None:
        done = find_run(table, known_run_id)
        if done is not None:
            log.info("run %s is already in %s: nothing to convert", known_run_id, table.name())
            props = dict(done.summary.additional_properties) if done.summary else {}
            committed = Committed(done.snapshot_id, done.sequence_number, False, props)
            return _replayed_summary(known_run_id, destination, committed, manifest, started)

    location = to_converter_location(table.location() if table else table_location(destination))
    # An existing table's partitioning wins over the destination's (files must not straddle days).
    partition_by = _day_partition_field(table) if table is not None else destination.partition_by
    opts = dataclasses.replace(
        opts,
        quarantine=opts.quarantine or default_quarantine(destination),
        partition_by=partition_by,
        target_file_bytes=destination.target_file_bytes,
    )
    date_prefix = manifest.date_prefix if manifest is not None and not opts.partition_by else None
    attempt = _Attempt(sources, location, known_run_id, progress)
    try:
        summary = attempt.convert(_declared(table, opts, closed=False), opts)
        files_schema = arrow_schema(summary.schema["fields"])
        if table is not None:
            try:
                check_fits(table, files_schema)
            except SchemaConflict as conflict:
                log.info("converting again with the table's structs declared: %s", conflict)
                attempt.discard()
                closed = merge_fields(_declared(table, opts, closed=True), summary.schema["fields"])
                summary = attempt.convert(closed, opts)
                files_schema = arrow_schema(summary.schema["fields"])
    except BaseException:
        attempt.discard()
        raise
    try:
        committed = commit_files(
            catalog,
            destination.identifier,
            [DataFileSpec(to_iceberg_location(f), date_prefix) for f in summary.output_files],
            files_schema,
            run_id=summary.run_id,
            properties=_count_properties(summary),
            partition_by=partition_by,
            by_date_prefix=date_prefix is not None,
            target_file_bytes=destination.target_file_bytes,
            location=table_location(destination),
        )
    except (SchemaConflict, CommitRetriesExhausted):  # nothing was added: the files can go
        attempt.discard()
        raise
    except BaseException:
        # Whether the commit landed is unknown (a lost response, a killed worker): the files
        # stay. A retry finds the run in the table, or orphan-file removal deletes them.
        log.warning(
            "run %s: commit outcome unknown, files left in %s", summary.run_id, attempt.folder
        )
        raise
    if not committed.created:  # a concurrent attempt of the same run committed first
        attempt.discard()
        summary.output_files = []
    attempt.remove_marker()
    summary.extra["table"] = _table_info(destination, committed)
    summary.seconds = round(time.monotonic() - started, 3)
    return summary


class _Attempt:
    """One conversion into a fresh folder under the table's data/ (and its cleanup)."""

    def __init__(
        self,
        sources: Manifest | Sequence[str | os.PathLike[str]],
        table_location: str,
        run_id: str | None,
        progress: Callable[[Progress], None] | None,
    ) -> None:
        self.sources = sources
        self.table_location = table_location
        self.run_id = run_id
        self.progress = progress
        self.folder: str | None = None
        self.summary: Summary | None = None

    def convert(self, declared: list[dict[str, Any]], opts: ConvertOptions) -> Summary:
        token = f"{self.run_id or 'run'}-{uuid.uuid4().hex[:12]}"
        self.folder = storage.join(self.table_location, "data", token)
        opts = dataclasses.replace(opts, schema=schema_from_json({"fields": declared}))
        self.summary = convert(self.sources, self.folder, opts, progress=self.progress)
        return self.summary

    def remove_marker(self) -> None:
        """The converter's summary object: in a table, the snapshot marks completion."""
        if self.folder is not None and self.summary is not None:
            storage.delete([summary_location(self.folder, self.summary.run_id)])

    def discard(self) -> None:
        """Delete the files of the last conversion (not in the table)."""
        if self.summary is not None:
            storage.delete(list(self.summary.output_files))
            self.remove_marker()
        self.summary = None


def _load(catalog: Catalog, identifier: str) -> Table | None:
    from pyiceberg.exceptions import NoSuchTableError

    try:
        return catalog.load_table(identifier)
    except NoSuchTableError:
        return None


def _day_partition_field(table: Table) -> str | None:
    """The column a table is partitioned by with `day()`, if any."""
    from pyiceberg.transforms import DayTransform

    for field in table.spec().fields:
        if isinstance(field.transform, DayTransform):
            return table.schema().find_column_name(field.source_id)
    return None


def _declared(table: Table | None, opts: ConvertOptions, *, closed: bool) -> list[dict[str, Any]]:
    """The declared schema: the table's columns, then the caller's declarations for others; a
    new table's partition field is a timestamp (`day()` needs one) unless declared a date."""
    given: list[dict[str, Any]] = schema_to_json(opts.schema)["fields"] if opts.schema else []
    fields = declared_fields(table.schema(), closed=closed) if table is not None else []
    # The date prefix lives in the partition metadata only: declared, it would be written as a
    # column of nulls, which readers would then prefer to the partition's value.
    fields = [f for f in fields if f["name"] != DATE_PREFIX_COLUMN]
    names = {f["name"] for f in fields}
    fields += [f for f in given if f["name"] not in names]
    names |= {f["name"] for f in given}
    if opts.partition_by and opts.partition_by not in names:
        fields.append({"name": opts.partition_by, "type": "timestamp"})
    return fields


def _count_properties(summary: Summary) -> dict[str, str]:
    props = {COUNT_PREFIX + name.replace("_", "-"): str(getattr(summary, name)) for name in _COUNTS}
    if summary.manifest_id:
        props[COUNT_PREFIX + "manifest-id"] = summary.manifest_id
    if summary.superseded_files:
        props[SNAPSHOT_PROPERTY] = json.dumps(summary.superseded_files, separators=(",", ":"))
    return props


def _table_info(destination: TableDestination, committed: Committed) -> dict[str, Any]:
    return {
        "identifier": destination.identifier,
        "catalog": destination.catalog,
        "snapshot_id": committed.snapshot_id,
        "sequence_number": committed.sequence_number,
        "created": committed.created,
    }


def _replayed_summary(
    run_id: str,
    destination: TableDestination,
    committed: Committed,
    manifest: Manifest | None,
    started: float,
) -> Summary:
    """The summary of a run found in the table: its counts, from the snapshot's summary."""

    def count(name: str) -> int:
        return int(committed.properties.get(COUNT_PREFIX + name.replace("_", "-"), 0))

    return Summary(
        run_id=run_id,
        files=count("files"),
        lines_read=count("lines_read"),
        blank_lines=count("blank_lines"),
        rows_written=count("rows_written"),
        lines_quarantined=count("lines_quarantined"),
        bytes_read=0,
        output_files=[],
        quarantine_files=[],
        schema={},
        drift=[],
        seconds=round(time.monotonic() - started, 3),
        manifest_id=manifest.manifest_id if manifest is not None else None,
        destination=destination.identifier,
        extra={"table": _table_info(destination, committed)},
        superseded_files=json.loads(committed.properties.get(SNAPSHOT_PROPERTY, "[]")),
    )
