"""Where the time goes end to end: upload, registration, manifests, executions, conversion.

    python -m benchmarks.e2e.run                  # 1,000 files, 500 MB
    python -m benchmarks.e2e.run --files 100 --mb 50

Runs the whole pipeline on the local emulated AWS (moto server in this process, the real
manifest builder, the real state machine in moto's interpreter, the real converter as the
Lambda function or the Glue job, as the workflow chooses) with production manifest limits (2,000 files / 700 MB per manifest). Stages run one
after the other so that each has its own wall time:

1. generate  the seeded sample is written to a temporary folder (not part of the pipeline)
2. upload    PutObject of every file; S3 notifies the queue
3. register  the queue is drained through the Lambda handler (batches of 10): files are
             registered, manifests are cut at the file-count threshold and their
             executions started; their Glue runs wait (a gate) so that registration is
             timed without conversions competing for the same two cores
4. flush     the flush function cuts the remaining partial groups (MAX_WAIT_SECONDS=0)
5. execute   the gate opens; until every execution has ended (conversions run in parallel)

Conversion is reported separately: per compute path (Lambda, Glue) the manifests, the sum of
their runs' durations and the bill the cost model of docs/cost.md gives for them; then the sum
of all runs' durations. `--lambda-max-mb 0` sends every manifest to Glue.

    python -m benchmarks.e2e.run --backlog 60 --concurrency 2

The backlog run instead: `--backlog` one-file manifests (tiny files) against a Glue job allowing
`--concurrency` runs. Every file is registered and its manifest queued before the first run
starts (runs are held back meanwhile), then the backlog drains; reported: files per minute
drained, the most runs at once, and the Step Functions state transitions per manifest, with
those the admission control adds (the slot release and the JobRunState check).
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from benchmarks.e2e.cost_model import run_cost
from ndjson_parquet.cli.local.glue_runner import RunRecord
from ndjson_parquet.cli.local.resources import LocalSettings
from ndjson_parquet.cli.local.runtime import LocalPipeline
from ndjson_parquet.cli.local.sample import SampleInfo, SampleSpec, generate
from ndjson_parquet.cli.local.server import Emulator
from ndjson_parquet.common.settings import Defaults
from ndjson_parquet.workflow.settings import LAMBDA_MAX_BYTES


@dataclass
class Stage:
    name: str
    seconds: float
    note: str = ""


def _write_sample(spec: SampleSpec, folder: Path) -> SampleInfo:
    info = SampleInfo()
    for sample_file in generate(spec, info):
        target = folder / sample_file.key
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(sample_file.body)
    return info


def run(
    files: int,
    mb: float,
    dates: int,
    timeout: float,
    console: Console,
    lambda_max_bytes: int = LAMBDA_MAX_BYTES,
) -> list[Stage]:
    stages: list[Stage] = []
    spec = SampleSpec(files=files, total_bytes=int(mb * 1_000_000), dates=dates, malformed=0)
    with tempfile.TemporaryDirectory(prefix="ndjson-parquet-bench-") as tmp:
        folder = Path(tmp)
        t0 = time.monotonic()
        info = _write_sample(spec, folder)
        stages.append(
            Stage(
                "generate",
                time.monotonic() - t0,
                f"{info.files} files, {info.bytes / 1e6:.0f} MB, {info.lines:,} lines",
            )
        )

        with Emulator() as emulator:
            emulator.set_env(
                {"POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "WARNING"}
            )
            pipeline = LocalPipeline(
                emulator,
                environment="bench",
                settings=LocalSettings(
                    max_files_per_manifest=Defaults.MAX_FILES_PER_MANIFEST,
                    max_bytes_per_manifest=Defaults.MAX_BYTES_PER_MANIFEST,
                    max_wait_seconds=0,
                    lambda_max_bytes=lambda_max_bytes,
                ),
                flush_interval=0.5,
            ).deploy()

            t0 = time.monotonic()
            pipeline.upload_directory(folder)
            elapsed = time.monotonic() - t0
            stages.append(Stage("upload", elapsed, f"{info.bytes / 1e6 / elapsed:.0f} MB/s"))

            pipeline.runner.gate.clear()
            t0 = time.monotonic()
            handled = pipeline.mapping.drain(max_batches=10**6)
            elapsed = time.monotonic() - t0
            stats = pipeline.mapping.stats
            stages.append(
                Stage(
                    "register",
                    elapsed,
                    f"{handled} messages in {stats.invocations} invocations, "
                    f"{info.files / elapsed:.0f} files/s",
                )
            )

            t0 = time.monotonic()
            while pipeline.snapshot().files_pending:
                pipeline.flush()
                if time.monotonic() - t0 > timeout:
                    raise TimeoutError("files still pending")
            snapshot = pipeline.snapshot()
            stages.append(
                Stage("flush", time.monotonic() - t0, f"{snapshot.manifest_total} manifests in all")
            )

            t0 = time.monotonic()
            pipeline.runner.gate.set()
            snapshot = pipeline.run_until_idle(timeout=timeout)
            elapsed = time.monotonic() - t0
            stages.append(
                Stage(
                    "execute",
                    elapsed,
                    f"{_executions(snapshot.executions)}; {info.bytes / 1e6 / elapsed:.1f} MB/s",
                )
            )

            records = list(pipeline.runner.records)
            ok = [r for r in records if r.succeeded]
            rows = sum(int(r.summary.get("rows_written", 0)) for r in ok)
            conversion = sum(r.seconds for r in ok)
            stages.extend(_per_compute(ok))
            stages.append(
                Stage(
                    "conversion (sum of runs)",
                    conversion,
                    f"{len(ok)} runs, {rows:,} rows, "
                    f"{info.bytes / 1e6 / conversion:.1f} MB per run-second"
                    if conversion
                    else "",
                )
            )
            if rows != info.lines:
                console.print(f"[red]rows written {rows} != lines uploaded {info.lines}[/]")
            pipeline.close()
    return stages


def _per_compute(records: list[RunRecord]) -> list[Stage]:
    """Per compute path: manifests converted, their seconds, and the cost model's bill."""
    stages = []
    for compute in sorted({r.compute for r in records}):
        runs = [r for r in records if r.compute == compute]
        cost = sum(
            run_cost(compute, int(r.summary.get("bytes_read", 0)), int(r.summary.get("files", 0)))
            for r in runs
        )
        stages.append(
            Stage(
                f"  in {compute}",
                sum(r.seconds for r in runs),
                f"{len(runs)} manifests; modelled cost ${cost:.6f}",
            )
        )
    return stages


