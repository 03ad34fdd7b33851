"""Every path of the rendered definition, executed by moto's Step Functions interpreter."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import boto3
import pytest

from ndjson_parquet.cli.emulator import moto_fixes
from ndjson_parquet.common.keys import ManifestAttr, TableAttr, TableIndex, status_partition
from ndjson_parquet.common.settings import GlueArg
from ndjson_parquet.common.status import Status
from ndjson_parquet.workflow import ErrorName, StateName
from tests.workflow.harness import FAST, Stack, workflow_input


def _s(item: dict[str, Any], attribute: str) -> str:
    value: str = item[attribute]["S"]
    return value


def _failed_task_errors(history: list[dict[str, Any]]) -> list[str]:
    return [e["taskFailedEventDetails"]["error"] for e in history if e["type"] == "TaskFailed"]


def _entered_states(history: list[dict[str, Any]]) -> list[str]:
    return [
        e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e
    ]


class FlakyConverter:
    """Fails the first `failures` runs, then succeeds; records what it was given."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: list[tuple[str, str, dict[str, str]]] = []

    def __call__(self, job_name: str, run_id: str, arguments: dict[str, str]) -> None:
        self.calls.append((job_name, run_id, arguments))
        if len(self.calls) <= self.failures:
            raise RuntimeError(f"converter crashed on attempt {len(self.calls)}")


def test_success_marks_the_manifest_completed_with_the_job_run(stack: Stack) -> None:
    converter = FlakyConverter(failures=0)
    moto_fixes.set_glue_job_runner(converter)
    stack.put_manifest("m-ok", Status.MANIFESTED)

    execution = stack.run("m-ok")

    assert execution["status"] == "SUCCEEDED"
    (run,) = stack.job_runs()
    assert run["JobRunState"] == "SUCCEEDED"
    # The converter got the manifest from the input, over the job's default arguments.
    ((job_name, run_id, arguments),) = converter.calls
    assert job_name == stack.job
    assert run_id == run["Id"]
    assert arguments[f"--{GlueArg.MANIFEST_PATH}"] == workflow_input("m-ok")["manifest_path"]
    assert arguments[f"--{GlueArg.OUTPUT_URI}"] == "s3://output/data/"

    item = stack.manifest_item("m-ok")
    assert item is not None
    assert _s(item, ManifestAttr.STATUS) == Status.COMPLETED
    assert _s(item, ManifestAttr.GLUE_JOB_RUN_ID) == run["Id"]
    assert int(item[ManifestAttr.GLUE_EXECUTION_SECONDS]["N"]) == run["ExecutionTime"]
    assert item[ManifestAttr.ATTEMPTS]["N"] == "1"
    assert _s(item, ManifestAttr.UPDATED_AT) == _s(item, ManifestAttr.COMPLETED_AT)
    assert _s(item, TableAttr.GSI2_PK) == status_partition(Status.COMPLETED)
    assert _s(item, TableAttr.GSI2_SK) == f"{_s(item, ManifestAttr.UPDATED_AT)}#m-ok"
    assert stack.alerts() == []
    output = json.loads(execution["output"])
    assert output["glue"]["Id"] == run["Id"]


def test_the_status_index_lists_the_manifest_under_its_new_status(stack: Stack) -> None:
    stack.put_manifest("m-index", Status.MANIFESTED)
    assert stack.run("m-index")["status"] == "SUCCEEDED"

    ddb = stack.client("dynamodb")

    def listed(status: Status) -> list[str]:
        items = ddb.query(
            TableName=stack.table,
            IndexName=TableIndex.BY_STATUS,
            KeyConditionExpression="#pk = :pk",
            ExpressionAttributeNames={"#pk": TableAttr.GSI2_PK},
            ExpressionAttributeValues={":pk": {"S": status_partition(status)}},
        )["Items"]
        return [_s(i, ManifestAttr.MANIFEST_ID) for i in items]

    assert listed(Status.COMPLETED) == ["m-index"]
    assert listed(Status.PROCESSING) == []


