"""A holder that stalls past its lease, at each step of a cut, while another one takes over.

The stalled holder is resumed after the successor finished; whatever it does then, every file
ends up in exactly one manifest, the only documents readers can list are those of manifests
with an item, and every manifest has one execution.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ndjson_parquet.manifest_builder.builder import Invocation, ManifestBuilder
from tests.manifest_builder.harness import MANIFEST_BUCKET, World, s3_body, s3_record
from tests.manifest_builder.steps import StepSession

# The steps of one cut, in order, where a holder can stall (after the request returned).
CUT_STEPS = [
    ("lease", 1),
    ("stage", 1),
    ("journal", 1),
    ("flip", 1),
    ("flip", 2),
    ("publish", 1),
    ("item", 1),
    ("settle", 1),
    ("discard", 1),
    ("start", 1),
]
LEASE = 60
OVERDUE = 1_000  # past the lease and past MAX_WAIT_SECONDS: the flush takes over


def check_prefix(world: World, prefix: str) -> list[str]:
    """What is wrong with the prefix's files, manifests, documents and executions."""
    problems: list[str] = []
    manifests = [m for m in world.manifests() if m["date_prefix"] == prefix]
    ids = {m["manifest_id"] for m in manifests}
    listed: Counter[str] = Counter()
    for manifest in manifests:
        for entry in world.manifest_document(manifest)["files"]:
            listed[entry["key"]] += 1
    files = [f for f in world.files() if f["date_prefix"] == prefix]
    if set(listed) != {f["key"] for f in files} or any(n != 1 for n in listed.values()):
        problems.append(f"files not each in one manifest: {dict(listed)}")
    for f in files:
        if f["status"] != "manifested" or f.get("manifest_id") not in ids:
            problems.append(f"{f['key']} is {f['status']} in {f.get('manifest_id')}")
    published = [p for p in world.published_documents() if f"/dt={prefix}/" in p]
    if sorted(published) != sorted(m["manifest_path"] for m in manifests):
        problems.append(f"documents {published} for manifests {sorted(ids)}")
    staged = [k for k in world.manifest_keys() if "/dt=" not in k]
    if staged:
        problems.append(f"staged lists left: {staged}")
    names = Counter(e["name"] for e in world.executions() if e["name"].startswith(prefix))
    if set(names) != ids or any(n != 1 for n in names.values()):
        problems.append(f"executions {dict(names)} for manifests {sorted(ids)}")
    for batch in world.items(f"BATCH#{prefix}"):
        if "inflight_manifest_id" in batch or batch["pending_files"] != 0:
            problems.append(f"batch left {batch}")
    return problems


def stalled_builder(world: World, target: tuple[str, int], taken_over: list[str]) -> Any:
    """A builder that, right after `target`, stalls until another builder took over."""

    def after(step: str, n: int) -> None:
        if (step, n) == target and not taken_over:
            taken_over.append(step)
            world.clock.advance(OVERDUE)
            world.builder(max_files=2, lock_ttl_seconds=LEASE).flush()

    settings = replace(world.settings, max_files=2, lock_ttl_seconds=LEASE)
    return ManifestBuilder(settings, clock=world.clock, session=StepSession(after))


@pytest.mark.usefixtures("serialized_moto_dynamodb")
def test_a_holder_stalled_past_its_lease_at_any_step_leaves_one_manifest_per_file(
    world: World,
) -> None:
    problems: dict[str, list[str]] = {}
    for day, target in enumerate(CUT_STEPS, start=1):
        prefix = f"2024-04-{day:02}"
        taken_over: list[str] = []
        holder = stalled_builder(world, target, taken_over)
        invocation = Invocation()
        for name in ("a", "b"):
            holder.register_body(s3_body(s3_record(f"{prefix}/{name}.ndjson", 1)), invocation)
        holder.settle(invocation, lambda: False)  # must not raise, whatever happened
        world.clock.advance(OVERDUE)
        world.builder().flush()  # starts what the stalled holder left unstarted
        found = check_prefix(world, prefix) + ([] if taken_over else ["step never reached"])
        if found:
            problems[f"stalled after {target[0]} #{target[1]}"] = found
    assert problems == {}, "\n".join(f"{k}: {v}" for k, v in problems.items())


class _JournalTakenThenCleared:
    """A DynamoDB client whose journal write loses to another holder that has already
    settled and cleared its journal by the time this one reads the batch."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def update_item(self, **kwargs: Any) -> Any:
        if "attribute_not_exists(#id)" in kwargs.get("ConditionExpression", ""):
            raise ClientError(
                {"Error": {"Code": "ConditionalCheckFailedException", "Message": "taken"}},
                "UpdateItem",
            )
        return self._client.update_item(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_a_lost_journal_whose_winner_already_settled_fails_no_message(world: World) -> None:
    builder = world.builder(max_files=2)
    builder.store.client = _JournalTakenThenCleared(builder.store.client)
    invocation = Invocation()
    for name in ("a", "b"):
        builder.register_body(s3_body(s3_record(f"2024-03-05/{name}.ndjson", 1)), invocation)

    builder.settle(invocation, lambda: False)

    assert invocation.counts.files_registered == 2
    assert world.manifests() == []
    # The staged list of the cut that lost its claim is gone; nothing was published.
    assert world.s3.list_objects_v2(Bucket=MANIFEST_BUCKET).get("KeyCount", 0) == 0
    world.clock.advance(OVERDUE)
    assert world.builder(max_files=2).flush()["manifests_created"] == 1
    assert check_prefix(world, "2024-03-05") == []
