"""The SQS handler end to end against moto: registration, duplicates, thresholds, failures."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest

from ndjson_parquet.common import Manifest
from ndjson_parquet.manifest_builder import handler
from ndjson_parquet.manifest_builder.builder import ManifestBuilder
from tests.manifest_builder.harness import (
    FakeContext,
    World,
    s3_body,
    s3_record,
    sqs_event,
)


@pytest.fixture
def invoke(world: World) -> Iterator[Any]:
    """Call the real Lambda handler with a builder over the mocked account."""

    def call(builder: ManifestBuilder, *bodies: str) -> dict[str, Any]:
        handler.use_builder(builder)
        return dict(handler.lambda_handler(sqs_event(*bodies), FakeContext()))

    yield call
    handler.use_builder(None)


def files_by_status(world: World) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in world.files():
        counts[item["status"]] = counts.get(item["status"], 0) + 1
    return counts


def test_registers_pending_files_below_the_limits(world: World, invoke: Any) -> None:
    builder = world.builder()
    response = invoke(builder, s3_body(s3_record("2024-03-05/a.ndjson", 10)))

    assert response == {"batchItemFailures": []}
    [item] = world.files()
    assert item["status"] == "pending"
    assert item["key"] == "2024-03-05/a.ndjson"
    assert item["date_prefix"] == "2024-03-05"
    assert item["gsi1pk"] == "PENDING#2024-03-05"
    assert world.manifests() == []


def test_a_repeated_event_is_a_duplicate_and_changes_nothing(world: World, invoke: Any) -> None:
    builder = world.builder()
    body = s3_body(s3_record("2024-03-05/a.ndjson", 10, etag="e1"))
    invoke(builder, body)
    before = world.files()
    invoke(builder, body, body)

    assert world.files() == before
    [batch] = world.items("BATCH#")
    assert batch["pending_files"] == 1
    assert batch["pending_bytes"] == 10


def test_a_new_etag_is_a_new_version(world: World, invoke: Any) -> None:
    builder = world.builder()
    invoke(builder, s3_body(s3_record("2024-03-05/a.ndjson", 10, etag="e1")))
    invoke(builder, s3_body(s3_record("2024-03-05/a.ndjson", 12, etag="e2")))

    assert sorted(i["etag"] for i in world.files()) == ["e1", "e2"]


def test_cuts_a_manifest_when_the_file_count_is_reached(world: World, invoke: Any) -> None:
    builder = world.builder(max_files=3, max_bytes=10**9)
    bodies = [s3_body(s3_record(f"2024-03-05/f{i}.ndjson", 10)) for i in range(4)]
    invoke(builder, *bodies[:2])
    assert world.manifests() == []
    invoke(builder, *bodies[2:])

    [manifest] = world.manifests()
    assert manifest["file_count"] == 3
    # Queued, and started at once (a slot was free); its execution makes it processing.
    assert manifest["status"] == "queued"
    assert manifest["gsi2pk"] == "STATUS#queued"
    assert manifest["execution_arn"].endswith(f":{manifest['manifest_id']}")
    taken = {f["key"] for f in world.manifest_document(manifest)["files"]}
    # Arrival order: the three oldest files, the fourth stays pending.
    assert taken == {f"2024-03-05/f{i}.ndjson" for i in range(3)}
    assert files_by_status(world) == {"manifested": 3, "pending": 1}
    [pending] = [i for i in world.files() if i["status"] == "pending"]
    assert pending["key"] == "2024-03-05/f3.ndjson"
    for item in world.files():
        if item["status"] == "manifested":
            assert item["manifest_id"] == manifest["manifest_id"]
            assert "gsi1pk" not in item
    [batch] = world.items("BATCH#")
    assert (batch["pending_files"], batch["pending_bytes"]) == (1, 10)
    assert "inflight_manifest_id" not in batch


def test_the_manifest_document_and_the_workflow_input(world: World, invoke: Any) -> None:
    builder = world.builder(max_files=2)
    invoke(
        builder,
        s3_body(s3_record("2024-03-05/a.ndjson", 7, etag="ea")),
        s3_body(s3_record("2024-03-05/b.ndjson", 9, etag="eb")),
    )

    [item] = world.manifests()
    document = Manifest.model_validate(world.manifest_document(item))
    assert document.manifest_id == item["manifest_id"]
    assert document.total_bytes == 16
    assert {(f.key, f.etag, f.size) for f in document.files} == {
        ("2024-03-05/a.ndjson", "ea", 7),
        ("2024-03-05/b.ndjson", "eb", 9),
    }
    assert item["manifest_path"] == (
        f"s3://manifest-bucket/manifests/dt=2024-03-05/{item['manifest_id']}.json"
    )
    [execution] = world.executions()
    assert execution["name"] == item["manifest_id"]
    assert item["execution_arn"] == execution["executionArn"]
    described = world.sfn.describe_execution(executionArn=execution["executionArn"])
    assert json.loads(described["input"]) == {
        "manifest_path": item["manifest_path"],
        "manifest_id": item["manifest_id"],
        "date_prefix": "2024-03-05",
        "file_count": 2,
        "total_bytes": 16,
        "timestamp": item["created_at"],
    }


def test_cuts_by_bytes_and_never_exceeds_the_limit(world: World, invoke: Any) -> None:
    builder = world.builder(max_files=100, max_bytes=100)
    sizes = [40, 30, 20, 25, 50]
    invoke(
        builder,
        *[s3_body(s3_record(f"2024-03-05/f{i}.ndjson", s)) for i, s in enumerate(sizes)],
    )

    manifests = world.manifests()
    # 40+30+20 = 90 fits, +25 would not: cut at 90; 25+50 = 75 stays pending.
    assert [m["total_bytes"] for m in manifests] == [90]
    assert files_by_status(world) == {"manifested": 3, "pending": 2}


def test_a_file_larger_than_the_byte_limit_gets_a_manifest_of_its_own(
    world: World, invoke: Any
) -> None:
    builder = world.builder(max_files=100, max_bytes=100)
    invoke(
        builder,
        s3_body(s3_record("2024-03-05/small.ndjson", 10)),
        s3_body(s3_record("2024-03-05/huge.ndjson", 500)),
    )

    by_count = sorted((m["file_count"], m["total_bytes"]) for m in world.manifests())
    # small (10) could not share with huge: it is cut when huge arrives, huge goes alone.
    assert by_count == [(1, 10), (1, 500)]
    assert files_by_status(world) == {"manifested": 2}


def test_groups_are_cut_per_date_prefix(world: World, invoke: Any) -> None:
    builder = world.builder(max_files=2)
    invoke(
        builder,
        s3_body(s3_record("2024-03-05/a.ndjson", 1)),
        s3_body(s3_record("2024-03-06/b.ndjson", 1)),
        s3_body(s3_record("dt=2024-03-05/c.ndjson", 1)),
    )

    [manifest] = world.manifests()
    assert manifest["date_prefix"] == "2024-03-05"
    assert {f["key"] for f in world.manifest_document(manifest)["files"]} == {
        "2024-03-05/a.ndjson",
        "dt=2024-03-05/c.ndjson",
    }


def test_bad_messages_fail_alone(world: World, invoke: Any) -> None:
    builder = world.builder()
    missing_size = s3_record("2024-03-05/nosize.ndjson", 1)
    del missing_size["s3"]["object"]["size"]
    missing_bucket = s3_record("2024-03-05/nobucket.ndjson", 1)
    del missing_bucket["s3"]["bucket"]
    bodies = [
        s3_body(s3_record("2024-03-05/good1.ndjson", 1)),
        "this is not json",
        s3_body(missing_size),
        json.dumps({"Records": "nope"}),
        s3_body(missing_bucket),
        s3_body(s3_record("2024-03-05/good2.ndjson", 1)),
    ]

    response = invoke(builder, *bodies)

    failed = sorted(f["itemIdentifier"] for f in response["batchItemFailures"])
    assert failed == ["msg-1", "msg-2", "msg-3", "msg-4"]
    assert sorted(i["key"] for i in world.files()) == [
        "2024-03-05/good1.ndjson",
        "2024-03-05/good2.ndjson",
    ]


def test_a_malformed_sqs_record_fails_alone(world: World, invoke: Any) -> None:
    event = sqs_event(s3_body(s3_record("2024-03-05/ok.ndjson", 1)), "x")
    del event["Records"][1]["attributes"]
    handler.use_builder(world.builder())
    response = handler.lambda_handler(event, FakeContext())

    assert response["batchItemFailures"] == [{"itemIdentifier": "msg-1"}]
    assert [i["key"] for i in world.files()] == ["2024-03-05/ok.ndjson"]


def test_test_events_other_suffixes_and_prefixes_are_ignored(world: World, invoke: Any) -> None:
    builder = world.builder(input_prefix="landing/")
    test_event = json.dumps(
        {
            "Service": "Amazon S3",
            "Event": "s3:TestEvent",
            "Time": "2024-03-05T12:00:00.000Z",
            "Bucket": "input-bucket",
            "RequestId": "R",
            "HostId": "H",
        }
    )
    removed = s3_record("landing/2024-03-05/gone.ndjson", 0, event_name="ObjectRemoved:Delete")
    response = invoke(
        builder,
        test_event,
        s3_body(s3_record("landing/2024-03-05/_SUCCESS", 0)),
        s3_body(s3_record("landing/2024-03-05/data.csv", 5)),
        s3_body(s3_record("elsewhere/2024-03-05/a.ndjson", 5)),
        s3_body(removed),
        s3_body(s3_record("landing/2024-03-05/kept.jsonl.gz", 5)),
    )

    assert response == {"batchItemFailures": []}
    assert [i["key"] for i in world.files()] == ["landing/2024-03-05/kept.jsonl.gz"]


@pytest.mark.parametrize(
    "key",
    ["2024-03-05/with space.ndjson", "2024-03-05/a+b.ndjson", "2024-03-05/ünï cödé ✓.ndjson"],
)
def test_keys_are_decoded(world: World, invoke: Any, key: str) -> None:
    invoke(world.builder(), s3_body(s3_record(key, 3)))

    [item] = world.files()
    assert item["key"] == key
    assert item["pk"] == f"FILE#input-bucket/{key}"


def test_the_eventbridge_form_and_sns_envelope_are_accepted(world: World, invoke: Any) -> None:
    eventbridge = {
        "version": "0",
        "id": "17793124-05d4-b198-2fde-7ededc63b103",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "123456789012",
        "time": "2024-03-05T11:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:s3:::input-bucket"],
        "detail": {
            "version": "0",
            "bucket": {"name": "input-bucket"},
            "object": {"key": "eb/2024-03-05/x.ndjson", "size": 5, "etag": "abc", "sequencer": "1"},
            "request-id": "R",
            "requester": "123456789012",
            "source-ip-address": "1.2.3.4",
            "reason": "PutObject",
        },
    }
    sns = {"Type": "Notification", "Message": s3_body(s3_record("sns/2024-03-05/y.ndjson", 6))}
    response = invoke(world.builder(), json.dumps(eventbridge), json.dumps(sns))

    assert response == {"batchItemFailures": []}
    assert sorted(i["key"] for i in world.files()) == [
        "eb/2024-03-05/x.ndjson",
        "sns/2024-03-05/y.ndjson",
    ]


def test_empty_state_machine_arn_leaves_the_manifest_manifested(world: World, invoke: Any) -> None:
    builder = world.builder(max_files=1, step_function_arn="")
    invoke(builder, s3_body(s3_record("2024-03-05/a.ndjson", 1)))

    [manifest] = world.manifests()
    assert manifest["status"] == "manifested"
    assert "execution_arn" not in manifest
    assert world.executions() == []


def test_log_lines_carry_the_message_id_as_correlation_id(
    world: World, invoke: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    stream = io.StringIO()
    monkeypatch.setattr(handler.logger.registered_handler, "stream", stream)
    invoke(
        world.builder(),
        s3_body(s3_record("2024-03-05/a.ndjson", 1)),
        s3_body(s3_record("2024-03-05/skipped.csv", 1)),
    )

    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    [ignored] = [line for line in lines if "skipped.csv" in line["message"]]
    assert ignored["correlation_id"] == "msg-1"
    assert ignored["message_id"] == "msg-1"
    [done] = [line for line in lines if line["message"] == "batch done"]
    assert done["counts"]["files_registered"] == 1
    assert done["counts"]["ignored"] == 1
