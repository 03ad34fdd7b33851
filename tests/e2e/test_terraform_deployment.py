"""The pipeline on what `terraform apply` of infra/envs/local built in the emulator.

Runs where terraform and the AWS provider (a local mirror, or the registry) are available, as
on the CI machine; elsewhere it is skipped, or fails with NDJSON_PARQUET_REQUIRE_TOOLS=1.
apply → upload → every manifest completed → Parquet rows == uploaded lines → destroy, nothing
left; and the run used exactly the Lambda environments, event source mapping, schedule, state
machine definition and Glue arguments that Terraform deployed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from ndjson_parquet.cli.local.runtime import LocalPipeline
from ndjson_parquet.cli.local.sample import SampleSpec
from ndjson_parquet.cli.local.server import Emulator
from ndjson_parquet.cli.local.terraform import (
    TerraformSetup,
    TerraformUnavailable,
    deployed_by_terraform,
    find_terraform,
)
from ndjson_parquet.cli.local.terraform_deployment import schedule_seconds

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ENVIRONMENT = "tfe2e"
MAX_FILES = 3
# Two dates with MAX_FILES files each: both manifests are cut by count, none waits for the
# one-minute flush schedule.
SAMPLE = SampleSpec(files=2 * MAX_FILES, total_bytes=120_000, dates=2, malformed=0,
                    weights=(0.5, 0.5), seed=11)  # fmt: skip
MODULE = "module.pipeline.module"


def _terraform() -> TerraformSetup:
    try:
        return find_terraform()
    except TerraformUnavailable as exc:
        if os.environ.get("NDJSON_PARQUET_REQUIRE_TOOLS") == "1":
            pytest.fail(f"terraform is required here: {exc}")
        pytest.skip(f"cannot apply the Terraform here: {exc}")


def _one(resources: dict[str, dict[str, Any]], address: str) -> dict[str, Any]:
    assert address in resources, f"{address} not in the Terraform state"
    return resources[address]


def test_pipeline_runs_on_what_terraform_applied(tmp_path: Path) -> None:
    setup = _terraform()
    said: list[str] = []
    variables = {"environment": ENVIRONMENT, "max_files_per_manifest": MAX_FILES}
    with (
        Emulator(tls=True) as emulator,
        deployed_by_terraform(setup, emulator, tmp_path / "tf", said.append, variables) as run,
    ):
        deployed = run.terraform.resources()
        pipeline = LocalPipeline(emulator, environment=ENVIRONMENT).deploy(run.outputs)
        try:
            sample = pipeline.upload_sample(SAMPLE)
            snapshot = pipeline.run_until_idle(timeout=180)
            parquet = pipeline.download(
                pipeline.names.output_bucket, tmp_path / "out", suffix=".parquet"
            )
            executions = pipeline.executions()
            definitions = [
                pipeline.client("stepfunctions").describe_state_machine_for_execution(
                    executionArn=e["executionArn"]
                )["definition"]
                for e in executions
            ]
        finally:
            pipeline.close()
    print(*said, f"artifacts: {run.artifacts_seconds:.2f} s", sep="\n")

    # Every file registered through the S3 notification, every manifest completed, no line lost.
    assert snapshot.files_registered == sample.files == 2 * MAX_FILES
    assert snapshot.manifests == {"completed": 2}
    assert snapshot.dead_letters == 0
    assert sum(pq.read_metadata(p).num_rows for p in parquet) == sample.lines

    # What the run used is what Terraform deployed.
    for function in ("builder", "flush"):
        resource = _one(deployed, f"{MODULE}.lambda.aws_lambda_function.{function}")
        name = resource["function_name"]
        assert pipeline.environments_applied[name] == resource["environment"][0]["variables"]
    mapping = _one(deployed, f"{MODULE}.lambda.aws_lambda_event_source_mapping.queue")
    assert pipeline.deployment.batch_size == mapping["batch_size"]
    assert (
        pipeline.deployment.batching_window_seconds
        == (mapping["maximum_batching_window_in_seconds"])
    )
    rule = _one(deployed, f"{MODULE}.lambda.aws_cloudwatch_event_rule.flush")
    assert pipeline.flush_interval == schedule_seconds(rule["schedule_expression"])
    machine = _one(deployed, f"{MODULE}.step_functions.aws_sfn_state_machine.processor")
    assert len(definitions) == 2
    assert all(json.loads(d) == json.loads(machine["definition"]) for d in definitions)
    job = _one(deployed, f"{MODULE}.glue.aws_glue_job.converter")
    runs = pipeline.runner.records
    assert len(runs) == 2
    assert all(r.succeeded for r in runs)
    for record in runs:
        used = {k: record.arguments.get(k) for k in job["default_arguments"]}
        assert used == job["default_arguments"]

    # terraform destroy removed everything it created (and the run its own additions).
    assert run.leftovers == []
    assert said[-1].endswith("nothing left")


def test_local_run_without_terraform_says_so_and_creates_the_resources(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ndjson_parquet.cli.main import main

    monkeypatch.setenv("PATH", str(tmp_path))  # no terraform there
    small = ["--files", "4", "--mb", "0.2", "--dates", "1", "--max-files", "4", "--malformed", "0"]
    code = main(["local", "run", *small, "--terraform", "--output", str(tmp_path / "out")])

    said = capsys.readouterr().out
    assert code == 0
    assert said.count("--terraform: terraform is not on PATH; creating the resources") == 1
