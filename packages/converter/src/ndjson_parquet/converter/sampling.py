"""A look at the start of the inputs before converting: the schema the writer can expect.

A Parquet part holds one schema. When a later line widens a column (a new field, an integer
that becomes a float, an id that becomes text), the rows already encoded must be decoded and
encoded again, which costs about as much as writing them the first time. Producers usually
change what they write between files (a new release), so reading the first lines of a spread of
input files up front finds most changes before any row is encoded. What the sample misses is
still handled as before (parts rewritten); what it finds is never more than the data holds, as
the sample is part of the data.

The sample is read in parallel and parsed like the conversion parses (a parser of its own: the
conversion's parser learns of value-kind conflicts where they are, not from the sample, as a
chunk without a conflict is read fastest without looking for one).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pyarrow as pa

from ndjson_parquet.converter.parse import ChunkParser
from ndjson_parquet.converter.schema import Origin, unify_into
from ndjson_parquet.converter.sources import STDIN, Source, iter_chunks

MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class SampleSettings:
    """How much to read: the first `window_bytes` of at most `max_files` inputs spread over
    the list, and not more than `max_fraction` of the input's bytes in all."""

    window_bytes: int = 1 * MiB
    block_bytes: int = 4 * MiB
    max_files: int = 32
    max_fraction: float = 0.03
    threads: int = 4


def sample_sources(sources: Sequence[Source], settings: SampleSettings) -> list[Source]:
    """Which inputs to sample: evenly spread over the list (the last one included), never
    standard input, and within the byte budget."""
    candidates = [s for s in sources if s.location != STDIN]
    if len(candidates) < 2:
        return []  # one input: its start is what the conversion reads first anyway
    total = sum(s.size or 0 for s in candidates)
    by_budget = int(total * settings.max_fraction) // settings.window_bytes
    count = min(len(candidates), settings.max_files, max(by_budget, 1 if total else 0))
    if count <= 0:
        return []
    if count == 1:
        return [candidates[-1]]  # the first file is read first anyway; the last drifts most
    step = (len(candidates) - 1) / (count - 1)
    picked = sorted({round(i * step) for i in range(count)})
    return [candidates[i] for i in picked]


def _head(source: Source, window: int) -> bytes:
    """The whole lines within the first `window` bytes of a source (decompressed)."""
    # Its own GET: the conversion's read-ahead fetches in input order, for the conversion.
    chunks = iter_chunks(dataclasses.replace(source, ahead=None), window)
    try:
        first = next(chunks, None)
    finally:
        chunks.close()  # type: ignore[attr-defined]  # a generator: closes the stream
    return bytes(first.data) if first is not None else b""


def sample_schema(
    sources: Sequence[Source], declared: pa.Schema | None, settings: SampleSettings
) -> pa.Schema | None:
    """The unified schema of the sampled lines (read with the `declared` schema, keyed by
    JSON keys), or None when nothing was sampled.

    Never fails a run: an input that cannot be read or parsed here is left to the conversion,
    which reports it properly.
    """
    picked = sample_sources(sources, settings) if settings.window_bytes > 0 else []
    if not picked:
        return None
    parser = ChunkParser(declared=declared, block_size=settings.block_bytes)

    def parse(source: Source) -> list[pa.Schema]:
        try:
            data = _head(source, settings.window_bytes)
            parsed = parser.parse(data, 1, source.location, None)
        except Exception:  # reported by the conversion itself
            return []
        return [piece.schema for piece in parsed.pieces]

    with ThreadPoolExecutor(settings.threads, thread_name_prefix="ndjson-sample") as pool:
        found = [s for schemas in pool.map(parse, picked) for s in schemas]
    schema: pa.Schema | None = None
    for s in found:
        schema, _ = unify_into(schema, s, Origin(), record_additions=False)
    return schema


__all__ = ["SampleSettings", "sample_schema", "sample_sources"]
