"""Module calls, variables and outputs agree across infra/ (what `terraform validate` would check)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ndjson_parquet.cli.local.terraform_deployment import TERRAFORM_OUTPUTS
from tests.infra.terraform_config import (
    ENVS,
    INFRA,
    MODULES,
    load_module,
    module_dirs,
    wiring_problems,
)


@pytest.mark.parametrize("path", module_dirs(), ids=lambda p: p.relative_to(INFRA).as_posix())
def test_module_wiring(path: Path) -> None:
    problems = wiring_problems(path)
    assert not problems, "\n".join(map(str, problems))


def test_every_variable_and_output_is_documented() -> None:
    undocumented = [
        f"{path.relative_to(INFRA)}: {kind} {name}"
        for path in module_dirs()
        for kind, blocks in (
            ("variable", load_module(path).variables),
            ("output", load_module(path).outputs),
        )
        for name, body in blocks.items()
        if not body.get("description")
    ]
    assert not undocumented, "\n".join(undocumented)


def _write(directory: Path, name: str, text: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(text)


def test_the_wiring_check_finds_each_kind_of_mistake(tmp_path: Path) -> None:
    _write(
        tmp_path / "child",
        "main.tf",
        'variable "needed" {\n  type = string\n}\n'
        'variable "optional" {\n  type    = string\n  default = ""\n}\n'
        'output "present" {\n  value = var.needed\n}\n',
    )
    _write(
        tmp_path / "root",
        "main.tf",
        'module "child" {\n  source = "../child"\n  optinal = "typo"\n}\n'
        'output "x" {\n  value = module.child.absent\n}\n'
        'output "y" {\n  value = module.nowhere.present\n}\n'
        'output "z" {\n  value = "${var.undeclared}-${local.undefined}"\n}\n',
    )
    problems = {p.problem for p in wiring_problems(tmp_path / "root")}
    assert problems == {
        "module child passes undeclared optinal",
        "module child misses required needed",
        "module.child.absent: child has no such output",
        "module.nowhere.present: no such call",
        "var.undeclared is not declared",
        "local.undefined is not defined",
    }


def test_environments_only_call_the_pipeline_module() -> None:
    for env in ("dev", "prod", "local"):
        module = load_module(ENVS / env)
        assert not module.resources, f"{env} defines resources of its own"
        assert not module.data, f"{env} defines data sources of its own"
        assert not module.locals, f"{env} defines locals of its own"
        assert list(module.module_calls) == ["pipeline"]
        source = (ENVS / env / module.module_calls["pipeline"]["source"]).resolve()
        assert source == (MODULES / "pipeline").resolve()


def test_environments_differ_only_in_the_pipeline_arguments() -> None:
    dev, prod = ENVS / "dev", ENVS / "prod"
    assert sorted(p.name for p in dev.glob("*.tf")) == sorted(p.name for p in prod.glob("*.tf"))
    for tf in sorted(dev.glob("*.tf")):
        if tf.name == "main.tf":
            continue
        assert tf.read_text() == (prod / tf.name).read_text(), f"{tf.name} differs"
    dev_call = load_module(dev).module_calls["pipeline"]
    prod_call = load_module(prod).module_calls["pipeline"]
    assert dev_call["environment"] == "dev"
    assert prod_call["environment"] == "prod"


def test_outputs_name_the_workflow_and_the_resources() -> None:
    for path in (MODULES / "pipeline", ENVS / "dev", ENVS / "prod", ENVS / "local"):
        outputs = load_module(path).outputs
        for name in (
            "step_function_arn",
            "step_function_name",
            "bucket_names",
            "tracking_table_name",
            "queue_url",
            "dead_letter_queue_url",
        ):
            assert name in outputs, f"{path.relative_to(INFRA)} lacks output {name}"


def test_production_protects_its_data() -> None:
    prod = load_module(ENVS / "prod").module_calls["pipeline"]
    assert prod["table_deletion_protection"] is True
    assert prod["force_destroy_buckets"] is False
    assert prod["log_retention_days"] >= 365
    assert prod["input_expiration_days"] == 0  # the input is kept: it is the source of truth


def test_the_admission_limit_and_the_glue_job_share_one_variable() -> None:
    """The admission control starts as many runs as the Glue job allows, never more."""
    pipeline = load_module(MODULES / "pipeline")
    glue_limit = pipeline.module_calls["glue"]["max_concurrent_runs"]
    assert glue_limit == "${var.glue_max_concurrent_runs}"
    assert pipeline.module_calls["lambda"]["max_concurrent_runs"] == glue_limit
    lambda_module = load_module(MODULES / "lambda")
    environment = lambda_module.locals["environment"]
    assert environment["MAX_CONCURRENT_RUNS"] == "${tostring(var.max_concurrent_runs)}"
    rule = lambda_module.resource("aws_cloudwatch_event_rule", "execution_ended")
    assert "Step Functions Execution Status Change" in str(rule["event_pattern"])
    # Whether the rule exists is known at plan time (the state machine's ARN is not).
    assert rule["count"] == "${var.admit_on_execution_end ? 1 : 0}"
    assert pipeline.module_calls["lambda"]["admit_on_execution_end"] == "${var.start_workflow}"


# Endpoint of the AWS provider that serves each kind of resource or data source the modules use
# (data sources computed without a call have none).
_ENDPOINT_BY_PREFIX = {
    "aws_s3_": "s3",
    "aws_sqs_": "sqs",
    "aws_dynamodb_": "dynamodb",
    "aws_lambda_": "lambda",
    "aws_iam_policy_document": None,
    "aws_iam_": "iam",
    "aws_kms_": "kms",
    "aws_glue_": "glue",
    "aws_sfn_": "sfn",
    "aws_sns_": "sns",
    "aws_cloudwatch_log_": "cloudwatchlogs",
    "aws_cloudwatch_event_": "events",
    "aws_cloudwatch_metric_alarm": "cloudwatch",
    "aws_caller_identity": "sts",
    "aws_partition": None,
    "aws_region": None,
}


def _endpoint(kind: str) -> str | None:
    for prefix, endpoint in _ENDPOINT_BY_PREFIX.items():
        if kind.startswith(prefix):
            return endpoint
    raise AssertionError(f"{kind}: which provider endpoint serves it? Add it to this test")


def test_the_local_environment_points_every_service_the_modules_use_at_the_emulator() -> None:
    needed: set[str] = set()
    for path in module_dirs():
        if path.is_relative_to(MODULES):
            module = load_module(path)
            kinds = [*module.resources, *module.data]
            needed |= {e for e in map(_endpoint, kinds) if e is not None}
    (provider,) = load_module(ENVS / "local").files[ENVS / "local" / "main.tf"]["provider"]
    (endpoints,) = provider["aws"]["endpoints"]
    assert needed <= set(endpoints), f"no local endpoint for {sorted(needed - set(endpoints))}"
    assert {endpoints[name] for name in needed} == {"${var.endpoint_url}"}
    assert set(load_module(ENVS / "local").outputs) >= TERRAFORM_OUTPUTS
    # The same root module and provider requirements as dev and prod.
    assert (ENVS / "local" / "versions.tf").read_text() == (
        ENVS / "dev" / "versions.tf"
    ).read_text()
