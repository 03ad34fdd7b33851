"""Pieces of the local runtime: the sample, durations, Glue argv, the S3 notification fix."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from aws_lambda_powertools.utilities.parser.models import S3Model
from moto import mock_aws

from ndjson_parquet.cli.duration import format_age, parse_duration, parse_since
from ndjson_parquet.cli.emulator import s3_notifications
from ndjson_parquet.cli.local.glue_runner import FaultPlan, glue_argv
from ndjson_parquet.cli.local.sample import SampleInfo, SampleSpec, generate


def test_sample_is_seeded_and_counts_every_line() -> None:
    spec = SampleSpec(files=9, total_bytes=60_000, dates=3, malformed=3, seed=11)
    info = SampleInfo()
    files = list(generate(spec, info))
    again = list(generate(spec))

    assert [f.body for f in files] == [f.body for f in again]
    assert info.files == 9
    assert info.lines == sum(f.body.count(b"\n") for f in files)
    assert sorted(info.per_date) == ["2024-03-05", "2024-03-06", "2024-03-07"]
    assert len({k for k, _ in info.malformed}) == 3
    bodies = {f.key: f.body.decode().splitlines() for f in files}
    for key, line in info.malformed:
        assert not _is_json_object(bodies[key][line - 1])
    objects = sum(1 for lines in bodies.values() for line in lines if _is_json_object(line))
    assert objects == info.valid_lines


def _is_json_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def test_sample_spreads_files_unevenly_over_dates() -> None:
    info = SampleInfo()
    list(generate(SampleSpec(files=24, total_bytes=24_000, dates=3, malformed=0), info))
    assert sum(info.per_date.values()) == 24
    assert len(set(info.per_date.values())) == 3


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("15m", 900), ("2h", 7200), ("1d", 86400), ("1h30m", 5400), ("45", 45)],
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "abc", "15x", "m15"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_parse_since_takes_durations_and_timestamps() -> None:
    now = datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert parse_since("2h", now) == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert parse_since("2024-05-01T08:00:00Z", now) == datetime(2024, 5, 1, 8, tzinfo=UTC)
    assert format_age(timedelta(hours=3, minutes=12)) == "3h12m"


def test_glue_argv_passes_job_arguments_as_glue_does() -> None:
    assert glue_argv({"--MANIFEST_PATH": "s3://b/m.json", "OUTPUT_URI": "s3://o/"}) == [
        "glue_script.py",
        "--MANIFEST_PATH",
        "s3://b/m.json",
        "--OUTPUT_URI",
        "s3://o/",
    ]


def test_fault_plan_fails_the_first_runs_after_it_is_set() -> None:
    plan = FaultPlan(fail_first=2)
    assert [plan.should_fail() for _ in range(4)] == [True, True, False, False]
    assert all(FaultPlan(fail_always=True).should_fail() for _ in range(3))


def _moto_notification() -> dict[str, object]:
    s3 = boto3.client("s3", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue = sqs.create_queue(QueueName="q")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    s3.create_bucket(Bucket="input-bucket")
    s3.put_bucket_notification_configuration(
        Bucket="input-bucket",
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]
        },
    )
    s3.put_object(Bucket="input-bucket", Key="2024-05-01/a.ndjson", Body=b"{}\n")
    for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]:
        body = json.loads(message["Body"])
        if "Records" in body:
            return dict(body)
    raise AssertionError("no notification")


def test_moto_s3_notifications_lack_fields_aws_sends() -> None:
    """When this fails, moto sends complete notifications: drop emulator/s3_notifications.py."""
    s3_notifications.revert()
    try:
        with mock_aws():
            event = _moto_notification()
    finally:
        s3_notifications.apply()
    missing = s3_notifications.missing_fields(event["Records"][0])  # type: ignore[index]
    assert "userIdentity" in missing
    with pytest.raises(ValueError, match="userIdentity"):
        S3Model.model_validate(event)


def test_completed_notifications_parse_as_aws_ones() -> None:
    s3_notifications.apply()
    with mock_aws():
        first, second = _moto_notification(), _moto_notification_again()
    record = S3Model.model_validate(first).Records[0]
    assert record.s3.object.key == "2024-05-01/a.ndjson".replace("/", "%2F")
    assert s3_notifications.missing_fields(first["Records"][0]) == []  # type: ignore[index]
    sequencers = [e["Records"][0]["s3"]["object"]["sequencer"] for e in (first, second)]  # type: ignore[index]
    assert sequencers[0] < sequencers[1]


def _moto_notification_again() -> dict[str, object]:
    s3 = boto3.client("s3", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue = sqs.get_queue_url(QueueName="q")["QueueUrl"]
    s3.put_object(Bucket="input-bucket", Key="2024-05-01/b.ndjson", Body=b"{}\n")
    (message,) = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    return dict(json.loads(message["Body"]))


def test_moto_has_no_redrive_execution() -> None:
    """Why `redrive` falls back to a new execution on the emulator. When this fails, moto
    implements RedriveExecution: the e2e redrive path can then use it."""
    definition = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    with mock_aws():
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        machine = sfn.create_state_machine(
            name="m", definition=definition, roleArn="arn:aws:iam::123456789012:role/r"
        )["stateMachineArn"]
        execution = sfn.start_execution(stateMachineArn=machine)["executionArn"]
        sfn.stop_execution(executionArn=execution)
        with pytest.raises(NotImplementedError, match="redrive_execution"):
            sfn.redrive_execution(executionArn=execution)
