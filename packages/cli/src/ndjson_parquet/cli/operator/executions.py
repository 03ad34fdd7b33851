"""Step Functions lookups: the state machine of a deployment and a manifest's executions."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from ndjson_parquet.common.keys import ManifestAttr


def find_state_machine_arn(sfn: Any, name: str) -> str | None:
    """The ARN of the state machine called `name`, or None."""
    for page in sfn.get_paginator("list_state_machines").paginate():
        for machine in page.get("stateMachines", []):
            if machine["name"] == name:
                return str(machine["stateMachineArn"])
    return None


def execution_arn(state_machine_arn: str, execution_name: str) -> str:
    """`arn:aws:states:…:stateMachine:NAME` → `arn:aws:states:…:execution:NAME:EXECUTION`."""
    prefix, _, machine = state_machine_arn.rpartition(":stateMachine:")
    return f"{prefix}:execution:{machine}:{execution_name}"


def state_machine_of(execution: str) -> str:
    """The state machine ARN of an execution ARN."""
    prefix, _, rest = execution.partition(":execution:")
    machine = rest.split(":", 1)[0]
    return f"{prefix}:stateMachine:{machine}"


def describe(sfn: Any, arn: str) -> dict[str, Any] | None:
    try:
        return dict(sfn.describe_execution(executionArn=arn))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in {
            "ExecutionDoesNotExist",
            "ResourceNotFound",
        }:
            return None
        raise


def manifest_executions(
    sfn: Any, item: dict[str, Any], state_machine_arn: str | None
) -> list[dict[str, Any]]:
    """Executions of a manifest: the one named after it and its redrive runs (`<id>-rN`),
    oldest first, each as DescribeExecution returns it."""
    manifest_id = str(item.get(ManifestAttr.MANIFEST_ID, ""))
    arns: list[str] = []
    recorded = item.get(ManifestAttr.EXECUTION_ARN)
    if recorded:
        arns.append(str(recorded))
    if state_machine_arn is None and recorded:
        state_machine_arn = state_machine_of(str(recorded))
    if state_machine_arn:
        arns.append(execution_arn(state_machine_arn, manifest_id))
        for page in sfn.get_paginator("list_executions").paginate(
            stateMachineArn=state_machine_arn
        ):
            for execution in page.get("executions", []):
                name = str(execution["name"])
                if name == manifest_id or name.startswith(f"{manifest_id}-r"):
                    arns.append(str(execution["executionArn"]))
    found: dict[str, dict[str, Any]] = {}
    for arn in arns:
        if arn in found:
            continue
        described = describe(sfn, arn)
        if described is not None:
            found[arn] = described
    return sorted(found.values(), key=lambda e: e.get("startDate") or 0)


def history(sfn: Any, arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=arn):
        events.extend(page.get("events", []))
    return events
