"""Fixtures for the manifest builder: moto in-process with the tracking table and buckets."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ndjson_parquet.manifest_builder.settings import Settings
from tests.manifest_builder.harness import (
    INPUT_BUCKET,
    MANIFEST_BUCKET,
    TABLE,
    FakeClock,
    World,
    create_table,
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def world(clock: FakeClock) -> Iterator[World]:
    with mock_aws():
        create_table(boto3.client("dynamodb"))
        s3 = boto3.client("s3")
        for bucket in (INPUT_BUCKET, MANIFEST_BUCKET):
            s3.create_bucket(Bucket=bucket)
        sfn = boto3.client("stepfunctions")
        arn = sfn.create_state_machine(
            name="processor",
            definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
            roleArn="arn:aws:iam::123456789012:role/processor",
        )["stateMachineArn"]
        settings = Settings(
            table_name=TABLE,
            manifest_bucket=MANIFEST_BUCKET,
            step_function_arn=arn,
            max_files=5,
            max_bytes=1_000,
            max_wait_seconds=900,
            lock_ttl_seconds=60,
        )
        yield World(clock=clock, state_machine_arn=arn, settings=settings)


@pytest.fixture
def serialized_moto_dynamodb(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make moto's DynamoDB handle one request at a time.

    moto checks a condition and then writes without a lock, so two threads can both pass
    `attribute_not_exists` on the same key (test_moto_deviation.py proves it). DynamoDB makes
    each single-item write and each transaction atomic; serialising whole requests gives the
    tests that guarantee. This is the only place the deviation is worked around.
    """
    from moto.dynamodb.responses import DynamoHandler

    lock = threading.RLock()
    original: Callable[..., Any] = DynamoHandler.call_action

    def call_action(self: DynamoHandler) -> Any:
        with lock:
            return original(self)

    monkeypatch.setattr(DynamoHandler, "call_action", call_action)
