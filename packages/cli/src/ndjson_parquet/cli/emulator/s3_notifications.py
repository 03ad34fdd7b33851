"""moto's S3 event notifications, completed to the shape AWS sends.

moto (at least 5.2.5) leaves out fields that every AWS notification carries (see "Event message
structure" in the S3 user guide): `userIdentity`, `requestParameters`, `responseElements`,
`s3.bucket.ownerIdentity` and `s3.object.sequencer`, and, in a versioned bucket,
`s3.object.versionId` (the manifest builder records it so that the converter reads exactly that
version). Powertools' `S3Model` requires the first four, so the manifest builder rightly rejects
moto's messages as malformed. `apply()` wraps moto's event builder to add them;
`missing_fields()` tells whether moto still needs it.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from typing import Any, Final

_MARK: Final = "_ndjson_parquet_s3_event_fix"
_PRINCIPAL: Final = "AWS:AIDAEMULATOREXAMPLE"
_lock = threading.Lock()
_sequence = itertools.count(1)


def _notifications_module() -> Any:
    from moto.s3 import notifications

    if not callable(getattr(notifications, "_get_s3_event", None)):
        raise RuntimeError(
            "moto.s3.notifications._get_s3_event is gone: review "
            f"{__name__} against the installed moto"
        )
    return notifications


def missing_fields(record: dict[str, Any], *, versioned: bool = False) -> list[str]:
    """Fields AWS always sends (`versioned`: for an object of a versioned bucket) that
    `record` (one entry of `Records`) lacks."""
    missing = [
        k for k in ("userIdentity", "requestParameters", "responseElements") if k not in record
    ]
    s3 = record.get("s3", {})
    if "ownerIdentity" not in s3.get("bucket", {}):
        missing.append("s3.bucket.ownerIdentity")
    if "sequencer" not in s3.get("object", {}):
        missing.append("s3.object.sequencer")
    if versioned and not s3.get("object", {}).get("versionId"):
        missing.append("s3.object.versionId")
    return missing


def _version_id(key: Any) -> str | None:
    # moto's keys of an unversioned bucket have no version id (AWS: the version "null",
    # which notifications leave out).
    version = getattr(key, "version_id", None)
    return str(version) if version and version != "null" else None


def _complete(event: dict[str, Any], key: Any = None) -> dict[str, Any]:
    for record in event.get("Records", []):
        record.setdefault("userIdentity", {"principalId": _PRINCIPAL})
        record.setdefault("requestParameters", {"sourceIPAddress": "127.0.0.1"})
        with _lock:
            number = next(_sequence)
        record.setdefault(
            "responseElements",
            {"x-amz-request-id": f"{number:016X}", "x-amz-id-2": f"emulator/{number}"},
        )
        s3 = record.setdefault("s3", {})
        s3.setdefault("bucket", {}).setdefault("ownerIdentity", {"principalId": _PRINCIPAL})
        # S3's sequencer orders events of one key; hex, compared after left-padding.
        s3.setdefault("object", {}).setdefault("sequencer", f"{number:018X}")
        version = _version_id(key)
        if version:
            s3["object"].setdefault("versionId", version)
    return event


def apply() -> None:
    """Complete every S3 notification moto sends from now on (idempotent)."""
    module = _notifications_module()
    current = module._get_s3_event
    if getattr(current, _MARK, False):
        return
    original: Callable[..., dict[str, Any]] = current

    def _get_s3_event(
        event_name: str, bucket: Any, key: Any, *args: Any, **kwargs: Any
    ) -> dict[str, Any]:
        return _complete(original(event_name, bucket, key, *args, **kwargs), key)

    setattr(_get_s3_event, _MARK, original)
    module._get_s3_event = _get_s3_event


def revert() -> None:
    module = _notifications_module()
    original = getattr(module._get_s3_event, _MARK, None)
    if original:
        module._get_s3_event = original
