"""Every path of the rendered definition, executed by moto's Step Functions interpreter."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import boto3

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
    assert entered[-3:] == [
        StateName.UPDATE_STATUS_FAILED,
        StateName.SEND_ALERT,
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
