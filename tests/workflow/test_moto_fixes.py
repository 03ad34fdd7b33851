"""The moto workarounds: the bug they hide still exists, and the Glue runner hook behaves as AWS."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core.config import default_user_config
from moto.glue import models as glue_models
from moto.server import ThreadedMotoServer
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_glue,
)

from ndjson_parquet.cli.emulator import lambda_in_process, moto_fixes
from ndjson_parquet.common.status import Status
from tests.workflow.harness import FUNCTION, ROLE_ARN, Stack

JOB = "converter"
GLUE_ONLY = json.dumps(
    {
        "StartAt": "Run",
        "States": {
            "Run": {
                "Type": "Task",
                "Resource": "arn:aws:states:::glue:startJobRun.sync",
                "Parameters": {"JobName": JOB},
                # moto keeps the job run's timestamps as datetime objects, which its
                # DescribeExecution cannot serialise: select JSON-safe fields (as the workflow does).
                "ResultSelector": {
                    "Id.$": "$.Id",
                    "JobName.$": "$.JobName",
                    "JobRunState.$": "$.JobRunState",
                    "ExecutionTime.$": "$.ExecutionTime",
                },
                "End": True,
            }
        },
    }
)


def _create_job(glue: Any, max_concurrent_runs: int = 1) -> None:
    glue.create_job(
        Name=JOB,
        Role=ROLE_ARN,
        Command={"Name": "glueetl", "ScriptLocation": "s3://artifacts/job.py"},
        ExecutionProperty={"MaxConcurrentRuns": max_concurrent_runs},
        DefaultArguments={"--OUTPUT_URI": "s3://out/", "--COMPRESSION": "zstd"},
    )


def _run_glue_only(session: boto3.session.Session) -> dict[str, Any]:
    _create_job(session.client("glue"))
    sfn = session.client("stepfunctions")
    arn = sfn.create_state_machine(name="glue-only", definition=GLUE_ONLY, roleArn=ROLE_ARN)[
        "stateMachineArn"
    ]
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    deadline = time.monotonic() + 60
    while (description := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    result: dict[str, Any] = description
    return result


def _wait_for_state(glue: Any, run_id: str, states: set[str]) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        run: dict[str, Any] = glue.get_job_run(JobName=JOB, RunId=run_id)["JobRun"]
        if run["JobRunState"] in states:
            return run
        assert time.monotonic() < deadline, f"job run stuck in {run['JobRunState']}"
        time.sleep(0.02)


@pytest.fixture
def unpatched() -> Iterator[None]:
    moto_fixes.revert()
    try:
        yield
    finally:
        moto_fixes.apply()


def test_moto_still_fails_every_glue_sync_task(unpatched: None) -> None:
    """When this fails, moto has fixed the bug: remove the Glue `.sync` fix from moto_fixes."""
    assert moto_fixes.glue_sync_bug_present()
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        execution = _run_glue_only(boto3.session.Session(region_name="us-east-1"))
    assert execution["status"] == "FAILED"
    assert "interrupt_all" in execution.get("cause", "")


def test_with_the_fix_a_glue_sync_task_returns_the_finished_job_run(
    aws: boto3.session.Session,
) -> None:
    execution = _run_glue_only(aws)
    assert execution["status"] == "SUCCEEDED"
    output = json.loads(execution["output"])
    assert output["JobRunState"] == "SUCCEEDED"
    assert output["JobName"] == JOB
    assert isinstance(output["ExecutionTime"], int)
    assert output["Id"].startswith("jr_")


def test_apply_and_revert_are_idempotent(unpatched: None) -> None:
    glue_cls = state_task_service_glue.StateTaskServiceGlue
    original_start = glue_models.FakeJob.start_job_run
    moto_fixes.apply()
    patched_eval = glue_cls.__dict__["_eval_integration_pattern"]
    patched_start = glue_models.FakeJob.start_job_run
    moto_fixes.apply()
    assert glue_cls.__dict__["_eval_integration_pattern"] is patched_eval
    assert glue_models.FakeJob.start_job_run is patched_start
    moto_fixes.revert()
    moto_fixes.revert()
    assert "_eval_integration_pattern" not in glue_cls.__dict__
    assert glue_models.FakeJob.start_job_run is original_start


def test_an_unexpected_moto_shape_is_refused(
    unpatched: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(state_task_service_glue, "_SUPPORTED_INTEGRATION_PATTERNS", set())
        with pytest.raises(moto_fixes.MotoShapeError, match="integration patterns"):
            moto_fixes.apply()

    def start_job_run(self: Any, name: str) -> str:
        raise AssertionError("not called")

    with monkeypatch.context() as patch:
        patch.setattr(glue_models.FakeJob, "start_job_run", start_job_run)
        with pytest.raises(moto_fixes.MotoShapeError, match="start_job_run"):
            moto_fixes.apply()


def test_a_run_is_running_while_the_runner_runs_then_succeeds(
    aws: boto3.session.Session,
) -> None:
    glue = aws.client("glue")
    _create_job(glue)
    release = threading.Event()
    seen: list[tuple[str, str, dict[str, str]]] = []

    def runner(job_name: str, run_id: str, arguments: dict[str, str]) -> None:
        seen.append((job_name, run_id, arguments))
        release.wait(timeout=30)

    moto_fixes.set_glue_job_runner(runner)
    run_id = glue.start_job_run(JobName=JOB, Arguments={"--MANIFEST_PATH": "s3://m/x.json"})[
        "JobRunId"
    ]
    # moto alone would report SUCCEEDED after two polls; the runner holds the run.
    for _ in range(5):
        run = glue.get_job_run(JobName=JOB, RunId=run_id)["JobRun"]
        assert run["JobRunState"] == "RUNNING"
        assert "CompletedOn" not in run
    with pytest.raises(ClientError) as refused:
        glue.start_job_run(JobName=JOB)
    assert refused.value.response["Error"]["Code"] == "ConcurrentRunsExceededException"

    release.set()
    run = _wait_for_state(glue, run_id, {"SUCCEEDED", "FAILED"})
    assert run["JobRunState"] == "SUCCEEDED"
    assert "ErrorMessage" not in run
    assert "CompletedOn" in run
    assert seen == [
        (
            JOB,
            run_id,
            {
                "--OUTPUT_URI": "s3://out/",
                "--COMPRESSION": "zstd",
                "--MANIFEST_PATH": "s3://m/x.json",
            },
        )
    ]


def test_a_raising_runner_fails_the_run_with_its_message(aws: boto3.session.Session) -> None:
    glue = aws.client("glue")
    _create_job(glue)

    def runner(job_name: str, run_id: str, arguments: dict[str, str]) -> None:
        raise ValueError("3 lines could not be parsed")

    moto_fixes.set_glue_job_runner(runner)
    run_id = glue.start_job_run(JobName=JOB)["JobRunId"]
    run = _wait_for_state(glue, run_id, {"SUCCEEDED", "FAILED"})
    assert run["JobRunState"] == "FAILED"
    assert run["ErrorMessage"] == "3 lines could not be parsed"


@pytest.mark.parametrize("state", ["STOPPED", "TIMEOUT", "ERROR"])
def test_a_runner_can_end_its_run_in_another_terminal_state(
    aws: boto3.session.Session, state: str
) -> None:
    glue = aws.client("glue")
    _create_job(glue)

    def runner(job_name: str, run_id: str, arguments: dict[str, str]) -> None:
        raise moto_fixes.JobRunEnded(state, f"ended {state} by the test")

    moto_fixes.set_glue_job_runner(runner)
    run_id = glue.start_job_run(JobName=JOB)["JobRunId"]
    run = _wait_for_state(glue, run_id, {state})
    assert run["ErrorMessage"] == f"ended {state} by the test"
    with pytest.raises(ValueError, match="cannot end"):
        moto_fixes.JobRunEnded("RUNNING")


def test_runs_of_a_runner_count_toward_max_concurrent_runs(aws: boto3.session.Session) -> None:
    """As on AWS, StartJobRun is refused while MaxConcurrentRuns runs are in progress."""
    glue = aws.client("glue")
    _create_job(glue, max_concurrent_runs=2)
    release = threading.Event()
    moto_fixes.set_glue_job_runner(lambda job, run_id, args: release.wait(timeout=30))
    first, second = (glue.start_job_run(JobName=JOB)["JobRunId"] for _ in "ab")
    with pytest.raises(ClientError) as refused:
        glue.start_job_run(JobName=JOB)
    assert refused.value.response["Error"]["Code"] == "ConcurrentRunsExceededException"
    release.set()
    for run_id in (first, second):
        _wait_for_state(glue, run_id, {"SUCCEEDED"})
    glue.start_job_run(JobName=JOB)  # a slot is free again


def test_without_a_runner_runs_behave_as_moto_does(aws: boto3.session.Session) -> None:
    glue = aws.client("glue")
    _create_job(glue)
    calls: list[str] = []
    moto_fixes.set_glue_job_runner(lambda job, run_id, args: calls.append(run_id))
    moto_fixes.set_glue_job_runner(None)
    run_id = glue.start_job_run(JobName=JOB)["JobRunId"]
    states = [glue.get_job_run(JobName=JOB, RunId=run_id)["JobRun"]["JobRunState"] for _ in "abc"]
    assert states[-1] == "SUCCEEDED"
    assert calls == []


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _post(url: str, body: dict[str, Any] | None = None) -> None:
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(urllib.request.Request(url, data=data, method="POST")) as reply:
        assert reply.status in (200, 201)


@pytest.fixture
def moto_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A moto server in this process; the interpreter's clients find it through MOTO_PORT."""
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    monkeypatch.setenv("MOTO_PORT", str(port))
    endpoint = f"http://localhost:{port}"
    # The config API changes moto's process-wide settings: put them back afterwards.
    previous = dict(default_user_config["stepfunctions"])
    _post(f"{endpoint}/moto-api/config", {"stepfunctions": {"execute_state_machine": True}})
    moto_fixes.apply()
    try:
        yield endpoint
    finally:
        moto_fixes.set_glue_job_runner(None)
        _post(f"{endpoint}/moto-api/config", {"stepfunctions": previous})
        _post(f"{endpoint}/moto-api/reset")
        server.stop()


