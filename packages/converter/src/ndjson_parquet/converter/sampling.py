"""A look at the inputs before converting: the schema the writer can expect.

A Parquet part holds one schema. When a later line widens a column (a new field, an integer
that becomes a float, an id that becomes text), the rows already encoded must be decoded and
encoded again, which costs about as much as writing them the first time. Reading windows of
whole lines spread over the input's bytes up front (the last one at its very end) finds most
such changes before any row is encoded, whether producers changed between files or within one.
What the sample misses is still handled as before (parts rewritten); what it finds is never more
than the data holds, as the sample is part of the data.

The sample is read in parallel and parsed like the conversion parses (a parser of its own: the
conversion's parser learns of value-kind conflicts where they are, not from the sample, as a
chunk without a conflict is read fastest without looking for one).
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pyarrow as pa

from ndjson_parquet.converter import storage
from ndjson_parquet.converter.parse import ChunkParser
from ndjson_parquet.converter.schema import Origin, unify_into
from ndjson_parquet.converter.sources import STDIN, Source, iter_chunks

MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class SampleSettings:
    """How much to read: at most `max_windows` windows of `window_bytes`, spread evenly over
    the input's bytes, and not more than `max_fraction` of them in all."""

    window_bytes: int = 256 * 1024
    block_bytes: int = 4 * MiB
    max_windows: int = 32
    max_fraction: float = 0.03
    threads: int = 4


@dataclass(frozen=True, slots=True)
class Window:
    """Whole lines from `offset` of a source (0: its start, decompressed if need be)."""

    source: Source
    offset: int


def sample_windows(sources: Sequence[Source], settings: SampleSettings) -> list[Window]:
    """Where to sample: windows ending at evenly spaced points of the input's bytes (the last
    one at its end, where data drifts most), within the byte budget. A window in an input that
    cannot be read from the middle (compressed) is taken from its start; the start of the
    first input is not sampled (the conversion reads it first); standard input never is."""
    candidates = [s for s in sources if s.location != STDIN and s.size]
    total = sum(s.size or 0 for s in candidates)
    by_budget = int(total * settings.max_fraction) // settings.window_bytes
    count = min(settings.max_windows, max(by_budget, 1 if total else 0))
    ends = [0]
    for s in candidates:
        ends.append(ends[-1] + (s.size or 0))
    picked: list[Window] = []
    for k in range(1, count + 1):
        end = total * k // count
        index = bisect.bisect_left(ends, end) - 1  # the input holding byte end - 1
        source = candidates[index]
        offset = max(end - ends[index] - settings.window_bytes, 0)
        window = Window(source, offset if source.compression is None else 0)
        if window not in picked and not (window.offset == 0 and source is sources[0]):
            picked.append(window)
    return picked


def _read(window: Window, size: int) -> bytes:
    """The whole lines of a window."""
    source = window.source
    if window.offset == 0:
        # Its own GET: the conversion's read-ahead fetches in input order, for the conversion.
        chunks = iter_chunks(dataclasses.replace(source, ahead=None), size)
        try:
            first = next(chunks, None)
        finally:
            chunks.close()  # type: ignore[attr-defined]  # a generator: closes the stream
        return bytes(first.data) if first is not None else b""
    data = storage.read_range(
        source.location, window.offset, size, version_id=source.version_id, etag=source.etag
    )
    # From the first line that starts in the window to the last one that ends in it.
    start, end = data.find(b"\n") + 1, data.rfind(b"\n") + 1
    return data[start:end] if 0 < start < end else b""


def sample_schema(
    sources: Sequence[Source], declared: pa.Schema | None, settings: SampleSettings
) -> pa.Schema | None:
    """The unified schema of the sampled lines (read with the `declared` schema, keyed by
    JSON keys), or None when nothing was sampled.

    Never fails a run: an input that cannot be read or parsed here is left to the conversion,
    which reports it properly.
    """
    picked = sample_windows(sources, settings) if settings.window_bytes > 0 else []
    if not picked:
        return None
    parser = ChunkParser(declared=declared, block_size=settings.block_bytes)

    def parse(window: Window) -> list[pa.Schema]:
        try:
            data = _read(window, settings.window_bytes)
            parsed = parser.parse(data, 1, window.source.location, None)
        except Exception:  # reported by the conversion itself
            return []
        return [piece.schema for piece in parsed.pieces]

    with ThreadPoolExecutor(settings.threads, thread_name_prefix="ndjson-sample") as pool:
        found = [s for schemas in pool.map(parse, picked) for s in schemas]
    schema: pa.Schema | None = None
    for s in found:
        schema, _ = unify_into(schema, s, Origin(), record_additions=False)
    return schema


__all__ = ["SampleSettings", "Window", "sample_schema", "sample_windows"]
