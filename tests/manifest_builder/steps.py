"""Clients that name each step of a cut and can stop a holder right after any of them.

The race tests pause or kill a manifest builder at every step of its protocol. The steps are
told apart by the requests themselves, so the production code carries no test hooks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import boto3

STEPS = (
    "register",
    "count",
    "lease",
    "stage",
    "journal",
    "flip",
    "publish",
    "item",
    "settle",
    "discard",
    "start",
    "record_start",
    "release",
)


def step_of(method: str, kwargs: dict[str, Any]) -> str | None:
    """Which step of the builder a request is (None for reads)."""
    if method == "put_object":
        return "stage" if "/_staging/" in kwargs["Key"] else "publish"
    if method == "delete_object":
        return "discard"
    if method == "start_execution":
        return "start"
    if method not in ("put_item", "delete_item", "update_item"):
        return None
    pk = kwargs.get("Item", kwargs.get("Key", {})).get("pk", {}).get("S", "")
    if method == "put_item":
        return {"LOCK": "lease", "FILE": "register", "MANIFEST": "item"}.get(pk.split("#")[0])
    if method == "delete_item":
        return "release"
    values = kwargs.get("ExpressionAttributeValues", {})
    condition = kwargs.get("ConditionExpression", "")
    if ":pending" in values:
        return "flip"
    if ":minus_files" in values:
        return "settle"
    if ":files" in values:
        return "count"
    if pk.startswith("BATCH#") and "attribute_not_exists" in condition:
        return "journal"
    if pk.startswith("MANIFEST#"):
        return "record_start"
    return "other"


class StepClient:
    """A boto3 client that calls `after(step, n)` once a request of a step has returned
    (n counts that step's requests so far, from 1)."""

    def __init__(self, client: Any, after: Callable[[str, int], None]) -> None:
        self._client = client
        self._after = after
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if not callable(attr) or name.startswith("_") or name in ("exceptions", "meta"):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            result = attr(*args, **kwargs)
            step = step_of(name, kwargs)
            if step is not None:
                with self._lock:
                    n = self._seen[step] = self._seen.get(step, 0) + 1
                self._after(step, n)
            return result

        return call


class StepSession:
    """A boto3 session whose clients report their steps to `after`."""

    def __init__(self, after: Callable[[str, int], None], **session: Any) -> None:
        self._session = boto3.session.Session(**session)
        self._after = after

    def client(self, service: str, **kwargs: Any) -> StepClient:
        return StepClient(self._session.client(service, **kwargs), self._after)
