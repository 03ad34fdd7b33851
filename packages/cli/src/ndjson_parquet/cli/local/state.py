"""Snapshots of the emulated pipeline's state, read through the same APIs an operator uses."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ndjson_parquet.common import TableAttr
from ndjson_parquet.common.keys import ManifestAttr


@dataclass(frozen=True, slots=True)
class Alert:
    subject: str
    message: str


@dataclass
class Snapshot:
    """Counts at one moment."""

    files_registered: int = 0
    files_pending: int = 0
    file_versions: int = 0
    manifests: Counter[str] = field(default_factory=Counter)
    manifest_items: list[dict[str, Any]] = field(default_factory=list)
    executions: Counter[str] = field(default_factory=Counter)
    queue_visible: int = 0
    queue_in_flight: int = 0
    dead_letters: int = 0

    @property
    def manifest_total(self) -> int:
        return sum(self.manifests.values())

    @property
    def executions_running(self) -> int:
        return self.executions.get("RUNNING", 0)


def scan_table(dynamodb: Any, table: str) -> list[dict[str, Any]]:
    """Every item of the tracking table, as plain values (a local table is small)."""
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    items: list[dict[str, Any]] = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=table):
        for raw in page.get("Items", []):
            items.append({k: deserializer.deserialize(v) for k, v in raw.items()})
    return items


def take_snapshot(
    dynamodb: Any, sqs: Any, sfn: Any, table: str, queue_url: str, dlq_url: str, sm_arn: str
) -> Snapshot:
    snapshot = Snapshot()
    objects: set[str] = set()
    for item in scan_table(dynamodb, table):
        pk = str(item.get(TableAttr.PK, ""))
        if pk.startswith("FILE#"):
            snapshot.file_versions += 1
            objects.add(pk)
            if str(item.get(TableAttr.GSI1_PK, "")).startswith("PENDING#"):
                snapshot.files_pending += 1
        elif pk.startswith("MANIFEST#"):
            snapshot.manifests[str(item.get(ManifestAttr.STATUS, "?"))] += 1
            snapshot.manifest_items.append(item)
    snapshot.files_registered = len(objects)
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=sm_arn):
        for execution in page.get("executions", []):
            snapshot.executions[execution["status"]] += 1
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    snapshot.queue_visible = int(attributes.get("ApproximateNumberOfMessages", 0))
    snapshot.queue_in_flight = int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0))
    dlq = sqs.get_queue_attributes(
        QueueUrl=dlq_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    snapshot.dead_letters = int(dlq.get("ApproximateNumberOfMessages", 0)) + int(
        dlq.get("ApproximateNumberOfMessagesNotVisible", 0)
    )
    return snapshot


def read_alerts(sqs: Any, queue_url: str) -> list[Alert]:
    """Take the alerts delivered so far (SNS → SQS envelopes) off the inbox queue."""
    alerts: list[Alert] = []
    while True:
        response = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
        messages = response.get("Messages", [])
        if not messages:
            return alerts
        for message in messages:
            try:
                envelope = json.loads(message["Body"])
                alerts.append(
                    Alert(
                        subject=str(envelope.get("Subject") or ""),
                        message=str(envelope.get("Message") or ""),
                    )
                )
            except (ValueError, AttributeError):
                alerts.append(Alert(subject="", message=message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


__all__ = ["Alert", "Snapshot", "read_alerts", "scan_table", "take_snapshot"]
