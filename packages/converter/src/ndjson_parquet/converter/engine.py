"""`convert`: NDJSON files to Parquet, exactly, in one streaming pass.

1. Each source is read in chunks of whole lines and parsed into Arrow pieces (`parse.py`); bad
   lines go to a quarantine file, blank lines are counted.
2. Each piece's schema is unified into the running schema (`schema.py`), the piece is cast to
   it (`conform.py`) and handed to the Parquet writer thread (`writer.py`), so parsing and
   encoding use both cores.
3. After the last chunk the running schema is final: parts written with an earlier schema are
   rewritten with it, so every file of a run has the same schema.
4. Commit: parts under their final names, the quarantine file, stale parts of an earlier attempt
   of the same run removed, and last the summary object that marks the output complete.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO, TYPE_CHECKING

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ndjson_parquet.converter import storage
from ndjson_parquet.converter.conform import conform_table
from ndjson_parquet.converter.errors import ConversionError, MaxErrorRateExceeded
from ndjson_parquet.converter.names import column_name, key_of, keyed_schema
from ndjson_parquet.converter.options import ConvertOptions, Progress, Summary
from ndjson_parquet.converter.parse import ROUTES, BadLine, ChunkParser, ParsedChunk, Piece
from ndjson_parquet.converter.partition import (
    DEFAULT_PARTITION,
    partition_folder,
    split_by_partition,
)
from ndjson_parquet.converter.run_inputs import RunInputs, superseded_warning
from ndjson_parquet.converter.sampling import SampleSettings, sample_schema
from ndjson_parquet.converter.schema import (
    Drift,
    Origin,
    finalize_schema,
    is_json_text,
    same_schema,
    schema_to_json,
    unify_into,
)
from ndjson_parquet.converter.sources import (
    Chunk,
    Source,
    is_manifest,
    prefetch,
    resolve_sources,
)
from ndjson_parquet.converter.workdir import work_folder
from ndjson_parquet.converter.writer import Part, PartWriter, WriterSettings

if TYPE_CHECKING:
    from ndjson_parquet.common import Manifest

LINEAGE_FIELDS = (
    pa.field("_source_file", pa.string()),
    pa.field("_source_line", pa.int64()),
    pa.field("_manifest_id", pa.string()),
)
SUMMARY_FOLDER = "_summary"
QUARANTINE_FOLDER = "_quarantine"
_MAX_EXACT_REPORTS = 20


def output_name(run_id: str, part: int) -> str:
    """The deterministic file name of one output part."""
    return f"{run_id}-{part:05d}.parquet"


def summary_location(destination: str, run_id: str) -> str:
    """Where the summary (the completion marker) of a run is written."""
    return storage.join(destination, SUMMARY_FOLDER, f"{run_id}.json")


def quarantine_location(quarantine: str, run_id: str) -> str:
    return storage.join(quarantine, f"{run_id}.ndjson")


def _run_id_ok(run_id: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_.=-]{1,200}", run_id):
        raise ConversionError(f"run id {run_id!r} must be 1-200 characters of A-Z a-z 0-9 _ . = -")
    return run_id


class _Quarantine:
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


class _Run:
    def __init__(
        self,
        sources: list[Source],
        destination: str,
        options: ConvertOptions,
        manifest: Manifest | None,
        progress: Callable[[Progress], None] | None,
        workdir: Path,
    ) -> None:
        self.sources = sources
        self.destination = destination
        self.options = options
        self.manifest = manifest
        self.progress_cb = progress
        self.workdir = workdir
        # Internally columns are named by their JSON keys; names are given when written.
        declared = keyed_schema(options.schema) if options.schema is not None else None
        self.parser = ChunkParser(declared=declared, block_size=options.block_bytes)
        self.schema: pa.Schema | None = declared
        self.drift: list[Drift] = []
        self._drift_seen: set[tuple[str, str, str, str]] = set()
        self.exact_values = 0
        self.lines = self.blank = self.rows = self.bytes_read = 0
        self.routes = {route: {"lines": 0, "cpu_seconds": 0.0} for route in ROUTES}
        self.quarantine = _Quarantine(workdir / "quarantine.ndjson")
        self.writer = PartWriter(
            workdir,
            WriterSettings(
                options.compression,
                options.target_file_bytes,
                options.row_group_bytes,
                options.row_group_rows,
            ),
        )
        self.digest = None if (options.run_id or manifest) else hashlib.sha256()
        self.inputs = RunInputs(sources, options.chunk_bytes, self.digest)
        self._final: pa.Schema | None = None
        # What a sample of the inputs shows the schema will become (see `sampling`).
        self.expected: pa.Schema | None = None
        self.fieldless: list[tuple[Source, Piece]] = []
        self._final_for: pa.Schema | None = None

    def _add_drift(self, entries: list[Drift]) -> None:
        for d in entries:
            key = (d.column, d.from_type, d.to_type, d.resolution)
            if key not in self._drift_seen:
                self._drift_seen.add(key)
                self.drift.append(d)

    def run(self) -> None:
        bytes_total = sum(s.size or 0 for s in self.sources)
        self.expected = sample_schema(
            self.sources,
            self.parser.declared,
            SampleSettings(
                window_bytes=self.options.sample_bytes, block_bytes=self.parser.block_size
            ),
        )
        # Two chunks are parsed at once: pyarrow's reader releases the GIL but has serial
        # phases, which the other parse fills. Results are used in input order; a chunk parsed
        # with the schema of one chunk ago is fine (the hint only saves work). Chunks flow on
        # across files, so the pipeline never drains at a file boundary.
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="ndjson-parse") as pool:
            pending: deque[tuple[Future[ParsedChunk], int, int]] = deque()
            for index, read_so_far, chunk in prefetch(self._chunks()):
                future = pool.submit(
                    self.parser.parse,
                    chunk.data,
                    chunk.first_line,
                    self.sources[index].location,
                    self.schema,
                    chunk.lines,
                    chunk.longest_line,
                )
                pending.append((future, index, read_so_far))
                if len(pending) >= 2:
                    self._take(pending.popleft(), bytes_total)
            self.writer.drain()
            while pending:
                self._take(pending.popleft(), bytes_total)
            self._report(len(self.sources), bytes_total)

    def _chunks(self) -> Iterator[tuple[int, int, Chunk]]:
        """(source index, bytes read from all sources so far, chunk) of every source, in order;
        superseded sources are set aside in `self.inputs.superseded` (see `run_inputs`)."""
        return self.inputs.chunks()

    def _take(self, item: tuple[Future[ParsedChunk], int, int], bytes_total: int) -> None:
        future, index, read_so_far = item
        self._chunk(self.sources[index], future.result())
        self.bytes_read = read_so_far
        self._report(index, bytes_total)

    def _report(self, files_done: int, bytes_total: int) -> None:
        if self.progress_cb is not None:
            self.progress_cb(
                Progress(
                    len(self.sources),
                    files_done,
                    bytes_total,
                    self.bytes_read,
                    self.lines,
                    self.rows,
                )
            )

    def _chunk(self, source: Source, parsed: ParsedChunk) -> None:
        self.lines += parsed.lines
        self.blank += parsed.blank
        for route, rows in parsed.rows_by_route.items():
            self.routes[route]["lines"] += rows
        for route, cpu in parsed.cpu_by_route.items():
            self.routes[route]["cpu_seconds"] += cpu
        for bad in parsed.bad:
            self.quarantine.add(source.location, bad)
        # Lines read by the exact path report conflicts among themselves; in a column that
        # already holds JSON text they change nothing (and would depend on how lines were routed).
        self._add_drift([d for d in parsed.drift if not _inside_json_text(self.schema, d.column)])
        for path, line, literal in parsed.exact:
            self.exact_values += 1
            if self.exact_values <= _MAX_EXACT_REPORTS:
                self._add_drift(
                    [
                        Drift(
                            path,
                            "number",
                            "number",
                            "json",
                            f"{literal} has no exact int64/float64 form, kept as JSON text",
                            source.location,
                            line,
                        )
                    ]
                )
        pieces = parsed.pieces
        if len(pieces) > 1 and not self.fieldless and all(p.table.num_columns for p in pieces):
            self._write_in_line_order(source, pieces)
            return
        for piece in pieces:
            self._piece(source, piece)

    def _piece(self, source: Source, piece: Piece) -> None:
        has_columns = self.options.lineage or (self.schema is not None and len(self.schema) > 0)
        if piece.table.num_columns == 0 and not has_columns:
            # `{}` lines before any line with a field: held until a column exists.
            self.fieldless.append((source, piece))
            return
        if self.fieldless and piece.table.num_columns:
            held, self.fieldless = self.fieldless, []
            self._write_piece(source, piece)
            for src, p in held:
                self._write_piece(src, p)
            return
        self._write_piece(source, piece)

    def quarantine_fieldless(self) -> None:
        """`{}` lines of an input where no line has a field: Parquet cannot hold such rows."""
        for source, piece in self.fieldless:
            for line in piece.lines.tolist():
                error = "an empty object, and no line of the input has a field: Parquet cannot store rows without columns"
                self.quarantine.add(source.location, BadLine(int(line), b"{}", error))
        self.fieldless = []

    def _write_piece(self, source: Source, piece: Piece) -> None:
        self._absorb(source, piece)
        assert self._final is not None
        table = conform_table(piece.table, self._final, piece.schema)
        self._put(source, table, self._final, piece.lines)

    def _write_in_line_order(self, source: Source, pieces: list[Piece]) -> None:
        """The pieces of one chunk (read by different routes: mixed types, exact numbers)
        written as one table in line order, so that routing never reorders rows."""
        # In line order, so that drift names the type so far and the line that changed it.
        for piece in sorted(pieces, key=lambda p: int(p.lines[0])):
            self._absorb(source, piece)
        schema = self._final
        assert schema is not None
        tables = [
            pa.Table.from_arrays(conform_table(p.table, schema, p.schema).columns, schema=schema)
            for p in pieces
        ]
        lines = np.concatenate([p.lines for p in pieces])
        order = np.argsort(lines, kind="stable")
        table = pa.concat_tables(tables).take(pa.array(order))
        self._put(source, table, schema, lines[order])

    def _absorb(self, source: Source, piece: Piece) -> None:
        """Unify a piece's schema into the run's, recording drift where the piece caused it."""
        first = self.schema is None
        origin = Origin(source.location, int(piece.lines[0]))
        schema, drift = unify_into(self.schema, piece.schema, origin, record_additions=not first)
        if drift:
            self._add_drift([_locate(d, piece) for d in drift])
        self.schema = schema
        if schema is not self._final_for or self._final is None:
            # Parts are written with the schema as it would be final now, widened by what the
            # sample expects, so that in the common case no part needs rewriting.
            target = schema
            if self.expected is not None:
                target, _ = unify_into(schema, self.expected, origin, record_additions=False)
            self._final, _ = finalize_schema(target)
            self._final_for = schema

    def _put(self, source: Source, table: pa.Table, schema: pa.Schema, lines: np.ndarray) -> None:
        out_schema = schema
        if self.options.lineage:
            table, out_schema = self._with_lineage(table, out_schema, source, lines)
        self.rows += table.num_rows
        if self.options.partition_by:
            by = column_name(self.options.partition_by)
            for value, rows in split_by_partition(table, by):
                self.writer.put(rows, out_schema, value)
        else:
            folder = self.manifest.date_prefix if self.manifest is not None else None
            self.writer.put(table, out_schema, folder)

    def _with_lineage(
        self, table: pa.Table, schema: pa.Schema, source: Source, lines: np.ndarray
    ) -> tuple[pa.Table, pa.Schema]:
        clash = [f.name for f in LINEAGE_FIELDS if f.name in schema.names]
        if clash:
            raise ConversionError(
                f"the data has fields {clash}, which lineage columns would replace"
            )
        n = table.num_rows
        manifest_id = self.manifest.manifest_id if self.manifest is not None else None
        table = table.append_column(
            LINEAGE_FIELDS[0],
            pa.array([source.location], pa.string()).take(np.zeros(n, dtype=np.int32)),
        )
        table = table.append_column(LINEAGE_FIELDS[1], pa.array(lines, pa.int64()))
        table = table.append_column(
            LINEAGE_FIELDS[2],
            pa.nulls(n, pa.string())
            if manifest_id is None
            else pa.array([manifest_id], pa.string()).take(np.zeros(n, dtype=np.int32)),
        )
        return table, _with_lineage_fields(schema)


def _with_lineage_fields(schema: pa.Schema) -> pa.Schema:
    return pa.schema([*schema, *LINEAGE_FIELDS])


def _inside_json_text(schema: pa.Schema | None, column: str) -> bool:
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


def _locate(d: Drift, piece: Piece) -> Drift:
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


def convert(
    sources: Manifest | Sequence[str | os.PathLike[str]],
    destination: str | os.PathLike[str],
    options: ConvertOptions | None = None,
    *,
    progress: Callable[[Progress], None] | None = None,
) -> Summary:
    """Convert NDJSON sources (paths, s3:// URIs or a manifest) to Parquet under `destination`.

    Every input line ends up in the output or in quarantine; the returned summary (also written
    to ``<destination>/_summary/<run_id>.json``, last, as the completion marker) adds up. Raises
    MaxErrorRateExceeded (nothing committed) when too many lines are bad.
    """
    started = time.monotonic()
    opts = options or ConvertOptions()
    manifest = sources if is_manifest(sources) else None
    resolved = resolve_sources(sources)
    dest = os.fspath(destination)
    quarantine_root = opts.quarantine or storage.join(dest, QUARANTINE_FOLDER)
    with work_folder(dest) as workdir:
        return _convert(resolved, dest, opts, manifest, progress, workdir, quarantine_root, started)


def _convert(
    resolved: list[Source],
    dest: str,
    opts: ConvertOptions,
    manifest: Manifest | None,
    progress: Callable[[Progress], None] | None,
    workdir: Path,
    quarantine_root: str,
    started: float,
) -> Summary:
    run = _Run(resolved, dest, opts, manifest, progress, workdir)
    try:
        run.run()
    except BaseException:
        run.writer.abort()
        raise
    finally:
        run.quarantine_fieldless()
        run.quarantine.close()
    parts = run.writer.close()
    run_id = _run_id_ok(
        opts.run_id
        or (manifest.manifest_id if manifest is not None else "h" + run.digest.hexdigest()[:20])  # type: ignore[union-attr]
    )
    data_schema, final_drift = finalize_schema(run.schema or pa.schema([]))
    run._add_drift(final_drift)
    schema = _with_lineage_fields(data_schema) if opts.lineage else data_schema
    summary = Summary(
        run_id=run_id,
        files=len(resolved),
        lines_read=run.lines,
        blank_lines=run.blank,
        rows_written=sum(p.rows for p in parts),
        lines_quarantined=run.quarantine.count,
        bytes_read=run.bytes_read,
        output_files=[],
        quarantine_files=[],
        schema=schema_to_json(schema),
        drift=[d.to_dict() for d in run.drift],
        seconds=0.0,
        exact_values=run.exact_values,
        manifest_id=manifest.manifest_id if manifest is not None else None,
        destination=dest,
        superseded_files=run.inputs.superseded,
    )
    summary.warnings = _warnings(summary, opts, data_schema, parts)
    # How many rows each parsing route produced, and its CPU time (the writer's is not in it).
    summary.extra["routes"] = {
        route: {"lines": int(r["lines"]), "cpu_seconds": round(r["cpu_seconds"], 3)}
        for route, r in run.routes.items()
    }
    if not summary.counts_add_up:
        raise ConversionError(
            f"counts do not add up: {summary.lines_read} lines read, {summary.rows_written} rows, "
            f"{summary.lines_quarantined} quarantined, {summary.blank_lines} blank"
        )
    _check_error_rate(summary, opts.max_error_rate)
    parts = _unify_parts(parts, schema, workdir, run.writer.settings)
    if opts.partition_by:
        single_folder = None  # parts may be in any dt= folder
    elif manifest is not None:
        single_folder = partition_folder(manifest.date_prefix)
    else:
        single_folder = ""
    _commit(summary, parts, dest, quarantine_root, run.quarantine.path, started, single_folder)
    return summary


def _warnings(
    summary: Summary, options: ConvertOptions, schema: pa.Schema, parts: list[Part]
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
    by = options.partition_by
    if by and parts and all(p.partition == DEFAULT_PARTITION for p in parts):
        present = any(key_of(f) == by for f in schema)
        found.append(
            f"partition_by: {'no row has a date in' if present else 'no row has'} the field "
            f"{by!r}; every row is in {partition_folder(DEFAULT_PARTITION)}/"
        )
    superseded = superseded_warning(summary.superseded_files, summary.files)
    return [*found, superseded] if superseded else found


def _check_error_rate(summary: Summary, limit: float | None) -> None:
    if limit is None or summary.lines_quarantined == 0:
        return
    considered = summary.lines_read - summary.blank_lines
    rate = summary.lines_quarantined / considered if considered else 0.0
    if rate > limit:
        raise MaxErrorRateExceeded(
            f"{summary.lines_quarantined} of {considered} non-blank lines ({rate:.2%}) are bad, "
            f"more than the allowed {limit:.2%}; nothing was written"
        )


def _unify_parts(
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


def _commit(
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
