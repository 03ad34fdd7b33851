"""`ndjson-parquet redrive`: run failed manifests again (a dry run unless --execute).

Which way a manifest is re-run depends on how its last execution ended:

- manifest `failed`: the workflow caught the error, marked the manifest failed and alerted, and
  ended in its Fail state. RedriveExecution would only re-run that Fail state, so the manifest
  is queued again (failed → queued) to run as a new execution named `<manifest_id>-r<N>`: the
  admission control starts it when one of the Glue job's concurrent runs is free, behind the
  manifests queued before it, so that redriving many at once is a backlog, not a burst.
- manifest `processing` but its execution FAILED, TIMED_OUT or ABORTED: the execution died
  before its own error handling ran. RedriveExecution continues it from the failed step (same
  ARN and input); where it is not available (not redrivable, or an emulator without it) a new
  execution starts instead (processing → processing is the retry transition).
- anything else (running, completed, never started) is left alone, with the reason.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError
from rich.table import Table

from ndjson_parquet.cli.aws import add_target_arguments, target_from_args
from ndjson_parquet.cli.duration import parse_since
from ndjson_parquet.cli.operator.executions import (
    find_state_machine_arn,
    manifest_executions,
    state_machine_of,
)
from ndjson_parquet.cli.operator.output import console, print_json
from ndjson_parquet.cli.operator.tracking import Tracking, updated_at
from ndjson_parquet.common import ManifestKey, Status, WorkflowInput, check_transition
from ndjson_parquet.common.keys import ManifestAttr
from ndjson_parquet.manifest_builder.admission import queue_manifest

START = "queue-execution"
REDRIVE = "redrive-execution"
SKIP = "skip"
ENDED_UNSUCCESSFULLY = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})


@dataclass
class RedrivePlan:
    manifest_id: str
    status: str | None
    action: str
    reason: str
    execution_arn: str | None = None
    new_execution_name: str | None = None
    result: str | None = None


def plan(
    tracking: Tracking,
    sfn: Any,
    manifest_ids: list[str],
    state_machine_arn: str | None,
) -> list[RedrivePlan]:
    return [_plan_one(tracking, sfn, m, state_machine_arn) for m in manifest_ids]


def failed_manifest_ids(tracking: Tracking, since: datetime | None = None) -> list[str]:
    """Failed manifests (optionally updated since a time), and processing manifests whose
    execution may have died are found by `stuck`; this lists the failed ones."""
    ids = []
    for item in tracking.manifests_by_status(Status.FAILED):
        moment = updated_at(item)
        if since is None or (moment is not None and moment >= since):
            ids.append(str(item[ManifestAttr.MANIFEST_ID]))
    return ids


def _plan_one(
    tracking: Tracking, sfn: Any, manifest_id: str, state_machine_arn: str | None
) -> RedrivePlan:
    item = tracking.manifest(manifest_id)
    if item is None:
        return RedrivePlan(manifest_id, None, SKIP, "no such manifest")
    status = str(item.get(ManifestAttr.STATUS))
    executions = manifest_executions(sfn, item, state_machine_arn)
    latest = executions[-1] if executions else None
    latest_status = latest.get("status") if latest else None
    if status == Status.FAILED:
        check_transition(Status.FAILED, Status.PROCESSING)
        if latest_status == "RUNNING":
            return RedrivePlan(
                manifest_id,
                status,
                SKIP,
                "an execution is already running",
                execution_arn=latest.get("executionArn") if latest else None,
            )
        return RedrivePlan(
            manifest_id,
            status,
            START,
            "failed after the workflow's retries",
            execution_arn=latest.get("executionArn") if latest else None,
            new_execution_name=_next_name(manifest_id, executions),
        )
    if status == Status.PROCESSING:
        if latest is None:
            return RedrivePlan(manifest_id, status, SKIP, "processing, but no execution found")
        if latest_status not in ENDED_UNSUCCESSFULLY:
            return RedrivePlan(
                manifest_id,
                status,
                SKIP,
                f"processing, execution {latest_status}",
                execution_arn=latest.get("executionArn"),
            )
        return RedrivePlan(
            manifest_id,
            status,
            REDRIVE,
            f"processing, but its execution {latest_status}",
            execution_arn=latest.get("executionArn"),
            new_execution_name=_next_name(manifest_id, executions),
        )
    if status == Status.MANIFESTED:
        return RedrivePlan(manifest_id, status, SKIP, "never started: the flush function starts it")
    return RedrivePlan(manifest_id, status, SKIP, f"{status}: nothing to re-run")


def _next_name(manifest_id: str, executions: list[dict[str, Any]]) -> str:
    numbers = [0]
    for execution in executions:
        name = str(execution.get("name", ""))
        suffix = name[len(manifest_id) + 2 :] if name.startswith(f"{manifest_id}-r") else ""
        if suffix.isdigit():
            numbers.append(int(suffix))
    return f"{manifest_id}-r{max(numbers) + 1}"


def execute(
    tracking: Tracking, sfn: Any, plans: list[RedrivePlan], state_machine_arn: str | None
) -> None:
    """Carry out the plans; each records its outcome in `result`."""
    for p in plans:
        if p.action == SKIP:
            continue
        try:
            if p.action == REDRIVE and p.execution_arn:
                try:
                    sfn.redrive_execution(executionArn=p.execution_arn)
                    p.result = f"redriven {p.execution_arn}"
                    continue
                except (ClientError, AttributeError, NotImplementedError) as exc:
                    p.reason += f"; RedriveExecution unavailable ({_code(exc)}), new execution"
            machine = state_machine_arn or (
                state_machine_of(p.execution_arn) if p.execution_arn else None
            )
            if machine is None:
                p.result = "error: state machine not found (pass --state-machine-arn)"
                continue
            p.result = _start(tracking, sfn, machine, p)
        except ClientError as exc:
            p.result = f"error: {_code(exc)}: {exc}"


def _start(tracking: Tracking, sfn: Any, machine: str, p: RedrivePlan) -> str:
    """A failed manifest: queue it under its new execution name (the admission starts it)."""
    if p.status != Status.FAILED:
        return _start_now(tracking, sfn, machine, p)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if not queue_manifest(
        tracking.dynamodb,
        tracking.table,
        p.manifest_id,
        queued_at=now,
        now=now,
        execution_name=p.new_execution_name,
        source=Status.FAILED,
    ):
        item = tracking.manifest(p.manifest_id)
        return f"skipped: status changed to {item.get(ManifestAttr.STATUS) if item else 'gone'}"
    return f"queued as {p.new_execution_name}; it starts when a conversion slot is free"


def _start_now(tracking: Tracking, sfn: Any, machine: str, p: RedrivePlan) -> str:
    item = tracking.manifest(p.manifest_id)
    if item is None or str(item.get(ManifestAttr.STATUS)) != p.status:
        return f"skipped: status changed to {item.get(ManifestAttr.STATUS) if item else 'gone'}"
    payload: WorkflowInput = {
        "manifest_path": str(item[ManifestAttr.MANIFEST_PATH]),
        "manifest_id": p.manifest_id,
        "date_prefix": str(item[ManifestAttr.DATE_PREFIX]),
        "file_count": int(item[ManifestAttr.FILE_COUNT]),
        "total_bytes": int(item[ManifestAttr.TOTAL_BYTES]),
        "timestamp": datetime.now(UTC).isoformat(),
    }
    try:
        arn = sfn.start_execution(
            stateMachineArn=machine, name=p.new_execution_name, input=json.dumps(payload)
        )["executionArn"]
    except ClientError as exc:
        if _code(exc) == "ExecutionAlreadyExists":
            return f"skipped: {p.new_execution_name} already exists (redriven concurrently)"
        raise
    # The item points at its newest execution, for `inspect` and `stuck`.
    tracking.dynamodb.update_item(
        TableName=tracking.table,
        Key={k: {"S": v} for k, v in ManifestKey(p.manifest_id).as_key().items()},
        UpdateExpression="SET #arn = :arn",
        ConditionExpression="attribute_exists(#pk)",
        ExpressionAttributeNames={"#arn": ManifestAttr.EXECUTION_ARN, "#pk": "pk"},
        ExpressionAttributeValues={":arn": {"S": arn}},
    )
    return f"started {arn}"


def _code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    return type(exc).__name__


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_target_arguments(parser)
    parser.add_argument("manifest_ids", nargs="*", default=[], metavar="MANIFEST_ID")
    parser.add_argument("--failed", action="store_true", help="every failed manifest")
    parser.add_argument(
        "--since", metavar="T", help="with --failed: failed since T (a duration ago, or ISO time)"
    )
    parser.add_argument(
        "--execute", action="store_true", help="do it (without it: show what would be done)"
    )
    parser.add_argument(
        "--state-machine-arn", help="the workflow (default: found by the environment's name)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace) -> int:
    """Exit 0 when every selected manifest was (or would be) re-run or needed nothing,
    1 when a re-run failed to start, 2 for bad usage."""
    out = console()
    if args.since and not args.failed:
        out.print("[red]--since needs --failed[/]")
        return 2
    if bool(args.failed) == bool(args.manifest_ids):
        out.print("[red]name manifests, or pass --failed (not both)[/]")
        return 2
    target = target_from_args(args)
    tracking = Tracking(target.aws.client("dynamodb"), target.table)
    sfn = target.aws.client("stepfunctions")
    machine = args.state_machine_arn or find_state_machine_arn(sfn, target.names.state_machine)
    since = parse_since(args.since) if args.since else None
    ids = failed_manifest_ids(tracking, since) if args.failed else list(args.manifest_ids)
    plans = plan(tracking, sfn, ids, machine)
    if args.execute:
        execute(tracking, sfn, plans, machine)
    errors = [p for p in plans if p.result and p.result.startswith("error")]
    if args.json:
        print_json({"execute": args.execute, "plans": [asdict(p) for p in plans]})
        return 1 if errors else 0
    if not plans:
        out.print("nothing to redrive")
        return 0
    title = "redrive" if args.execute else "redrive (dry run: add --execute to do it)"
    table = Table(title=title)
    for column in (
        "manifest",
        "status",
        "action",
        "why",
        "result" if args.execute else "would run",
    ):
        table.add_column(column)
    for p in plans:
        outcome = (
            p.result
            if args.execute
            else (
                p.new_execution_name
                if p.action == START
                else p.execution_arn
                if p.action == REDRIVE
                else ""
            )
        )
        table.add_row(p.manifest_id, str(p.status), p.action, p.reason, str(outcome or ""))
    out.print(table)
    return 1 if errors else 0
