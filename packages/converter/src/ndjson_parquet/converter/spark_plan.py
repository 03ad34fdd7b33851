"""Planning a Spark split of one manifest: how many shares, which files each holds (balanced by
bytes), and their run ids. Deterministic: it depends on the inputs alone, never on the
cluster's size (see `spark`)."""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from ndjson_parquet.common import Manifest, ManifestFile, S3Uri

if TYPE_CHECKING:
    from ndjson_parquet.converter import ConvertOptions

# A share gets about this much input; more shares than cores just queue as Spark tasks.
SHARE_TARGET_BYTES: Final = 64 * 1024 * 1024
MAX_SHARES: Final = 64


@dataclass(frozen=True, slots=True)
class Source:
    """One input file and its size in bytes."""

    location: str
    size: int


@dataclass(frozen=True, slots=True)
class Share:
    """The files one Spark task converts; `run_id` is the stem of its output names.

    A share of a manifest is a manifest with the same id (so lineage and the date folder stay
    those of the whole manifest) listing only the share's files.
    """

    index: int
    run_id: str
    sources: tuple[Source, ...]
    manifest: Manifest | None = None

    @property
    def bytes(self) -> int:
        return sum(s.size for s in self.sources)

    def inputs(self) -> Manifest | list[str]:
        return self.manifest if self.manifest is not None else [s.location for s in self.sources]


def share_count(file_count: int, total_bytes: int) -> int:
    """How many shares the inputs are split into: a function of the inputs alone."""
    if file_count < 2:
        return 1
    by_bytes = math.ceil(total_bytes / SHARE_TARGET_BYTES)
    return max(2, min(file_count, MAX_SHARES, by_bytes))


def _sources_of(sources: Manifest | Sequence[str | os.PathLike[str]]) -> list[Source]:
    if isinstance(sources, Manifest):
        return [Source(f.uri, f.size) for f in sources.files]
    found = []
    for location in sources:
        text = os.fspath(location)
        if S3Uri.is_s3(text):
            raise ValueError(f"give S3 inputs as a manifest to spread them over Spark: {text}")
        found.append(Source(text, Path(text).stat().st_size))
    return found


def base_run_id(
    sources: Manifest | Sequence[str | os.PathLike[str]], options: ConvertOptions | None = None
) -> str:
    """The run id of the whole conversion: the options' run id, the manifest id, or a hash of
    the input names and sizes."""
    if options is not None and options.run_id:
        return options.run_id
    if isinstance(sources, Manifest):
        return sources.manifest_id
    digest = hashlib.sha256()
    for source in _sources_of(sources):
        digest.update(f"{source.location}\0{source.size}\0".encode())
    return "h" + digest.hexdigest()[:20]


def plan_shares(
    sources: Manifest | Sequence[str | os.PathLike[str]],
    count: int | None = None,
    run_id: str | None = None,
) -> list[Share]:
    """Split the inputs into `count` shares of about equal bytes, deterministically.

    Largest file first into the lightest share (ties: fewest files, then lowest index); each
    share keeps its files in input order and is named `<run_id>-s<index>`.
    """
    files = _sources_of(sources)
    if count is None:
        count = share_count(len(files), sum(f.size for f in files))
    count = max(1, min(count, len(files)))
    loads = [(0, 0)] * count
    assigned: list[list[int]] = [[] for _ in range(count)]
    for i in sorted(range(len(files)), key=lambda i: (-files[i].size, files[i].location)):
        target = min(range(count), key=lambda s: (loads[s], s))
        assigned[target].append(i)
        loads[target] = (loads[target][0] + files[i].size, loads[target][1] + 1)
    base = run_id or base_run_id(sources)
    shares = []
    for index, members in enumerate(assigned):
        members.sort()
        sub: Manifest | None = None
        if isinstance(sources, Manifest):
            picked: list[ManifestFile] = [sources.files[i] for i in members]
            sub = Manifest.build(
                sources.manifest_id, sources.date_prefix, picked, sources.created_at
            )
        shares.append(
            Share(index, share_run_id(base, index), tuple(files[i] for i in members), sub)
        )
    return shares


def share_run_id(base: str, index: int) -> str:
    return f"{base}-s{index:03d}"


def parallelism(spark_context: Any) -> int:
    """How many tasks Spark runs at once (executor cores, or N of local[N])."""
    return int(spark_context.defaultParallelism)


def should_distribute(spark_context: Any, sources: Manifest | Sequence[object]) -> bool:
    """Spread over Spark only when there is more than one core and more than one file."""
    files = sources.file_count if isinstance(sources, Manifest) else len(sources)
    return files > 1 and parallelism(spark_context) > 1
