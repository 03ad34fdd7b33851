"""Starting the state machine for a manifest: idempotent by execution name (the manifest id,
or `<id>-r<N>` for a redrive). The admission control decides when; this module only starts."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from botocore.exceptions import ClientError

from ndjson_parquet.common.keys import ManifestAttr, ManifestKey
from ndjson_parquet.common.settings import WorkflowInput
from ndjson_parquet.manifest_builder.clock import Clock, iso
from ndjson_parquet.manifest_builder.store import Store, error_code, to_dynamo

logger = logging.getLogger(__name__)


class StartOutcome(StrEnum):
    STARTED = "started"
    ALREADY_STARTED = "already_started"
    SKIPPED = "skipped"  # no state machine configured
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class WorkflowStart:
    """What a start needs to know about a manifest."""

    manifest_id: str
    date_prefix: str
    file_count: int
    total_bytes: int
    manifest_path: str
    created_at: str

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> WorkflowStart:
        return cls(
            manifest_id=str(item[ManifestAttr.MANIFEST_ID]),
            date_prefix=str(item[ManifestAttr.DATE_PREFIX]),
            file_count=int(item[ManifestAttr.FILE_COUNT]),
            total_bytes=int(item[ManifestAttr.TOTAL_BYTES]),
            manifest_path=str(item[ManifestAttr.MANIFEST_PATH]),
            created_at=str(item[ManifestAttr.CREATED_AT]),
        )

    def workflow_input(self) -> WorkflowInput:
        # The timestamp is the manifest's, not the start's: a retried start sends the same
        # input, which Step Functions treats as the same execution.
        return WorkflowInput(
            manifest_path=self.manifest_path,
            manifest_id=self.manifest_id,
            date_prefix=self.date_prefix,
            file_count=self.file_count,
            total_bytes=self.total_bytes,
            timestamp=self.created_at,
        )


def execution_arn(state_machine_arn: str, name: str) -> str:
    """The ARN Step Functions gives the execution `name` of a state machine."""
    return f"{state_machine_arn.replace(':stateMachine:', ':execution:', 1)}:{name}"


class Starter:
    def __init__(self, store: Store, sfn: Any, state_machine_arn: str, clock: Clock) -> None:
        self._store = store
        self._sfn = sfn
        self._arn = state_machine_arn
        self._clock = clock

    def start(self, manifest: WorkflowStart, name: str | None = None) -> StartOutcome:
        """Start the manifest's execution `name` (default: the manifest id) and record its ARN
        on the manifest item."""
        name = name or manifest.manifest_id
        if not self._arn:
            logger.warning(
                "STEP_FUNCTION_ARN is empty: manifest %s stays manifested until a flush starts it",
                manifest.manifest_id,
            )
            return StartOutcome.SKIPPED
        outcome = StartOutcome.STARTED
        try:
            response = self._sfn.start_execution(
                stateMachineArn=self._arn,
                name=name,
                input=json.dumps(manifest.workflow_input()),
            )
            arn = str(response["executionArn"])
        except ClientError as exc:
            if error_code(exc) != "ExecutionAlreadyExists":
                logger.exception("starting the workflow for %s failed", manifest.manifest_id)
                self._record_failure(manifest.manifest_id, f"{error_code(exc)}: {exc}")
                return StartOutcome.FAILED
            outcome = StartOutcome.ALREADY_STARTED
            arn = execution_arn(self._arn, name)
        self._record_start(manifest.manifest_id, arn)
        return outcome

    def _record_start(self, manifest_id: str, arn: str) -> None:
        # Status and gsi2 stay as they are: the state machine owns them from here on.
        self._store.client.update_item(
            TableName=self._store.table,
            Key=to_dynamo(ManifestKey(manifest_id).as_key()),
            UpdateExpression="SET #arn = :arn, #started = :now ADD #attempts :one",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={
                "#arn": ManifestAttr.EXECUTION_ARN,
                "#started": ManifestAttr.STARTED_AT,
                "#attempts": ManifestAttr.START_ATTEMPTS,
            },
            ExpressionAttributeValues=to_dynamo(
                {":arn": arn, ":now": iso(self._clock()), ":one": 1}
            ),
        )

    def _record_failure(self, manifest_id: str, error: str) -> None:
        try:
            self._store.client.update_item(
                TableName=self._store.table,
                Key=to_dynamo(ManifestKey(manifest_id).as_key()),
                UpdateExpression="SET #error = :error ADD #attempts :one",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={
                    "#error": ManifestAttr.LAST_START_ERROR,
                    "#attempts": ManifestAttr.START_ATTEMPTS,
                },
                ExpressionAttributeValues=to_dynamo({":error": error[:1000], ":one": 1}),
            )
        except ClientError:
            logger.exception("recording the failed start of %s failed", manifest_id)
