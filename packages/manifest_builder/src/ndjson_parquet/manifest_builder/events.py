"""The S3 notifications inside SQS message bodies: parsed, validated and filtered.

Accepted bodies: an S3 event notification (`{"Records": [...]}`), the same wrapped in an SNS
envelope, and the EventBridge "Object Created" event. An `s3:TestEvent` (sent when a bucket's
notification configuration is saved) and events other than object creation are ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel
from pydantic import BaseModel, NonNegativeInt, ValidationError

from ndjson_parquet.common import decode_event_key


class _Object(BaseModel):
    key: str
    size: NonNegativeInt | None = None
    eTag: str | None = None
    # Present (not null) when the bucket is versioned.
    versionId: str | None = None
    sequencer: str | None = None


class _Bucket(BaseModel):
    name: str


class _S3(BaseModel):
    bucket: _Bucket
    object: _Object


class _Record(BaseModel):
    eventName: str
    eventTime: datetime
    s3: _S3


class _Notification(BaseModel):
    """The fields of an S3 event notification this Lambda uses, and only those: Powertools'
    S3Model also requires userIdentity, requestParameters and responseElements, which
    S3-compatible stores (and moto) leave out."""

    Records: list[_Record]


class BadMessage(ValueError):
    """A message body that is not a notification this Lambda understands."""


@dataclass(frozen=True, slots=True)
class ObjectCreated:
    """One created object version, key decoded."""

    bucket: str
    key: str
    size: int
    # What names the content (the ETag, or the sequencer when a notification lacks it).
    etag: str
    sequencer: str | None
    event_time: datetime
    # The S3 version id in a versioned bucket, which readers then fetch exactly.
    version_id: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedBody:
    created: list[ObjectCreated]
    ignored: list[str]  # why parts of the body were skipped, for the log


def _content_id(etag: str | None, sequencer: str | None, where: str) -> str:
    # The ETag names the content; the sequencer stands in when a notification lacks it.
    version = (etag or "").strip('"') or (sequencer or "")
    if not version:
        raise BadMessage(f"{where}: neither eTag nor sequencer")
    return version


def _version(version_id: str | None) -> str | None:
    # An unversioned bucket's objects have the version "null" (as in GetObject's answer).
    return version_id if version_id and version_id != "null" else None


def _problems(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or '(body)'}: {err['msg']}" for err in exc.errors()
    )


def _from_records(data: dict[str, Any]) -> ParsedBody:
    try:
        model = _Notification.model_validate(data)
    except ValidationError as exc:
        raise BadMessage(f"invalid S3 notification: {_problems(exc)}") from None
    created: list[ObjectCreated] = []
    ignored: list[str] = []
    for record in model.Records:
        if not record.eventName.startswith("ObjectCreated:"):
            ignored.append(f"event {record.eventName}")
            continue
        obj = record.s3.object
        if obj.size is None:
            raise BadMessage(f"{record.eventName} for {obj.key!r} has no size")
        created.append(
            ObjectCreated(
                bucket=record.s3.bucket.name,
                key=decode_event_key(obj.key),
                size=obj.size,
                etag=_content_id(obj.eTag, obj.sequencer, obj.key),
                sequencer=obj.sequencer,
                event_time=record.eventTime,
                version_id=_version(obj.versionId),
            )
        )
    return ParsedBody(created, ignored)


def _from_eventbridge(data: dict[str, Any]) -> ParsedBody:
    try:
        model = S3EventNotificationEventBridgeModel.model_validate(data)
    except ValidationError as exc:
        raise BadMessage(f"invalid EventBridge S3 event: {_problems(exc)}") from None
    obj = model.detail.object
    if obj.size is None:
        raise BadMessage(f"Object Created for {obj.key!r} has no size")
    created = ObjectCreated(
        bucket=model.detail.bucket.name,
        # EventBridge sends the key URL-encoded like S3 notifications do.
        key=decode_event_key(obj.key),
        size=int(obj.size),
        etag=_content_id(obj.etag, obj.sequencer, obj.key),
        sequencer=obj.sequencer,
        event_time=model.time,
        version_id=_version(obj.version_id),
    )
    return ParsedBody([created], [])


def parse_body(body: str) -> ParsedBody:
    """The created objects in one SQS message body; raise BadMessage if it cannot be read."""
    try:
        data = json.loads(body)
    except (TypeError, ValueError) as exc:
        raise BadMessage(f"body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadMessage(f"body is JSON {type(data).__name__}, not an object")
    if data.get("Type") == "Notification" and isinstance(data.get("Message"), str):
        return parse_body(data["Message"])  # S3 → SNS → SQS
    if data.get("Event") == "s3:TestEvent":
        return ParsedBody([], ["s3:TestEvent"])
    if "Records" in data:
        return _from_records(data)
    if data.get("source") == "aws.s3" and "detail-type" in data:
        if data["detail-type"] != "Object Created":
            return ParsedBody([], [f"EventBridge {data['detail-type']}"])
        return _from_eventbridge(data)
    raise BadMessage("body is neither an S3 notification nor an EventBridge S3 event")
