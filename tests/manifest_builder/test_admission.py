"""Admission control: at most `max_concurrent_runs` executions hold a slot, oldest queued first,
and the slot of an execution that died is recovered."""

from __future__ import annotations

from typing import Any

from ndjson_parquet.common.keys import SlotAttr, SlotsKey
from ndjson_parquet.common.status import Status
from ndjson_parquet.manifest_builder import handler
from ndjson_parquet.manifest_builder.admission import DEFAULT_GRACE_SECONDS
from ndjson_parquet.manifest_builder.builder import Invocation, ManifestBuilder
from ndjson_parquet.manifest_builder.store import to_dynamo
from tests.manifest_builder.harness import FakeContext, World, s3_body, s3_record

SLOTS = 2


def _backlog(world: World, manifests: int) -> ManifestBuilder:
    """`manifests` one-file manifests, cut a second apart (so their age orders them)."""
    builder = world.builder(max_files=1, max_concurrent_runs=SLOTS)
    for n in range(manifests):
        invocation = Invocation()
        builder.register_body(s3_body(s3_record(f"2024-03-05/f{n:02}.ndjson", 1)), invocation)
        builder.settle(invocation, lambda: False)
        world.clock.advance(1)
    return builder


def _by_age(world: World) -> list[dict[str, Any]]:
    return sorted(world.manifests(), key=lambda m: str(m["created_at"]))


def _started(world: World) -> set[str]:
    return {e["name"] for e in world.executions()}


def _end_execution(world: World, name: str) -> None:
    """What the state machine's last states do: record the outcome, give the slot back."""
    world.dynamodb.update_item(
        TableName="tracking",
        Key=to_dynamo(SlotsKey().as_key()),
        UpdateExpression="REMOVE #h.#n",
        ExpressionAttributeNames={"#h": SlotAttr.HOLDERS, "#n": name},
    )


def test_a_backlog_starts_only_as_many_as_there_are_slots_oldest_first(world: World) -> None:
    builder = _backlog(world, 5)

    manifests = _by_age(world)
    assert _started(world) == {m["manifest_id"] for m in manifests[:SLOTS]}
    assert sorted(world.slot_holders()) == sorted(_started(world))
    # The others wait visibly, and nothing about them failed.
    assert [m["status"] for m in manifests] == [str(Status.QUEUED)] * 5
    assert all("last_start_error" not in m for m in manifests)

    # A run ends and gives its slot back; the status change starts the oldest waiting one.
    _end_execution(world, manifests[0]["manifest_id"])
    handler.use_builder(builder)
    try:
        summary = handler.flush_handler(
            {"detail-type": handler.EXECUTION_STATUS_CHANGE, "source": "aws.states"},
            FakeContext(),
        )
    finally:
        handler.use_builder(None)
    assert summary["manifests_started"] == 1
    assert _started(world) == {m["manifest_id"] for m in manifests[:3]}
    assert len(world.slot_holders()) == SLOTS
    # Nothing more until another slot is free.
    assert builder.flush()["manifests_started"] == 0


def test_the_slot_of_an_aborted_execution_is_recovered_after_the_grace(world: World) -> None:
    builder = _backlog(world, 3)
    first, second, third = (m["manifest_id"] for m in _by_age(world))
    # An operator stops the first execution: it never reaches its release state.
    [aborted] = [e for e in world.executions() if e["name"] == first]
    world.sfn.stop_execution(executionArn=aborted["executionArn"])

    # Within the grace a holder may still be starting: its slot is kept.
    assert builder.flush()["slots_recovered"] == 0
    assert third not in _started(world)

    world.clock.advance(DEFAULT_GRACE_SECONDS + 1)
    summary = builder.flush()

    assert summary["slots_recovered"] == 1
    assert summary["manifests_started"] == 1
    assert sorted(world.slot_holders()) == sorted([second, third])
    # The running execution kept its slot.
    assert builder.flush()["slots_recovered"] == 0


def test_a_slot_taken_by_an_admission_that_died_before_starting_is_recovered(
    world: World,
) -> None:
    builder = _backlog(world, 1)
    # An admission took a slot for an execution it never started (the Lambda died).
    world.dynamodb.update_item(
        TableName="tracking",
        Key=to_dynamo(SlotsKey().as_key()),
        UpdateExpression="SET #h.#n = :t",
        ExpressionAttributeNames={"#h": SlotAttr.HOLDERS, "#n": "never-started"},
        ExpressionAttributeValues={":t": {"S": "2024-03-05T12:00:00.000000Z"}},
    )
    world.clock.advance(DEFAULT_GRACE_SECONDS + 1)

    assert builder.flush()["slots_recovered"] == 1
    assert "never-started" not in world.slot_holders()


def test_an_admission_is_idempotent(world: World) -> None:
    builder = _backlog(world, 3)
    before = _started(world)
    # Queued manifests already started (not yet claimed by their execution) are not started
    # again, and hold no second slot.
    for _ in range(3):
        assert builder.admission.admit().started == 0
    assert _started(world) == before
    assert len(world.slot_holders()) == SLOTS


def test_a_redriven_manifest_is_queued_behind_the_others_under_its_new_name(
    world: World,
) -> None:
    builder = _backlog(world, 3)
    first, second, third = (m["manifest_id"] for m in _by_age(world))
    # The first conversion failed (the workflow marks it so and gives its slot back).
    world.dynamodb.update_item(
        TableName="tracking",
        Key=to_dynamo({"pk": f"MANIFEST#{first}", "sk": "MANIFEST"}),
        UpdateExpression="SET #s = :failed",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":failed": {"S": "failed"}},
    )
    _end_execution(world, first)
    assert builder.admission.enqueue(
        first, "2024-03-05T13:00:00.000000Z", f"{first}-r1", source=Status.FAILED
    )
    # A manifest that is not failed is not queued by a redrive.
    assert not builder.admission.enqueue(
        second, "2024-03-05T13:00:00.000000Z", source=Status.FAILED
    )

    builder.admission.admit()  # one free slot: the older queued manifest gets it
    assert _started(world) == {first, second, third}
    _end_execution(world, third)
    builder.admission.admit()
    assert f"{first}-r1" in _started(world)


def test_the_status_change_of_an_aborted_execution_frees_its_slot_at_once(world: World) -> None:
    builder = _backlog(world, 3)
    first, second, third = (m["manifest_id"] for m in _by_age(world))
    [aborted] = [e for e in world.executions() if e["name"] == first]
    world.clock.advance(DEFAULT_GRACE_SECONDS + 1)
    world.sfn.stop_execution(executionArn=aborted["executionArn"])

    # The cut path never reconciles (no DescribeExecution per holder on every cut)...
    assert builder.admission.admit(reconcile=False).started == 0
    # ...the admission after the ABORTED status change does.
    summary = builder.admit_after_execution()

    assert (summary["slots_recovered"], summary["manifests_started"]) == (1, 1)
    assert sorted(world.slot_holders()) == sorted([second, third])
