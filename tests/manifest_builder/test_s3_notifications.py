"""Notifications as S3 (moto) really sends them, through SQS, into the handler."""

from __future__ import annotations

from typing import Any

import boto3

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


def test_objects_put_into_s3_are_registered(world: World) -> None:
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
    bodies = {
        "2024-03-05/a b+c.ndjson": b'{"x": 1}\n',
        "dt=2024-03-06/ünïcode.jsonl": b'{"x": 2}\n{"x": 3}\n',
        "2024-03-05/" + "k" * 1000 + ".ndjson": b"{}\n",
        "2024-03-05/notes.txt": b"ignored",
    }
    for key, body in bodies.items():
        world.s3.put_object(Bucket=INPUT_BUCKET, Key=key, Body=body)
    messages: list[dict[str, Any]] = []
    while batch := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]
    ).get("Messages", []):
        messages += batch

    handler.use_builder(world.builder())
    try:
        response = handler.lambda_handler(lambda_event(messages), FakeContext())
    finally:
        handler.use_builder(None)

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