def test_the_workflow_runs_on_a_moto_server_in_this_process(moto_server: str) -> None:
    attempts: list[str] = []

    def runner(job_name: str, run_id: str, arguments: dict[str, str]) -> None:
        attempts.append(run_id)
        if len(attempts) == 1:
            raise RuntimeError("first attempt fails")

    moto_fixes.set_glue_job_runner(runner)
    stack = Stack(boto3.session.Session(region_name="us-east-1"), endpoint_url=moto_server)
    stack.create()
    stack.put_manifest("m-server", Status.MANIFESTED)

    execution = stack.run("m-server")

    assert execution["status"] == "SUCCEEDED", execution
    assert len(attempts) == 2
    item = stack.manifest_item("m-server")
    assert item is not None
    assert item["status"]["S"] == Status.COMPLETED
    assert item["glue_job_run_id"]["S"] == attempts[1]


def test_moto_still_runs_lambda_code_only_in_docker(unpatched: None) -> None:
    # Flips when moto can call a handler another way: then review the Lambda runner hook.
    assert lambda_in_process.lambda_runs_in_docker_only()


def test_a_lambda_runner_answers_invokes_and_reports_its_error_type(
    aws: boto3.session.Session,
) -> None:
    stack = Stack(aws).create(lambda_converter=True)
    client = stack.client("lambda")
    seen: list[dict[str, Any]] = []

    def runner(name: str, event: dict[str, Any]) -> dict[str, Any]:
        seen.append(event)
        if event.get("slow"):
            raise moto_fixes.LambdaFunctionFailed("Sandbox.Timedout", "Task timed out")
        return {"name": name}

    moto_fixes.set_lambda_function_runner(runner)
    ok = client.invoke(FunctionName=FUNCTION, Payload=b'{"a": 1}')
    assert json.loads(ok["Payload"].read()) == {"name": FUNCTION}
    assert "FunctionError" not in ok
    slow = client.invoke(FunctionName=FUNCTION, Payload=b'{"slow": true}')
    assert slow["FunctionError"] == "Unhandled"
    assert json.loads(slow["Payload"].read())["errorType"] == "Sandbox.Timedout"
    assert seen == [{"a": 1}, {"slow": True}]
