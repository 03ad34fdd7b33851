"""The state machine's own writes to the tracking table, made with its real parameters.

The benchmark runs no state machine; it takes the DynamoDB tasks of the Lambda success path
(UpdateStatusProcessing, UpdateStatusCompletedInLambda, ReleaseSlot) from the built
definition, fills in their `.$` values the way Step Functions would, and sends them with the
metered client, so their units (indexes included) are measured like the builder's.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from ndjson_parquet.workflow import StateName, WorkflowSettings, build_definition

SUCCESS_PATH = (
    StateName.UPDATE_STATUS_PROCESSING,
    StateName.UPDATE_STATUS_COMPLETED_IN_LAMBDA,
    StateName.RELEASE_SLOT,
)
_FORMAT = re.compile(r"^States\.Format\('(?P<template>[^']*)'(?P<args>(?:,\s*[^,]+)*)\)$")


def success_path_tasks(table: str) -> list[dict[str, Any]]:
    """UpdateItem parameters of the Lambda success path, in order."""
    settings = WorkflowSettings(
        tracking_table=table,
        glue_job_name="converter",
        alerts_topic_arn="arn:aws:sns:us-east-1:123456789012:alerts",
        converter_function_name="converter",
    )
    states = build_definition(settings)["States"]
    return [states[name]["Parameters"] for name in SUCCESS_PATH]


def resolve(value: Any, data: dict[str, Any], context: dict[str, Any]) -> Any:
    """Parameters with every `"name.$": path` replaced by `"name": value`."""
    if isinstance(value, list):
        return [resolve(v, data, context) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, inner in value.items():
        if key.endswith(".$"):
            out[key[:-2]] = _evaluate(str(inner), data, context)
        else:
            out[key] = resolve(inner, data, context)
    return out


def _evaluate(expression: str, data: dict[str, Any], context: dict[str, Any]) -> Any:
    match = _FORMAT.match(expression)
    if match:
        args = [a.strip() for a in match["args"].split(",") if a.strip()]
        return match["template"].format(*(_evaluate(a, data, context) for a in args))
    source, path = (
        (context, expression[3:]) if expression.startswith("$$.") else (data, expression[2:])
    )
    for part in path.split("."):
        source = source[part]
    return source if isinstance(source, str) else str(source)


def run_success_path(
    client: Any, tasks: list[dict[str, Any]], manifest_id: str, execution_name: str
) -> None:
    """The writes one successful Lambda-path execution makes."""
    data = {"manifest_id": manifest_id, "lambda": {"RequestId": "bench", "Seconds": 9.0}}
    for task in tasks:
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        context = {"State": {"EnteredTime": now}, "Execution": {"Name": execution_name}}
        client.update_item(**resolve(task, data, context))
