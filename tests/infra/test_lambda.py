"""The functions get every setting the handler reads, and the queue trigger reports partial failures."""

from __future__ import annotations

import re

from ndjson_parquet.common.settings import Env
from tests.infra.terraform_config import MODULES, REPO_ROOT, load_module

LAMBDA = MODULES / "lambda"
HANDLER_SOURCE = REPO_ROOT / "packages" / "manifest_builder" / "src"
# Read by boto3 itself, and only set to point at an emulator.
NOT_DEPLOYED = {Env.AWS_ENDPOINT_URL}


def _contract_settings() -> set[str]:
    return {
        value
        for name, value in vars(Env).items()
        if not name.startswith("_") and isinstance(value, str)
    } - NOT_DEPLOYED


def _settings_read_by_handler() -> set[str]:
    names: set[str] = set()
    for path in HANDLER_SOURCE.rglob("*.py"):
        names.update(re.findall(r"\bEnv\.([A-Z_]+)\b", path.read_text(encoding="utf-8")))
    return {getattr(Env, name) for name in names} - NOT_DEPLOYED


def test_environment_covers_every_setting() -> None:
    environment = load_module(LAMBDA).locals["environment"]
    missing = _contract_settings() - set(environment)
    assert not missing, f"not set for the functions: {sorted(missing)}"


def test_environment_covers_what_the_handler_code_reads() -> None:
    read = _settings_read_by_handler()
    assert read, "found no Env.* reads in the manifest builder"
    assert Env.TRACKING_TABLE in read
    assert not read - set(load_module(LAMBDA).locals["environment"])


def test_both_functions_run_with_the_same_settings() -> None:
    functions = load_module(LAMBDA).resources["aws_lambda_function"]
    assert set(functions) == {"builder", "flush"}
    for function in functions.values():
        assert function["environment"][0]["variables"] == "${local.environment}"
        assert function["filename"] == "${var.package_path}"
        assert function["tracing_config"][0]["mode"] == "Active"
        assert function["runtime"] == "${var.runtime}"


def test_handlers_and_runtime() -> None:
    variables = load_module(LAMBDA).variables
    assert (
        variables["builder_handler"]["default"]
        == "ndjson_parquet.manifest_builder.handler.lambda_handler"
    )
    assert (
        variables["flush_handler"]["default"]
        == "ndjson_parquet.manifest_builder.handler.flush_handler"
    )
    assert variables["runtime"]["default"] in ("python3.11", "python3.12")
    functions = load_module(LAMBDA).resources["aws_lambda_function"]
    assert functions["builder"]["handler"] == "${var.builder_handler}"
    assert functions["flush"]["handler"] == "${var.flush_handler}"


def test_default_package_path_is_the_built_zip() -> None:
    local_values = load_module(MODULES / "pipeline").locals
    assert local_values["dist_dir"] == "${local.repo_root}/dist"
    assert '"${local.dist_dir}/manifest_builder_lambda.zip"' in local_values["lambda_package_path"]


def test_queue_trigger_reports_batch_item_failures() -> None:
    module = load_module(LAMBDA)
    mapping = module.resource("aws_lambda_event_source_mapping", "queue")
    assert mapping["function_response_types"] == ["ReportBatchItemFailures"]
    assert mapping["maximum_batching_window_in_seconds"] == "${var.batching_window_seconds}"
    assert module.variables["batching_window_seconds"]["default"] > 0


def test_flush_runs_on_a_schedule() -> None:
    module = load_module(LAMBDA)
    rule = module.resource("aws_cloudwatch_event_rule", "flush")
    assert rule["schedule_expression"] == "${var.flush_schedule_expression}"
    target = module.resource("aws_cloudwatch_event_target", "flush")
    assert target["arn"] == "${aws_lambda_function.flush.arn}"
    permission = module.resource("aws_lambda_permission", "flush_schedule")
    assert permission["principal"] == "events.amazonaws.com"


def test_log_groups_have_retention() -> None:
    groups = load_module(LAMBDA).resources["aws_cloudwatch_log_group"]
    assert set(groups) == {"builder", "flush"}
    for group in groups.values():
        assert group["retention_in_days"] == "${var.log_retention_days}"


def test_rollback_switch_empties_the_workflow_arn() -> None:
    call = load_module(MODULES / "pipeline").module_calls["lambda"]
    assert call["step_function_arn"] == (
        '${var.start_workflow ? module.step_functions.state_machine_arn : ""}'
    )
