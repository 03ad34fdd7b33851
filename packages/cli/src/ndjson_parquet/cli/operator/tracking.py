"""Reads of the tracking table through its keys and indexes (never a full scan)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from ndjson_parquet.cli.duration import parse_timestamp
from ndjson_parquet.common import FileKey, ManifestKey, Status, TableAttr, TableIndex
from ndjson_parquet.common.keys import (
    BATCHES_PK,
    FileAttr,
    ManifestAttr,
    pending_partition,
    status_partition,
)

Item = dict[str, Any]

MANIFEST_STATUSES = (
    Status.MANIFESTED,
    Status.QUEUED,
    Status.PROCESSING,
    Status.COMPLETED,
    Status.FAILED,
)

_deserializer = TypeDeserializer()


def plain(raw: dict[str, Any]) -> Item:
    """A DynamoDB item as Python values (numbers as int where whole)."""
    item = {k: _deserializer.deserialize(v) for k, v in raw.items()}
    return {k: _number(v) for k, v in item.items()}


def _number(value: Any) -> Any:
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list):
        return [_number(v) for v in value]
    if isinstance(value, dict):
        return {k: _number(v) for k, v in value.items()}
    return value


class Tracking:
    """The tracking table of one deployment."""

    def __init__(self, dynamodb: Any, table: str) -> None:
        self.dynamodb = dynamodb
        self.table = table

    def _query(self, **kwargs: Any) -> Iterator[Item]:
        paginator = self.dynamodb.get_paginator("query")
        for page in paginator.paginate(TableName=self.table, **kwargs):
            for raw in page.get("Items", []):
                yield plain(raw)

    def date_prefixes(self) -> list[str]:
        """Every date prefix that has ever had files (the batch items on gsi1)."""
        items = self._query(
            IndexName=TableIndex.PENDING,
            KeyConditionExpression="#pk = :pk",
            ExpressionAttributeNames={"#pk": TableAttr.GSI1_PK},
            ExpressionAttributeValues={":pk": {"S": BATCHES_PK}},
        )
        return sorted({str(item[TableAttr.GSI1_SK]) for item in items})

    def pending_files(self, date_prefix: str) -> list[Item]:
        """Pending files of one date prefix, oldest first."""
        return list(
            self._query(
                IndexName=TableIndex.PENDING,
                KeyConditionExpression="#pk = :pk",
                ExpressionAttributeNames={"#pk": TableAttr.GSI1_PK},
                ExpressionAttributeValues={":pk": {"S": pending_partition(date_prefix)}},
            )
        )

    def count_pending(self, date_prefix: str) -> int:
        paginator = self.dynamodb.get_paginator("query")
        total = 0
        for page in paginator.paginate(
            TableName=self.table,
            IndexName=TableIndex.PENDING,
            KeyConditionExpression="#pk = :pk",
            ExpressionAttributeNames={"#pk": TableAttr.GSI1_PK},
            ExpressionAttributeValues={":pk": {"S": pending_partition(date_prefix)}},
            Select="COUNT",
        ):
            total += int(page.get("Count", 0))
        return total

    def manifests_by_status(
        self, status: Status | str, updated_before: datetime | None = None
    ) -> list[Item]:
        """Manifests with `status`, least recently updated first (gsi2)."""
        items = list(
            self._query(
                IndexName=TableIndex.BY_STATUS,
                KeyConditionExpression="#pk = :pk",
                ExpressionAttributeNames={"#pk": TableAttr.GSI2_PK},
                ExpressionAttributeValues={":pk": {"S": status_partition(str(status))}},
            )
        )
        # Filtered here rather than by a key bound on gsi2sk: it does not depend on the exact
        # timestamp format each writer uses (the Lambda's ISO text, Step Functions' EnteredTime).
        if updated_before is not None:
            items = [i for i in items if _before(updated_at(i), updated_before)]
        return items

    def manifest(self, manifest_id: str) -> Item | None:
        response = self.dynamodb.get_item(
            TableName=self.table,
            Key={k: {"S": v} for k, v in ManifestKey(manifest_id).as_key().items()},
            ConsistentRead=True,
        )
        raw = response.get("Item")
        return plain(raw) if raw else None

    def file_versions(self, bucket: str, key: str) -> list[Item]:
        """Every tracked version (ETag) of one object."""
        return list(
            self._query(
                KeyConditionExpression="#pk = :pk",
                ExpressionAttributeNames={"#pk": TableAttr.PK},
                ExpressionAttributeValues={":pk": {"S": FileKey.object_pk(bucket, key)}},
                ConsistentRead=True,
            )
        )


def updated_at(item: Item) -> datetime | None:
    return parse_timestamp(item.get(ManifestAttr.UPDATED_AT) or item.get(ManifestAttr.CREATED_AT))


def registered_at(item: Item) -> datetime | None:
    return parse_timestamp(item.get(FileAttr.REGISTERED_AT))


def _before(moment: datetime | None, bound: datetime) -> bool:
    return moment is not None and moment < bound
