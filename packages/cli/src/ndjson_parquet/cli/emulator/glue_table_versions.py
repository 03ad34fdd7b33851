"""moto workaround 3 (see `moto_fixes`): Glue `UpdateTable` honours `VersionId`.

moto's Glue `UpdateTable` ignores `VersionId` (5.2.5): AWS refuses an update based on an older
table version with `ConcurrentModificationException`, which is the optimistic lock Iceberg
catalogs (pyiceberg's Glue catalog) commit under; moto applies every update, so of two
concurrent Iceberg commits the first is lost. `apply()` adds the check, and runs UpdateTable and
CreateTable under one lock (moto serves requests on several threads and checks, then writes,
without a lock: two CreateTable calls could both succeed).
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from typing import Any, Final

from ndjson_parquet.cli.emulator.shape import MARK as _MARK
from ndjson_parquet.cli.emulator.shape import MotoShapeError

_UPDATE_TABLE: Final = "update_table"
_CREATE_TABLE: Final = "create_table"
_table_lock = threading.Lock()


def _glue_responses() -> type[Any]:
    from moto.glue import responses

    cls: type[Any] | None = getattr(responses, "GlueResponse", None)
    if cls is None or not callable(cls.__dict__.get(_UPDATE_TABLE)):
        raise MotoShapeError("moto.glue.responses.GlueResponse.update_table is gone")
    return cls


def _update_table_method() -> Callable[..., Any]:
    method: Callable[..., Any] = _glue_responses().__dict__[_UPDATE_TABLE]
    return method


def glue_version_check_missing() -> bool:
    """Whether moto's UpdateTable still ignores VersionId (read from its source)."""
    method = _update_table_method()
    if getattr(method, _MARK, False):
        method = getattr(method, "__wrapped__", method)
    try:
        source = inspect.getsource(method)
    except OSError:  # pragma: no cover - no source installed: assume the deviation
        return True
    return "VersionId" not in source


def _make_checked_update_table(original: Callable[..., Any]) -> Callable[..., Any]:
    def update_table(self: Any) -> Any:
        from moto.glue.exceptions import GlueClientError

        version_id = self.parameters.get("VersionId")
        table_input = self.parameters.get("TableInput") or {}
        with _table_lock:  # the check and the update at once, as one request on AWS
            if version_id:
                table = self.glue_backend.get_table(
                    self.parameters.get("DatabaseName"), table_input.get("Name")
                )
                current = str(table._current_version)
                if current != str(version_id):
                    raise GlueClientError(
                        "ConcurrentModificationException",
                        f"Update table failed due to concurrent modifications: version "
                        f"{version_id} is not the current version {current}",
                    )
            return original(self)

    update_table.__wrapped__ = original  # type: ignore[attr-defined]
    setattr(update_table, _MARK, True)
    return update_table


def _make_serialized(original: Callable[..., Any]) -> Callable[..., Any]:
    def serialized(self: Any) -> Any:
        with _table_lock:
            return original(self)

    serialized.__wrapped__ = original  # type: ignore[attr-defined]
    setattr(serialized, _MARK, True)
    return serialized


def apply() -> None:
    """Install the check (idempotent)."""
    responses = _glue_responses()
    create = responses.__dict__.get(_CREATE_TABLE)
    if create is None:
        raise MotoShapeError("moto.glue.responses.GlueResponse.create_table is gone")
    if not getattr(create, _MARK, False):
        setattr(responses, _CREATE_TABLE, _make_serialized(create))
    current = _update_table_method()
    if getattr(current, _MARK, False) or not glue_version_check_missing():
        return
    setattr(responses, _UPDATE_TABLE, _make_checked_update_table(current))


def revert() -> None:
    """Remove the check (idempotent)."""
    responses = _glue_responses()
    for name in (_UPDATE_TABLE, _CREATE_TABLE):
        current = responses.__dict__.get(name)
        if getattr(current, _MARK, False):
            setattr(responses, name, current.__wrapped__)  # type: ignore[union-attr]
