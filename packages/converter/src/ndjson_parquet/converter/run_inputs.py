"""A run's inputs, read in order as chunks, with superseded inputs set aside.

A manifest names each S3 object by its version (the VersionId, or the ETag in a bucket without
versioning). When the object is overwritten or deleted before the run reads it, those bytes
are gone for good, and an overwrite made an S3 event of its own, so its new version is
converted with a later manifest. Failing the run would fail it on every retry and redrive,
and hold back every other file of the manifest; so the run converts the other inputs and lists
this one as *superseded* in its summary (`superseded_files`), with a warning.

Only an input none of whose chunks was handed on can be set aside: `storage.open_input` checks
the version in the GET that opens the object (`sources` raises it at the input's turn, also
when the read-ahead fetched it), so no part of a superseded file can reach the output. Any
other read error fails the run, as does a version error after a chunk was read (which one GET
cannot produce).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

import xxhash

from ndjson_parquet.converter.errors import ConversionError
from ndjson_parquet.converter.sources import Chunk, Source, iter_chunks
from ndjson_parquet.converter.storage import ObjectChangedError

log = logging.getLogger(__name__)

# URIs a warning names; the summary's `superseded_files` lists them all.
_NAMED = 5
# Where a table run's snapshot summary lists them (a JSON list), for replays and operators.
SNAPSHOT_PROPERTY = "ndjson-parquet.superseded-files"


class RunInputs:
    """The chunks of a run's sources in input order; `superseded` lists those set aside."""

    def __init__(
        self, sources: Sequence[Source], chunk_bytes: int, digest: xxhash.xxh3_128 | None
    ) -> None:
        self.sources = sources
        self.chunk_bytes = chunk_bytes
        self.digest = digest
        self.superseded: list[dict[str, str]] = []

    def chunks(self) -> Iterator[tuple[int, int, Chunk]]:
        """(source index, bytes read from all sources so far, chunk) of every source, in order."""
        base = 0
        for index, source in enumerate(self.sources):
            if self.digest is not None:
                self.digest.update(source.location.encode() + b"\0")
            last = 0
            handed_on = False
            try:
                for chunk in iter_chunks(source, self.chunk_bytes, self.digest):
                    handed_on = True
                    last = chunk.source_bytes
                    yield index, base + last, chunk
            except ObjectChangedError as exc:
                if handed_on:  # part of the file is converted already: the run cannot go on
                    raise ConversionError(f"cannot read {source.location}: {exc}") from exc
                log.warning("superseded, not converted: %s", exc)
                self.superseded.append(exc.record())
            except Exception as exc:  # the source, not the data: say which one
                raise ConversionError(f"cannot read {source.location}: {exc}") from exc
            base += last


def superseded_warning(superseded: Sequence[dict[str, Any]], files: int) -> str | None:
    """The summary's warning line for the superseded inputs of a run of `files` inputs."""
    if not superseded:
        return None
    named = ", ".join(str(s["uri"]) for s in superseded[:_NAMED])
    more = f" and {len(superseded) - _NAMED} more" if len(superseded) > _NAMED else ""
    return (
        f"{len(superseded)} of {files} input files superseded (overwritten or deleted after "
        f"the manifest was made), not converted: {named}{more}; an overwritten file's new "
        "version is converted with its own manifest (superseded_files in the summary)"
    )


__all__ = ["SNAPSHOT_PROPERTY", "RunInputs", "superseded_warning"]
