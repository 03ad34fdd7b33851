"""The definition's structure: states, retries, conditions, placeholders, IAM actions."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ndjson_parquet.common.keys import ManifestKey, TableAttr
from ndjson_parquet.common.settings import GlueArg
from ndjson_parquet.common.status import Status, sources_of
from ndjson_parquet.workflow import (
    TERRAFORM_VARIABLES,
    ErrorName,
    Resource,
    RetryPolicy,
    StateName,
    WorkflowSettings,
    build_definition,
    render,
    required_iam_actions,
)
from ndjson_parquet.workflow.definition import ALERT_SUBJECT_TEMPLATE
from ndjson_parquet.workflow.iam import UnknownIntegration
from tests.conftest import require_tool

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "modules" / "step_functions" / "definition.asl.json.tftpl"
CONCRETE = WorkflowSettings(
    tracking_table="ndjson-parquet-tracking-dev",
    glue_job_name="ndjson-parquet-converter-dev",
    alerts_topic_arn="arn:aws:sns:eu-west-1:123456789012:ndjson-parquet-alerts-dev",
    converter_function_name="ndjson-parquet-converter-dev",
    lambda_max_bytes=2_000_000,
    lambda_max_files=300,
)
STATUS_OF_STATE = {
    StateName.UPDATE_STATUS_PROCESSING: Status.PROCESSING,
    StateName.UPDATE_STATUS_COMPLETED: Status.COMPLETED,
    StateName.UPDATE_STATUS_FAILED: Status.FAILED,
}


@pytest.fixture
def definition() -> dict[str, Any]:
    return build_definition(CONCRETE)


def _targets(state: dict[str, Any]) -> list[str]:
    targets = [c["Next"] for c in state.get("Catch", [])]
    targets += [c["Next"] for c in state.get("Choices", [])]
    for field in ("Next", "Default"):
        if field in state:
            targets.append(state[field])
    return targets


def test_the_committed_terraform_template_is_the_current_render() -> None:
    assert TEMPLATE.read_text(encoding="utf-8") == render(), (
        "regenerate: python -m ndjson_parquet.workflow render --terraform "
        "> infra/modules/step_functions/definition.asl.json.tftpl"
    )


def test_the_template_has_exactly_the_terraform_placeholders() -> None:
    text = render()
    assert sorted(set(re.findall(r"\$\{([^}]*)\}", text))) == sorted(TERRAFORM_VARIABLES)
    # templatefile would interpret any other interpolation or directive.
    assert text.count("${") == len(re.findall(r"\$\{[a-z_]+\}", text))
    assert "%{" not in text


def test_the_template_filled_in_is_the_concrete_definition() -> None:
    values = {
        "tracking_table_name": CONCRETE.tracking_table,
        "glue_job_name": CONCRETE.glue_job_name,
        "alerts_topic_arn": CONCRETE.alerts_topic_arn,
        "converter_function_name": str(CONCRETE.converter_function_name),
        "lambda_max_bytes": str(CONCRETE.lambda_max_bytes),
        "lambda_max_files": str(CONCRETE.lambda_max_files),
    }
    filled = re.sub(r"\$\{([a-z_]+)\}", lambda m: values[m.group(1)], render())
    assert json.loads(filled) == build_definition(CONCRETE)


def test_every_transition_names_a_state_and_every_state_is_reachable(
    definition: dict[str, Any],
) -> None:
    states = definition["States"]
    reached = {definition["StartAt"]}
    frontier = [definition["StartAt"]]
    while frontier:
        for target in _targets(states[frontier.pop()]):
            assert target in states
            if target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == set(states)


def test_the_happy_path_and_the_failure_path(definition: dict[str, Any]) -> None:
    states = definition["States"]
    path = [definition["StartAt"]]
    while True:
        state = states[path[-1]]
        if path[-1] == StateName.ROUTE_BY_MANIFEST_SIZE:  # a large manifest: Glue
            assert state["Default"] == StateName.START_GLUE_JOB
            path.append(state["Default"])
        elif state["Type"] == "Choice":  # the SUCCEEDED branch
            (choice,) = state["Choices"]
            assert choice == {
                "Variable": "$.glue.JobRunState",
                "StringEquals": "SUCCEEDED",
                "Next": StateName.UPDATE_STATUS_COMPLETED,
            }
            path.append(choice["Next"])
        elif "Next" in state:
            path.append(state["Next"])
        else:
            break
    assert path == [
        StateName.UPDATE_STATUS_PROCESSING,
        StateName.CHOOSE_COMPUTE,
        StateName.ROUTE_BY_MANIFEST_SIZE,
        StateName.START_GLUE_JOB,
        StateName.CHECK_JOB_RUN_STATE,
        StateName.UPDATE_STATUS_COMPLETED,
        StateName.RELEASE_SLOT,
        StateName.SUCCEEDED,
    ]
    assert states[StateName.SUCCEEDED]["Type"] == "Succeed"
    busy_catch, glue_catch = states[StateName.START_GLUE_JOB]["Catch"]
    assert busy_catch["ErrorEquals"] == [ErrorName.GLUE_CONCURRENT_RUNS_EXCEEDED]
    assert busy_catch["Next"] == StateName.WAIT_FOR_GLUE_CAPACITY
    assert states[StateName.WAIT_FOR_GLUE_CAPACITY]["Next"] == StateName.START_GLUE_JOB
    assert glue_catch["ErrorEquals"] == [ErrorName.ALL]
    assert glue_catch["Next"] == StateName.UPDATE_STATUS_FAILED
    # Any JobRunState but SUCCEEDED (STOPPED comes back as a result) takes the failure path.
    assert states[StateName.CHECK_JOB_RUN_STATE]["Default"] == StateName.JOB_RUN_NOT_SUCCEEDED
    assert states[StateName.JOB_RUN_NOT_SUCCEEDED]["Next"] == StateName.UPDATE_STATUS_FAILED
    assert states[StateName.UPDATE_STATUS_FAILED]["Next"] == StateName.SEND_ALERT
    assert states[StateName.SEND_ALERT]["Next"] == StateName.RELEASE_SLOT_AFTER_FAILURE
    assert states[StateName.RELEASE_SLOT_AFTER_FAILURE]["Next"] == StateName.CONVERSION_FAILED
    assert states[StateName.CONVERSION_FAILED]["Type"] == "Fail"


def test_every_way_out_gives_the_slot_back(definition: dict[str, Any]) -> None:
    """Each end state (Succeed or Fail) is reached only through a slot release."""
    states = definition["States"]
    releases = {
        name
        for name, state in states.items()
        if state.get("Parameters", {}).get("UpdateExpression") == "REMOVE #holders.#execution"
    }
    assert releases == {
        StateName.RELEASE_SLOT,
        StateName.RELEASE_SLOT_AFTER_FAILURE,
        StateName.RELEASE_SLOT_NOT_CLAIMABLE,
    }
    for name in releases:
        release = states[name]
        assert release["Parameters"]["ExpressionAttributeNames"]["#execution.$"] == (
            "$$.Execution.Name"
        )
        # Whatever happens to the release, the execution goes on to the same end.
        assert {c["Next"] for c in release["Catch"]} == {release["Next"]}
        assert states[release["Next"]]["Type"] in {"Succeed", "Fail"}
    for name, state in states.items():
        if state["Type"] in {"Succeed", "Fail"}:
            sources = {n for n, s in states.items() if name in _targets(s)}
            assert sources, name
            assert sources <= releases, name


def test_the_glue_task_runs_the_job_on_the_manifest_synchronously(
    definition: dict[str, Any],
) -> None:
    task = definition["States"][StateName.START_GLUE_JOB]
    assert task["Resource"] == "arn:aws:states:::glue:startJobRun.sync"
    assert task["Parameters"]["JobName"] == CONCRETE.glue_job_name
    assert task["Parameters"]["Arguments"] == {f"--{GlueArg.MANIFEST_PATH}.$": "$.manifest_path"}


def test_glue_retries_busy_jobs_before_and_apart_from_failures(
    definition: dict[str, Any],
) -> None:
    busy, failed = definition["States"][StateName.START_GLUE_JOB]["Retry"]
    # The first matching retrier applies and States.TaskFailed matches every Glue error,
    # so the concurrency retrier must come first.
    assert busy["ErrorEquals"] == [ErrorName.GLUE_CONCURRENT_RUNS_EXCEEDED]
    assert failed["ErrorEquals"] == [ErrorName.TASK_FAILED]
    assert failed["MaxAttempts"] == 2
    assert failed["BackoffRate"] > 1.0
    assert failed["JitterStrategy"] == "FULL"
    assert busy["JitterStrategy"] == "FULL"
    assert busy["IntervalSeconds"] > failed["IntervalSeconds"]
    assert busy["MaxAttempts"] > failed["MaxAttempts"]


def test_retry_settings_reach_the_definition() -> None:
    policy = RetryPolicy(interval_seconds=7, max_attempts=5, backoff_rate=3.0, max_delay_seconds=9)
    settings = WorkflowSettings("t", "j", "arn:aws:sns:us-east-1:1:t", glue_failure_retry=policy)
    failed = build_definition(settings)["States"][StateName.START_GLUE_JOB]["Retry"][1]
    assert failed == {
        "ErrorEquals": [ErrorName.TASK_FAILED],
        "IntervalSeconds": 7,
        "MaxAttempts": 5,
        "BackoffRate": 3.0,
        "MaxDelaySeconds": 9,
        "JitterStrategy": "FULL",
    }


@pytest.mark.parametrize(
    "kwargs",
    [
        {"interval_seconds": 0, "max_attempts": 2},
        {"interval_seconds": 1, "max_attempts": -1},
        {"interval_seconds": 1, "max_attempts": 2, "backoff_rate": 0.5},
        {"interval_seconds": 1, "max_attempts": 2, "max_delay_seconds": 0},
    ],
)
def test_retry_policies_outside_the_language_limits_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must"):
        RetryPolicy(**kwargs)


@pytest.mark.parametrize("state_name", sorted(STATUS_OF_STATE))
def test_status_updates_follow_the_shared_contract(
    definition: dict[str, Any], state_name: str
) -> None:
    task = definition["States"][state_name]
    params = task["Parameters"]
    new_status = STATUS_OF_STATE[state_name]
    assert task["Resource"] == Resource.DYNAMODB_UPDATE_ITEM
    assert params["TableName"] == CONCRETE.tracking_table
    key = ManifestKey("{}")
    assert params["Key"][TableAttr.PK] == {"S.$": f"States.Format('{key.pk}', $.manifest_id)"}
    assert params["Key"][TableAttr.SK] == {"S": key.sk}
    values = params["ExpressionAttributeValues"]
    allowed = {v["S"] for k, v in values.items() if k.startswith(":from_")}
    assert allowed == set(sources_of(new_status))
    assert values[":status"] == {"S": str(new_status)}
    assert params["ConditionExpression"].startswith("attribute_exists(#pk) AND #status IN (")
    assert task["ResultPath"] is None  # the execution's input flows on unchanged


def test_a_refused_claim_is_never_retried_and_ends_the_execution(
    definition: dict[str, Any],
) -> None:
    task = definition["States"][StateName.UPDATE_STATUS_PROCESSING]
    assert task["Retry"][0] == {
        "ErrorEquals": [ErrorName.CONDITIONAL_CHECK_FAILED],
        "MaxAttempts": 0,
    }
    (catch,) = task["Catch"]
    assert catch["ErrorEquals"] == [ErrorName.CONDITIONAL_CHECK_FAILED]
    release = definition["States"][catch["Next"]]
    refused = definition["States"][release["Next"]]
    assert refused["Type"] == "Fail"
    assert refused["Error"] == ErrorName.MANIFEST_NOT_CLAIMABLE


def test_the_alert_subject_fits_sns(definition: dict[str, Any]) -> None:
    subject = definition["States"][StateName.SEND_ALERT]["Parameters"]["Subject.$"]
    assert "$.date_prefix" in subject
    assert len(ALERT_SUBJECT_TEMPLATE.replace("{}", "2024-03-05")) <= 100


def test_the_state_machine_needs_the_actions_of_its_tasks(definition: dict[str, Any]) -> None:
    assert required_iam_actions(definition) == [
        "dynamodb:UpdateItem",
        "glue:BatchStopJobRun",
        "glue:GetJobRun",
        "glue:GetJobRuns",
        "glue:StartJobRun",
        "lambda:InvokeFunction",
        "sns:Publish",
    ]
    assert required_iam_actions() == required_iam_actions(definition)


def test_iam_actions_follow_the_definition(definition: dict[str, Any]) -> None:
    alert = definition["States"][StateName.SEND_ALERT]
    definition["States"][StateName.SEND_ALERT] = {"Type": "Pass", "Next": alert["Next"]}
    assert "sns:Publish" not in required_iam_actions(definition)
    definition["States"][StateName.SEND_ALERT] = {
        **alert,
        "Resource": "arn:aws:states:::ecs:runTask.sync",
    }
    with pytest.raises(UnknownIntegration, match=r"ecs:runTask\.sync"):
        required_iam_actions(definition)


def _asl_validator(path: Path) -> subprocess.CompletedProcess[str]:
    validator = require_tool("asl-validator")
    return subprocess.run(
        [validator, "--json-path", str(path)], capture_output=True, text=True, check=False
    )


def test_asl_validator_accepts_the_template_and_a_concrete_render(tmp_path: Path) -> None:
    concrete = tmp_path / "concrete.asl.json"
    concrete.write_text(render(CONCRETE), encoding="utf-8")
    for path in (TEMPLATE, concrete):
        result = _asl_validator(path)
        assert result.returncode == 0, result.stdout + result.stderr


def test_asl_validator_would_catch_a_broken_transition(tmp_path: Path) -> None:
    definition = build_definition(CONCRETE)
    definition["States"][StateName.SEND_ALERT]["Next"] = "NoSuchState"
    broken = tmp_path / "broken.asl.json"
    broken.write_text(json.dumps(definition), encoding="utf-8")
    assert _asl_validator(broken).returncode != 0
