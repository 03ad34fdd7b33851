"""Spread one manifest's files over the Spark executors of a Glue job.

A Glue Spark job pays for at least two workers. When Spark has more than one core to run tasks
on and the manifest has more than one file, the files are split into *shares*, balanced by
bytes; every share is one Spark task that runs the ordinary converter on its files. The driver
then unifies the shares' schemas, has the shares whose schema differs rewrite their files to the
unified schema, and writes one combined summary, last, as the in-process path does.

Determinism: the number of shares and the files in each depend on the manifest alone (never on
the cluster's size), and a share's output names derive from the manifest id and the share
index, so a retried run overwrites exactly the files of the run before it.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from ndjson_parquet.common import Manifest, ManifestFile, S3Uri

if TYPE_CHECKING:
    from ndjson_parquet.converter import ConvertOptions, Summary

# A share gets about this much input; more shares than cores just queue as Spark tasks.
SHARE_TARGET_BYTES: Final = 64 * 1024 * 1024
MAX_SHARES: Final = 64
# Read on the driver and set in every task: a local-mode Spark worker is a separate Python
# process that may predate the driver's settings. Credentials are never shipped: executors use
# their own (the Glue job role).
FORWARDED_ENV: Final = (
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
)


@dataclass(frozen=True, slots=True)
class Source:
    """One input file and its size in bytes."""

    location: str
    size: int


@dataclass(frozen=True, slots=True)
class Share:
    """The files one Spark task converts; `name` prefixes its output files."""

    index: int
    name: str
    sources: tuple[Source, ...]
    manifest: Manifest | None = None

    @property
    def bytes(self) -> int:
        return sum(s.size for s in self.sources)


def share_count(file_count: int, total_bytes: int) -> int:
    """How many shares a manifest is split into: a function of the manifest alone."""
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


def plan_shares(
    sources: Manifest | Sequence[str | os.PathLike[str]],
    count: int | None = None,
    name: str | None = None,
) -> list[Share]:
    """Split the inputs into `count` shares of about equal bytes, deterministically.

    Largest file first into the lightest share (ties: fewest files, then lowest index); each
    share keeps its files in input order. Shares of a manifest are manifests themselves, named
    `<manifest_id>-s<index>`; a list of paths takes `name` as the base.
    """
    files = _sources_of(sources)
    if count is None:
        count = share_count(len(files), sum(f.size for f in files))
    count = max(1, min(count, len(files)))
    loads = [(0, 0)] * count
    assigned: list[list[int]] = [[] for _ in range(count)]
    order = sorted(range(len(files)), key=lambda i: (-files[i].size, files[i].location))
    for i in order:
        target = min(range(count), key=lambda s: (loads[s], s))
        assigned[target].append(i)
        loads[target] = (loads[target][0] + files[i].size, loads[target][1] + 1)
    base = sources.manifest_id if isinstance(sources, Manifest) else (name or "share")
    width = max(3, len(str(count - 1)))
    shares = []
    for index, members in enumerate(assigned):
        members.sort()
        share_name = f"{base}-s{index:0{width}d}"
        sub: Manifest | None = None
        if isinstance(sources, Manifest):
            picked: list[ManifestFile] = [sources.files[i] for i in members]
            sub = Manifest.build(share_name, sources.date_prefix, picked, sources.created_at)
        shares.append(Share(index, share_name, tuple(files[i] for i in members), sub))
    return shares


def parallelism(spark_context: Any) -> int:
    """How many tasks Spark runs at once (executor cores, or local[N])."""
    return int(spark_context.defaultParallelism)


def should_distribute(spark_context: Any, sources: Manifest | Sequence[object]) -> bool:
    """Spread over Spark only when there is more than one core and more than one file."""
    files = sources.file_count if isinstance(sources, Manifest) else len(sources)
    return files > 1 and parallelism(spark_context) > 1


@dataclass(frozen=True, slots=True)
class ShareResult:
    """What a task sends back: its summary, or the error that stopped it."""

    index: int
    summary: Summary | None = None
    error_type: str | None = None
    error: str | None = None


def _run_share(task: tuple[Share, str, ConvertOptions, dict[str, str]]) -> ShareResult:
    """Executor side: convert one share with the ordinary in-process converter."""
    share, destination, options, env = task
    os.environ.update(env)
    from ndjson_parquet.converter import convert

    sources: Manifest | list[str] = (
        share.manifest if share.manifest is not None else [s.location for s in share.sources]
    )
    try:
        return ShareResult(share.index, convert(sources, destination, options))
    except Exception as exc:  # returned, not raised: a deterministic failure is not retried
        return ShareResult(share.index, error_type=type(exc).__name__, error=str(exc))


def _conform_share(task: tuple[int, list[str], Any, dict[str, str]]) -> tuple[int, str | None]:
    """Executor side: rewrite one share's files to the unified schema (same names)."""
    index, paths, schema, env = task
    os.environ.update(env)
    from ndjson_parquet.converter import conform_file

    try:
        for path in paths:
            conform_file(path, schema)
    except Exception as exc:
        return index, f"{type(exc).__name__}: {exc}"
    return index, None


def convert_distributed(
    spark_context: Any,
    sources: Manifest | Sequence[str | os.PathLike[str]],
    destination: str | os.PathLike[str],
    options: ConvertOptions | None = None,
    *,
    shares: int | None = None,
    name: str | None = None,
) -> Summary:
    """Convert `sources` with one Spark task per share; returns the combined summary.

    The combined summary object is written after every share has finished and conformed; if
    any share fails, it is not written and the error is raised here.
    """
    from ndjson_parquet.converter import ConversionError, ConvertOptions, unify_schemas

    started = time.monotonic()
    options = options or ConvertOptions()
    dest = os.fspath(destination)
    plan = plan_shares(sources, shares, name)
    env = {k: os.environ[k] for k in FORWARDED_ENV if k in os.environ}

    tasks = [(share, dest, options, env) for share in plan]
    results: list[ShareResult] = (
        spark_context.parallelize(tasks, len(tasks)).map(_run_share).collect()
    )
    failed = [r for r in results if r.error_type is not None]
    if failed:
        detail = "; ".join(f"share {r.index}: {r.error_type}: {r.error}" for r in failed)
        raise _share_error(failed[0], f"{len(failed)} of {len(plan)} shares failed: {detail}")
    summaries = [r.summary for r in sorted(results, key=lambda r: r.index) if r.summary]

    unified, drift = unify_schemas([s.schema for s in summaries])
    to_conform = [
        (i, list(s.output_files), unified, env)
        for i, s in enumerate(summaries)
        if s.output_files and not s.schema.equals(unified)
    ]
    if to_conform:
        problems = [
            f"share {i}: {error}"
            for i, error in spark_context.parallelize(to_conform, len(to_conform))
            .map(_conform_share)
            .collect()
            if error is not None
        ]
        if problems:
            raise ConversionError("conforming to the unified schema failed: " + "; ".join(problems))
    return _combine(summaries, unified, drift, time.monotonic() - started)


def _share_error(result: ShareResult, message: str) -> Exception:
    from ndjson_parquet.converter import ConversionError, MaxErrorRateExceeded

    if result.error_type == MaxErrorRateExceeded.__name__:
        return MaxErrorRateExceeded(message)
    return ConversionError(message)


def _combine(summaries: list[Summary], schema: Any, drift: list[Any], seconds: float) -> Summary:
    raise NotImplementedError
