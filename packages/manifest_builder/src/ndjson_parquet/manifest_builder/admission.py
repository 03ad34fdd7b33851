"""Admission control: never more conversions at once than the Glue job's MaxConcurrentRuns.

A manifest is not started when it is cut: it is queued, and started when a conversion slot is
free, oldest first. The slots are one DynamoDB item (`SlotsKey`) whose `holders` map names the
execution holding each slot; its size is the number of slots in use, so taking a slot is one
conditional write and there is no counter to drift.

1. enqueue   manifested (or failed, for a redrive) → `queued`: the manifest is listed in gsi2's
             `STATUS#queued` partition, sorted by the time it was queued, and carries the name
             its execution will have (`next_execution`).
2. admit     while a slot is free: take the oldest queued manifest, take a slot for its
             execution name (`SET holders.<name>` if it is already there or fewer than `limit`
             are), then StartExecution with that name. Both steps are idempotent by name, so a
             repeated or concurrent admission of the same manifest starts one execution.
3. release   the execution gives the slot back on every way out of the state machine
             (`REMOVE holders.<name>`), and the run that ended triggers another admission
             (EventBridge: execution status change → the flush function; locally the runtime).
4. reconcile a holder whose execution is not RUNNING (aborted or timed out before it could give
             the slot back, or never started because the admitting Lambda died) loses its slot,
             once it has held it longer than `grace_seconds` (the time a start may take). The
             manifest of an aborted execution stays `processing`: `stuck` lists it and
             `redrive` queues it again.

Waiting is not a failure: a queued manifest is never marked failed and raises no alert.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

from botocore.exceptions import ClientError

from ndjson_parquet.common.keys import (
    ManifestAttr,
    ManifestKey,
    SlotAttr,
    SlotsKey,
    TableAttr,
    TableIndex,
    status_gsi2,
    status_partition,
)
from ndjson_parquet.common.status import Status
from ndjson_parquet.manifest_builder.clock import Clock, iso, parse_iso
from ndjson_parquet.manifest_builder.starter import (
    Starter,
    StartOutcome,
    WorkflowStart,
    execution_arn,
)
from ndjson_parquet.manifest_builder.store import Store, error_code, is_condition_failure, to_dynamo

logger = logging.getLogger(__name__)

# Longer than any StartExecution takes: a younger holder may still be starting its execution.
DEFAULT_GRACE_SECONDS: Final = 120
_NOT_FOUND: Final = frozenset({"ExecutionDoesNotExist", "ResourceNotFound"})


def queue_manifest(
    dynamodb: Any,
    table: str,
    manifest_id: str,
    *,
    queued_at: str,
    now: str,
    execution_name: str | None = None,
    source: Status = Status.MANIFESTED,
) -> bool:
    """Move a manifest from `source` to `queued`; False if it is not (any more) in `source`.

    `execution_name` (default: the manifest id) is the name its execution will have. A
    manifested manifest whose execution was already started is left alone. The operator's
    redrive queues failed manifests with this too (`source=Status.FAILED`).
    """
    gsi2 = status_gsi2(str(Status.QUEUED), queued_at, manifest_id)
    names = {
        "#status": ManifestAttr.STATUS,
        "#updated": ManifestAttr.UPDATED_AT,
        "#queued_at": ManifestAttr.QUEUED_AT,
        "#next": ManifestAttr.NEXT_EXECUTION,
        "#gsi2pk": TableAttr.GSI2_PK,
        "#gsi2sk": TableAttr.GSI2_SK,
    }
    condition = "#status = :source"
    if source is Status.MANIFESTED:
        condition += " AND attribute_not_exists(#arn)"
        names["#arn"] = ManifestAttr.EXECUTION_ARN
    try:
        dynamodb.update_item(
            TableName=table,
            Key=to_dynamo(ManifestKey(manifest_id).as_key()),
            UpdateExpression="SET #status = :queued, #updated = :now, #queued_at = :at, "
            "#next = :name, #gsi2pk = :gsi2pk, #gsi2sk = :gsi2sk",
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=to_dynamo(
                {
                    ":source": str(source),
                    ":queued": str(Status.QUEUED),
                    ":now": now,
                    ":at": queued_at,
                    ":name": execution_name or manifest_id,
                    ":gsi2pk": gsi2[TableAttr.GSI2_PK],
                    ":gsi2sk": gsi2[TableAttr.GSI2_SK],
                }
            ),
        )
    except ClientError as exc:
        if is_condition_failure(exc):
            return False
        raise
    return True


@dataclass
class AdmissionCounts:
    """What one admission did."""

    started: int = 0
    start_failures: int = 0
    slots_recovered: int = 0
    slots_in_use: int = 0
    still_queued: bool = False


class Admission:
    """Queue manifests and start them within the conversion slots."""

    def __init__(
        self,
        store: Store,
        sfn: Any,
        starter: Starter,
        state_machine_arn: str,
        limit: int,
        clock: Clock,
        grace_seconds: int = DEFAULT_GRACE_SECONDS,
    ) -> None:
        self._store = store
        self._sfn = sfn
        self._starter = starter
        self._arn = state_machine_arn
        self.limit = limit
        self._clock = clock
        self._grace = timedelta(seconds=grace_seconds)
        self._key = to_dynamo(SlotsKey().as_key())

    # --- 1. enqueue ---------------------------------------------------------------------

    def enqueue(
        self,
        manifest_id: str,
        queued_at: str,
        execution_name: str | None = None,
        source: Status = Status.MANIFESTED,
    ) -> bool:
        """Queue a manifest in status `source` (see `queue_manifest`)."""
        return queue_manifest(
            self._store.client,
            self._store.table,
            manifest_id,
            queued_at=queued_at,
            now=iso(self._clock()),
            execution_name=execution_name,
            source=source,
        )

    # --- 2. admit -----------------------------------------------------------------------

    def admit(
        self, should_stop: Callable[[], bool] = lambda: False, reconcile: bool = True
    ) -> AdmissionCounts:
        """Start the oldest queued manifests while slots are free; with `reconcile`, recover
        dead holders first when no slot is free (an aborted execution's status change finds
        its own stale slot this way)."""
        counts = AdmissionCounts()
        holders = self.holders()
        if reconcile and len(holders) >= self.limit:
            counts.slots_recovered = self._reconcile(holders)
        for item in self._store.query(
            TableIndex.BY_STATUS,
            TableAttr.GSI2_PK,
            status_partition(str(Status.QUEUED)),
            page_size=self.limit + 1,
        ):
            if should_stop():
                counts.still_queued = True
                break
            name = str(item.get(ManifestAttr.NEXT_EXECUTION) or item[ManifestAttr.MANIFEST_ID])
            if item.get(ManifestAttr.EXECUTION_ARN) == execution_arn(self._arn, name):
                continue  # started, not yet claimed by its execution: it holds its slot
            if not self._take(name):
                counts.still_queued = True
                break
            outcome = self._starter.start(WorkflowStart.from_item(item), name)
            if outcome in (StartOutcome.STARTED, StartOutcome.ALREADY_STARTED):
                counts.started += 1
            else:
                counts.start_failures += 1
                self._give_back(name)
        counts.slots_in_use = len(self.holders())
        return counts

    def holders(self) -> dict[str, str]:
        """Execution name → when it took its slot; creates the slots item the first time."""
        response = self._store.client.get_item(
            TableName=self._store.table, Key=self._key, ConsistentRead=True
        )
        raw = response.get("Item", {}).get(SlotAttr.HOLDERS)
        if raw is None:
            self._store.client.update_item(
                TableName=self._store.table,
                Key=self._key,
                UpdateExpression="SET #holders = if_not_exists(#holders, :empty), #limit = :limit",
                ExpressionAttributeNames={"#holders": SlotAttr.HOLDERS, "#limit": SlotAttr.LIMIT},
                ExpressionAttributeValues={":empty": {"M": {}}, ":limit": {"N": str(self.limit)}},
            )
            return {}
        return {name: str(value.get("S", "")) for name, value in raw["M"].items()}

    def _take(self, name: str) -> bool:
        try:
            self._store.client.update_item(
                TableName=self._store.table,
                Key=self._key,
                UpdateExpression="SET #holders.#name = if_not_exists(#holders.#name, :now)",
                ConditionExpression="attribute_exists(#holders.#name) OR size(#holders) < :limit",
                ExpressionAttributeNames={"#holders": SlotAttr.HOLDERS, "#name": name},
                ExpressionAttributeValues={
                    ":now": {"S": iso(self._clock())},
                    ":limit": {"N": str(self.limit)},
                },
            )
        except ClientError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    def _give_back(self, name: str, taken_at: str | None = None) -> bool:
        """Remove a holder (only if it still holds the slot taken at `taken_at`, when given)."""
        kwargs: dict[str, Any] = {
            "TableName": self._store.table,
            "Key": self._key,
            "UpdateExpression": "REMOVE #holders.#name",
            "ExpressionAttributeNames": {"#holders": SlotAttr.HOLDERS, "#name": name},
        }
        if taken_at is not None:
            kwargs["ConditionExpression"] = "#holders.#name = :taken"
            kwargs["ExpressionAttributeValues"] = {":taken": {"S": taken_at}}
        try:
            self._store.client.update_item(**kwargs)
        except ClientError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    # --- 4. reconcile -------------------------------------------------------------------

    def reconcile(self) -> int:
        """Give back the slots of executions that are no longer running; how many."""
        return self._reconcile(self.holders())

    def _reconcile(self, holders: dict[str, str]) -> int:
        recovered = 0
        now = self._clock()
        for name, taken_at in holders.items():
            try:
                if now - parse_iso(taken_at) < self._grace:
                    continue
            except ValueError:
                pass  # unreadable time: check the execution
            status = self._execution_status(name)
            if status == "RUNNING":
                continue
            if self._give_back(name, taken_at):
                recovered += 1
                logger.warning(
                    "conversion slot of %s recovered: its execution is %s",
                    name,
                    status or "missing",
                )
        return recovered

    def _execution_status(self, name: str) -> str | None:
        try:
            response = self._sfn.describe_execution(executionArn=execution_arn(self._arn, name))
        except ClientError as exc:
            if error_code(exc) in _NOT_FOUND:
                return None
            raise
        return str(response["status"])
