"""File registration: one conditional write per object version, one hint update per group."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from botocore.exceptions import ClientError

from ndjson_parquet.common.keys import (
    BatchAttr,
    BatchKey,
    FileAttr,
    FileKey,
    TableAttr,
    pending_gsi1,
)
from ndjson_parquet.common.status import Status
from ndjson_parquet.manifest_builder.events import ObjectCreated
from ndjson_parquet.manifest_builder.store import Store, is_condition_failure, to_dynamo


class Registration(Enum):
    NEW = "new"
    DUPLICATE = "duplicate"


@dataclass(frozen=True, slots=True)
class BatchHint:
    """A date prefix's running totals after an update (a trigger hint, not the truth)."""

    date_prefix: str
    pending_files: int
    pending_bytes: int


def file_key(obj: ObjectCreated) -> FileKey:
    return FileKey(obj.bucket, obj.key, obj.etag)


def register(
    store: Store, obj: ObjectCreated, date_prefix: str, registered_at: str
) -> Registration:
    """Record a pending file; DUPLICATE (and no change) if this object version is known."""
    key = file_key(obj)
    item: dict[str, object] = {
        **key.as_key(),
        **pending_gsi1(date_prefix, registered_at, key.uri),
        FileAttr.BUCKET: obj.bucket,
        FileAttr.KEY: obj.key,
        FileAttr.ETAG: obj.etag,
        FileAttr.SIZE: obj.size,
        FileAttr.DATE_PREFIX: date_prefix,
        FileAttr.STATUS: str(Status.PENDING),
        FileAttr.REGISTERED_AT: registered_at,
        FileAttr.EVENT_TIME: obj.event_time.isoformat(),
    }
    if obj.sequencer:
        item[FileAttr.SEQUENCER] = obj.sequencer
    if obj.version_id:
        item[FileAttr.VERSION_ID] = obj.version_id
    try:
        store.client.put_item(
            TableName=store.table,
            Item=to_dynamo(item),
            ConditionExpression="attribute_not_exists(pk)",
        )
    except ClientError as exc:
        if is_condition_failure(exc):
            return Registration.DUPLICATE
        raise
    return Registration.NEW


def add_to_batch(
    store: Store, date_prefix: str, files: int, size: int, updated_at: str
) -> BatchHint:
    """Add newly registered files to the group's hint (one atomic update) and return the totals."""
    batch = BatchKey(date_prefix)
    response = store.client.update_item(
        TableName=store.table,
        Key=to_dynamo(batch.as_key()),
        UpdateExpression=(
            "SET #gpk = :gpk, #gsk = :gsk, #date = :d, #updated = :now "
            "ADD #files :files, #bytes :bytes"
        ),
        ExpressionAttributeNames={
            "#gpk": TableAttr.GSI1_PK,
            "#gsk": TableAttr.GSI1_SK,
            "#date": BatchAttr.DATE_PREFIX,
            "#updated": BatchAttr.UPDATED_AT,
            "#files": BatchAttr.PENDING_FILES,
            "#bytes": BatchAttr.PENDING_BYTES,
        },
        ExpressionAttributeValues=to_dynamo(
            {
                ":gpk": batch.gsi1()[TableAttr.GSI1_PK],
                ":gsk": batch.gsi1()[TableAttr.GSI1_SK],
                ":d": date_prefix,
                ":now": updated_at,
                ":files": files,
                ":bytes": size,
            }
        ),
        ReturnValues="UPDATED_NEW",
    )
    new = response.get("Attributes", {})
    return BatchHint(
        date_prefix,
        int(new.get(BatchAttr.PENDING_FILES, {}).get("N", "0")),
        int(new.get(BatchAttr.PENDING_BYTES, {}).get("N", "0")),
    )
