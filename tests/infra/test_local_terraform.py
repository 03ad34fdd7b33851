"""The parts of `local run --terraform` that need no Terraform: artifacts, CLI configuration,
what is missing, schedules, the event source mapping's batching."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path
from typing import Any

import pytest

from ndjson_parquet.cli.local import terraform
from ndjson_parquet.cli.local.artifacts import build_artifacts
from ndjson_parquet.cli.local.poller import EventSourceMapping
from ndjson_parquet.cli.local.terraform_deployment import DeploymentMismatch, schedule_seconds


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_artifacts_are_reproducible_and_cached(tmp_path: Path) -> None:
    first = build_artifacts(tmp_path / "a")
    again = build_artifacts(tmp_path / "a")
    elsewhere = build_artifacts(tmp_path / "b")
    built = (first.lambda_package, first.converter_wheel, first.common_wheel)
    assert [p.stat().st_mtime_ns for p in built] == [
        p.stat().st_mtime_ns
        for p in (again.lambda_package, again.converter_wheel, again.common_wheel)
    ]  # reused, not rewritten
    assert [_digest(p) for p in built] == [
        _digest(p)
        for p in (elsewhere.lambda_package, elsewhere.converter_wheel, elsewhere.common_wheel)
    ]
    assert first.glue_script.name == "glue_script.py"
    with zipfile.ZipFile(first.lambda_package) as archive:
        names = set(archive.namelist())
    assert "ndjson_parquet/manifest_builder/handler.py" in names
    assert "ndjson_parquet/common/__init__.py" in names
    with zipfile.ZipFile(first.converter_wheel) as wheel:
        names = set(wheel.namelist())
        record = next(n for n in names if n.endswith(".dist-info/RECORD"))
        recorded = {line.split(",")[0] for line in wheel.read(record).decode().splitlines()}
    assert "ndjson_parquet/converter/glue.py" in names
    assert recorded == names
    assert first.converter_wheel.name.startswith("ndjson_parquet_converter-")


def test_the_cli_configuration_installs_the_provider_from_the_mirror(tmp_path: Path) -> None:
    config = terraform.cli_config(tmp_path)
    assert "filesystem_mirror" in config
    assert f'"{tmp_path}"' in config
    assert 'exclude = ["registry.terraform.io/hashicorp/aws"]' in config
    assert terraform.cli_config(None) == ""


def test_without_terraform_it_says_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    with pytest.raises(terraform.TerraformUnavailable, match="terraform is not on PATH"):
        terraform.find_terraform()


def test_without_mirror_or_registry_it_says_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    binary = tmp_path / "bin" / "terraform"
    binary.parent.mkdir()
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    monkeypatch.setenv("PATH", str(binary.parent))
    monkeypatch.setenv(terraform.PLUGIN_DIR_ENV, str(tmp_path / "no-mirror"))
    monkeypatch.setattr(terraform, "_registry_reachable", lambda timeout=2.0: False)
    with pytest.raises(terraform.TerraformUnavailable, match="no AWS provider mirror"):
        terraform.find_terraform()
    monkeypatch.setenv(terraform.INFRA_DIR_ENV, str(tmp_path))
    with pytest.raises(terraform.TerraformUnavailable, match="no infra/envs/local"):
        terraform.find_terraform()


def test_schedules_are_rates() -> None:
    assert schedule_seconds("rate(1 minute)") == 60
    assert schedule_seconds("rate(5 minutes)") == 300
    assert schedule_seconds("rate(2 hours)") == 7200
    with pytest.raises(DeploymentMismatch, match="cron"):
        schedule_seconds("cron(0 * * * ? *)")


class _Queue:
    """An SQS stand-in: `arrivals` lists what each receive returns."""

    def __init__(self, arrivals: list[int]) -> None:
        self.arrivals = arrivals
        self.asked: list[int] = []
        self.sent = 0

    def receive_message(self, **kwargs: Any) -> dict[str, Any]:
        self.asked.append(kwargs["MaxNumberOfMessages"])
        count = min(self.arrivals.pop(0) if self.arrivals else 0, kwargs["MaxNumberOfMessages"])
        messages = [
            {"MessageId": str(self.sent + i), "ReceiptHandle": "r", "Body": "{}", "Attributes": {}}
            for i in range(count)
        ]
        self.sent += count
        return {"Messages": messages}

    def delete_message_batch(self, **kwargs: Any) -> None:
        pass

    def change_message_visibility(self, **kwargs: Any) -> None:
        pass


def _mapping(queue: _Queue, batch_size: int, window: float) -> tuple[EventSourceMapping, list[int]]:
    batches: list[int] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        batches.append(len(event["Records"]))
        return {"batchItemFailures": []}

    mapping = EventSourceMapping(
        queue, "url", "arn", handler, "f", "us-east-1", batch_size=batch_size,
        batching_window_seconds=window,
    )  # fmt: skip
    return mapping, batches


def test_a_batch_fills_up_to_the_batch_size_across_receives() -> None:
    queue = _Queue([10, 10, 10])
    mapping, batches = _mapping(queue, batch_size=25, window=5)
    mapping.poll_once()
    assert batches == [25]
    assert queue.asked == [10, 10, 5]


def test_a_batch_goes_when_the_window_ends() -> None:
    queue = _Queue([3])
    mapping, batches = _mapping(queue, batch_size=100, window=0.3)
    mapping.poll_once()
    assert batches == [3]
    assert len(queue.asked) > 1  # kept gathering during the window


def test_remaining_resources_lists_what_a_destroy_left_and_ignores_aws_managed_keys() -> None:
    from moto import mock_aws

    from ndjson_parquet.cli.aws import AwsTarget

    with mock_aws():
        aws = AwsTarget(region="us-east-1")
        assert terraform.remaining_resources(aws) == []
        aws.client("s3").create_bucket(Bucket="left")
        key = aws.client("kms").create_key()["KeyMetadata"]["KeyId"]
        aws.client("dynamodb").create_table(  # encrypted with DynamoDB's default key
            TableName="t",
            KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            SSESpecification={"Enabled": True, "SSEType": "KMS"},
        )
        assert sorted(terraform.remaining_resources(aws)) == [
            "dynamodb t",
            f"kms key {key}",
            "s3 left",
        ]
        aws.client("kms").schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
        assert f"kms key {key}" not in terraform.remaining_resources(aws)


def test_a_destroy_that_does_not_finish_fails_naming_what_was_left(tmp_path: Path) -> None:
    # A stand-in terraform whose destroy deletes one resource and then waits on another forever,
    # as the AWS provider does on a deletion the service never confirms.
    infra = tmp_path / "infra"
    (infra / terraform.LOCAL_ENV).mkdir(parents=True)
    binary = tmp_path / "terraform"
    binary.write_text(
        "#!/bin/sh\n"
        "echo 'module.a.aws_sqs_queue.q: Still destroying... [id=q, 10s elapsed]'\n"
        "echo 'module.a.aws_s3_bucket.b: Still destroying... [id=b, 10s elapsed]'\n"
        "echo 'module.a.aws_sqs_queue.q: Destruction complete after 11s'\n"
        "exec sleep 600\n"
    )
    binary.chmod(0o755)
    local = terraform.LocalTerraform(
        terraform.TerraformSetup(str(binary), infra, None), tmp_path / "work"
    )
    with pytest.raises(terraform.TerraformTimedOut) as raised:
        local.destroy(timeout=1)
    assert raised.value.pending == ["module.a.aws_s3_bucket.b"]
    assert str(raised.value) == (
        "terraform destroy did not finish within 1 s; still on: module.a.aws_s3_bucket.b"
    )
