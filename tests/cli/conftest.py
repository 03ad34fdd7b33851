"""A deployment in moto (in-process) fed through the real manifest builder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ndjson_parquet.cli.aws import AwsTarget
from ndjson_parquet.cli.emulator import s3_notifications
from ndjson_parquet.cli.local.poller import EventSourceMapping
from ndjson_parquet.cli.local.resources import Deployment, LocalSettings, create_deployment
from ndjson_parquet.cli.operator.tracking import Tracking
from ndjson_parquet.common import ManifestKey, ResourceNames, Status
from ndjson_parquet.common.keys import ManifestAttr, status_gsi2

ENVIRONMENT = "unit"
MAX_FILES = 3


@dataclass
class World:
    """A deployment whose queue is drained through the real Lambda handler."""

    deployment: Deployment
    mapping: EventSourceMapping

    @property
    def names(self) -> ResourceNames:
        return self.deployment.names

    @property
    def tracking(self) -> Tracking:
        return Tracking(boto3.client("dynamodb"), self.deployment.table)

    def upload(self, *keys: str, body: bytes = b'{"a": 1}\n') -> None:
        s3 = boto3.client("s3")
        for key in keys:
            s3.put_object(Bucket=self.names.input_bucket, Key=key, Body=body)
        self.mapping.drain()

    def set_status(self, manifest_id: str, status: Status, updated_at: str) -> None:
        """Move a manifest as the state machine does: status, update time and gsi2 together."""
        gsi2 = status_gsi2(status, updated_at, manifest_id)
        boto3.client("dynamodb").update_item(
            TableName=self.deployment.table,
            Key={k: {"S": v} for k, v in ManifestKey(manifest_id).as_key().items()},
            UpdateExpression="SET #s = :s, #u = :u, gsi2pk = :pk, gsi2sk = :sk",
            ExpressionAttributeNames={"#s": ManifestAttr.STATUS, "#u": ManifestAttr.UPDATED_AT},
            ExpressionAttributeValues={
                ":s": {"S": str(status)},
                ":u": {"S": updated_at},
                ":pk": {"S": gsi2["gsi2pk"]},
                ":sk": {"S": gsi2["gsi2sk"]},
            },
        )

    def flush(self) -> dict[str, int]:
        """One run of the flush function (queues, recovers slots, admits queued manifests)."""
        from ndjson_parquet.manifest_builder import handler

        return handler.builder().flush()

    def manifests(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for status in Status:
            found += self.tracking.manifests_by_status(status)
        return found


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    s3_notifications.apply()
    with mock_aws():
        deployment = create_deployment(
            AwsTarget(region="us-east-1"),
            ResourceNames(ENVIRONMENT),
            LocalSettings(max_files_per_manifest=MAX_FILES, max_wait_seconds=900),
        )
        for name, value in deployment.lambda_environment().items():
            monkeypatch.setenv(name, value)
        from ndjson_parquet.manifest_builder import handler

        handler.use_builder(None)
        mapping = EventSourceMapping(
            sqs=boto3.client("sqs"),
            queue_url=deployment.queue_url,
            queue_arn=deployment.queue_arn,
            handler=handler.lambda_handler,
            function_name=deployment.names.manifest_builder_function,
            region="us-east-1",
            retry_delay_seconds=0,
        )
        assert os.environ["TRACKING_TABLE"] == deployment.table
        yield World(deployment=deployment, mapping=mapping)
