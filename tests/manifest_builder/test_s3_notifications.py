"""Notifications as S3 (moto) really sends them, through SQS, into the handler."""

from __future__ import annotations

import io
import json
from typing import Any

import boto3
import pyarrow.parquet as pq

from ndjson_parquet.cli.emulator import s3_notifications
from ndjson_parquet.common import Manifest
from ndjson_parquet.converter import convert, storage
from ndjson_parquet.manifest_builder import handler
from tests.manifest_builder.harness import INPUT_BUCKET, FakeContext, World


def lambda_event(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """What the SQS event source mapping hands the function for received messages."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m["Attributes"],
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:events",
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
    }


def notify_queue(world: World) -> str:
    """An SQS queue that receives the input bucket's ObjectCreated notifications."""
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    world.s3.put_bucket_notification_configuration(
        Bucket=INPUT_BUCKET,
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]
        },
    )
    return str(url)


def receive_all(url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    messages: list[dict[str, Any]] = []
    while batch := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]
    ).get("Messages", []):
        messages += batch
    return messages


def handle(world: World, messages: list[dict[str, Any]], **settings: Any) -> dict[str, Any]:
    handler.use_builder(world.builder(**settings))
    try:
        return dict(handler.lambda_handler(lambda_event(messages), FakeContext()))
    finally:
        handler.use_builder(None)


def test_objects_put_into_s3_are_registered(world: World) -> None:
    url = notify_queue(world)
    bodies = {
        "2024-03-05/a b+c.ndjson": b'{"x": 1}\n',
        "dt=2024-03-06/ünïcode.jsonl": b'{"x": 2}\n{"x": 3}\n',
        "2024-03-05/" + "k" * 1000 + ".ndjson": b"{}\n",
        "2024-03-05/notes.txt": b"ignored",
    }
    for key, body in bodies.items():
        world.s3.put_object(Bucket=INPUT_BUCKET, Key=key, Body=body)

    response = handle(world, receive_all(url))

    assert response == {"batchItemFailures": []}
    registered = {(i["key"], i["size"], i["date_prefix"]) for i in world.files()}
    assert registered == {
        (key, len(body), "2024-03-06" if key.startswith("dt=2024-03-06") else "2024-03-05")
        for key, body in bodies.items()
        if not key.endswith(".txt")
    }
    for item in world.files():
        head = world.s3.head_object(Bucket=INPUT_BUCKET, Key=item["key"])
        assert item["etag"] == head["ETag"].strip('"')


def test_moto_notifications_lack_the_version_id(world: World) -> None:
    """When this fails, moto sends versionId: the emulator's s3_notifications can stop adding it."""
    url = notify_queue(world)
    world.s3.put_bucket_versioning(
        Bucket=INPUT_BUCKET, VersioningConfiguration={"Status": "Enabled"}
    )
    s3_notifications.revert()
    try:
        world.s3.put_object(Bucket=INPUT_BUCKET, Key="2024-03-05/a.ndjson", Body=b"{}\n")
    finally:
        s3_notifications.apply()  # as the emulator runs (and the CLI tests leave it)
    bodies = [json.loads(m["Body"]) for m in receive_all(url)]
    [record] = [r for body in bodies for r in body.get("Records", [])]
    assert "s3.object.versionId" in s3_notifications.missing_fields(record, versioned=True)


def test_an_overwritten_key_yields_each_versions_rows_once(world: World) -> None:
    s3_notifications.apply()
    url = notify_queue(world)
    world.s3.put_bucket_versioning(
        Bucket=INPUT_BUCKET, VersioningConfiguration={"Status": "Enabled"}
    )
    world.s3.create_bucket(Bucket="output-bucket")
    key = "2024-03-05/a.ndjson"
    versions = [
        world.s3.put_object(Bucket=INPUT_BUCKET, Key=key, Body=body)["VersionId"]
        for body in (b'{"v":1}\n{"v":2}\n', b'{"v":3}\n')
    ]
    messages = receive_all(url)
    # SQS delivers the first notification twice: still one file.
    assert handle(world, [*messages, messages[0]], max_files=1) == {"batchItemFailures": []}

    assert sorted(f["version_id"] for f in world.files()) == sorted(versions)
    storage.reset_clients()
    rows = []
    for item in world.manifests():
        manifest = Manifest.model_validate(world.manifest_document(item))
        [entry] = manifest.files
        assert entry.version_id in versions
        summary = convert(manifest, "s3://output-bucket/events")
        for location in summary.output_files:
            body = world.s3.get_object(
                Bucket="output-bucket", Key=location.removeprefix("s3://output-bucket/")
            )["Body"].read()
            rows += [r["v"] for r in pq.read_table(io.BytesIO(body)).to_pylist()]
    assert sorted(rows) == [1, 2, 3]