def test_a_failed_run_is_retried_and_the_second_run_completes(stack: Stack) -> None:
    moto_fixes.set_glue_job_runner(FlakyConverter(failures=1))
    stack.put_manifest("m-flaky", Status.MANIFESTED)

    execution_arn = stack.start("m-flaky")
    execution = stack.wait(execution_arn)

    assert execution["status"] == "SUCCEEDED"
    first, second = stack.job_runs()
    assert first["JobRunState"] == "FAILED"
    assert first["ErrorMessage"] == "converter crashed on attempt 1"
    assert second["JobRunState"] == "SUCCEEDED"
    item = stack.manifest_item("m-flaky")
    assert item is not None
    assert _s(item, ManifestAttr.STATUS) == Status.COMPLETED
    assert _s(item, ManifestAttr.GLUE_JOB_RUN_ID) == second["Id"]
    assert item[ManifestAttr.ATTEMPTS]["N"] == "1"  # one execution, however many job runs
    assert ManifestAttr.ERROR not in item
    history = stack.history(execution_arn)
    assert _failed_task_errors(history) == [ErrorName.TASK_FAILED]
    assert StateName.UPDATE_STATUS_FAILED not in _entered_states(history)
    assert stack.alerts() == []


def test_exhausted_retries_mark_the_manifest_failed_and_alert_once(stack: Stack) -> None:
    moto_fixes.set_glue_job_runner(FlakyConverter(failures=99))
    stack.put_manifest("m-broken", Status.MANIFESTED)

    execution_arn = stack.start("m-broken")
    execution = stack.wait(execution_arn)

    assert execution["status"] == "FAILED"
    assert execution["error"] == ErrorName.CONVERSION_FAILED
    assert "converter crashed on attempt 3" in execution["cause"]
    runs = stack.job_runs()
    assert [r["JobRunState"] for r in runs] == ["FAILED"] * (1 + FAST.max_attempts)

    item = stack.manifest_item("m-broken")
    assert item is not None
    assert _s(item, ManifestAttr.STATUS) == Status.FAILED
    assert _s(item, ManifestAttr.ERROR) == ErrorName.TASK_FAILED
    # Step Functions' cause for a failed .sync job run is the job run as JSON.
    cause = json.loads(_s(item, ManifestAttr.CAUSE))
    assert cause["Id"] == runs[-1]["Id"]
    assert cause["ErrorMessage"] == "converter crashed on attempt 3"
    assert _s(item, ManifestAttr.FAILED_AT) == _s(item, ManifestAttr.UPDATED_AT)
    assert _s(item, TableAttr.GSI2_PK) == status_partition(Status.FAILED)

    (alert,) = stack.alerts()
    assert alert["TopicArn"] == stack.topic_arn
    assert len(alert["Subject"]) <= 100
    assert "2024-03-05" in alert["Subject"]
    message = alert["Message"]
    expected = workflow_input("m-broken")
    for text in (
        expected["manifest_id"],
        expected["manifest_path"],
        expected["date_prefix"],
        f"Files: {expected['file_count']}",
        ErrorName.TASK_FAILED,
        "converter crashed on attempt 3",
        execution_arn,
    ):
        assert text in message
    entered = _entered_states(stack.history(execution_arn))
    assert entered[-4:] == [
        StateName.UPDATE_STATUS_FAILED,
        StateName.SEND_ALERT,
        StateName.RELEASE_SLOT_AFTER_FAILURE,
        StateName.CONVERSION_FAILED,
    ]


