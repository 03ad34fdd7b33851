"""Least privilege: each role may do what its component calls, on named resources."""

from __future__ import annotations

import json
import re
from typing import Any

from ndjson_parquet.workflow import TERRAFORM_VARIABLES, required_iam_actions
from tests.infra.terraform_config import (
    MODULES,
    REPO_ROOT,
    interpolate,
    load_module,
    policy_statements,
)

IAM = MODULES / "iam"
TEMPLATE = MODULES / "step_functions" / "definition.asl.json.tftpl"

# Statements whose actions AWS does not scope to a resource; "*" is allowed only in these.
UNSCOPABLE = {
    "LogDelivery": "logs:",  # CloudWatch Logs vended-log delivery of the execution history
    "XRay": "xray:",
    "Metrics": "cloudwatch:PutMetricData",
}
# State machine statements that serve its configuration (logging, tracing, encrypted targets)
# rather than a Task of the definition.
CONFIGURATION_SIDS = {"LogDelivery", "XRay", "EncryptionKey"}


def _rendered_definition() -> dict[str, Any]:
    """The template as Terraform's templatefile renders it, with stand-in values."""
    values = {name: f"rendered-{name}" for name in TERRAFORM_VARIABLES}
    definition: dict[str, Any] = json.loads(interpolate(TEMPLATE.read_text(), values))
    return definition


def _state_machine_policy() -> list[dict[str, Any]]:
    document = load_module(IAM).data_source("aws_iam_policy_document", "state_machine")
    return policy_statements(document)


def test_template_uses_exactly_the_workflow_placeholders() -> None:
    placeholders = set(re.findall(r"\$\{([^{}]*)\}", TEMPLATE.read_text()))
    assert placeholders == set(TERRAFORM_VARIABLES)
    assert "%{" not in TEMPLATE.read_text()
    machine = load_module(MODULES / "step_functions").resource("aws_sfn_state_machine", "processor")
    call = machine["definition"]
    assert call.startswith('${templatefile("${path.module}/definition.asl.json.tftpl"')
    passed = set(re.findall(r"(\w+)\s*=", call))
    assert passed == placeholders


def test_state_machine_policy_allows_exactly_the_definitions_actions() -> None:
    statements = _state_machine_policy()
    task_actions = sorted(
        action
        for statement in statements
        if statement["sid"] not in CONFIGURATION_SIDS
        for action in statement["actions"]
    )
    assert task_actions == required_iam_actions(_rendered_definition())


def test_state_machine_task_permissions_name_their_resources() -> None:
    by_sid = {s["sid"]: s for s in _state_machine_policy()}
    assert by_sid["TrackingTable"]["resources"] == ["${var.tracking_table_arn}"]
    assert by_sid["ConverterJob"]["resources"] == ["${local.glue_job_arn}"]
    assert by_sid["Alerts"]["resources"] == ["${var.alerts_topic_arn}"]
    assert by_sid["ConverterFunction"]["resources"] == ["${local.converter_function_arn}"]
    function_arn = load_module(IAM).locals["converter_function_arn"]
    assert function_arn.endswith(":function:${var.converter_function_name}")
    glue_job_arn = load_module(IAM).locals["glue_job_arn"]
    assert glue_job_arn.endswith(":job/${var.glue_job_name}")


def test_definition_targets_are_the_ones_the_policy_names() -> None:
    definition = _rendered_definition()
    parameters = [
        state.get("Parameters", {}) | state.get("Arguments", {})
        for state in definition["States"].values()
        if state["Type"] == "Task"
    ]
    tables = {p["TableName"] for p in parameters if "TableName" in p}
    jobs = {p["JobName"] for p in parameters if "JobName" in p}
    topics = {p["TopicArn"] for p in parameters if "TopicArn" in p}
    assert tables == {"rendered-tracking_table_name"}
    assert jobs == {"rendered-glue_job_name"}
    assert topics == {"rendered-alerts_topic_arn"}


