"""The IAM actions the state machine's role needs, derived from the definition's Task states."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

from ndjson_parquet.workflow.definition import build_definition
from ndjson_parquet.workflow.settings import WorkflowSettings

_INTEGRATION_PREFIX: Final = "arn:aws:states:::"

# What Step Functions calls on the role's behalf for each optimised integration. `.sync` polls
# the job run (GetJobRun, GetJobRuns) and stops it when the execution is stopped (BatchStopJobRun).
_ACTIONS: Final[Mapping[str, tuple[str, ...]]] = {
    "dynamodb:updateItem": ("dynamodb:UpdateItem",),
    "dynamodb:getItem": ("dynamodb:GetItem",),
    "dynamodb:putItem": ("dynamodb:PutItem",),
    "dynamodb:deleteItem": ("dynamodb:DeleteItem",),
    "sns:publish": ("sns:Publish",),
    "glue:startJobRun": ("glue:StartJobRun",),
    "lambda:invoke": ("lambda:InvokeFunction",),
    "glue:startJobRun.sync": (
        "glue:StartJobRun",
        "glue:GetJobRun",
        "glue:GetJobRuns",
        "glue:BatchStopJobRun",
    ),
}


class UnknownIntegration(ValueError):
    """A Task resource this module has no IAM mapping for."""


def _task_resources(states: Mapping[str, Any]) -> Iterator[str]:
    for state in states.values():
        if state.get("Type") == "Task":
            yield state["Resource"]
        for branch in state.get("Branches", ()):  # Parallel
            yield from _task_resources(branch["States"])
        if "Iterator" in state or "ItemProcessor" in state:  # Map
            yield from _task_resources((state.get("ItemProcessor") or state["Iterator"])["States"])


def task_resources(definition: Mapping[str, Any]) -> list[str]:
    """Every distinct Task resource of `definition`, sorted."""
    return sorted(set(_task_resources(definition["States"])))


def required_iam_actions(definition: Mapping[str, Any] | None = None) -> list[str]:
    """Sorted IAM actions the execution role needs for `definition` (default: the workflow's).

    Only the Task integrations: CloudWatch Logs delivery and X-Ray permissions depend on the
    state machine's logging and tracing configuration, not on its definition.
    """
    if definition is None:
        definition = build_definition(WorkflowSettings.terraform())
    actions: set[str] = set()
    for resource in task_resources(definition):
        if not resource.startswith(_INTEGRATION_PREFIX):
            raise UnknownIntegration(f"not an optimised integration: {resource}")
        integration = resource.removeprefix(_INTEGRATION_PREFIX)
        if integration not in _ACTIONS:
            raise UnknownIntegration(f"no IAM mapping for {resource}")
        actions.update(_ACTIONS[integration])
    return sorted(actions)
