"""What `terraform apply` needs from the emulator: each moto deviation the workarounds hide is
still there (these tests fail once moto is fixed: then drop the workaround), and each
workaround behaves as AWS does."""

from __future__ import annotations

import io
import json
import ssl
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from ndjson_parquet.cli.emulator import moto_fixes, terraform_fixes
from ndjson_parquet.cli.local.server import Emulator

REGION = "us-east-1"
DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})
ROLE = "arn:aws:iam::123456789012:role/r"


@pytest.fixture
def without_fixes() -> Iterator[None]:
    moto_fixes.revert()
    try:
        with mock_aws():
            yield
    finally:
        moto_fixes.apply()


@pytest.fixture
def with_fixes() -> Iterator[None]:
    moto_fixes.apply()
    with mock_aws():
        yield


def _client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)


def _queue_with_redrive_allow_policy() -> dict[str, str]:
    sqs = _client("sqs")
    policy = json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": ["arn:aws:sqs:x"]})
    url = sqs.create_queue(QueueName="dlq", Attributes={"RedriveAllowPolicy": policy})["QueueUrl"]
    attributes: dict[str, str] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])[
        "Attributes"
    ]
    return {**attributes, "expected": policy}


def test_moto_still_drops_redrive_allow_policy(without_fixes: None) -> None:
    assert terraform_fixes.redrive_allow_policy_dropped()
    assert "RedriveAllowPolicy" not in _queue_with_redrive_allow_policy()


def test_queue_attributes_include_redrive_allow_policy(with_fixes: None) -> None:
    attributes = _queue_with_redrive_allow_policy()
    assert attributes["RedriveAllowPolicy"] == attributes["expected"]
    plain = _client("sqs").create_queue(QueueName="plain")["QueueUrl"]
    listed = _client("sqs").get_queue_attributes(QueueUrl=plain, AttributeNames=["All"])
    assert "RedriveAllowPolicy" not in listed["Attributes"]


def test_moto_still_lacks_the_step_functions_actions_terraform_calls(without_fixes: None) -> None:
    sfn = _client("stepfunctions")
    assert terraform_fixes.missing_sfn_actions() == [
        "validate_state_machine_definition",
        "list_state_machine_versions",
    ]
    with pytest.raises(NotImplementedError):
        sfn.validate_state_machine_definition(definition=DEFINITION)
    arn = sfn.create_state_machine(name="m", definition=DEFINITION, roleArn=ROLE)["stateMachineArn"]
    with pytest.raises(NotImplementedError):
        sfn.list_state_machine_versions(stateMachineArn=arn)


def test_definitions_are_validated_and_versions_listed(with_fixes: None) -> None:
    sfn = _client("stepfunctions")
    assert sfn.validate_state_machine_definition(definition=DEFINITION)["result"] == "OK"
    broken = sfn.validate_state_machine_definition(definition='{"StartAt": "Nowhere"}')
    assert broken["result"] == "FAIL"
    assert broken["diagnostics"][0]["severity"] == "ERROR"
    arn = sfn.create_state_machine(name="m", definition=DEFINITION, roleArn=ROLE, publish=True)[
        "stateMachineArn"
    ]
    versions = sfn.list_state_machine_versions(stateMachineArn=arn)["stateMachineVersions"]
    assert [v["stateMachineVersionArn"] for v in versions] == [f"{arn}:1"]
    with pytest.raises(ClientError):
        sfn.list_state_machine_versions(stateMachineArn=f"{arn}-missing")


