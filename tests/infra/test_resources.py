"""The resources follow the shared contract: names, table keys, queue and bucket settings."""

from __future__ import annotations

import pytest

from ndjson_parquet.common import ResourceNames, TableAttr, TableIndex
from ndjson_parquet.common.keys import table_definition
from ndjson_parquet.common.settings import Defaults
from ndjson_parquet.workflow.settings import LAMBDA_MAX_BYTES, LAMBDA_MAX_FILES
from tests.infra.terraform_config import ENVS, MODULES, interpolate, load_module

PIPELINE = MODULES / "pipeline"


def _pipeline_names(environment: str, suffix: str) -> dict[str, str]:
    """Evaluate the pipeline's name templates the way Terraform would for these settings."""
    local_values = load_module(PIPELINE).locals
    values = {
        "var.project": "ndjson-parquet",
        "var.environment": environment,
        "local.bucket_suffix": f"-{suffix}" if suffix else "",
    }
    return {part: interpolate(template, values) for part, template in local_values["names"].items()}


@pytest.mark.parametrize(("environment", "suffix"), [("dev", ""), ("prod", "123456789012")])
def test_names_follow_resource_names(environment: str, suffix: str) -> None:
    expected = ResourceNames(environment, bucket_suffix=suffix)
    names = _pipeline_names(environment, suffix)
    assert names["input_bucket"] == expected.input_bucket
    assert names["manifest_bucket"] == expected.manifest_bucket
    assert names["output_bucket"] == expected.output_bucket
    assert names["quarantine_bucket"] == expected.quarantine_bucket
    assert names["artifacts_bucket"] == expected.artifacts_bucket
    assert names["tracking_table"] == expected.tracking_table
    assert names["queue"] == expected.queue
    assert names["dead_letter_queue"] == expected.dead_letter_queue
    assert names["builder_function"] == expected.manifest_builder_function
    assert names["flush_function"] == expected.flush_function
    assert names["glue_job"] == expected.glue_job
    assert names["state_machine"] == expected.state_machine
    assert names["alerts_topic"] == expected.alerts_topic


def test_project_default_matches_resource_names() -> None:
    assert load_module(PIPELINE).variables["project"]["default"] == ResourceNames("x").project


def test_the_bucket_suffix_is_optional() -> None:
    # The template must produce "" for an empty suffix and "-<suffix>" otherwise.
    expression = load_module(PIPELINE).locals["bucket_suffix"]
    assert "var.bucket_suffix" in expression
    assert '""' in expression
    assert "-${var.bucket_suffix}" in expression


def test_tracking_table_matches_the_key_design() -> None:
    """The Terraform table is the one the emulator and the tests create (`table_definition`)."""
    table = load_module(MODULES / "dynamodb").resource("aws_dynamodb_table", "tracking")
    expected = table_definition("any")
    assert table["billing_mode"] == expected["BillingMode"]
    keys = {k["KeyType"]: k["AttributeName"] for k in expected["KeySchema"]}
    assert (table["hash_key"], table["range_key"]) == (keys["HASH"], keys["RANGE"])
    assert {a["name"]: a["type"] for a in table["attribute"]} == {
        a["AttributeName"]: a["AttributeType"] for a in expected["AttributeDefinitions"]
    }
    indexes = {
        i["name"]: (
            i["hash_key"],
            i["range_key"],
            i["projection_type"],
            sorted(i.get("non_key_attributes", [])),
        )
        for i in table["global_secondary_index"]
    }
    assert indexes == {
        i["IndexName"]: (
            i["KeySchema"][0]["AttributeName"],
            i["KeySchema"][1]["AttributeName"],
            i["Projection"]["ProjectionType"],
            sorted(i["Projection"].get("NonKeyAttributes", [])),
        )
        for i in expected["GlobalSecondaryIndexes"]
    }
    assert set(indexes) == {TableIndex.PENDING, TableIndex.BY_STATUS}
    assert table["ttl"][0] == {
        "attribute_name": TableAttr.TTL,
        "enabled": True,
        "__is_block__": True,
    }
    assert table["point_in_time_recovery"][0]["enabled"] is True
    assert table["server_side_encryption"][0]["enabled"] is True


def test_queue_has_a_dead_letter_queue_and_a_long_enough_visibility_timeout() -> None:
    sqs = load_module(MODULES / "sqs")
    queue = sqs.resource("aws_sqs_queue", "events")
    assert "aws_sqs_queue.dead_letter.arn" in queue["redrive_policy"]
    assert "maxReceiveCount" in queue["redrive_policy"]
    assert queue["sqs_managed_sse_enabled"] is True
    assert sqs.resource("aws_sqs_queue", "dead_letter")["sqs_managed_sse_enabled"] is True
    timeout = queue["visibility_timeout_seconds"]
    assert "var.visibility_timeout_multiplier * var.consumer_timeout_seconds" in timeout
    validation = sqs.variables["visibility_timeout_multiplier"]["validation"][0]["condition"]
    assert "var.visibility_timeout_multiplier >= 6" in validation
    # The queue is sized from the same setting as the function that consumes it.
    pipeline = load_module(PIPELINE).module_calls
    assert pipeline["sqs"]["consumer_timeout_seconds"] == "${var.lambda_timeout_seconds}"
    assert pipeline["lambda"]["timeout_seconds"] == "${var.lambda_timeout_seconds}"
    assert (
        pipeline["sqs"]["consumer_batching_window_seconds"]
        == pipeline["lambda"]["batching_window_seconds"]
    )


