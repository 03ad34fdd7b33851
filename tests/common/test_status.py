from __future__ import annotations

import itertools

import pytest

from ndjson_parquet.common import InvalidTransition, Status, check_transition
from ndjson_parquet.common.status import ALLOWED_TRANSITIONS, TERMINAL, can_transition, sources_of


def test_happy_path_transitions_are_allowed() -> None:
    path = [Status.PENDING, Status.MANIFESTED, Status.QUEUED, Status.PROCESSING, Status.COMPLETED]
    for current, new in itertools.pairwise(path):
        assert check_transition(current, new) is new


def test_redrive_moves_failed_back_to_processing() -> None:
    assert can_transition(Status.FAILED, Status.PROCESSING)
    assert not can_transition(Status.FAILED, Status.COMPLETED)


@pytest.mark.parametrize(
    ("current", "new"),
    [
        (Status.PENDING, Status.PROCESSING),
        (Status.MANIFESTED, Status.COMPLETED),
        (Status.COMPLETED, Status.PROCESSING),
        (Status.COMPLETED, Status.FAILED),
        (Status.PENDING, Status.PENDING),
    ],
)
def test_forbidden_transitions_raise_with_both_ends_named(current: Status, new: Status) -> None:
    with pytest.raises(InvalidTransition) as info:
        check_transition(current, new)
    assert str(current) in str(info.value)
    assert str(new) in str(info.value)


def test_completed_is_the_only_state_without_a_way_out() -> None:
    assert [s for s, targets in ALLOWED_TRANSITIONS.items() if not targets] == [Status.COMPLETED]
    assert Status.COMPLETED in TERMINAL


def test_string_values_are_accepted() -> None:
    assert check_transition("manifested", "processing") is Status.PROCESSING
    with pytest.raises(ValueError, match="bogus"):
        check_transition("bogus", "processing")


def test_sources_of_processing_lists_every_entry_point() -> None:
    assert sources_of(Status.PROCESSING) == {
        Status.MANIFESTED,
        Status.QUEUED,
        Status.PROCESSING,
        Status.FAILED,
    }


def test_a_queued_manifest_can_only_start_processing() -> None:
    # Waiting for a slot is never a failure: queued has no way to failed or completed.
    assert ALLOWED_TRANSITIONS[Status.QUEUED] == {Status.PROCESSING}
    assert sources_of(Status.QUEUED) == {Status.MANIFESTED, Status.FAILED}