def test_the_comparison_notices_a_missing_permission() -> None:
    definition = _rendered_definition()
    statements = [s for s in _state_machine_policy() if s["sid"] != "Alerts"]
    granted = sorted(
        a for s in statements if s["sid"] not in CONFIGURATION_SIDS for a in s["actions"]
    )
    assert granted != required_iam_actions(definition)
    assert "sns:Publish" in set(required_iam_actions(definition)) - set(granted)


def test_wildcard_resources_only_for_unscopable_actions() -> None:
    offenders = []
    for name, document in load_module(IAM).data["aws_iam_policy_document"].items():
        for statement in policy_statements(document):
            if "*" not in statement.get("resources", []):
                continue
            prefix = UNSCOPABLE.get(statement.get("sid", ""))
            if prefix is None or not all(a.startswith(prefix) for a in statement["actions"]):
                offenders.append(f"{name}/{statement.get('sid')}: {statement['actions']}")
    assert not offenders, "\n".join(offenders)


def test_wildcard_resources_are_commented_where_they_are_used() -> None:
    lines = (IAM / "main.tf").read_text().splitlines()
    uncommented = [
        line.strip()
        for line in lines
        if re.search(r'resources\s*=\s*\["\*"\]', line) and "#" not in line
    ]
    assert not uncommented


def test_one_role_per_component() -> None:
    roles = load_module(IAM).resources["aws_iam_role"]
    assert set(roles) == {"builder", "flush", "glue", "state_machine"}
    trusted = {
        name: load_module(IAM).data_source(
            "aws_iam_policy_document", role["assume_role_policy"].split(".")[2]
        )["statement"][0]["principals"][0]["identifiers"]
        for name, role in roles.items()
    }
    assert trusted == {
        "builder": ["lambda.amazonaws.com"],
        "flush": ["lambda.amazonaws.com"],
        "glue": ["glue.amazonaws.com"],
        "state_machine": ["states.amazonaws.com"],
    }


def test_only_the_builder_consumes_the_queue() -> None:
    policies = load_module(IAM).resources["aws_iam_role_policy"]
    queue_policy = "${data.aws_iam_policy_document.queue_consumer.json}"
    consumers = {p["role"] for p in policies.values() if p["policy"] == queue_policy}
    assert consumers == {"${aws_iam_role.builder.id}"}


def test_functions_may_start_only_the_workflow() -> None:
    document = load_module(IAM).data_source("aws_iam_policy_document", "manifest_cutting")
    start = next(s for s in policy_statements(document) if s["sid"] == "StartWorkflow")
    assert start["actions"] == ["states:StartExecution"]
    assert start["resources"] == ["${local.state_machine_arn}"]
    arn = load_module(IAM).locals["state_machine_arn"]
    assert arn.endswith(":stateMachine:${var.state_machine_name}")


# boto3 calls of the manifest builder and the IAM actions they need. Transactions need the
# action of each item operation inside them.
_BOTO3_ACTIONS = {
    "get_item": "dynamodb:GetItem",
    "put_item": "dynamodb:PutItem",
    "update_item": "dynamodb:UpdateItem",
    "delete_item": "dynamodb:DeleteItem",
    "query": "dynamodb:Query",
    "scan": "dynamodb:Scan",
    "batch_get_item": "dynamodb:BatchGetItem",
    "batch_write_item": "dynamodb:BatchWriteItem",
    "put_object": "s3:PutObject",
    "get_object": "s3:GetObject",
    "head_object": "s3:GetObject",
    "delete_object": "s3:DeleteObject",
    "start_execution": "states:StartExecution",
    "describe_execution": "states:DescribeExecution",
}
_TRANSACT_ITEM_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}


