"""The emulated event source mapping: partial batch failures, whole-batch failures, the DLQ."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ndjson_parquet.cli.local.poller import EventSourceMapping

MAX_RECEIVE = 2


@pytest.fixture
def queues() -> Iterator[tuple[Any, str, str, str]]:
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        dlq = sqs.create_queue(QueueName="events-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        queue = sqs.create_queue(
            QueueName="events",
            Attributes={
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE}
                )
            },
        )["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        yield sqs, queue, arn, dlq


def _count(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def _mapping(sqs: Any, queue: str, arn: str, handler: Any) -> EventSourceMapping:
    return EventSourceMapping(
        sqs=sqs,
        queue_url=queue,
        queue_arn=arn,
        handler=handler,
        function_name="fn",
        region="us-east-1",
        retry_delay_seconds=0,
    )


def test_only_reported_failures_stay_and_end_in_the_dlq(
    queues: tuple[Any, str, str, str],
) -> None:
    sqs, queue, arn, dlq = queues
    for n in range(12):
        sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"n": n}))
    seen: list[list[dict[str, Any]]] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        assert context.get_remaining_time_in_millis() > 0
        seen.append(event["Records"])
        failures = [
            {"itemIdentifier": r["messageId"]}
            for r in event["Records"]
            if json.loads(r["body"])["n"] == 3
        ]
        return {"batchItemFailures": failures}

    mapping = _mapping(sqs, queue, arn, handler)
    for _ in range(MAX_RECEIVE + 2):
        mapping.drain()

    assert max(len(batch) for batch in seen) <= 10
    assert all(
        r["eventSource"] == "aws:sqs" and r["eventSourceARN"] == arn for b in seen for r in b
    )
    assert _count(sqs, queue) == 0
    assert _count(sqs, dlq) == 1
    (dead,) = sqs.receive_message(QueueUrl=dlq)["Messages"]
    assert json.loads(dead["Body"]) == {"n": 3}
    assert mapping.stats.deleted == 11
    assert sorted(json.loads(b)["n"] for b in mapping.stats.delivered_bodies) == [
        n for n in range(12) if n != 3
    ]


def test_a_handler_that_raises_leaves_the_whole_batch(queues: tuple[Any, str, str, str]) -> None:
    sqs, queue, arn, _ = queues
    for n in range(3):
        sqs.send_message(QueueUrl=queue, MessageBody=str(n))

    def handler(event: dict[str, Any], context: Any) -> Any:
        raise RuntimeError("boom")

    mapping = _mapping(sqs, queue, arn, handler)
    assert mapping.poll_once() == 3

    assert mapping.stats.handler_errors == 1
    assert mapping.stats.last_error == "RuntimeError: boom"
    assert mapping.stats.deleted == 0
    assert _count(sqs, queue) == 3
