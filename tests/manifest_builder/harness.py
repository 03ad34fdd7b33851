"""Helpers for the manifest builder tests: events, the tracking table, a clock, a fake context."""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote_plus

import boto3

from ndjson_parquet.common.keys import table_definition
from ndjson_parquet.manifest_builder.builder import ManifestBuilder
from ndjson_parquet.manifest_builder.settings import Settings
from ndjson_parquet.manifest_builder.store import from_dynamo

TABLE = "tracking"
INPUT_BUCKET = "input-bucket"
MANIFEST_BUCKET = "manifest-bucket"
START = datetime(2024, 3, 5, 12, 0, tzinfo=UTC)


class FakeClock:
    """A clock that moves only when told to (and a little on every read, like real time)."""

    def __init__(self, start: datetime = START) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            self._now += timedelta(microseconds=1)
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += timedelta(seconds=seconds)


class FakeContext:
    """The part of the Lambda context that Powertools and the handlers use."""

    function_name = "manifest-builder"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:manifest-builder"
    memory_limit_in_mb = 256
    aws_request_id = "req-1"
    log_group_name = "/aws/lambda/manifest-builder"
    log_stream_name = "stream"

    def __init__(self, remaining_millis: int = 300_000) -> None:
        self.remaining_millis = remaining_millis

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_millis


def s3_record(
    key: str,
    size: int,
    etag: str | None = None,
    *,
    bucket: str = INPUT_BUCKET,
    event_name: str = "ObjectCreated:Put",
    event_time: str = "2024-03-05T11:59:00.000Z",
) -> dict[str, Any]:
    """One S3 notification record; the key is URL-encoded as S3 sends it."""
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": event_time,
        "eventName": event_name,
        "userIdentity": {"principalId": "AWS:EXAMPLE"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": "REQ", "x-amz-id-2": "HOST"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "input",
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": "EXAMPLE"},
                "arn": f"arn:aws:s3:::{bucket}",
            },
            "object": {
                "key": quote_plus(key, safe="/"),
                "size": size,
                "eTag": etag or uuid.uuid4().hex,
                "sequencer": "0055AED6DCD90281E5",
            },
        },
    }


def s3_body(*records: dict[str, Any]) -> str:
    return json.dumps({"Records": list(records)})


def sqs_event(*bodies: str) -> dict[str, Any]:
    """A Lambda SQS event with one record per body."""
    return {
        "Records": [
            {
                "messageId": f"msg-{i}",
                "receiptHandle": f"handle-{i}",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1709640000000",
                    "SenderId": "AIDAEXAMPLE",
                    "ApproximateFirstReceiveTimestamp": "1709640000001",
                },
                "messageAttributes": {},
                "md5OfBody": "0" * 32,
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:events",
                "awsRegion": "us-east-1",
            }
            for i, body in enumerate(bodies)
        ]
    }


def create_table(client: Any, name: str = TABLE) -> None:
    """The tracking table as keys.py lays it out: pk/sk, gsi1 and gsi2, both projecting ALL."""
    client.create_table(**table_definition(name))


@dataclass
class World:
    """One mocked account: table, buckets, a state machine, and builders over them."""

    clock: FakeClock
    state_machine_arn: str
    settings: Settings
    dynamodb: Any = field(default_factory=lambda: boto3.client("dynamodb"))
    s3: Any = field(default_factory=lambda: boto3.client("s3"))
    sfn: Any = field(default_factory=lambda: boto3.client("stepfunctions"))

    def builder(self, **overrides: Any) -> ManifestBuilder:
        return ManifestBuilder(replace(self.settings, **overrides), clock=self.clock)

    def items(self, prefix: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for page in self.dynamodb.get_paginator("scan").paginate(TableName=TABLE):
            found += [from_dynamo(i) for i in page["Items"] if i["pk"]["S"].startswith(prefix)]
        return found

    def files(self) -> list[dict[str, Any]]:
        return self.items("FILE#")

    def manifests(self) -> list[dict[str, Any]]:
        return self.items("MANIFEST#")

    def manifest_document(self, item: dict[str, Any]) -> dict[str, Any]:
        path = str(item["manifest_path"])
        bucket, _, key = path.removeprefix("s3://").partition("/")
        body = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        return dict(json.loads(body))

    def slot_holders(self) -> dict[str, str]:
        """Execution name → when it took its conversion slot."""
        [slots] = self.items("SLOTS")
        return dict(slots["holders"])

    def manifest_keys(self) -> list[str]:
        """Every key in the manifest bucket (published and staged documents)."""
        listing = self.s3.list_objects_v2(Bucket=MANIFEST_BUCKET)
        return sorted(o["Key"] for o in listing.get("Contents", []))

    def published_documents(self) -> list[str]:
        """The s3:// paths of documents in the folders readers list (`dt=<date>/`)."""
        return [f"s3://{MANIFEST_BUCKET}/{k}" for k in self.manifest_keys() if "/dt=" in k]

    def executions(self) -> list[dict[str, Any]]:
        return list(self.sfn.list_executions(stateMachineArn=self.state_machine_arn)["executions"])
