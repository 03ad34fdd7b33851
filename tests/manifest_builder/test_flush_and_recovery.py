"""The scheduled flush, crash recovery and idempotent workflow starts."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from ndjson_parquet.manifest_builder import handler, lock
from ndjson_parquet.manifest_builder.builder import Invocation, ManifestBuilder
from ndjson_parquet.manifest_builder.starter import Starter
from tests.manifest_builder.harness import FakeContext, World, s3_body, s3_record


class Crash(BaseException):
    """Stands for the Lambda runtime killing an invocation."""


def deliver(builder: ManifestBuilder, *keys_and_sizes: tuple[str, int]) -> Invocation:
    """What the SQS handler does for one batch, without Powertools around it."""
    invocation = Invocation()
    for key, size in keys_and_sizes:
        builder.register_body(s3_body(s3_record(key, size)), invocation)
    builder.settle(invocation, lambda: False)
    return invocation


def assert_each_file_in_one_manifest(world: World) -> None:
    files = {(f["key"], f["etag"]): f for f in world.files()}
    listed: dict[tuple[str, str], str] = {}
    for manifest in world.manifests():
        for entry in world.manifest_document(manifest)["files"]:
            ref = (entry["key"], entry["etag"])
            assert ref not in listed, f"{ref} is in {listed.get(ref)} and {manifest['manifest_id']}"
            listed[ref] = manifest["manifest_id"]
    assert set(listed) == set(files)
    for ref, item in files.items():
        assert item["status"] == "manifested"
        assert item["manifest_id"] == listed[ref]


def test_flush_cuts_a_group_once_its_oldest_file_is_overdue(world: World) -> None:
    builder = world.builder(max_files=100, max_wait_seconds=900)
    deliver(builder, ("2024-03-05/a.ndjson", 1), ("2024-03-05/b.ndjson", 2))

    assert builder.flush()["manifests_created"] == 0
    world.clock.advance(899)
    assert builder.flush()["manifests_created"] == 0
    world.clock.advance(2)
    summary = builder.flush()

    assert summary["manifests_created"] == 1
    assert summary["manifests_started"] == 1
    [manifest] = world.manifests()
    assert manifest["file_count"] == 2
    assert len(world.executions()) == 1
    assert_each_file_in_one_manifest(world)


def test_flush_splits_an_overdue_group_within_the_limits(world: World) -> None:
    builder = world.builder(max_files=100, max_bytes=10**9)
    deliver(builder, *[(f"2024-03-05/f{i}.ndjson", 1) for i in range(7)])
    world.clock.advance(1000)

    summary = world.builder(max_files=3).flush()

    assert summary["manifests_created"] == 3
    assert sorted(m["file_count"] for m in world.manifests()) == [1, 3, 3]
    assert_each_file_in_one_manifest(world)


def test_flush_handler_through_powertools(world: World) -> None:
    builder = world.builder()
    deliver(builder, ("2024-03-05/a.ndjson", 1))
    world.clock.advance(10_000)
    handler.use_builder(builder)
    try:
        summary = handler.flush_handler({"source": "aws.events"}, FakeContext())
    finally:
        handler.use_builder(None)

    assert summary["manifests_created"] == 1
    assert summary["prefixes_checked"] == 1


def test_a_crash_between_manifest_and_workflow_start_is_recovered_by_the_flush(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    builder = world.builder(max_files=2)

    def die(self: Starter, manifest: Any, name: str | None = None) -> Any:
        raise Crash

    with monkeypatch.context() as patch:
        patch.setattr(Starter, "start", die)
        with pytest.raises(Crash):
            deliver(builder, ("2024-03-05/a.ndjson", 1), ("2024-03-05/b.ndjson", 1))

    [manifest] = world.manifests()
    assert manifest["status"] == "queued"
    assert "execution_arn" not in manifest
    assert world.executions() == []

    summary = world.builder(max_files=2).flush()

    assert summary["manifests_started"] == 1
    [execution] = world.executions()
    assert execution["name"] == manifest["manifest_id"]
    [manifest] = world.manifests()
    assert manifest["execution_arn"] == execution["executionArn"]
    # A second flush finds nothing left to start.
    assert world.builder().flush()["manifests_started"] == 0


class _DiesAfterFlips:
    """A DynamoDB client whose process dies after `n` files were flipped to a manifest."""

    def __init__(self, client: Any, n: int) -> None:
        self._client = client
        self._left = n
        self._lock = threading.Lock()

    def update_item(self, **kwargs: Any) -> Any:
        if ":pending" in kwargs.get("ExpressionAttributeValues", {}):
            with self._lock:
                self._left -= 1
                if self._left < 0:
                    raise Crash
        return self._client.update_item(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_a_crash_mid_cut_is_finished_by_the_next_lease_holder(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    builder = world.builder(max_files=150, max_bytes=10**9, lock_ttl_seconds=60)
    keys = [(f"2024-03-05/f{i:03}.ndjson", 1) for i in range(150)]
    deliver(builder, *keys[:149])
    builder.store.client = _DiesAfterFlips(builder.store.client, n=100)
    with monkeypatch.context() as patch:
        patch.setattr(lock.Lease, "release", lambda self: None)  # a dead process releases nothing
        with pytest.raises(Crash):
            deliver(builder, keys[149])

    flipped = [f for f in world.files() if f["status"] == "manifested"]
    assert 100 <= len(flipped) < 150  # (flips run in parallel: those under way finish)
    [batch] = world.items("BATCH#")
    journaled = batch["inflight_manifest_id"]
    assert {f["manifest_id"] for f in flipped} == {journaled}
    assert world.manifests() == []

    # While the dead holder's lease lasts, nobody cuts.
    survivor = world.builder(max_files=150, max_bytes=10**9, lock_ttl_seconds=60)
    deliver(survivor, ("2024-03-05/late1.ndjson", 1))
    assert world.manifests() == []

    world.clock.advance(61)
    deliver(survivor, ("2024-03-05/late2.ndjson", 1))

    [manifest] = world.manifests()
    assert manifest["manifest_id"] == journaled
    assert manifest["file_count"] == 150
    assert {f["key"] for f in world.manifest_document(manifest)["files"]} == {k for k, _ in keys}
    [batch] = world.items("BATCH#")
    assert "inflight_manifest_id" not in batch
    assert (batch["pending_files"], batch["pending_bytes"]) == (2, 2)
    assert len(world.executions()) == 1


def test_a_crash_after_the_journal_is_finished_by_the_flush(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    builder = world.builder(max_files=3)
    builder.store.client = _DiesAfterFlips(builder.store.client, n=0)
    with monkeypatch.context() as patch:
        patch.setattr(lock.Lease, "release", lambda self: None)
        with pytest.raises(Crash):
            deliver(builder, *[(f"2024-03-05/f{i}.ndjson", 1) for i in range(3)])
    assert {f["status"] for f in world.files()} == {"pending"}

    world.clock.advance(3600)
    summary = world.builder(max_files=3).flush()

    assert summary["manifests_created"] == 1
    assert_each_file_in_one_manifest(world)


def test_an_already_existing_execution_counts_as_started(world: World) -> None:
    builder = world.builder(max_files=1)
    deliver(builder, ("2024-03-05/a.ndjson", 1))
    [manifest] = world.manifests()
    [execution] = world.executions()
    # Forget the start, as if the process died after StartExecution returned.
    world.dynamodb.update_item(
        TableName="tracking",
        Key={"pk": {"S": manifest["pk"]}, "sk": {"S": manifest["sk"]}},
        UpdateExpression="REMOVE execution_arn",
    )

    summary = world.builder().flush()

    assert summary["manifests_started"] == 1
    assert summary["start_failures"] == 0
    assert len(world.executions()) == 1
    [manifest] = world.manifests()
    assert manifest["execution_arn"] == execution["executionArn"]
    assert manifest["start_attempts"] == 2


def test_manifests_cut_without_a_state_machine_start_once_it_is_set(world: World) -> None:
    deliver(world.builder(max_files=1, step_function_arn=""), ("2024-03-05/a.ndjson", 1))
    assert world.builder(step_function_arn="").flush()["manifests_started"] == 0
    assert world.executions() == []

    summary = world.builder().flush()

    assert summary["manifests_started"] == 1
    assert len(world.executions()) == 1


def test_a_failed_start_is_recorded_and_retried_by_the_flush(world: World) -> None:
    missing = world.state_machine_arn.replace(":processor", ":missing")
    invocation = deliver(
        world.builder(max_files=1, step_function_arn=missing), ("2024-03-05/a.ndjson", 1)
    )

    assert invocation.counts.start_failures == 1
    [manifest] = world.manifests()
    assert "execution_arn" not in manifest
    assert manifest["last_start_error"].startswith("StateMachineDoesNotExist")

    assert world.builder().flush()["manifests_started"] == 1
    assert len(world.executions()) == 1


def test_a_held_lease_blocks_others_until_it_expires(world: World) -> None:
    store = world.builder().store
    held = lock.acquire(store, "2024-03-05", 30, world.clock)
    assert held is not None
    assert lock.acquire(store, "2024-03-05", 30, world.clock) is None
    assert lock.acquire(store, "2024-03-06", 30, world.clock) is not None
    world.clock.advance(31)
    taken = lock.acquire(store, "2024-03-05", 30, world.clock)
    assert taken is not None
    # The old holder can neither renew nor release the new holder's lease.
    assert not held.renew(30)
    held.release()
    assert lock.acquire(store, "2024-03-05", 30, world.clock) is None
    taken.release()
    assert lock.acquire(store, "2024-03-05", 30, world.clock) is not None


def test_a_crash_before_the_journal_leaves_nothing_half_done(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    builder = world.builder(max_files=2)
    put = builder.s3.put_object

    def die_after_staging(**kwargs: Any) -> Any:
        put(**kwargs)
        raise Crash

    monkeypatch.setattr(builder.s3, "put_object", die_after_staging)
    with monkeypatch.context() as patch:
        patch.setattr(lock.Lease, "release", lambda self: None)
        with pytest.raises(Crash):
            deliver(builder, ("2024-03-05/a.ndjson", 1), ("2024-03-05/b.ndjson", 1))
    [batch] = world.items("BATCH#")
    assert "inflight_manifest_id" not in batch
    [staged] = world.manifest_keys()
    assert "/dt=" not in staged  # a staged list, in no folder readers list

    world.clock.advance(3600)
    summary = world.builder(max_files=2).flush()

    assert summary["manifests_created"] == 1
    [manifest] = world.manifests()
    assert manifest["manifest_id"] not in staged
    assert_each_file_in_one_manifest(world)
    assert world.published_documents() == [manifest["manifest_path"]]
    [batch] = world.items("BATCH#")
    assert "inflight_manifest_id" not in batch


def test_a_holder_that_outlives_its_lease_only_repeats_work(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow = world.builder(max_files=3, lock_ttl_seconds=60)
    deliver(slow, ("2024-03-05/a.ndjson", 1), ("2024-03-05/b.ndjson", 1))
    takeover: dict[str, int] = {}
    flip = slow.cutter._flip

    def paused_flip(manifest_id: str, candidates: Any) -> Any:
        # The holder stalls past its lease; the flush takes over and finishes its manifest.
        world.clock.advance(61)
        takeover.update(world.builder(max_files=3).flush())
        return flip(manifest_id, candidates)

    monkeypatch.setattr(slow.cutter, "_flip", paused_flip)
    invocation = deliver(slow, ("2024-03-05/c.ndjson", 1))

    assert takeover["manifests_created"] == 1
    assert invocation.counts.manifests_created == 0  # the stalled holder made nothing new
    [manifest] = world.manifests()
    assert manifest["file_count"] == 3
    assert_each_file_in_one_manifest(world)
    [batch] = world.items("BATCH#")
    assert (batch["pending_files"], batch["pending_bytes"]) == (0, 0)
    assert len(world.executions()) == 1


def test_a_crash_between_registering_and_counting_is_repaired(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ndjson_parquet.manifest_builder import builder as builder_module

    body = s3_body(s3_record("2024-03-05/a.ndjson", 5, etag="e1"))
    first = world.builder(max_files=2)
    with monkeypatch.context() as patch:

        def die(*_: Any, **__: Any) -> Any:
            raise Crash

        patch.setattr(builder_module, "add_to_batch", die)
        invocation = Invocation()
        first.register_body(body, invocation)
        with pytest.raises(Crash):
            first.settle(invocation, lambda: False)
    assert world.items("BATCH#") == []  # registered, but no batch lists its date prefix

    # SQS delivers the message again: a duplicate, which still makes the batch known.
    again = Invocation()
    world.builder(max_files=2).register_body(body, again)
    world.builder(max_files=2).settle(again, lambda: False)
    assert again.counts.duplicates == 1
    world.clock.advance(901)

    assert world.builder(max_files=2).flush()["manifests_created"] == 1
    assert_each_file_in_one_manifest(world)
