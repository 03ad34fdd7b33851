"""The converter function: the Glue job's arguments, Lambda's limits, a least-privilege role."""

from __future__ import annotations

from tests.infra.terraform_config import MODULES, load_module, policy_statements

MODULE = MODULES / "converter_lambda"


def test_the_function_runs_the_converter_entrypoint_within_lambda_limits() -> None:
    module = load_module(MODULE)
    function = module.resource("aws_lambda_function", "converter")
    assert function["handler"] == "ndjson_parquet.converter.lambda_function.handler"
    assert function["ephemeral_storage"][0]["size"] == "${var.ephemeral_storage_mb}"
    assert "CONVERTER_ARGUMENTS" in function["environment"][0]["variables"]
    variables = module.variables
    assert variables["timeout_seconds"]["default"] == 900
    # One vCPU (1769 MB) and three times the converter's measured peak (0.6 GB).
    assert 1769 <= variables["memory_mb"]["default"] <= 10240
    assert 512 <= variables["ephemeral_storage_mb"]["default"] <= 10240
    group = module.resource("aws_cloudwatch_log_group", "converter")
    assert group["kms_key_id"] == "${var.kms_key_arn}"


def test_the_role_reaches_only_the_pipeline_objects_and_its_log_group() -> None:
    statements = policy_statements(
        load_module(MODULE).data_source("aws_iam_policy_document", "converter")
    )
    for statement in statements:
        if statement["sid"] == "XRay":
            continue
        assert "*" not in statement["resources"], statement["sid"]
        assert not any(a.endswith(":*") for a in statement["actions"]), statement["sid"]
    by_sid = {s["sid"]: s for s in statements}
    assert by_sid["Logs"]["resources"] == ["${aws_cloudwatch_log_group.converter.arn}:*"]
    assert "logs:CreateLogGroup" not in by_sid["Logs"]["actions"]


def test_the_pipeline_gives_both_computes_the_same_arguments_and_slots() -> None:
    call = load_module(MODULES / "pipeline").module_calls["converter_lambda"]
    assert call["converter_arguments"] == "${module.glue.converter_arguments}"
    # The admission control's limit bounds Lambda conversions as it bounds Glue runs.
    assert call["reserved_concurrency"] == "${var.glue_max_concurrent_runs}"
