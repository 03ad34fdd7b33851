"""What a run publishes, and how: the output and quarantine names, the quarantine file, parts
rewritten to the final schema, and the commit (parts, quarantine, stale parts of an earlier
attempt removed, and last the summary object that marks the output complete)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import IO

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from ndjson_parquet.converter import storage
from ndjson_parquet.converter.conform import conform_table
from ndjson_parquet.converter.errors import ConversionError, MaxErrorRateExceeded
from ndjson_parquet.converter.field_markers import same_schema
from ndjson_parquet.converter.names import key_of
from ndjson_parquet.converter.options import Summary
from ndjson_parquet.converter.parsed import BadLine
from ndjson_parquet.converter.partition import DEFAULT_PARTITION, partition_folder
from ndjson_parquet.converter.run_inputs import superseded_warning
from ndjson_parquet.converter.writer import Part, PartWriter, WriterSettings

SUMMARY_FOLDER = "_summary"
QUARANTINE_FOLDER = "_quarantine"


def output_name(run_id: str, part: int) -> str:
    """The deterministic file name of one output part."""
    return f"{run_id}-{part:05d}.parquet"


def summary_location(destination: str, run_id: str) -> str:
    """Where the summary (the completion marker) of a run is written."""
    return storage.join(destination, SUMMARY_FOLDER, f"{run_id}.json")


def quarantine_location(quarantine: str, run_id: str) -> str:
    return storage.join(quarantine, f"{run_id}.ndjson")


def checked_run_id(run_id: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_.=-]{1,200}", run_id):
        raise ConversionError(f"run id {run_id!r} must be 1-200 characters of A-Z a-z 0-9 _ . = -")
    return run_id


class QuarantineFile:
    """Bad lines as NDJSON records {source, line, error, raw} in a local temporary file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._file: IO[bytes] | None = None

    def add(self, source: str, bad: BadLine) -> None:
        if self._file is None:
            self._file = self.path.open("wb")
        raw = bad.raw[:-1] if bad.raw.endswith(b"\r") else bad.raw
        record: dict[str, object] = {"source": source, "line": bad.line, "error": bad.error}
        try:
            record["raw"] = raw.decode("utf-8")
        except UnicodeDecodeError:
            import base64

            record["raw"] = raw.decode("utf-8", errors="replace")
            record["raw_base64"] = base64.b64encode(raw).decode("ascii")
        try:
            line = orjson.dumps(record)
        except TypeError:  # a lone surrogate in the decoded text
            record["raw"] = raw.decode("utf-8", errors="replace")
            line = orjson.dumps(record)
        self._file.write(line + b"\n")
        self.count += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def check_error_rate(summary: Summary, limit: float | None) -> None:
    if limit is None or summary.lines_quarantined == 0:
        return
    considered = summary.lines_read - summary.blank_lines
    rate = summary.lines_quarantined / considered if considered else 0.0
    if rate > limit:
        raise MaxErrorRateExceeded(
            f"{summary.lines_quarantined} of {considered} non-blank lines ({rate:.2%}) are bad, "
            f"more than the allowed {limit:.2%}; nothing was written"
        )


def unify_parts(
    parts: list[Part], schema: pa.Schema, workdir: Path, settings: WriterSettings
) -> list[Part]:
    """Rewrite parts written with an earlier schema, so every part has the final schema.

    The rewritten rows go through a new writer, so small parts of one partition are merged
    (small parts that already have the final schema join them).
    """
    stale = [p for p in parts if not same_schema(p.schema, schema)]
    if not stale:
        return parts
    partitions = {p.partition for p in stale}
    # Merging re-encodes a part: worth it only for fragments.
    small = min(settings.target_file_bytes // 8, 8 * 1024 * 1024)
    stale += [
        p
        for p in parts
        if p not in stale and p.partition in partitions and p.path.stat().st_size < small
    ]
    stale.sort(key=lambda p: p.number)
    folder = workdir / "final"
    folder.mkdir()
    writer = PartWriter(folder, settings)
    try:
        for part in stale:
            reader = pq.ParquetFile(str(part.path))
            for i in range(reader.num_row_groups):
                rows = conform_table(reader.read_row_group(i), schema, reader.schema_arrow)
                writer.put(rows, schema, part.partition)
            reader.close()
            part.path.unlink()
    except BaseException:
        writer.abort()
        raise
    return [p for p in parts if p not in stale] + writer.close()


def commit(
    summary: Summary,
    parts: list[Part],
    destination: str,
    quarantine_root: str,
    quarantine_file: Path,
    started: float,
    single_folder: str | None,
) -> None:
    run_id = summary.run_id
    for i, part in enumerate(parts):
        folder = [partition_folder(part.partition)] if part.partition is not None else []
        location = storage.join(destination, *folder, output_name(run_id, i))
        storage.put_file(part.path, location)
        summary.output_files.append(location)
    q_location = quarantine_location(quarantine_root, run_id)
    if summary.lines_quarantined:
        storage.put_file(quarantine_file, q_location)
        summary.quarantine_files.append(q_location)
    else:
        storage.delete([q_location])
    _remove_stale(destination, run_id, set(summary.output_files), single_folder)
    summary.seconds = round(time.monotonic() - started, 3)
    storage.put_bytes(
        orjson.dumps(summary.to_dict(), option=orjson.OPT_INDENT_2),
        summary_location(destination, run_id),
    )


def _remove_stale(destination: str, run_id: str, keep: set[str], folder: str | None) -> None:
    """Delete parts of the same run id left by an earlier attempt (e.g. with more parts).

    Without `partition_by` a run writes to one folder (`folder`, or the destination itself), so
    only that folder is listed; with it, the whole destination.
    """
    pattern = re.compile(re.escape(run_id) + r"-\d{5}\.parquet")
    stale = []
    if folder is None:
        found = storage.list_files(destination)
    else:
        found = storage.list_files(
            storage.join(destination, folder) if folder else destination, recursive=False
        )
    for location in found:
        name = location.rsplit("/", 1)[-1]
        if pattern.fullmatch(name) and location not in keep:
            stale.append(location)
    storage.delete(stale)


def summary_warnings(
    summary: Summary, partition_by: str | None, schema: pa.Schema, parts: list[Part]
) -> list[str]:
    """What makes a run that did not fail look wrong to someone who trusts its output."""
    found = []
    non_blank = summary.lines_read - summary.blank_lines
    if non_blank and not summary.rows_written:
        found.append(
            f"no row was written: all {non_blank} non-blank lines went to quarantine"
            if summary.lines_quarantined == non_blank
            else f"no row was written from {non_blank} non-blank lines"
        )
    by = partition_by
    if by and parts and all(p.partition == DEFAULT_PARTITION for p in parts):
        present = any(key_of(f) == by for f in schema)
        found.append(
            f"partition_by: {'no row has a date in' if present else 'no row has'} the field "
            f"{by!r}; every row is in {partition_folder(DEFAULT_PARTITION)}/"
        )
    superseded = superseded_warning(summary.superseded_files, summary.files)
    return [*found, superseded] if superseded else found