def test_a_completed_manifest_is_not_converted_again(stack: Stack) -> None:
    converter = FlakyConverter(failures=0)
    moto_fixes.set_glue_job_runner(converter)
    before = stack.put_manifest("m-done", Status.COMPLETED, **{ManifestAttr.ATTEMPTS: {"N": "1"}})

    execution_arn = stack.start("m-done")
    execution = stack.wait(execution_arn)

    assert execution["status"] == "FAILED"
    assert execution["error"] == ErrorName.MANIFEST_NOT_CLAIMABLE
    assert "Manifest m-done is missing or its status is not one of" in execution["cause"]
    assert stack.manifest_item("m-done") == before
    assert converter.calls == []
    assert stack.job_runs() == []
    assert stack.alerts() == []
    assert _entered_states(stack.history(execution_arn)) == [
        StateName.UPDATE_STATUS_PROCESSING,
        StateName.RELEASE_SLOT_NOT_CLAIMABLE,
        StateName.MANIFEST_NOT_CLAIMABLE,
    ]
    # The refusal is an answer, not a transient error: the update was tried exactly once.
    assert _failed_task_errors(stack.history(execution_arn)) == [ErrorName.CONDITIONAL_CHECK_FAILED]


def test_a_missing_manifest_is_refused_without_creating_it(stack: Stack) -> None:
    execution = stack.run("m-unknown")

    assert execution["status"] == "FAILED"
    assert execution["error"] == ErrorName.MANIFEST_NOT_CLAIMABLE
    assert stack.manifest_item("m-unknown") is None
    assert stack.job_runs() == []


def test_a_failed_manifest_can_be_redriven_to_completion(stack: Stack) -> None:
    moto_fixes.set_glue_job_runner(FlakyConverter(failures=0))
    stack.put_manifest(
        "m-redrive",
        Status.FAILED,
        **{
            ManifestAttr.ATTEMPTS: {"N": "1"},
            ManifestAttr.ERROR: {"S": "States.TaskFailed"},
            ManifestAttr.CAUSE: {"S": "an earlier failure"},
        },
    )

    assert stack.run("m-redrive")["status"] == "SUCCEEDED"

    item = stack.manifest_item("m-redrive")
    assert item is not None
    assert _s(item, ManifestAttr.STATUS) == Status.COMPLETED
    assert item[ManifestAttr.ATTEMPTS]["N"] == "2"
    assert ManifestAttr.ERROR not in item
    assert ManifestAttr.CAUSE not in item


def test_a_busy_job_is_waited_for_longer_than_failures_are_retried(
    aws: boto3.session.Session,
) -> None:
    """With MaxConcurrentRuns reached, the second execution keeps retrying on its own policy."""
    stack = Stack(aws).create(max_concurrent_runs=1)
    release = threading.Event()
    first_manifest = workflow_input("m-first")["manifest_path"]

    def converter(job_name: str, run_id: str, arguments: dict[str, str]) -> None:
        if arguments[f"--{GlueArg.MANIFEST_PATH}"] == first_manifest:
            release.wait(timeout=60)

    moto_fixes.set_glue_job_runner(converter)
    stack.put_manifest("m-first", Status.MANIFESTED)
    stack.put_manifest("m-second", Status.MANIFESTED)
    first = stack.start("m-first")
    while not stack.job_runs():
        time.sleep(0.05)
    second = stack.start("m-second")
    # More refusals than the failure retrier would allow before giving up.
    refused_enough = FAST.max_attempts + 1
    deadline = time.monotonic() + 60
    while (
        _failed_task_errors(stack.history(second)).count(ErrorName.GLUE_CONCURRENT_RUNS_EXCEEDED)
        < refused_enough
    ):
        assert time.monotonic() < deadline, "the second execution was never refused"
        time.sleep(0.05)
    release.set()

    assert stack.wait(first)["status"] == "SUCCEEDED"
    assert stack.wait(second)["status"] == "SUCCEEDED"
    for manifest_id in ("m-first", "m-second"):
        item = stack.manifest_item(manifest_id)
        assert item is not None
        assert _s(item, ManifestAttr.STATUS) == Status.COMPLETED
    assert [r["JobRunState"] for r in stack.job_runs()] == ["SUCCEEDED", "SUCCEEDED"]


