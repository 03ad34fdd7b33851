"""Spread one manifest's files over the Spark executors of a Glue job.

A Glue Spark job pays for at least two workers. When Spark has more than one core to run tasks
on and the manifest has more than one file, the files are split into *shares*, balanced by
bytes; every share is one Spark task that runs the ordinary `convert` on its files. The driver
then unifies the shares' schemas, has the shares whose schema differs rewrite their files to the
unified schema (same names), and writes one combined summary, last, where the in-process path
writes its own.

Determinism: the number of shares and the files in each depend on the inputs alone (never on
the cluster's size), and a share's output names derive from the run id (the manifest id) and
the share index: `<manifest_id>-s000-00000.parquet`. A retried run overwrites exactly the files
of the run before it, and removes files of an earlier attempt that this run did not write.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Final

from ndjson_parquet.common import Manifest
from ndjson_parquet.converter.spark_plan import Share, base_run_id, parallelism, plan_shares

if TYPE_CHECKING:
    from ndjson_parquet.converter import ConvertOptions, Drift, Summary

log = logging.getLogger(__name__)

# Read on the driver and set in every task: a local-mode Spark worker is a separate Python
# process that may predate the driver's settings. Credentials are never shipped: executors use
# their own (the Glue job role).
FORWARDED_ENV: Final = (
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
)


# --- executor side ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShareResult:
    """What a task sends back: its summary, or the error that stopped it."""

    index: int
    summary: Summary | None = None
    error: str | None = None


def _use_env(env: dict[str, str]) -> None:
    """Apply the driver's endpoint settings; forget cached clients made with other ones."""
    if any(os.environ.get(k) != v for k, v in env.items()):
        os.environ.update(env)
        from ndjson_parquet.converter import storage

        storage.reset_clients()


def _run_share(task: tuple[Share, str, ConvertOptions, dict[str, str]]) -> ShareResult:
    """Convert one share with the ordinary in-process converter."""
    share, destination, options, env = task
    _use_env(env)
    from ndjson_parquet.converter import convert

    try:
        return ShareResult(share.index, convert(share.inputs(), destination, options))
    except Exception as exc:  # returned, not raised: a deterministic failure is not retried
        return ShareResult(share.index, error=f"{type(exc).__name__}: {exc}")


def _conform_share(task: tuple[int, list[str], Any, str, dict[str, str]]) -> ShareResult:
    """Rewrite one share's files with the unified schema (same names)."""
    index, locations, schema, compression, env = task
    _use_env(env)
    from ndjson_parquet.converter import conform_file

    try:
        for location in locations:
            conform_file(location, schema, compression=compression)
    except Exception as exc:
        return ShareResult(index, error=f"{type(exc).__name__}: {exc}")
    return ShareResult(index)


# --- driver side --------------------------------------------------------------------------------


def convert_distributed(
    spark_context: Any,
    sources: Manifest | Sequence[str | os.PathLike[str]],
    destination: str | os.PathLike[str],
    options: ConvertOptions | None = None,
    *,
    shares: int | None = None,
) -> Summary:
    """Convert `sources` with one Spark task per share; returns the combined summary.

    The error rate is checked over all shares together; when it is exceeded, or any share
    fails to convert or to conform, the shares' outputs are removed, no summary is written and
    the error is raised.
    """
    from ndjson_parquet.converter import ConversionError, ConvertOptions

    started = time.monotonic()
    options = options or ConvertOptions()
    dest = os.fspath(destination)
    base = base_run_id(sources, options)
    plan = plan_shares(sources, shares, base)
    env = {k: os.environ[k] for k in FORWARDED_ENV if k in os.environ}
    log.info(
        "spreading %d files (%d bytes) over Spark (parallelism %d) in %d shares of %s bytes",
        sum(len(s.sources) for s in plan),
        sum(s.bytes for s in plan),
        parallelism(spark_context),
        len(plan),
        "/".join(str(s.bytes) for s in plan),
    )
    # Each share checks nothing itself: the limit applies to the manifest as a whole.
    share_options = replace(options, max_error_rate=None)

    tasks = [(share, dest, replace(share_options, run_id=share.run_id), env) for share in plan]
    results = _collect(spark_context, _run_share, tasks)
    summaries = [r.summary for r in results if r.summary is not None]
    failed = [r for r in results if r.error is not None]
    if failed:
        _discard(summaries, dest, plan, base)
        detail = "; ".join(f"share {r.index}: {r.error}" for r in failed)
        raise ConversionError(f"{len(failed)} of {len(plan)} shares failed: {detail}")
    try:
        _check_error_rate(summaries, options.max_error_rate)
    except ConversionError:
        _discard(summaries, dest, plan, base)
        raise

    schema, drift = _unified_schema(summaries, plan, options.lineage)
    conform = [
        (i, list(s.output_files), schema, options.compression, env)
        for i, s in enumerate(summaries)
        if s.output_files and not s.arrow_schema.equals(schema, check_metadata=True)
    ]
    if conform:
        problems = [r for r in _collect(spark_context, _conform_share, conform) if r.error]
        if problems:
            _discard(summaries, dest, plan, base)
            detail = "; ".join(f"share {r.index}: {r.error}" for r in problems)
            raise ConversionError(f"rewriting shares to the unified schema failed: {detail}")

    summary = _combine(summaries, base, schema, drift, sources, dest)
    summary.warnings = _warnings(summaries, summary)
    _commit(summary, plan, options, sources, started)
    return summary


