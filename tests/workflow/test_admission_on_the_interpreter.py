"""Admission control with the real state machine in moto's interpreter: a slot is given back by
the execution, and recovered when its execution is aborted before it could give it back."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import boto3

from ndjson_parquet.cli.emulator import moto_fixes
from ndjson_parquet.common.keys import ManifestAttr
from ndjson_parquet.common.status import Status
from ndjson_parquet.manifest_builder.admission import DEFAULT_GRACE_SECONDS, Admission
from ndjson_parquet.manifest_builder.starter import Starter, execution_arn
from ndjson_parquet.manifest_builder.store import Store
from tests.workflow.harness import Stack, workflow_input


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2024, 3, 6, 1, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _queued_manifest(stack: Stack, admission: Admission, manifest_id: str) -> None:
    given = workflow_input(manifest_id)
    stack.put_manifest(
        manifest_id,
        Status.MANIFESTED,
        **{
            ManifestAttr.DATE_PREFIX: {"S": given["date_prefix"]},
            ManifestAttr.TOTAL_BYTES: {"N": str(given["total_bytes"])},
            ManifestAttr.MANIFEST_PATH: {"S": given["manifest_path"]},
            ManifestAttr.CREATED_AT: {"S": given["timestamp"]},
        },
    )
    assert admission.enqueue(manifest_id, given["timestamp"])


def _status(stack: Stack, manifest_id: str) -> str:
    item = stack.manifest_item(manifest_id)
    assert item is not None
    return str(item[ManifestAttr.STATUS]["S"])


def _wait(condition: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_an_aborted_holder_loses_its_slot_and_the_next_manifest_runs(
    aws: boto3.session.Session,
) -> None:
    stack = Stack(aws).create(max_concurrent_runs=1)
    release = threading.Event()
    first_path = workflow_input("m-aborted")["manifest_path"]

    def converter(job_name: str, run_id: str, arguments: dict[str, str]) -> None:
        if arguments["--MANIFEST_PATH"] == first_path:
            release.wait(timeout=60)

    moto_fixes.set_glue_job_runner(converter)
    sfn = stack.client("stepfunctions")
    store = Store(stack.client("dynamodb"), stack.table)
    clock = Clock()
    starter = Starter(store, sfn, stack.state_machine_arn, clock)
    admission = Admission(store, sfn, starter, stack.state_machine_arn, 1, clock)

    _queued_manifest(stack, admission, "m-aborted")
    _queued_manifest(stack, admission, "m-next")
    assert admission.admit().started == 1  # one slot: the older manifest
    _wait(lambda: _status(stack, "m-aborted") == Status.PROCESSING, "never claimed")
    _wait(lambda: stack.job_runs(), "no job run")
    assert list(stack.slot_holders()) == ["m-aborted"]

    # An operator stops the execution while its run converts: no Release state runs.
    aborted_arn = execution_arn(stack.state_machine_arn, "m-aborted")
    sfn.stop_execution(executionArn=aborted_arn)
    _wait(
        lambda: sfn.describe_execution(executionArn=aborted_arn)["status"] == "ABORTED",
        "the execution was not aborted",
    )
    release.set()
    assert admission.admit().started == 0  # still held, and within the grace
    assert _status(stack, "m-next") == Status.QUEUED

    clock.now += timedelta(seconds=DEFAULT_GRACE_SECONDS + 1)
    admitted = admission.admit()

    assert (admitted.slots_recovered, admitted.started) == (1, 1)
    assert stack.wait(execution_arn(stack.state_machine_arn, "m-next"))["status"] == "SUCCEEDED"
    assert _status(stack, "m-next") == Status.COMPLETED
    assert stack.slot_holders() == {}  # given back by the execution itself
    # The aborted manifest stays processing for `stuck` and `redrive`; nothing alerted.
    assert _status(stack, "m-aborted") == Status.PROCESSING
    assert stack.alerts() == []
