"""Many invocations at once: every file in exactly one manifest, every manifest within limits."""

from __future__ import annotations

import random
import threading
from collections import Counter

import pytest

from ndjson_parquet.manifest_builder.builder import Invocation, ManifestBuilder
from tests.manifest_builder.harness import World, s3_body, s3_record

THREADS = 8
FILES = 2_000
MAX_FILES = 50
MAX_BYTES = 60_000
MESSAGES_PER_BATCH = 10
SLOTS = 4


def run_invocations(
    builder: ManifestBuilder, bodies: list[str], errors: list[BaseException]
) -> None:
    try:
        for start in range(0, len(bodies), MESSAGES_PER_BATCH):
            invocation = Invocation()
            for body in bodies[start : start + MESSAGES_PER_BATCH]:
                builder.register_body(body, invocation)
            builder.settle(invocation, lambda: False)
    except BaseException as exc:
        errors.append(exc)


@pytest.mark.slow
@pytest.mark.usefixtures("serialized_moto_dynamodb")
def test_eight_threads_register_two_thousand_files(world: World) -> None:
    rng = random.Random(7)
    days = ["2024-03-05", "2024-03-06", "2024-03-07"]
    files = [
        (f"{rng.choice(days)}/part-{i:05}.ndjson", rng.randint(1, 5_000), f"etag{i}")
        for i in range(FILES)
    ]
    # A few oversized files, and every tenth event delivered twice (by another thread).
    files += [(f"2024-03-06/huge-{i}.ndjson", MAX_BYTES + 1 + i, f"huge{i}") for i in range(3)]
    bodies = [s3_body(s3_record(key, size, etag)) for key, size, etag in files]
    bodies += bodies[::10]
    rng.shuffle(bodies)
    shares = [bodies[i::THREADS] for i in range(THREADS)]
    builders = [
        world.builder(max_files=MAX_FILES, max_bytes=MAX_BYTES, max_concurrent_runs=SLOTS)
        for _ in range(THREADS)
    ]
    errors: list[BaseException] = []
    threads = [
        threading.Thread(target=run_invocations, args=(b, share, errors))
        for b, share in zip(builders, shares, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []

    # The remainders (less than a full manifest per day) go with the age flush.
    world.clock.advance(3_600)
    world.builder(max_files=MAX_FILES, max_bytes=MAX_BYTES, max_concurrent_runs=SLOTS).flush()

    expected = {(key, etag): size for key, size, etag in files}
    items = world.files()
    assert len(items) == len(expected)
    listed: Counter[tuple[str, str]] = Counter()
    for manifest in world.manifests():
        entries = world.manifest_document(manifest)["files"]
        assert "files" not in manifest  # the document is the one list
        assert manifest["file_count"] == len(entries) <= MAX_FILES
        total = sum(e["size"] for e in entries)
        assert manifest["total_bytes"] == total
        assert total <= MAX_BYTES or len(entries) == 1
        assert {e["key"].split("/")[0] for e in entries} == {manifest["date_prefix"]}
        for e in entries:
            listed[(e["key"], e["etag"])] += 1
            assert expected[(e["key"], e["etag"])] == e["size"]
    assert set(listed) == set(expected)
    assert max(listed.values()) == 1
    for item in items:
        assert item["status"] == "manifested"
    # As many manifests started as there are slots (the executions here never end), each
    # once; the others wait queued. Every hint settled back to zero.
    names = sorted(e["name"] for e in world.executions())
    manifests = world.manifests()
    assert len(names) == len(set(names)) == SLOTS
    assert set(names) <= {m["manifest_id"] for m in manifests}
    assert sorted(world.slot_holders()) == names
    assert {m["status"] for m in manifests} == {"queued"}
    for batch in world.items("BATCH#"):
        assert (batch["pending_files"], batch["pending_bytes"]) == (0, 0)
        assert "inflight_manifest_id" not in batch
