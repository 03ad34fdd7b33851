"""The one status set shared by file and manifest items, and its allowed transitions."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """Where a file or a manifest is in the pipeline.

    A file item moves pending → manifested when a manifest takes it; from then on the manifest
    item carries the status (queued → processing → completed | failed) for all of its files, so
    the workflow writes one item per manifest instead of one per file. A `queued` manifest waits
    for a conversion slot (the Glue job's concurrent runs are limited); waiting is not a failure.
    """

    PENDING = "pending"
    MANIFESTED = "manifested"
    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


ALLOWED_TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.PENDING: frozenset({Status.MANIFESTED}),
    # Queued for a slot by the admission control; processing directly when an execution was
    # started without it (an older deployment, or by hand).
    Status.MANIFESTED: frozenset({Status.QUEUED, Status.PROCESSING}),
    Status.QUEUED: frozenset({Status.PROCESSING}),
    # A Step Functions retry of the whole execution re-enters processing.
    Status.PROCESSING: frozenset({Status.PROCESSING, Status.COMPLETED, Status.FAILED}),
    Status.COMPLETED: frozenset(),
    # Redrive: an operator re-runs a failed manifest (queued for a slot, or started at once).
    Status.FAILED: frozenset({Status.QUEUED, Status.PROCESSING}),
}

TERMINAL: frozenset[Status] = frozenset({Status.COMPLETED, Status.FAILED})


class InvalidTransition(ValueError):
    """A status change that the contract does not allow."""


def can_transition(current: Status, new: Status) -> bool:
    """Whether `current` may move to `new`."""
    return new in ALLOWED_TRANSITIONS[current]


def check_transition(current: Status | str, new: Status | str) -> Status:
    """Return `new` as a Status, or raise InvalidTransition naming both ends."""
    cur, nxt = Status(current), Status(new)
    if not can_transition(cur, nxt):
        allowed = ", ".join(sorted(ALLOWED_TRANSITIONS[cur])) or "nothing (terminal)"
        raise InvalidTransition(f"status {cur} cannot become {nxt}; allowed: {allowed}")
    return nxt


def sources_of(new: Status) -> frozenset[Status]:
    """Statuses from which `new` may be reached (used to build conditional writes)."""
    return frozenset(s for s, targets in ALLOWED_TRANSITIONS.items() if new in targets)