def _collect(spark_context: Any, func: Any, tasks: list[Any]) -> list[ShareResult]:
    """Run one task per element (one element per Spark partition); results by share index."""
    results: list[ShareResult] = spark_context.parallelize(tasks, len(tasks)).map(func).collect()
    return sorted(results, key=lambda r: r.index)


def _check_error_rate(summaries: list[Summary], limit: float | None) -> None:
    """The in-process rule (bad lines / non-blank lines), over every share together."""
    from ndjson_parquet.converter import MaxErrorRateExceeded

    bad = sum(s.lines_quarantined for s in summaries)
    if limit is None or bad == 0:
        return
    considered = sum(s.lines_read - s.blank_lines for s in summaries)
    rate = bad / considered if considered else 0.0
    if rate > limit:
        raise MaxErrorRateExceeded(
            f"{bad} of {considered} non-blank lines ({rate:.2%}) are bad, "
            f"more than the allowed {limit:.2%}; nothing was written"
        )


def _unified_schema(
    summaries: list[Summary], plan: list[Share], lineage: bool
) -> tuple[Any, list[Drift]]:
    """One schema for every share, lineage columns last; drift of the unification (each entry
    names the first file of the share that brought the other type)."""
    import pyarrow as pa

    from ndjson_parquet.converter import finalize_schema, unify_schemas
    from ndjson_parquet.converter.lineage import LINEAGE_FIELDS
    from ndjson_parquet.converter.schema import Origin

    lineage_names = {f.name for f in LINEAGE_FIELDS}
    data = [
        pa.schema([f for f in s.arrow_schema if not (lineage and f.name in lineage_names)])
        for s in summaries
    ]
    origins = [Origin(file=share.sources[0].location) for share in plan]
    unified, drift = unify_schemas(data, origins, record_additions=True)
    final, final_drift = finalize_schema(unified)
    if lineage:
        final = pa.schema([*final, *LINEAGE_FIELDS], metadata=final.metadata)
    return final, [*drift, *final_drift]


def _combine(
    summaries: list[Summary],
    run_id: str,
    schema: Any,
    drift: list[Drift],
    sources: Manifest | Sequence[str | os.PathLike[str]],
    destination: str,
) -> Summary:
    from ndjson_parquet.converter import Summary, schema_to_json

    entries: list[dict[str, Any]] = []
    seen: set[tuple[Any, ...]] = set()
    for entry in [*(d for s in summaries for d in s.drift), *(d.to_dict() for d in drift)]:
        key = tuple(entry.get(k) for k in ("column", "from_type", "to_type", "resolution"))
        if key not in seen:
            seen.add(key)
            entries.append(entry)
    return Summary(
        run_id=run_id,
        files=sum(s.files for s in summaries),
        lines_read=sum(s.lines_read for s in summaries),
        blank_lines=sum(s.blank_lines for s in summaries),
        rows_written=sum(s.rows_written for s in summaries),
        lines_quarantined=sum(s.lines_quarantined for s in summaries),
        bytes_read=sum(s.bytes_read for s in summaries),
        output_files=[f for s in summaries for f in s.output_files],
        quarantine_files=[f for s in summaries for f in s.quarantine_files],
        schema=schema_to_json(schema),
        drift=entries,
        seconds=0.0,
        exact_values=sum(s.exact_values for s in summaries),
        manifest_id=sources.manifest_id if isinstance(sources, Manifest) else None,
        destination=destination,
        # Set aside by the executors (see `run_inputs`): collected here, in share order.
        superseded_files=[f for s in summaries for f in s.superseded_files],
        extra={
            "shares": [
                {
                    "run_id": s.run_id,
                    "files": s.files,
                    "bytes_read": s.bytes_read,
                    "rows_written": s.rows_written,
                    "seconds": s.seconds,
                }
                for s in summaries
            ]
        },
    )