@pytest.mark.parametrize("end_state", ["STOPPED", "TIMEOUT", "ERROR"])
def test_a_run_that_ends_without_succeeding_marks_the_manifest_failed_and_alerts_once(
    stack: Stack, end_state: str
) -> None:
    """STOPPED comes back from .sync as a result, TIMEOUT and ERROR as task failures: all fail."""
    converter = FlakyConverter(failures=0)

    def runner(job_name: str, run_id: str, arguments: dict[str, str]) -> None:
        converter(job_name, run_id, arguments)
        raise moto_fixes.JobRunEnded(end_state, f"the run ended {end_state}")

    moto_fixes.set_glue_job_runner(runner)
    manifest_id = f"m-{end_state.lower()}"
    stack.put_manifest(manifest_id, Status.MANIFESTED)
    stack.hold_slot(manifest_id)

    execution_arn = stack.start(manifest_id)
    execution = stack.wait(execution_arn)

    assert execution["status"] == "FAILED"
    assert execution["error"] == ErrorName.CONVERSION_FAILED
    runs = stack.job_runs()
    assert {r["JobRunState"] for r in runs} == {end_state}
    item = stack.manifest_item(manifest_id)
    assert item is not None
    assert _s(item, ManifestAttr.STATUS) == Status.FAILED
    assert ManifestAttr.COMPLETED_AT not in item
    assert runs[-1]["Id"] in _s(item, ManifestAttr.CAUSE)
    (alert,) = stack.alerts()
    assert manifest_id in alert["Message"]
    assert stack.slot_holders() == {}
    if end_state == "STOPPED":
        # A stop is deliberate: not retried, and named as such.
        assert len(runs) == 1
        assert _s(item, ManifestAttr.ERROR) == ErrorName.JOB_RUN_NOT_SUCCEEDED
        assert "ended STOPPED" in _s(item, ManifestAttr.CAUSE)
    else:
        assert len(runs) == 1 + FAST.max_attempts
        assert _s(item, ManifestAttr.ERROR) == ErrorName.TASK_FAILED


def test_every_way_out_gives_the_slot_back(stack: Stack) -> None:
    moto_fixes.set_glue_job_runner(FlakyConverter(failures=0))
    stack.put_manifest("m-slot-ok", Status.QUEUED)
    stack.put_manifest("m-slot-done", Status.COMPLETED)
    for name in ("m-slot-ok", "m-slot-done", "m-slot-other"):
        stack.hold_slot(name)

    assert stack.run("m-slot-ok")["status"] == "SUCCEEDED"
    assert stack.run("m-slot-done")["error"] == ErrorName.MANIFEST_NOT_CLAIMABLE

    # Only their own slots were given back.
    assert list(stack.slot_holders()) == ["m-slot-other"]
    item = stack.manifest_item("m-slot-ok")
    assert item is not None
    assert _s(item, ManifestAttr.STATUS) == Status.COMPLETED


def test_a_busy_job_past_every_retry_waits_and_never_fails(stack: Stack) -> None:
    """Glue refuses more often than the concurrency retrier allows: the execution waits and
    starts again; the manifest is never failed and no alert is sent."""
    glue = stack.client("glue")
    blocker_done = threading.Event()

    def runner(job_name: str, run_id: str, arguments: dict[str, str]) -> None:
        if arguments[f"--{GlueArg.MANIFEST_PATH}"] == "s3://elsewhere/blocker.json":
            blocker_done.wait(timeout=60)

    moto_fixes.set_glue_job_runner(runner)
    # A run started outside the workflow holds the job's only concurrent run.
    glue.start_job_run(
        JobName=stack.job, Arguments={"--MANIFEST_PATH": "s3://elsewhere/blocker.json"}
    )
    stack.put_manifest("m-patient", Status.QUEUED)
    execution_arn = stack.start("m-patient")
    deadline = time.monotonic() + 60
    while StateName.WAIT_FOR_GLUE_CAPACITY not in _entered_states(stack.history(execution_arn)):
        assert time.monotonic() < deadline, "the execution never waited for capacity"
        time.sleep(0.1)
    blocker_done.set()

    assert stack.wait(execution_arn)["status"] == "SUCCEEDED"
    item = stack.manifest_item("m-patient")
    assert item is not None
    assert _s(item, ManifestAttr.STATUS) == Status.COMPLETED
    assert stack.alerts() == []
