"""Operator commands against moto, on items written by the real manifest builder."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from ndjson_parquet.cli.errors import ExitCode
from ndjson_parquet.cli.main import main
from ndjson_parquet.cli.operator import inspect as inspect_cmd
from ndjson_parquet.cli.operator import orphans, redrive, status, stuck
from ndjson_parquet.common import Status
from ndjson_parquet.common.keys import ManifestAttr
from tests.cli.conftest import ENVIRONMENT, MAX_FILES, World

DAY_A = "2024-05-01"
DAY_B = "2024-05-02"


def _keys(day: str, count: int) -> list[str]:
    return [f"events/{day}/part-{i:03d}.ndjson" for i in range(count)]


def test_status_counts_pending_files_and_manifests_per_date_prefix(world: World) -> None:
    world.upload(*_keys(DAY_A, MAX_FILES + 2), *_keys(DAY_B, 2))

    rows = {r.date_prefix: r for r in status.collect_status(world.tracking)}

    assert set(rows) == {DAY_A, DAY_B}
    # Day A crossed the file-count threshold once; the rest of both days waits for the flush.
    assert rows[DAY_A].pending_files == 2
    # Queued (its execution started at once; moto here runs none, so it is never claimed).
    assert rows[DAY_A].manifests[str(Status.QUEUED)] == 1
    assert rows[DAY_A].files[str(Status.QUEUED)] == MAX_FILES
    assert rows[DAY_B].pending_files == 2
    assert sum(rows[DAY_B].manifests.values()) == 0


def test_status_command_prints_json(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    world.upload(*_keys(DAY_A, MAX_FILES))

    assert main(["status", "--env", ENVIRONMENT, "--json"]) == 0

    out = json.loads(capsys.readouterr().out)
    (row,) = out["date_prefixes"]
    assert row["date_prefix"] == DAY_A
    assert row["manifests"]["queued"] == 1
    assert row["files"]["queued"] == MAX_FILES
    assert row["pending_files"] == 0


def test_orphans_lists_only_files_pending_longer_than_the_bound(world: World) -> None:
    world.upload(*_keys(DAY_A, 2))
    now = datetime.now(UTC)

    assert orphans.find_orphans(world.tracking, timedelta(minutes=30), now=now) == []
    later = orphans.find_orphans(
        world.tracking, timedelta(minutes=30), now=now + timedelta(hours=1)
    )
    assert sorted(o["uri"] for o in later) == [
        f"s3://{world.names.input_bucket}/{k}" for k in sorted(_keys(DAY_A, 2))
    ]
    assert all(o["age_seconds"] >= 3600 for o in later)


def test_orphans_exit_status_tells_whether_any_were_found(world: World) -> None:
    world.upload(*_keys(DAY_A, 1))
    assert main(["orphans", "--env", ENVIRONMENT, "--older-than", "1h"]) == 0
    # Registered in the past second: older than zero seconds.
    assert main(["orphans", "--env", ENVIRONMENT, "--older-than", "0s", "--json"]) == 1


def test_stuck_reports_never_started_and_long_processing_manifests(world: World) -> None:
    world.upload(*_keys(DAY_A, MAX_FILES), *_keys(DAY_B, MAX_FILES))
    first, second = sorted(world.manifests(), key=lambda m: m[ManifestAttr.DATE_PREFIX])
    two_hours_ago = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    world.set_status(first[ManifestAttr.MANIFEST_ID], Status.PROCESSING, two_hours_ago)
    sfn = boto3.client("stepfunctions")

    found = stuck.find_stuck(world.tracking, timedelta(hours=1), sfn=sfn, state_machine_arn=None)

    assert [(s["manifest_id"], s["reason"]) for s in found] == [
        (first[ManifestAttr.MANIFEST_ID], "processing too long")
    ]
    # Both were started by the builder (moto here runs no execution): it is shown.
    assert found[0]["execution_status"] == "RUNNING"
    later = stuck.find_stuck(
        world.tracking, timedelta(hours=1), now=datetime.now(UTC) + timedelta(hours=3)
    )
    assert {(s["manifest_id"], s["reason"]) for s in later} == {
        (first[ManifestAttr.MANIFEST_ID], "processing too long"),
        (second[ManifestAttr.MANIFEST_ID], "queued for a conversion slot"),
    }


def test_redrive_of_a_failed_manifest_queues_a_numbered_execution(world: World) -> None:
    world.upload(*_keys(DAY_A, MAX_FILES))
    (manifest,) = world.manifests()
    manifest_id = manifest[ManifestAttr.MANIFEST_ID]
    world.set_status(manifest_id, Status.FAILED, datetime.now(UTC).isoformat())
    sfn = boto3.client("stepfunctions")
    machine = world.deployment.state_machine_arn
    (running,) = redrive.plan(world.tracking, sfn, [manifest_id], machine)
    assert running.action == redrive.SKIP  # its execution has not ended yet
    sfn.stop_execution(executionArn=manifest[ManifestAttr.EXECUTION_ARN])

    (dry,) = redrive.plan(world.tracking, sfn, [manifest_id], machine)
    assert (dry.action, dry.new_execution_name) == (redrive.START, f"{manifest_id}-r1")
    names_before = {e["name"] for e in sfn.list_executions(stateMachineArn=machine)["executions"]}
    assert names_before == {manifest_id}  # planning alone starts nothing

    redrive.execute(world.tracking, sfn, [dry], machine)

    # Queued behind the others, under its new name; the admission control starts it.
    assert str(dry.result).startswith(f"queued as {manifest_id}-r1")
    queued = world.tracking.manifest(manifest_id)
    assert queued is not None
    assert queued[ManifestAttr.STATUS] == Status.QUEUED
    assert queued[ManifestAttr.NEXT_EXECUTION] == f"{manifest_id}-r1"
    assert world.flush()["manifests_started"] == 1
    started = sfn.describe_execution(
        executionArn=world.tracking.manifest(manifest_id)[ManifestAttr.EXECUTION_ARN]  # type: ignore[index]
    )
    assert started["name"] == f"{manifest_id}-r1"
    payload = json.loads(started["input"])
    assert payload["manifest_id"] == manifest_id
    assert payload["manifest_path"] == manifest[ManifestAttr.MANIFEST_PATH]
    assert payload["file_count"] == MAX_FILES
    (busy,) = redrive.plan(world.tracking, sfn, [manifest_id], machine)
    assert busy.action == redrive.SKIP  # the redriven execution is running
    sfn.stop_execution(executionArn=started["executionArn"])
    world.set_status(manifest_id, Status.FAILED, datetime.now(UTC).isoformat())
    (again,) = redrive.plan(world.tracking, sfn, [manifest_id], machine)
    assert again.new_execution_name == f"{manifest_id}-r2"


def test_redrive_leaves_completed_and_unknown_manifests_alone(world: World) -> None:
    world.upload(*_keys(DAY_A, MAX_FILES))
    (manifest,) = world.manifests()
    manifest_id = manifest[ManifestAttr.MANIFEST_ID]
    world.set_status(manifest_id, Status.COMPLETED, datetime.now(UTC).isoformat())
    sfn = boto3.client("stepfunctions")

    plans = redrive.plan(world.tracking, sfn, [manifest_id, "2024-05-01-nope"], None)
    redrive.execute(world.tracking, sfn, plans, world.deployment.state_machine_arn)

    assert [(p.action, p.result) for p in plans] == [(redrive.SKIP, None), (redrive.SKIP, None)]
    executions = sfn.list_executions(stateMachineArn=world.deployment.state_machine_arn)
    assert len(executions["executions"]) == 1


def test_redrive_of_an_execution_that_died_while_processing(world: World) -> None:
    world.upload(*_keys(DAY_A, MAX_FILES))
    (manifest,) = world.manifests()
    manifest_id = manifest[ManifestAttr.MANIFEST_ID]
    world.set_status(manifest_id, Status.PROCESSING, datetime.now(UTC).isoformat())
    sfn = boto3.client("stepfunctions")
    sfn.stop_execution(executionArn=manifest[ManifestAttr.EXECUTION_ARN])  # ABORTED

    (p,) = redrive.plan(world.tracking, sfn, [manifest_id], None)
    assert p.action == redrive.REDRIVE
    assert p.execution_arn == manifest[ManifestAttr.EXECUTION_ARN]
    redrive.execute(world.tracking, sfn, [p], world.deployment.state_machine_arn)

    # moto has no RedriveExecution: the fallback is a new execution of the same manifest.
    assert "RedriveExecution unavailable" in p.reason
    assert str(p.result).startswith("started")
    executions = sfn.list_executions(stateMachineArn=world.deployment.state_machine_arn)
    assert {e["name"] for e in executions["executions"]} == {manifest_id, f"{manifest_id}-r1"}


def test_redrive_command_is_a_dry_run_by_default(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.upload(*_keys(DAY_A, MAX_FILES))
    (manifest,) = world.manifests()
    world.set_status(
        manifest[ManifestAttr.MANIFEST_ID], Status.FAILED, datetime.now(UTC).isoformat()
    )
    sfn = boto3.client("stepfunctions")
    sfn.stop_execution(executionArn=manifest[ManifestAttr.EXECUTION_ARN])
    machine = world.deployment.state_machine_arn

    assert main(["redrive", "--env", ENVIRONMENT, "--failed", "--json"]) == 0
    dry = json.loads(capsys.readouterr().out)
    assert len(sfn.list_executions(stateMachineArn=machine)["executions"]) == 1
    assert (
        main(["redrive", "--env", ENVIRONMENT, "--failed", "--since", "1h", "--execute", "--json"])
        == 0
    )
    done = json.loads(capsys.readouterr().out)

    assert [p["action"] for p in dry["plans"]] == [redrive.START]
    assert done["plans"][0]["result"].startswith("queued")
    assert len(sfn.list_executions(stateMachineArn=machine)["executions"]) == 1
    world.flush()
    assert len(sfn.list_executions(stateMachineArn=machine)["executions"]) == 2
    assert main(["redrive", "--env", ENVIRONMENT]) == 2  # neither ids nor --failed


def test_inspect_a_file_shows_its_manifest_and_execution(world: World) -> None:
    keys = _keys(DAY_A, MAX_FILES)
    world.upload(*keys)
    (manifest,) = world.manifests()
    sfn = boto3.client("stepfunctions")

    story = inspect_cmd.inspect_file(
        world.tracking, sfn, f"s3://{world.names.input_bucket}/{keys[0]}", None
    )

    (version,) = story["versions"]
    assert version["file"]["key"] == keys[0]
    assert (
        version["manifest"]["manifest"][ManifestAttr.MANIFEST_ID]
        == manifest[ManifestAttr.MANIFEST_ID]
    )
    (execution,) = version["manifest"]["executions"]
    assert execution["name"] == manifest[ManifestAttr.MANIFEST_ID]


def test_inspect_a_file_overwritten_with_new_content_has_two_versions(world: World) -> None:
    (key,) = _keys(DAY_A, 1)
    world.upload(key, body=b'{"v": 1}\n')
    world.upload(key, body=b'{"v": 2}\n')

    story = inspect_cmd.inspect_file(
        world.tracking,
        boto3.client("stepfunctions"),
        f"s3://{world.names.input_bucket}/{key}",
        None,
    )

    assert len({v["file"]["etag"] for v in story["versions"]}) == 2


def test_inspect_lists_a_manifests_files_from_its_document(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """The item has counts only; the file list comes from the document, and a document that
    cannot be read is named, not a crash."""
    keys = _keys(DAY_A, MAX_FILES)
    world.upload(*keys)
    (manifest,) = world.manifests()
    manifest_id = manifest[ManifestAttr.MANIFEST_ID]

    assert main(["inspect", "--env", ENVIRONMENT, manifest_id, "--json"]) == 0
    story = json.loads(capsys.readouterr().out)
    assert "files" not in story["manifest"]
    assert sorted(f["key"] for f in story["files"]) == sorted(keys)

    bucket, _, key = str(manifest[ManifestAttr.MANIFEST_PATH]).removeprefix("s3://").partition("/")
    boto3.client("s3").delete_object(Bucket=bucket, Key=key)
    assert main(["inspect", "--env", ENVIRONMENT, manifest_id]) == 0
    assert "cannot read the manifest document" in capsys.readouterr().out


def test_inspect_shows_the_superseded_files_of_a_manifest_from_its_summary(
    world: World, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ndjson_parquet.common import Manifest
    from ndjson_parquet.converter import convert, storage
    from ndjson_parquet.converter.glue import read_manifest

    monkeypatch.setenv("COLUMNS", "240")  # whole URIs on one line
    keys = _keys(DAY_A, MAX_FILES)
    world.upload(*keys)
    (item,) = world.manifests()
    manifest_id = str(item[ManifestAttr.MANIFEST_ID])
    world.upload(keys[1], body=b'{"a": 2}\n')  # overwritten before the conversion
    storage.reset_clients()
    manifest: Manifest = read_manifest(str(item[ManifestAttr.MANIFEST_PATH]))
    job = boto3.client("glue").get_job(JobName=world.names.glue_job)["Job"]
    convert(manifest, job["DefaultArguments"]["--OUTPUT_URI"])
    world.set_status(manifest_id, Status.COMPLETED, datetime.now(UTC).isoformat())
    uri = f"s3://{world.names.input_bucket}/{keys[1]}"

    assert main(["inspect", "--env", ENVIRONMENT, manifest_id, "--json"]) == 0
    story = json.loads(capsys.readouterr().out)
    assert [s["uri"] for s in story["summary"]["superseded_files"]] == [uri]
    assert main(["inspect", "--env", ENVIRONMENT, manifest_id]) == 0
    shown = capsys.readouterr().out
    assert "1 file(s) superseded" in shown
    assert f"{uri} (expected ETag {manifest.files[1].etag}; S3: PreconditionFailed" in shown
    # The file's story names it too, through its manifest.
    assert main(["inspect", "--env", ENVIRONMENT, uri]) == 0
    assert "1 file(s) superseded" in capsys.readouterr().out
    # A manifest without a summary where one is expected says so.
    assert (
        main(["inspect", "--env", ENVIRONMENT, manifest_id, "--output-uri", "s3://nowhere/x/"]) == 0
    )
    assert f"no conversion summary for {manifest_id}" in capsys.readouterr().out


def test_inspect_unknown_subjects_exit_4_not_found(world: World) -> None:
    assert main(["inspect", "--env", ENVIRONMENT, "2024-05-01-unknown"]) == ExitCode.NOT_FOUND
    uri = f"s3://{world.names.input_bucket}/nope"
    assert main(["inspect", "--env", ENVIRONMENT, uri]) == ExitCode.NOT_FOUND


def test_human_output_names_what_an_operator_looks_for(
    world: World, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "240")  # whole URIs in table cells
    keys = _keys(DAY_A, MAX_FILES + 1)
    world.upload(*keys)
    (manifest,) = world.manifests()
    manifest_id = manifest[ManifestAttr.MANIFEST_ID]

    assert main(["status", "--env", ENVIRONMENT]) == 0
    assert DAY_A in capsys.readouterr().out
    assert main(["inspect", "--env", ENVIRONMENT, manifest_id]) == 0
    story = capsys.readouterr().out
    assert f"execution {manifest_id}" in story
    assert all(k in story for k in keys[:MAX_FILES])
    assert main(["orphans", "--env", ENVIRONMENT, "--older-than", "0s"]) == 1
    assert keys[-1] in capsys.readouterr().out
    assert main(["stuck", "--env", ENVIRONMENT, "--older-than", "0s"]) == 1
    # Started by the builder; moto here runs no execution, so it is never claimed.
    assert "not claimed, execution RUNNING" in capsys.readouterr().out


def test_backfill_feeds_existing_objects_through_the_same_path_once(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """Objects that landed before the deployment's notifications: registered, cut and queued
    like uploads; a second run registers nothing new."""
    s3 = boto3.client("s3")
    bucket = world.names.input_bucket
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={})
    keys = _keys(DAY_A, MAX_FILES + 1)
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b'{"a": 1}\n')
    s3.put_object(Bucket=bucket, Key="elsewhere/x.ndjson", Body=b"{}\n")
    assert world.manifests() == []

    uri = f"s3://{bucket}/events/"
    assert main(["backfill", "--env", ENVIRONMENT, uri, "--json"]) == 0
    sent = json.loads(capsys.readouterr().out)
    world.mapping.drain()

    assert (sent["listed"], sent["sent"], sent["failed"]) == (len(keys), len(keys), 0)
    rows = {r.date_prefix: r for r in status.collect_status(world.tracking)}
    assert rows[DAY_A].pending_files == 1
    assert rows[DAY_A].files[str(Status.QUEUED)] == MAX_FILES
    before = sorted(str(m[ManifestAttr.MANIFEST_ID]) for m in world.manifests())

    # Again, and with --since in the future: nothing new is registered or cut.
    assert main(["backfill", "--env", ENVIRONMENT, uri, "--json"]) == 0
    capsys.readouterr()
    world.mapping.drain()
    assert main(["backfill", "--env", ENVIRONMENT, uri, "--since", "2999-01-01", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["skipped_older"] == len(keys)
    assert sorted(str(m[ManifestAttr.MANIFEST_ID]) for m in world.manifests()) == before
    assert status.collect_status(world.tracking)[0].pending_files == 1
    assert main(["backfill", "--env", ENVIRONMENT, "not-an-uri"]) == 2