def _warnings(summaries: list[Summary], combined: Summary) -> list[str]:
    """The warnings of the run as a whole: no row written at all; a partition field that no
    share found in any row (a share without rows says nothing about it); superseded inputs."""
    from ndjson_parquet.converter.run_inputs import superseded_warning

    found = []
    non_blank = combined.lines_read - combined.blank_lines
    if non_blank and not combined.rows_written:
        found.append(f"no row was written from {non_blank} non-blank lines")
    with_rows = [s for s in summaries if s.rows_written]
    partition = [w for s in with_rows for w in s.warnings if w.startswith("partition_by")]
    if with_rows and len(partition) == len(with_rows):
        found.append(partition[0])
    superseded = superseded_warning(combined.superseded_files, combined.files)
    return [*found, superseded] if superseded else found


def _share_summaries(destination: str, plan: list[Share]) -> list[str]:
    from ndjson_parquet.converter import summary_location

    return [summary_location(destination, share.run_id) for share in plan]


def _discard(summaries: list[Summary], destination: str, plan: list[Share], run_id: str) -> None:
    """Remove what the shares of a failed run committed: the run as a whole commits nothing.

    The shares have overwritten any files of an earlier attempt, so that attempt's summary
    goes too: no completion marker may name files that are gone.
    """
    from ndjson_parquet.converter import storage, summary_location

    written = [f for s in summaries for f in (*s.output_files, *s.quarantine_files)]
    markers = [*_share_summaries(destination, plan), summary_location(destination, run_id)]
    storage.delete([*written, *markers])


def _commit(
    summary: Summary,
    plan: list[Share],
    options: ConvertOptions,
    sources: Manifest | Sequence[str | os.PathLike[str]],
    started: float,
) -> None:
    """Drop the shares' own summaries and files of earlier attempts; write the summary last."""
    import orjson

    from ndjson_parquet.converter import storage, summary_location
    from ndjson_parquet.converter.outputs import QUARANTINE_FOLDER, quarantine_location

    dest, run_id = summary.destination, summary.run_id
    # Parts of this run id written in-process (<id>-00000) or by another split (<id>-s001-…).
    pattern = re.compile(re.escape(run_id) + r"(-s\d{3,})?-\d{5}\.parquet")
    stale = _stale_parts(summary, options, sources, pattern)
    quarantine_root = options.quarantine or storage.join(dest, QUARANTINE_FOLDER)
    stale.append(quarantine_location(quarantine_root, run_id))
    storage.delete([*stale, *_share_summaries(dest, plan)])
    summary.seconds = round(time.monotonic() - started, 3)
    storage.put_bytes(
        orjson.dumps(summary.to_dict(), option=orjson.OPT_INDENT_2),
        summary_location(dest, run_id),
    )


def _stale_parts(
    summary: Summary,
    options: ConvertOptions,
    sources: Manifest | Sequence[str | os.PathLike[str]],
    pattern: re.Pattern[str],
) -> list[str]:
    """Parts matching `pattern` that this run did not write.

    Without partitioning every part is in one folder: only that one is listed, as `convert`
    does; with partitioning, the whole destination.
    """
    from ndjson_parquet.converter import storage
    from ndjson_parquet.converter.partition import partition_folder

    dest = summary.destination
    if options.partition_by:
        found = storage.list_files(dest)
    elif isinstance(sources, Manifest):
        folder = storage.join(dest, partition_folder(sources.date_prefix))
        found = storage.list_files(folder, recursive=False)
    else:
        found = storage.list_files(dest, recursive=False)
    keep = set(summary.output_files)
    return [
        location
        for location in found
        if pattern.fullmatch(location.rsplit("/", 1)[-1]) and location not in keep
    ]


def remove_split_leftovers(
    summary: Summary,
    options: ConvertOptions,
    sources: Manifest | Sequence[str | os.PathLike[str]],
) -> list[str]:
    """After an in-process run, remove what an earlier Spark run of the same run id left.

    An in-process `convert` replaces only its own `<id>-00000…` parts; the shares of a Spark
    run (`<id>-s000-00000…`), their summaries and quarantine files would otherwise stay next to
    the new output and duplicate its rows. Returns the removed locations.
    """
    from ndjson_parquet.converter import storage
    from ndjson_parquet.converter.outputs import QUARANTINE_FOLDER, SUMMARY_FOLDER

    dest, run_id = summary.destination, summary.run_id
    share = re.escape(run_id) + r"-s\d{3,}"
    stale = _stale_parts(summary, options, sources, re.compile(share + r"-\d{5}\.parquet"))
    quarantine_root = options.quarantine or storage.join(dest, QUARANTINE_FOLDER)
    for folder, suffix in (
        (storage.join(dest, SUMMARY_FOLDER), r"\.json"),
        (quarantine_root, r"\.ndjson"),
    ):
        marker = re.compile(share + suffix)
        stale.extend(
            location
            for location in storage.list_files(folder, recursive=False)
            if marker.fullmatch(location.rsplit("/", 1)[-1])
        )
    storage.delete(stale)
    return stale