def test_queue_policy_lets_only_the_input_bucket_send() -> None:
    document = load_module(MODULES / "sqs").data_source("aws_iam_policy_document", "events")
    allow = next(s for s in document["statement"] if s.get("effect") == "Allow")
    assert allow["actions"] == ["sqs:SendMessage"]
    assert allow["principals"][0]["identifiers"] == ["s3.amazonaws.com"]
    conditions = {c["variable"]: c["values"] for c in allow["condition"]}
    assert conditions["aws:SourceArn"] == ["${var.source_bucket_arn}"]
    assert "aws:SourceAccount" in conditions


def test_buckets_are_private_encrypted_and_tls_only() -> None:
    s3 = load_module(MODULES / "s3")
    block = s3.resource("aws_s3_bucket_public_access_block", "this")
    for setting in (
        "block_public_acls",
        "block_public_policy",
        "ignore_public_acls",
        "restrict_public_buckets",
    ):
        assert block[setting] is True
    sse = s3.resource("aws_s3_bucket_server_side_encryption_configuration", "this")
    assert sse["rule"][0]["apply_server_side_encryption_by_default"][0]["sse_algorithm"] in (
        "AES256",
        "aws:kms",
    )
    tls = s3.data_source("aws_iam_policy_document", "tls_only")["statement"][0]
    assert tls["effect"] == "Deny"
    assert tls["condition"][0]["variable"] == "aws:SecureTransport"
    assert tls["condition"][0]["values"] == ["false"]
    notification = s3.resource("aws_s3_bucket_notification", "input")
    assert notification["queue"][0]["events"] == ["s3:ObjectCreated:*"]
    for each in ("aws_s3_bucket_public_access_block", "aws_s3_bucket_policy"):
        assert s3.resource(each, "this")["for_each"] == "${aws_s3_bucket.this}"
    bucket_roles = set(load_module(PIPELINE).module_calls["s3"]["bucket_names"])
    assert bucket_roles == {"input", "manifests", "output", "quarantine", "artifacts"}


def test_state_machine_is_standard_logged_and_traced() -> None:
    module = load_module(MODULES / "step_functions")
    machine = module.resource("aws_sfn_state_machine", "processor")
    assert machine["type"] == "STANDARD"
    assert machine["tracing_configuration"][0]["enabled"] is True
    logging = machine["logging_configuration"][0]
    assert logging["level"] == "${var.log_level}"
    assert "aws_cloudwatch_log_group.executions.arn" in logging["log_destination"]
    log_group = module.resource("aws_cloudwatch_log_group", "executions")
    assert log_group["retention_in_days"] == "${var.log_retention_days}"


def test_glue_job_runs_the_converter_on_glue_5() -> None:
    module = load_module(MODULES / "glue")
    job = module.resource("aws_glue_job", "converter")
    assert job["command"][0]["name"] == "glueetl"
    assert job["command"][0]["python_version"] == "3"
    assert module.variables["glue_version"]["default"].startswith("5.")
    assert "execution_property" in job
    assert job["security_configuration"] == "${aws_glue_security_configuration.this.name}"
    # Glue's own arguments, then the converter's (which the Lambda converter gets as well).
    arguments = module.locals["default_arguments"] + module.locals["converter_arguments"]
    assert "local.converter_arguments" in module.locals["default_arguments"]
    for name in (
        "--additional-python-modules",
        "--OUTPUT_URI",
        "--QUARANTINE_URI",
        "--COMPRESSION",
    ):
        assert name in arguments
    for artifact in ("script", "converter_wheel", "common_wheel"):
        assert (
            module.resource("aws_s3_object", artifact)["bucket"] == "${var.artifacts_bucket_name}"
        )


def test_the_manifest_limits_default_the_same_everywhere_and_fit_the_lambda_route() -> None:
    """The builder's defaults, the modules' variable defaults and prod's values agree; a
    default manifest converts in Lambda, and 100 KB files still make manifests large enough
    that per-manifest costs (an execution, a converter invocation, a few writes) are small
    next to the per-file ones (docs/cost.md)."""
    files, size = Defaults.MAX_FILES_PER_MANIFEST, Defaults.MAX_BYTES_PER_MANIFEST
    for module in (MODULES / "lambda", PIPELINE):
        variables = load_module(module).variables
        assert variables["max_files_per_manifest"]["default"] == files, module
        assert variables["max_bytes_per_manifest"]["default"] == size, module
    prod = load_module(ENVS / "prod").module_calls["pipeline"]
    assert (prod["max_files_per_manifest"], prod["max_bytes_per_manifest"]) == (files, size)
    assert files <= LAMBDA_MAX_FILES
    assert size <= LAMBDA_MAX_BYTES
    assert files * 100_000 >= 200_000_000
