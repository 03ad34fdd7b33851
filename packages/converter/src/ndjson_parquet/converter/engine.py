"""`convert`: NDJSON files to Parquet, exactly, in one streaming pass.

1. Each source is read in chunks of whole lines and parsed into Arrow pieces (`parse.py`); bad
   lines go to a quarantine file, blank lines are counted.
2. Each piece's schema is unified into the running schema (`running_schema.py`), the piece is
   cast to it (`conform.py`) and handed to the Parquet writer thread (`writer.py`), so parsing
   and encoding use both cores.
3. After the last chunk the running schema is final: parts written with an earlier schema are
   rewritten with it, so every file of a run has the same schema.
4. Commit (`outputs.py`): parts under their final names, the quarantine file, stale parts of an
   earlier attempt of the same run removed, and last the summary object that marks the output
   complete.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import xxhash

from ndjson_parquet.converter import storage
from ndjson_parquet.converter.conform import conform_table
from ndjson_parquet.converter.drift_lines import inexact_number, within_json_text
from ndjson_parquet.converter.errors import ConversionError
from ndjson_parquet.converter.lineage import with_lineage, with_lineage_fields
from ndjson_parquet.converter.names import column_name, keyed_schema
from ndjson_parquet.converter.options import ConvertOptions, Progress, Summary
from ndjson_parquet.converter.outputs import (
    QUARANTINE_FOLDER,
    QuarantineFile,
    check_error_rate,
    checked_run_id,
    commit,
    summary_warnings,
    unify_parts,
)
from ndjson_parquet.converter.parse import ChunkParser
from ndjson_parquet.converter.parsed import ROUTES, BadLine, ParsedChunk, Piece
from ndjson_parquet.converter.partition import (
    partition_folder,
    split_by_partition,
)
from ndjson_parquet.converter.run_inputs import RunInputs
from ndjson_parquet.converter.running_schema import RunningSchema
from ndjson_parquet.converter.sampling import SampleSettings, sample_schema
from ndjson_parquet.converter.schema import (
    finalize_schema,
    schema_to_json,
)
from ndjson_parquet.converter.sources import (
    Source,
    is_manifest,
    prefetch,
    resolve_sources,
)
from ndjson_parquet.converter.workdir import work_folder
from ndjson_parquet.converter.writer import PartWriter, WriterSettings

if TYPE_CHECKING:
    from ndjson_parquet.common import Manifest

_MAX_EXACT_REPORTS = 20
# Chunks submitted for parsing and not yet taken (two parse at once).
_IN_FLIGHT = 3
# The writer starts encoding each table as it comes when this many chunks are left to parse.
_DRAIN_CHUNKS = 4


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
        self.running = RunningSchema(declared, lambda: self.expected)
        self.exact_values = 0
        self.lines = self.blank = self.rows = self.bytes_read = 0
        self.routes = {route: {"lines": 0, "cpu_seconds": 0.0} for route in ROUTES}
        self.quarantine = QuarantineFile(workdir / "quarantine.ndjson")
        self.writer = PartWriter(
            workdir,
            WriterSettings(
                options.compression,
                options.target_file_bytes,
                options.row_group_bytes,
                options.row_group_rows,
            ),
        )
        # Without a manifest or run id, the run id is a hash of the input: a replay of the same
        # bytes gets the same id. XXH3-128 is hashed at memory speed (SHA-256 cost 0.26 CPU-s
        # per 512 MB); it names outputs, it authenticates nothing.
        self.digest = None if (options.run_id or manifest) else xxhash.xxh3_128()
        self.inputs = RunInputs(sources, options.chunk_bytes, self.digest)
        # What a sample of the inputs shows the schema will become (see `sampling`).
        self._sample: Future[pa.Schema | None] | None = None
        self.fieldless: list[tuple[Source, Piece]] = []
        self._drained = False
        self._sized = all(s.size is not None for s in sources)

    def run(self) -> None:
        bytes_total = sum(s.size or 0 for s in self.sources)
        # The sample is needed once the first rows are added, not before parsing starts: it
        # is read while the first chunks are (0.05 s sooner on 512 MB).
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ndjson-sampler") as background:
            self._sample = background.submit(
                sample_schema,
                self.sources,
                self.parser.declared,
                SampleSettings(
                    window_bytes=self.options.sample_bytes, block_bytes=self.parser.block_size
                ),
            )
            self._parse_all(bytes_total)

    def _parse_all(self, bytes_total: int) -> None:
        # Two chunks are parsed at once: pyarrow's reader releases the GIL but has serial
        # phases, which the other parse fills. Results are used in input order, and a third
        # chunk waits in the pool, so a parser that finishes before the chunk ahead of it
        # starts on the next one at once (0.05-0.1 s less on 512 MB). A chunk parsed with the
        # schema of a chunk or two ago is fine (the hint only saves work). Chunks flow on
        # across files, so the pipeline never drains at a file boundary.
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="ndjson-parse") as pool:
            pending: deque[tuple[Future[ParsedChunk], int, int]] = deque()
            chunks = enumerate(prefetch(self.inputs.chunks()))
            for order, (index, read_so_far, chunk) in chunks:
                future = pool.submit(
                    self.parser.parse,
                    chunk.data,
                    chunk.first_line,
                    self.sources[index].location,
                    self.running.schema,
                    chunk.lines,
                    chunk.longest_line,
                    order,
                )
                pending.append((future, index, read_so_far))
                if len(pending) >= _IN_FLIGHT:
                    self._take(pending.popleft(), bytes_total)
            self._drain()
            while pending:
                self._take(pending.popleft(), bytes_total)
            self._report(len(self.sources), bytes_total)

    @property
    def expected(self) -> pa.Schema | None:
        """What a sample of the inputs shows the schema will become (see `sampling`)."""
        return self._sample.result() if self._sample is not None else None

    def _take(self, item: tuple[Future[ParsedChunk], int, int], bytes_total: int) -> None:
        future, index, read_so_far = item
        self._chunk(self.sources[index], future.result())
        self.bytes_read = read_so_far
        self._report(index, bytes_total)
        # Sizes are known but for standard input; there the input's end is seen when it comes.
        if self._sized and bytes_total - read_so_far <= _DRAIN_CHUNKS * self.options.chunk_bytes:
            self._drain()

    def _drain(self) -> None:
        """Have the writer encode what it holds while the last chunks are parsed: once parsing
        ends it works alone, so what is left for it then is time the run takes on one core."""
        if not self._drained:
            self._drained = True
            self.writer.drain()

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
        self.running.add_drift(
            [d for d in parsed.drift if not within_json_text(self.running.schema, d.column)]
        )
        for path, line, literal in parsed.exact:
            self.exact_values += 1
            if self.exact_values <= _MAX_EXACT_REPORTS:
                self.running.add_drift([inexact_number(path, literal, source.location, line)])
        pieces = parsed.pieces
        if len(pieces) > 1 and not self.fieldless and all(p.table.num_columns for p in pieces):
            self._write_in_line_order(source, pieces)
            return
        for piece in pieces:
            self._piece(source, piece)

    def _piece(self, source: Source, piece: Piece) -> None:
        has_columns = self.options.lineage or (
            self.running.schema is not None and len(self.running.schema) > 0
        )
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
        self.running.absorb(source.location, piece)
        assert self.running.final is not None
        table = conform_table(piece.table, self.running.final, piece.schema)
        self._put(source, table, self.running.final, piece.lines)

    def _write_in_line_order(self, source: Source, pieces: list[Piece]) -> None:
        """The pieces of one chunk (read by different routes: mixed types, exact numbers)
        written as one table in line order, so that routing never reorders rows."""
        # In line order, so that drift names the type so far and the line that changed it.
        for piece in sorted(pieces, key=lambda p: int(p.lines[0])):
            self.running.absorb(source.location, piece)
        schema = self.running.final
        assert schema is not None
        tables = [
            pa.Table.from_arrays(conform_table(p.table, schema, p.schema).columns, schema=schema)
            for p in pieces
        ]
        lines = np.concatenate([p.lines for p in pieces])
        order = np.argsort(lines, kind="stable")
        table = pa.concat_tables(tables).take(pa.array(order))
        self._put(source, table, schema, lines[order])

    def _put(self, source: Source, table: pa.Table, schema: pa.Schema, lines: np.ndarray) -> None:
        out_schema = schema
        if self.options.lineage:
            manifest_id = self.manifest.manifest_id if self.manifest is not None else None
            table, out_schema = with_lineage(table, out_schema, source.location, lines, manifest_id)
        self.rows += table.num_rows
        if self.options.partition_by:
            by = column_name(self.options.partition_by)
            for value, rows in split_by_partition(table, by):
                self.writer.put(rows, out_schema, value)
        else:
            folder = self.manifest.date_prefix if self.manifest is not None else None
            self.writer.put(table, out_schema, folder)


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
    run_id = checked_run_id(
        opts.run_id
        or (manifest.manifest_id if manifest is not None else "x" + run.digest.hexdigest()[:20])  # type: ignore[union-attr]
    )
    data_schema, final_drift = finalize_schema(run.running.schema or pa.schema([]))
    run.running.add_drift(final_drift)
    schema = with_lineage_fields(data_schema) if opts.lineage else data_schema
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
        drift=[d.to_dict() for d in run.running.drift],
        seconds=0.0,
        exact_values=run.exact_values,
        manifest_id=manifest.manifest_id if manifest is not None else None,
        destination=dest,
        superseded_files=run.inputs.superseded,
    )
    summary.warnings = summary_warnings(summary, opts.partition_by, data_schema, parts)
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
    check_error_rate(summary, opts.max_error_rate)
    parts = unify_parts(parts, schema, workdir, run.writer.settings)
    if opts.partition_by:
        single_folder = None  # parts may be in any dt= folder
    elif manifest is not None:
        single_folder = partition_folder(manifest.date_prefix)
    else:
        single_folder = ""
    commit(summary, parts, dest, quarantine_root, run.quarantine.path, started, single_folder)
    return summary
