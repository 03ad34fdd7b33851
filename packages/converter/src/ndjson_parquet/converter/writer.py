"""Writing Parquet parts on a background thread (pyarrow releases the GIL while encoding)."""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ndjson_parquet.converter.conform import conform_table
from ndjson_parquet.converter.errors import ConversionError
from ndjson_parquet.converter.field_markers import same_schema
from ndjson_parquet.converter.workdir import PART_SUFFIX

_DRAIN = "drain"


@dataclass(slots=True)
class Part:
    """One Parquet file written to local temporary storage."""

    number: int
    partition: str | None
    path: Path
    schema: pa.Schema
    rows: int


@dataclass(frozen=True, slots=True)
class WriterSettings:
    compression: str
    target_file_bytes: int
    row_group_bytes: int
    row_group_rows: int


def write_options(compression: str) -> dict[str, object]:
    """Parquet settings every engine reads: no INT96, microsecond timestamps at most."""
    return {
        "compression": compression,
        "use_deprecated_int96_timestamps": False,
        "coerce_timestamps": "us",
        "allow_truncated_timestamps": False,
        "version": "2.6",
        # Columns whose dictionary outgrows this fall back to plain encoding early: measured on
        # event data, high-cardinality strings (ids) then compress smaller and faster with zstd.
        "dictionary_pagesize_limit": 64 * 1024,
    }


class _Open:
    def __init__(self, part: Part, settings: WriterSettings) -> None:
        self.part = part
        self.sink = pa.OSFile(str(part.path), "wb")
        self.writer = pq.ParquetWriter(
            self.sink, part.schema, **write_options(settings.compression)
        )
        self.buffer: list[pa.Table] = []
        self.buffered_bytes = 0
        self.buffered_rows = 0


class PartWriter:
    """Accepts tables (each with its schema and partition) and writes rolling Parquet parts.

    A part holds one schema: when the schema of a partition changes, its open part is closed
    and a new one started, which usually takes over the closed part's rows (`_carry`); the
    engine rewrites at the end the parts whose schema is not the final one.
    """

    def __init__(self, workdir: Path, settings: WriterSettings, queue_size: int = 2) -> None:
        self.workdir = workdir
        self.settings = settings
        self.parts: list[Part] = []
        self._open: dict[str | None, _Open] = {}
        self._next = 0
        # Rows received, and rows copied from parts closed by a schema change (see _carry).
        self._received = 0
        self._carried = 0
        self._queue: queue.Queue[tuple[pa.Table, pa.Schema, str | None] | str | None] = queue.Queue(
            queue_size
        )
        # Set once the input is read to its end: row groups are written as tables arrive.
        self._eager = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="parquet-writer", daemon=True)
        self._thread.start()

    def put(self, table: pa.Table, schema: pa.Schema, partition: str | None) -> None:
        if self._error is not None:
            raise ConversionError(f"writing Parquet failed: {self._error}") from self._error
        self._queue.put((table, schema, partition))

    def drain(self) -> None:
        """The input has been read to its end: write what is buffered now, and each table as it
        arrives, so that little is left to encode after the last table (when only this thread
        would be working)."""
        self._queue.put(_DRAIN)

    def close(self) -> list[Part]:
        """Flush and close every part; returns the parts in the order they were opened."""
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise ConversionError(f"writing Parquet failed: {self._error}") from self._error
        return sorted(self.parts, key=lambda p: p.number)

    def abort(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        ended = False
        try:
            while True:
                item = self._queue.get()
                if item is None:
                    ended = True
                    break
                if isinstance(item, str):  # _DRAIN
                    self._eager = True
                    for cur in self._open.values():
                        self._flush(cur)
                    continue
                self._write(*item)
            for key in list(self._open):
                self._finish(key)
        except BaseException as exc:  # reported to the producer by put()/close()
            self._error = exc
            while not ended:  # drain so the producer never blocks
                ended = self._queue.get() is None

    def _write(self, table: pa.Table, schema: pa.Schema, partition: str | None) -> None:
        self._received += table.num_rows
        cur = self._open.get(partition)
        if cur is not None and not same_schema(cur.part.schema, schema):
            old = self._finish(partition)
            if self._carried + old.rows <= self._received:
                self._carry(old, schema)
        self._append(table, schema, partition)

    def _carry(self, old: Part, schema: pa.Schema) -> None:
        """Copy the rows of a part just closed by a schema change into a part with the new
        schema, so it needs no rewrite at the end (which would run alone, after all parsing).

        Done while parsing goes on, on this thread. Rows are copied at most about once each
        (a part is carried only while all carried rows stay below the rows received), so
        inputs whose schema keeps changing fall back to the rewrite at the end.
        """
        self._carried += old.rows
        reader = pq.ParquetFile(str(old.path))
        try:
            for i in range(reader.num_row_groups):
                rows = conform_table(
                    reader.read_row_group(i, use_threads=False), schema, old.schema
                )
                self._append(rows, schema, old.partition)
        finally:
            reader.close()
        self.parts.remove(old)
        old.path.unlink()

    def _append(self, table: pa.Table, schema: pa.Schema, partition: str | None) -> None:
        cur = self._open.get(partition)
        if cur is None:
            part = Part(
                self._next,
                partition,
                self.workdir / f"part-{self._next:05d}{PART_SUFFIX}",
                schema,
                0,
            )
            self._next += 1
            cur = self._open[partition] = _Open(part, self.settings)
        cur.buffer.append(table)
        cur.buffered_bytes += table.nbytes
        cur.buffered_rows += table.num_rows
        if (
            self._eager
            or cur.buffered_bytes >= self.settings.row_group_bytes
            or cur.buffered_rows >= self.settings.row_group_rows
        ):
            self._flush(cur)
            if cur.sink.tell() >= self.settings.target_file_bytes:
                self._finish(partition)

    def _flush(self, cur: _Open) -> None:
        if not cur.buffer:
            return
        table = pa.concat_tables(cur.buffer) if len(cur.buffer) > 1 else cur.buffer[0]
        cur.buffer.clear()
        cur.buffered_bytes = cur.buffered_rows = 0
        cur.writer.write_table(
            table.cast(cur.part.schema) if not table.schema.equals(cur.part.schema) else table,
            row_group_size=self.settings.row_group_rows,
        )
        cur.part.rows += table.num_rows

    def _finish(self, partition: str | None) -> Part:
        cur = self._open.pop(partition)
        self._flush(cur)
        cur.writer.close()
        cur.sink.close()
        self.parts.append(cur.part)
        return cur.part
