"""A lease per date prefix that serialises manifest cutting (a lock with an expiry)."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from botocore.exceptions import ClientError

from ndjson_parquet.common.keys import LockAttr, LockKey, TableAttr
from ndjson_parquet.manifest_builder.clock import Clock
from ndjson_parquet.manifest_builder.store import Store, is_condition_failure, to_dynamo

logger = logging.getLogger(__name__)


def _expires_at(lease_until: float) -> int:
    # DynamoDB's TTL removes abandoned lock items eventually; the lease itself ends at lease_until.
    return int(lease_until + timedelta(hours=1).total_seconds())


class Lease:
    """A held lease. Correctness never depends on it (every write is conditional); it keeps
    concurrent invocations from doing the same work twice."""

    def __init__(self, store: Store, key: LockKey, owner: str, until: float, clock: Clock) -> None:
        self._store = store
        self.key = key
        self.owner = owner
        self.until = until
        self._clock = clock

    def remaining(self) -> float:
        return self.until - self._clock().timestamp()

    def renew(self, ttl_seconds: int) -> bool:
        """Extend the lease if it is still ours."""
        until = self._clock().timestamp() + ttl_seconds
        try:
            self._store.client.update_item(
                TableName=self._store.table,
                Key=to_dynamo(self.key.as_key()),
                UpdateExpression="SET #until = :until, #ttl = :ttl",
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={
                    "#until": LockAttr.LEASE_UNTIL,
                    "#ttl": TableAttr.TTL,
                    "#owner": LockAttr.OWNER,
                },
                ExpressionAttributeValues=to_dynamo(
                    {":until": until, ":ttl": _expires_at(until), ":owner": self.owner}
                ),
            )
        except ClientError as exc:
            if is_condition_failure(exc):
                return False
            raise
        self.until = until
        return True

    def release(self) -> None:
        """Give the lease up (only if still ours). Never raises: an unreleased lease just
        runs out, and the error must not hide the one that ended the holder's work."""
        try:
            self._store.client.delete_item(
                TableName=self._store.table,
                Key=to_dynamo(self.key.as_key()),
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={"#owner": LockAttr.OWNER},
                ExpressionAttributeValues=to_dynamo({":owner": self.owner}),
            )
        except ClientError as exc:
            if not is_condition_failure(exc):
                logger.warning("releasing the lease %s failed: %s", self.key.pk, exc)


def acquire(store: Store, date_prefix: str, ttl_seconds: int, clock: Clock) -> Lease | None:
    """Take the prefix's lease if it is free or expired; None if someone else holds it."""
    key = LockKey(date_prefix)
    now = clock().timestamp()
    until = now + ttl_seconds
    owner = secrets.token_hex(8)
    try:
        store.client.put_item(
            TableName=store.table,
            Item=to_dynamo(
                {
                    **key.as_key(),
                    LockAttr.OWNER: owner,
                    LockAttr.LEASE_UNTIL: until,
                    TableAttr.TTL: _expires_at(until),
                }
            ),
            ConditionExpression="attribute_not_exists(pk) OR #until < :now",
            ExpressionAttributeNames={"#until": LockAttr.LEASE_UNTIL},
            ExpressionAttributeValues=to_dynamo({":now": now}),
        )
    except ClientError as exc:
        if is_condition_failure(exc):
            return None
        raise
    return Lease(store, key, owner, until, clock)
