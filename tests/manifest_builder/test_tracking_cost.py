"""What tracking a file costs in the table: item sizes and write units, indexes included."""

from __future__ import annotations

from typing import Any

import boto3

from benchmarks.manifest_builder.capacity import TABLE as TABLE_UNITS
from benchmarks.manifest_builder.capacity import CapacityMeter, item_bytes
from ndjson_parquet.common.keys import TableAttr, TableIndex, table_definition
from ndjson_parquet.manifest_builder import handler
from ndjson_parquet.manifest_builder.builder import ManifestBuilder
from tests.manifest_builder.harness import TABLE, FakeContext, World, s3_body, s3_record, sqs_event

# Long keys: a manifest's list grows with them, its item must not.
LONG = "x" * 150
FILES = 300


def _register(builder: ManifestBuilder, keys: list[str], batch: int = 50) -> None:
    handler.use_builder(builder)
    try:
        for start in range(0, len(keys), batch):
            bodies = [s3_body(s3_record(k, 1_000)) for k in keys[start : start + batch]]
            assert handler.lambda_handler(sqs_event(*bodies), FakeContext()) == {
                "batchItemFailures": []
            }
    finally:
        handler.use_builder(None)


def _raw_items(world: World, prefix: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for page in world.dynamodb.get_paginator("scan").paginate(TableName=TABLE):
        items += [i for i in page["Items"] if i["pk"]["S"].startswith(prefix)]
    return items


def test_a_manifest_item_stays_under_one_kb_whatever_its_file_count(world: World) -> None:
    keys = [f"2024-03-05/{LONG}-{i:04}.ndjson" for i in range(FILES)]
    _register(world.builder(max_files=FILES, max_bytes=10**9), keys)

    [item] = _raw_items(world, "MANIFEST#")
    assert item["file_count"] == {"N": str(FILES)}
    assert item_bytes(item) < 1024
    # The list is the S3 document's; everything that needs it reads it there.
    [manifest] = world.manifests()
    assert sorted(f["key"] for f in world.manifest_document(manifest)["files"]) == keys


def test_index_entries_hold_only_what_their_queries_read(world: World) -> None:
    _register(
        world.builder(max_files=3, max_bytes=10**9), [f"2024-03-05/{i}.ndjson" for i in range(4)]
    )

    def entries(index: str, key: str, value: str) -> list[dict[str, Any]]:
        return list(
            world.dynamodb.query(
                TableName=TABLE,
                IndexName=index,
                KeyConditionExpression="#k = :v",
                ExpressionAttributeNames={"#k": key},
                ExpressionAttributeValues={":v": {"S": value}},
            )["Items"]
        )

    [pending] = entries(TableIndex.PENDING, TableAttr.GSI1_PK, "PENDING#2024-03-05")
    assert "event_time" not in pending
    assert "status" not in pending
    assert {"bucket", "key", "etag", "size", "registered_at"} <= set(pending)
    [manifest] = entries(TableIndex.BY_STATUS, TableAttr.GSI2_PK, "STATUS#queued")
    assert "attempts" not in manifest
    assert "start_attempts" not in manifest
    assert {"manifest_id", "manifest_path", "file_count", "total_bytes"} <= set(manifest)


def test_tracking_a_file_costs_four_write_units_indexes_included(world: World) -> None:
    """Register (table and pending index) and flip (table, pending index entry removed): 4;
    each manifest adds a few single-unit writes, spread over its files."""
    builder = world.builder(max_files=100, max_bytes=10**9)
    meter = CapacityMeter(boto3.client("dynamodb"), table_definition(TABLE))
    meter.attach(builder.store.client)
    _register(builder, [f"2024-03-05/{LONG}-{i:04}.ndjson" for i in range(FILES)])

    units = meter.units
    manifests = len(world.manifests())
    assert manifests == FILES // 100
    # Per file: 2 on the table, 2 on the pending index; the rest is per manifest.
    assert 2 * FILES < units.write[TABLE_UNITS] <= 2 * FILES + 15 * manifests, units
    assert 2 * FILES <= units.write[TableIndex.PENDING] <= 2 * FILES + 3 * manifests, units
    # Put (manifested), queued (a move: delete and put), started (its execution recorded).
    assert units.write[TableIndex.BY_STATUS] <= 4 * manifests, units
