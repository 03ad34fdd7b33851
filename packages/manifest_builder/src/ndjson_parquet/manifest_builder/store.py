"""The tracking table through the low-level DynamoDB client (transactions need it)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()

Item = dict[str, Any]


def to_dynamo(values: Mapping[str, Any]) -> dict[str, Any]:
    """Plain Python values → DynamoDB attribute values (floats become exact decimals)."""
    return {name: _SERIALIZER.serialize(_decimal(value)) for name, value in values.items()}


def _decimal(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, list):
        return [_decimal(v) for v in value]
    if isinstance(value, dict):
        return {k: _decimal(v) for k, v in value.items()}
    return value


def from_dynamo(item: Mapping[str, Any]) -> Item:
    """DynamoDB attribute values → plain Python values (numbers as int where integral)."""
    plain = {name: _DESERIALIZER.deserialize(value) for name, value in item.items()}
    return {name: _plain_number(value) for name, value in plain.items()}


def _plain_number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list):
        return [_plain_number(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain_number(v) for k, v in value.items()}
    return value


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def is_condition_failure(exc: ClientError) -> bool:
    return error_code(exc) == "ConditionalCheckFailedException"


class Store:
    """The table name and client, plus the few read helpers every module uses."""

    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table = table_name

    def get(self, key: Mapping[str, str]) -> Item | None:
        """Strongly consistent read of one item."""
        response = self.client.get_item(
            TableName=self.table, Key=to_dynamo(key), ConsistentRead=True
        )
        item = response.get("Item")
        return from_dynamo(item) if item else None

    def query(
        self,
        index: str | None,
        key_name: str,
        key_value: str,
        *,
        page_size: int | None = None,
        max_items: int | None = None,
    ) -> Iterator[Item]:
        """Items of one partition (of the table or an index) in sort key order."""
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "#k = :v",
            "ExpressionAttributeNames": {"#k": key_name},
            "ExpressionAttributeValues": {":v": {"S": key_value}},
        }
        if index:
            kwargs["IndexName"] = index
        if page_size:
            kwargs["Limit"] = page_size
        returned = 0
        while True:
            response = self.client.query(**kwargs)
            for item in response.get("Items", []):
                yield from_dynamo(item)
                returned += 1
                if max_items is not None and returned >= max_items:
                    return
            last = response.get("LastEvaluatedKey")
            if not last:
                return
            kwargs["ExclusiveStartKey"] = last