def _actions_called_by_the_manifest_builder() -> set[str]:
    source = REPO_ROOT / "packages" / "manifest_builder" / "src"
    actions: set[str] = set()
    for path in source.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for method in re.findall(r"\.([a-z_]+)\(", text):
            if method in _BOTO3_ACTIONS:
                actions.add(_BOTO3_ACTIONS[method])
        if ".transact_write_items(" in text:
            for operation in re.findall(
                r"""["'](Put|Update|Delete|ConditionCheck)["']\s*:""", text
            ):
                actions.add(_TRANSACT_ITEM_ACTIONS[operation])
    return actions


def test_function_policy_allows_exactly_what_the_manifest_builder_calls() -> None:
    called = _actions_called_by_the_manifest_builder()
    assert "states:StartExecution" in called, "found no workflow start in the manifest builder"
    document = load_module(IAM).data_source("aws_iam_policy_document", "manifest_cutting")
    granted = {
        action
        for statement in policy_statements(document)
        if statement["sid"]
        in {"TrackingTable", "ManifestDocuments", "StartWorkflow", "ReconcileConversionSlots"}
        for action in statement["actions"]
    }
    assert granted == called


_CONVERTER_S3_ACTIONS = {
    "get_object": "s3:GetObject",
    "head_object": "s3:GetObject",
    "put_object": "s3:PutObject",
    "upload_file": "s3:PutObject",
    "upload_fileobj": "s3:PutObject",
    "delete_object": "s3:DeleteObject",
    "delete_objects": "s3:DeleteObject",
    "list_objects_v2": "s3:ListBucket",
    "copy_object": "s3:PutObject",
}


def test_glue_role_covers_the_converters_s3_calls() -> None:
    source = REPO_ROOT / "packages" / "converter" / "src"
    called: set[str] = set()
    for path in source.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for method in re.findall(r"\.([a-z_0-9]+)\(", text):
            if method in _CONVERTER_S3_ACTIONS:
                called.add(_CONVERTER_S3_ACTIONS[method])
        for operation in re.findall(r"get_paginator\(\s*[\"']([a-z_0-9]+)[\"']", text):
            if operation in _CONVERTER_S3_ACTIONS:
                called.add(_CONVERTER_S3_ACTIONS[operation])
        if ".get_object(" in text and '"VersionId"' in text:
            called.add("s3:GetObjectVersion")  # GetObject of a given version
    assert {"s3:GetObject", "s3:PutObject", "s3:GetObjectVersion"} <= called
    document = load_module(IAM).data_source("aws_iam_policy_document", "glue")
    granted = {a for s in policy_statements(document) for a in s["actions"]}
    assert called <= granted, f"not granted to the Glue role: {sorted(called - granted)}"


def _all_statements() -> dict[str, list[dict[str, Any]]]:
    return {
        name: policy_statements(document)
        for name, document in load_module(IAM).data["aws_iam_policy_document"].items()
    }


def test_every_kms_grant_is_limited_to_the_services_that_use_the_key() -> None:
    kms = [
        (name, s)
        for name, statements in _all_statements().items()
        for s in statements
        if any(a.startswith("kms:") for a in s["actions"])
    ]
    assert {name for name, _ in kms} == {"manifest_cutting", "glue", "state_machine"}
    for name, statement in kms:
        via = [c for c in statement.get("condition", []) if c["variable"] == "kms:ViaService"]
        assert via, f"{name}/{statement['sid']} has no kms:ViaService condition"
        assert all(v.endswith(".${local.region}.amazonaws.com") for v in via[0]["values"])


def test_the_functions_never_encrypt() -> None:
    """DynamoDB uses data keys on the functions' behalf; nothing in them calls kms:Encrypt."""
    granted = {a for s in _all_statements()["manifest_cutting"] for a in s["actions"]}
    assert "kms:Encrypt" not in granted
    assert {"kms:Decrypt", "kms:GenerateDataKey"} <= granted


def test_the_glue_role_reads_input_versions_only_from_the_input() -> None:
    [statement] = [s for s in _all_statements()["glue"] if "s3:GetObjectVersion" in s["actions"]]
    assert statement["resources"] == ["${local.input_objects}"]