# States a manifest passes through only because of admission control and the JobRunState check.
_ADMISSION_STATES = frozenset({"CheckJobRunState", "ReleaseSlot", "ReleaseSlotAfterFailure"})


def run_backlog(manifests: int, concurrency: int, timeout: float) -> list[Stage]:
    """Queue `manifests` one-file manifests, then drain them at `concurrency` runs at once."""
    stages: list[Stage] = []
    spec = SampleSpec(files=manifests, total_bytes=manifests * 400, dates=1, malformed=0)
    with Emulator() as emulator:
        emulator.set_env({"POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "WARNING"})
        pipeline = LocalPipeline(
            emulator,
            environment="bench-backlog",
            settings=LocalSettings(
                max_files_per_manifest=1, max_wait_seconds=0, glue_max_concurrent_runs=concurrency
            ),
            flush_interval=0.5,
        ).deploy()
        pipeline.runner.gate.clear()
        t0 = time.monotonic()
        info = pipeline.upload_sample(spec)
        pipeline.mapping.drain(max_batches=10**6)
        queued = pipeline.snapshot().manifests.get("queued", 0)
        stages.append(
            Stage(
                "queue",
                time.monotonic() - t0,
                f"{info.files} files registered, {queued} manifests queued behind "
                f"{concurrency} started",
            )
        )
        t0 = time.monotonic()
        pipeline.runner.gate.set()
        snapshot = pipeline.run_until_idle(timeout=timeout)
        elapsed = time.monotonic() - t0
        stages.append(
            Stage(
                "drain",
                elapsed,
                f"{_executions(snapshot.manifests)}; {info.files * 60 / elapsed:.0f} files/min, "
                f"at most {pipeline.runner.peak_active} runs at once, "
                f"{len(pipeline.alerts)} alerts",
            )
        )
        sfn = pipeline.client("stepfunctions")
        entered: list[int] = []
        added: list[int] = []
        for execution in pipeline.executions():
            names = [
                event["stateEnteredEventDetails"]["name"]
                for event in sfn.get_execution_history(
                    executionArn=execution["executionArn"], maxResults=1000
                )["events"]
                if "stateEnteredEventDetails" in event
            ]
            entered.append(len(names))
            added.append(sum(1 for name in names if name in _ADMISSION_STATES))
        if entered:
            stages.append(
                Stage(
                    "state transitions",
                    0.0,
                    f"{sum(entered) / len(entered):.2f} per manifest, "
                    f"{sum(added) / len(added):.2f} of them added by admission control "
                    f"(min {min(entered)}, max {max(entered)})",
                )
            )
        pipeline.close()
    return stages


def _executions(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--mb", type=float, default=500.0)
    parser.add_argument("--dates", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument(
        "--lambda-max-mb",
        type=float,
        default=LAMBDA_MAX_BYTES / 1_000_000,
        help="manifests up to this size convert in Lambda (0: all in Glue)",
    )
    parser.add_argument(
        "--backlog", type=int, metavar="N", help="the backlog run: N one-file manifests"
    )
    parser.add_argument(
        "--concurrency", type=int, default=2, help="the Glue job's max concurrent runs (backlog)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    console = Console()
    started = time.monotonic()
    if args.backlog:
        stages = run_backlog(args.backlog, args.concurrency, args.timeout)
        title = f"backlog: {args.backlog} manifests, {args.concurrency} concurrent runs"
    else:
        stages = run(
            args.files,
            args.mb,
            args.dates,
            args.timeout,
            console,
            int(args.lambda_max_mb * 1_000_000),
        )
        title = f"end to end: {args.files} files, {args.mb:.0f} MB"
    table = Table(title=f"{title} ({os.cpu_count()} CPUs)")
    table.add_column("stage")
    table.add_column("seconds", justify="right")
    table.add_column("")
    for stage in stages:
        table.add_row(stage.name, f"{stage.seconds:.1f}", stage.note)
    table.add_section()
    table.add_row("total wall", f"{time.monotonic() - started:.1f}", "")
    console.print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
