"""`ndjson-parquet local run`: the whole pipeline on an emulated AWS, on this machine.

Exit status: 0 when every file was converted (every manifest completed, no event in the DLQ,
no alert, counts add up), 1 otherwise, also when the failure was injected with
`--fail-always` (the run reports what happened, not what was asked for), 2 for bad usage.
`--fail-first N` with N within the retries ends in success: the retry path recovered.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import logging
import signal
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console
from rich.live import Live

from ndjson_parquet.cli.aws import EMULATOR_ENVIRONMENT
from ndjson_parquet.cli.local.glue_runner import FaultPlan
from ndjson_parquet.cli.local.output import LATEST, RunFolder
from ndjson_parquet.cli.local.progress import progress_view
from ndjson_parquet.cli.local.report import build_report
from ndjson_parquet.cli.local.report_view import render_report, report_dict
from ndjson_parquet.cli.local.resources import LocalSettings
from ndjson_parquet.cli.local.runtime import LocalPipeline, PipelineTimeout
from ndjson_parquet.cli.local.sample import SampleSpec
from ndjson_parquet.cli.local.server import Emulator
from ndjson_parquet.cli.local.state import Snapshot
from ndjson_parquet.cli.local.terraform import (
    TerraformSetup,
    TerraformUnavailable,
    deployed_by_terraform,
    find_terraform,
    terraform_variables,
)
from ndjson_parquet.workflow.settings import LAMBDA_MAX_BYTES

DEFAULTS = LocalSettings()

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
# How often --keep-running copies new output (a redrive's, a new upload's) to the run folder.
SYNC_INTERVAL_SECONDS = 2.0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    data = parser.add_argument_group("input")
    data.add_argument(
        "--input",
        type=Path,
        metavar="DIR",
        help="upload the files below DIR (keys = relative paths) instead of a generated sample",
    )
    data.add_argument(
        "--files", type=_positive, default=24, help="sample files (default: %(default)s)"
    )
    data.add_argument(
        "--mb", type=float, default=2.0, help="sample size in MB (default: %(default)s)"
    )
    data.add_argument(
        "--dates", type=_positive, default=3, help="sample date prefixes (default: %(default)s)"
    )
    data.add_argument(
        "--malformed",
        type=_non_negative,
        default=2,
        help="malformed sample lines (default: %(default)s)",
    )
    data.add_argument("--seed", type=int, default=7, help="sample seed (default: %(default)s)")

    pipe = parser.add_argument_group("pipeline")
    pipe.add_argument(
        "--max-files",
        type=_positive,
        default=DEFAULTS.max_files_per_manifest,
        help="MAX_FILES_PER_MANIFEST (default: %(default)s)",
    )
    pipe.add_argument(
        "--max-mb",
        type=float,
        default=700.0,
        help="MAX_BYTES_PER_MANIFEST in MB (default: %(default)s)",
    )
    pipe.add_argument(
        "--max-wait",
        type=_non_negative,
        default=DEFAULTS.max_wait_seconds,
        help="MAX_WAIT_SECONDS: age at which the flush cuts a partial manifest (default: %(default)s)",
    )
    pipe.add_argument(
        "--flush-interval",
        type=float,
        default=1.0,
        help="seconds between runs of the flush schedule (default: %(default)s)",
    )
    pipe.add_argument(
        "--output-format",
        choices=("parquet", "iceberg"),
        default="parquet",
        help="Parquet folders, or one Iceberg snapshot per manifest in the emulated Glue "
        "Data Catalog (needs the converter's iceberg extra) (default: %(default)s)",
    )
    pipe.add_argument(
        "--lambda-max-mb",
        type=float,
        default=LAMBDA_MAX_BYTES / 1_000_000,
        metavar="MB",
        help="manifests up to this size convert in Lambda, larger ones in Glue; 0: all in Glue "
        "(default: %(default)s)",
    )
    pipe.add_argument(
        "--env",
        default=EMULATOR_ENVIRONMENT,
        help="environment name for resource names (default: %(default)s)",
    )

    faults = parser.add_argument_group("fault injection")
    faults.add_argument(
        "--fail-first",
        type=_non_negative,
        default=0,
        metavar="N",
        help="make the first N conversions fail (2 or fewer are recovered by the retries)",
    )
    faults.add_argument(
        "--fail-always", action="store_true", help="make every conversion fail (shows the alert)"
    )
    faults.add_argument(
        "--lambda-timeout-first",
        type=_non_negative,
        default=0,
        metavar="N",
        help="make the first N Lambda conversions time out (the workflow falls back to Glue)",
    )

    out = parser.add_argument_group("output")
    out.add_argument(
        "--output",
        type=Path,
        default=Path("local-output"),
        metavar="DIR",
        help="each run copies its Parquet, quarantine files and logs to a new folder "
        "DIR/run-<time>, and points DIR/latest at it (default: %(default)s)",
    )
    out.add_argument(
        "--timeout", type=float, default=120.0, help="seconds to wait (default: %(default)s)"
    )
    out.add_argument(
        "--keep-running",
        action="store_true",
        help="keep the emulator (and the event sources) running after the report, until Ctrl-C",
    )
    out.add_argument("--port", type=int, default=0, help="emulator port (default: a free one)")
    out.add_argument(
        "--terraform",
        action="store_true",
        help="deploy with terraform apply of infra/envs/local (and destroy afterwards) instead "
        "of creating the resources; falls back to that, saying why, without terraform",
    )
    out.add_argument("--json", action="store_true", help="print the report as JSON")
    out.add_argument("-v", "--verbose", action="store_true", help="show the components' logs")


def run(args: argparse.Namespace) -> int:
    console = Console(stderr=args.json)
    if args.input is not None and not args.input.is_dir():
        console.print(f"[red]--input {args.input} is not a directory[/]")
        return EXIT_USAGE
    if args.output_format == "iceberg" and importlib.util.find_spec("pyiceberg") is None:
        console.print(
            "[red]--output-format iceberg needs pyiceberg: "
            "pip install 'ndjson-parquet-converter[iceberg]'[/]"
        )
        return EXIT_USAGE
    folder = RunFolder.create(args.output)
    log_file = folder.log_file
    settings = LocalSettings(
        max_files_per_manifest=args.max_files,
        max_bytes_per_manifest=int(args.max_mb * 1_000_000),
        max_wait_seconds=args.max_wait,
        output_format=args.output_format,
        lambda_max_bytes=int(args.lambda_max_mb * 1_000_000),
    )
    faults = FaultPlan(
        fail_first=args.fail_first,
        fail_always=args.fail_always,
        lambda_timeout_first=args.lambda_timeout_first,
    )
    spec = SampleSpec(
        files=args.files,
        total_bytes=int(args.mb * 1_000_000),
        dates=args.dates,
        malformed=args.malformed,
        seed=args.seed,
    )
    with contextlib.ExitStack() as cleanup:
        cleanup.enter_context(_logging_to(log_file, args.verbose))
        setup = terraform_setup(console) if args.terraform else None
        emulator = cleanup.enter_context(Emulator(port=args.port, tls=setup is not None))
        if not args.verbose:
            # Powertools writes JSON log lines and metrics to stdout by default.
            emulator.set_env(
                {"POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_DISABLED": "true"}
            )
        console.print(f"[bold]emulated AWS[/] on {emulator.endpoint_url}")
        applied = None
        if setup is not None:
            work_dir, variables = args.output / "terraform", terraform_variables(args.env, settings)
            applied = cleanup.enter_context(
                deployed_by_terraform(setup, emulator, work_dir, console.print, variables)
            )
        pipeline = LocalPipeline(
            emulator,
            environment=args.env,
            settings=settings,
            faults=faults,
            flush_interval=args.flush_interval,
        )
        pipeline.deploy(applied.outputs if applied else None)
        cleanup.callback(pipeline.close)
        console.print(
            f"deployed [bold]{args.env}[/]: table {pipeline.names.tracking_table}, "
            f"state machine {pipeline.names.state_machine}, Glue job {pipeline.names.glue_job}"
        )
        if not args.verbose:
            cleanup.enter_context(_lambda_logs_to(log_file))
        started = time.monotonic()
        pipeline.start_upload(spec=None if args.input else spec, directory=args.input)
        timed_out = False
        with Live(console=console, refresh_per_second=4, transient=True) as live:

            def show(snapshot: Snapshot) -> None:
                live.update(progress_view(pipeline, snapshot, started))

            try:
                snapshot = pipeline.run_until_idle(timeout=args.timeout, on_tick=show)
            except PipelineTimeout as exc:
                snapshot, timed_out = exc.snapshot, True
        report = build_report(pipeline, snapshot, folder, timed_out=timed_out)
        if args.json:
            print(json.dumps(report_dict(report), indent=2, default=str))
        else:
            render_report(report, console)
            console.print(
                f"this run's files: {folder.path}/ ({args.output / LATEST} points here); "
                f"logs of the Lambda and Glue runs: {log_file.name}"
            )
        if args.keep_running:
            _serve(pipeline, folder, console)
    return EXIT_OK if report.ok and not (applied and applied.leftovers) else EXIT_FAILED


def terraform_setup(console: Console) -> TerraformSetup | None:
    """What `--terraform` needs, or None after one line saying why it falls back."""
    try:
        return find_terraform()
    except TerraformUnavailable as exc:
        console.print(f"[yellow]--terraform: {exc}; creating the resources without terraform[/]")
        return None


def _serve(
    pipeline: LocalPipeline,
    folder: RunFolder,
    console: Console,
    stop: threading.Event | None = None,
) -> None:
    """Keep pumping the event sources so that uploads keep flowing, until interrupted (Ctrl-C,
    or `stop`); what a new upload or a redrive writes reaches the run folder too."""
    endpoint = pipeline.emulator.endpoint_url
    env = pipeline.names.environment
    env_option = "" if env == EMULATOR_ENVIRONMENT else f" --env {env}"
    console.print(
        f"\n[bold]still running[/] on {endpoint} (Ctrl-C to stop). In another shell:\n"
        f"  ndjson-parquet status --endpoint-url {endpoint}{env_option}\n"
        f"  export NDJSON_PARQUET_ENDPOINT_URL={endpoint}   # then: ndjson-parquet stuck, "
        "inspect, redrive, …\n"
        f"  AWS_ENDPOINT_URL={endpoint} AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local "
        f"AWS_DEFAULT_REGION={pipeline.emulator.region} aws s3 cp my.ndjson "
        f"s3://{pipeline.names.input_bucket}/events/2024-03-09/my.ndjson\n"
        f"New output goes to {folder.path}"
    )
    stopped = stop or threading.Event()
    previous = (
        signal.signal(signal.SIGINT, lambda _signum, _frame: stopped.set())
        if stop is None
        else None
    )
    names = pipeline.names
    last_sync = time.monotonic()
    try:
        while not stopped.is_set():
            pipeline.pump()
            pipeline.snapshot()
            if time.monotonic() - last_sync >= SYNC_INTERVAL_SECONDS:
                last_sync = time.monotonic()
                written = folder.sync(
                    pipeline.client("s3"), names.output_bucket, names.quarantine_bucket
                )
                if written:
                    console.print(f"{len(written)} new or changed file(s) in {folder.path}")
            stopped.wait(0.5)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def _lambda_logs_to(log_file: Path) -> Iterator[None]:
    """Send the manifest builder's Powertools log lines (stdout by default) to the log file."""
    from ndjson_parquet.manifest_builder import handler

    targets = [
        h
        for h in logging.getLogger(handler.logger.name).handlers
        if isinstance(h, logging.StreamHandler)
    ]
    with open(log_file, "a", encoding="utf-8") as stream:
        # Assigned rather than setStream(): that flushes the old stream, which may be closed.
        previous = [t.stream for t in targets]
        for target in targets:
            target.stream = stream
        try:
            yield
        finally:
            for target, old in zip(targets, previous, strict=True):
                target.stream = old


@contextlib.contextmanager
def _logging_to(log_file: Path, verbose: bool) -> Iterator[None]:
    """Components log to a file (and to the terminal with --verbose), not over the display."""
    root = logging.getLogger()
    level = root.level
    added: list[logging.Handler] = [logging.FileHandler(log_file, mode="w", encoding="utf-8")]
    added[0].setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    if verbose:
        added.append(logging.StreamHandler(sys.stderr))
    root.setLevel(logging.INFO)
    for handler in added:
        root.addHandler(handler)
    quiet = {name: logging.getLogger(name).level for name in ("werkzeug", "botocore", "urllib3")}
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    logging.getLogger("botocore").setLevel(logging.WARNING)
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            if not verbose:
                # Powertools warns about empty metrics on every invocation when they are off.
                warnings.filterwarnings("ignore", module="aws_lambda_powertools")
            yield
    finally:
        for handler in added:
            root.removeHandler(handler)
            handler.close()
        root.setLevel(level)
        for name, old in quiet.items():
            logging.getLogger(name).setLevel(old)