TLS_ONLY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::tls-only", "arn:aws:s3:::tls-only/*"],
            "Condition": {"Bool": {"aws:SecureTransport": ["false"]}},
        }
    ],
}


def _put_into_tls_only_bucket(endpoint_url: str | None = None) -> None:
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=endpoint_url)
    s3.create_bucket(Bucket="tls-only")
    s3.put_bucket_policy(Bucket="tls-only", Policy=json.dumps(TLS_ONLY))
    s3.put_object(Bucket="tls-only", Key="k", Body=b"x")


def test_moto_still_denies_https_requests_by_a_tls_only_policy(without_fixes: None) -> None:
    with pytest.raises(ClientError, match="403"):
        _put_into_tls_only_bucket()  # mock_aws: https://s3.amazonaws.com


def test_a_tls_only_policy_denies_plain_http_alone(with_fixes: None) -> None:
    _put_into_tls_only_bucket()
    assert _client("s3").get_object(Bucket="tls-only", Key="k")["Body"].read() == b"x"
    plain = boto3.client("s3", region_name=REGION, endpoint_url="http://s3.amazonaws.com")
    with pytest.raises(ClientError, match="403"):
        plain.put_object(Bucket="tls-only", Key="k2", Body=b"y")


def _first_receive_count_after_send_with_mapping() -> str:
    """Send a message to a queue that has a Lambda event source mapping; receive it."""
    trust = json.dumps({"Version": "2012-10-17", "Statement": []})
    role = _client("iam").create_role(RoleName="r", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("h.py", "def handler(event, context):\n    return {}\n")
    lam, sqs = _client("lambda"), _client("sqs")
    lam.create_function(
        FunctionName="f",
        Runtime="python3.11",
        Role=role,
        Handler="h.handler",
        Code={"ZipFile": code.getvalue()},
    )
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    lam.create_event_source_mapping(EventSourceArn=arn["QueueArn"], FunctionName="f", BatchSize=5)
    sqs.send_message(QueueUrl=url, MessageBody="event")
    (message,) = sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["All"])["Messages"]
    assert (
        lam.list_event_source_mappings(FunctionName="f")["EventSourceMappings"][0]["BatchSize"] == 5
    )
    return str(message["Attributes"]["ApproximateReceiveCount"])


def test_moto_still_delivers_to_lambda_inside_send_message(without_fixes: None) -> None:
    # moto received the message once already (and tried to run the function in a container).
    assert _first_receive_count_after_send_with_mapping() == "2"


def test_queue_messages_wait_for_the_poller(with_fixes: None) -> None:
    # As on AWS: the mapping exists, nothing has received the message before the poller.
    assert _first_receive_count_after_send_with_mapping() == "1"


def _empty_a_suspended_bucket() -> list[dict[str, Any]]:
    """What the AWS provider does for force_destroy after destroying the bucket's versioning:
    delete every version and delete marker by VersionId; return what is left."""
    s3 = _client("s3")
    s3.create_bucket(Bucket="versions")
    s3.put_bucket_versioning(Bucket="versions", VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket="versions", Key="k", Body=b"x")
    s3.delete_object(Bucket="versions", Key="k")  # a delete marker over the version
    s3.put_bucket_versioning(Bucket="versions", VersioningConfiguration={"Status": "Suspended"})
    listed = s3.list_object_versions(Bucket="versions")
    entries = listed.get("Versions", []) + listed.get("DeleteMarkers", [])
    assert len(entries) == 2
    objects = [{"Key": e["Key"], "VersionId": e["VersionId"]} for e in entries]
    s3.delete_objects(Bucket="versions", Delete={"Objects": objects})
    left = s3.list_object_versions(Bucket="versions")
    return list(left.get("Versions", []) + left.get("DeleteMarkers", []))


def test_moto_still_fails_deleting_versions_of_a_suspended_bucket(without_fixes: None) -> None:
    assert terraform_fixes.delete_marker_dispose_missing()
    with pytest.raises(Exception, match="dispose"):
        _empty_a_suspended_bucket()


def test_a_suspended_bucket_with_delete_markers_can_be_emptied(with_fixes: None) -> None:
    assert _empty_a_suspended_bucket() == []
    _client("s3").delete_bucket(Bucket="versions")
    assert _client("s3").list_buckets()["Buckets"] == []


def test_emulator_serves_https_with_a_certificate_clients_can_verify() -> None:
    with Emulator(tls=True) as emulator:
        assert emulator.endpoint_url.startswith("https://127.0.0.1:")
        assert emulator.ca_bundle is not None
        context = ssl.create_default_context(cafile=str(emulator.ca_bundle))
        with urllib.request.urlopen(
            f"{emulator.endpoint_url}/moto-api/", context=context, timeout=10
        ) as response:
            assert response.status == 200
        # boto3 in this process trusts it through AWS_CA_BUNDLE, which the emulator set.
        s3 = boto3.client("s3", endpoint_url=emulator.endpoint_url, region_name=REGION)
        s3.create_bucket(Bucket="over-tls")
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["over-tls"]
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(f"{emulator.endpoint_url}/moto-api/", timeout=10)
    assert not emulator.ca_bundle
