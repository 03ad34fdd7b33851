"""`ndjson-parquet stuck`: manifests never started, queued, or processing for too long.

A queued manifest waits for one of the Glue job's concurrent runs (admission control): listed
here once it has waited longer than the bound, it says the backlog drains slower than it grows,
not that anything failed."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.table import Table

from ndjson_parquet.cli.aws import add_target_arguments, target_from_args
from ndjson_parquet.cli.duration import format_age, parse_duration
from ndjson_parquet.cli.operator.executions import find_state_machine_arn, manifest_executions
from ndjson_parquet.cli.operator.output import console, print_json
from ndjson_parquet.cli.operator.tracking import Tracking, updated_at
from ndjson_parquet.common import Status
from ndjson_parquet.common.keys import ManifestAttr

REASONS = {
    Status.MANIFESTED: "never started",
    Status.QUEUED: "queued for a conversion slot",
    Status.PROCESSING: "processing too long",
}


def find_stuck(
    tracking: Tracking,
    older_than: timedelta,
    sfn: Any = None,
    state_machine_arn: str | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Manifests still `manifested`, `queued` or `processing` whose last update is older than
    the bound; with `sfn`, each carries the status of its latest execution."""
    now = now or datetime.now(UTC)
    cutoff = now - older_than
    found: list[dict[str, Any]] = []
    for status in (Status.MANIFESTED, Status.QUEUED, Status.PROCESSING):
        for item in tracking.manifests_by_status(status, updated_before=cutoff):
            moment = updated_at(item)
            entry: dict[str, Any] = {
                "manifest_id": item.get(ManifestAttr.MANIFEST_ID),
                "date_prefix": item.get(ManifestAttr.DATE_PREFIX),
                "status": str(status),
                "reason": REASONS[status],
                "file_count": item.get(ManifestAttr.FILE_COUNT),
                "updated_at": moment,
                "age_seconds": int((now - moment).total_seconds()) if moment else None,
                "execution_status": None,
                "execution_arn": item.get(ManifestAttr.EXECUTION_ARN),
            }
            if sfn is not None:
                executions = manifest_executions(sfn, item, state_machine_arn)
                if executions:
                    latest = executions[-1]
                    entry["execution_status"] = latest.get("status")
                    entry["execution_arn"] = latest.get("executionArn")
                    if status in (Status.MANIFESTED, Status.QUEUED):
                        # Started, but the workflow has not claimed it (yet, or ever).
                        entry["reason"] = f"not claimed, execution {latest.get('status')}"
            found.append(entry)
    return found


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_target_arguments(parser)
    parser.add_argument(
        "--older-than",
        type=parse_duration,
        default=parse_duration("2h"),
        metavar="DURATION",
        help="not started, queued, or processing, for longer than this (default 2h)",
    )
    parser.add_argument(
        "--state-machine-arn", help="the workflow (default: found by the environment's name)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace) -> int:
    """Exit status 0 when nothing is stuck, 1 otherwise."""
    target = target_from_args(args)
    sfn = target.aws.client("stepfunctions")
    machine = args.state_machine_arn or find_state_machine_arn(sfn, target.names.state_machine)
    stuck = find_stuck(
        Tracking(target.aws.client("dynamodb"), target.table),
        args.older_than,
        sfn=sfn,
        state_machine_arn=machine,
    )
    if args.json:
        print_json({"table": target.table, "stuck": stuck})
        return 1 if stuck else 0
    out = console()
    if not stuck:
        out.print(f"no manifest stuck for longer than {format_age(args.older_than)}")
        return 0
    table = Table(title=f"{len(stuck)} stuck manifest(s)")
    for column in ("manifest", "date prefix", "files", "status", "why", "for", "execution"):
        table.add_column(column)
    for s in stuck:
        table.add_row(
            str(s["manifest_id"]),
            str(s["date_prefix"]),
            str(s["file_count"]),
            s["status"],
            s["reason"],
            format_age(timedelta(seconds=s["age_seconds"]))
            if s["age_seconds"] is not None
            else "?",
            str(s["execution_status"] or "none"),
        )
    out.print(table)
    out.print(
        "never started: the flush function queues these; if it does not, check "
        "STEP_FUNCTION_ARN and its logs. queued: waiting for one of the Glue job's concurrent "
        "runs, oldest first (`status` shows the backlog). processing with an ended execution: "
        "`ndjson-parquet redrive MANIFEST_ID`."
    )
    return 1
