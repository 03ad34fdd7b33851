"""The design note's testing checklist, end to end on the local emulated AWS.

One emulator and one deployment serve the whole module; each test uses its own date prefixes,
so its manifests, Parquet folder (`dt=<date>/`) and quarantine records are its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import boto3
import pyarrow.parquet as pq
import pytest

from ndjson_parquet.cli.local.glue_runner import FaultPlan
from ndjson_parquet.cli.local.resources import LocalSettings
from ndjson_parquet.cli.local.runtime import LocalPipeline
from ndjson_parquet.cli.local.sample import SampleInfo, SampleSpec
from ndjson_parquet.cli.local.server import Emulator
from ndjson_parquet.cli.local.state import scan_table
from ndjson_parquet.cli.main import main
from ndjson_parquet.cli.operator.inspect import manifest_files
from ndjson_parquet.cli.operator.tracking import Tracking
from ndjson_parquet.common import S3Uri, Status
from ndjson_parquet.common.keys import ManifestAttr
from ndjson_parquet.workflow.settings import GLUE_FAILURE_RETRY

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ENVIRONMENT = "e2e"
MAX_FILES = 5
TIMEOUT = 90.0


@pytest.fixture(scope="module")
def pipeline() -> Iterator[LocalPipeline]:
    with Emulator() as emulator:
        emulator.set_env({"POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "WARNING"})
        deployed = LocalPipeline(
            emulator,
            environment=ENVIRONMENT,
            settings=LocalSettings(max_files_per_manifest=MAX_FILES, max_wait_seconds=2),
            flush_interval=0.5,
        ).deploy()
        yield deployed
        deployed.close()


@dataclass
class Run:
    """What one test fed in, and the manifests that came out for its date prefixes."""

    info: SampleInfo
    dates: list[str]
    manifests: list[dict[str, Any]]


def _feed(pipeline: LocalPipeline, start: date, files: int, malformed: int = 0) -> Run:
    info = pipeline.upload_sample(
        SampleSpec(
            files=files,
            total_bytes=files * 12_000,
            dates=1,
            start=start,
            malformed=malformed,
            seed=start.toordinal(),
        )
    )
    pipeline.run_until_idle(timeout=TIMEOUT)
    dates = sorted(info.per_date)
    return Run(info=info, dates=dates, manifests=_manifests(pipeline, dates))


def _manifests(pipeline: LocalPipeline, dates: list[str]) -> list[dict[str, Any]]:
    tracking = Tracking(boto3.client("dynamodb"), pipeline.names.tracking_table)
    found = []
    for status in Status:
        for item in tracking.manifests_by_status(status):
            if item[ManifestAttr.DATE_PREFIX] in dates:
                # The whole item: the index holds only what its queries read.
                found.append(tracking.manifest(str(item[ManifestAttr.MANIFEST_ID])))
    return found


def _parquet_rows(pipeline: LocalPipeline, day: str, tmp: Path) -> int:
    """Rows in every Parquet object under the date's output folder."""
    s3 = boto3.client("s3")
    bucket = pipeline.names.output_bucket
    rows = 0
    listing = s3.list_objects_v2(Bucket=bucket, Prefix=f"dt={day}/")
    for n, obj in enumerate(listing.get("Contents", [])):
        assert obj["Key"].endswith(".parquet"), obj["Key"]
        target = tmp / f"{n}.parquet"
        s3.download_file(bucket, obj["Key"], str(target))
        rows += pq.read_metadata(target).num_rows
    return rows


def _quarantined(pipeline: LocalPipeline, manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Quarantine records written by the successful runs of these manifests."""
    paths = {m[ManifestAttr.MANIFEST_PATH] for m in manifests}
    runs = pipeline.runner.last_success_per_manifest()
    s3 = boto3.client("s3")
    records = []
    for path in paths:
        for location in runs[path].summary.get("quarantine_files", []):
            uri = S3Uri.parse(location)
            body = s3.get_object(Bucket=uri.bucket, Key=uri.key)["Body"].read()
            records += [json.loads(line) for line in body.splitlines() if line.strip()]
    return records


def _executions(pipeline: LocalPipeline, manifest_id: str) -> list[dict[str, Any]]:
    return [e for e in pipeline.executions() if e["name"].startswith(manifest_id)]


@pytest.fixture(scope="module")
def happy(pipeline: LocalPipeline) -> Run:
    """Seven files of one date: one manifest at the threshold (5), one by the age flush (2)."""
    return _feed(pipeline, date(2024, 1, 10), files=MAX_FILES + 2, malformed=2)


def test_a_manifest_at_the_threshold_and_another_by_the_age_flush(happy: Run) -> None:
    assert sorted(int(m[ManifestAttr.FILE_COUNT]) for m in happy.manifests) == [2, MAX_FILES]
    s3 = boto3.client("s3")
    files = [f["key"] for m in happy.manifests for f in manifest_files(s3, m)["files"]]
    assert sorted(files) == sorted(k for k in _uploaded_keys(happy))


def test_executions_succeed_and_dynamodb_shows_completed(
    pipeline: LocalPipeline, happy: Run
) -> None:
    for manifest in happy.manifests:
        assert manifest[ManifestAttr.STATUS] == Status.COMPLETED
        (execution,) = _executions(pipeline, manifest[ManifestAttr.MANIFEST_ID])
        assert execution["status"] == "SUCCEEDED"
        # Small manifests convert in the Lambda converter (the default threshold is 1 GiB).
        assert manifest[ManifestAttr.COMPUTE] == "lambda"
        assert manifest[ManifestAttr.LAMBDA_REQUEST_ID]


def test_parquet_rows_equal_the_input_rows(
    pipeline: LocalPipeline, happy: Run, tmp_path: Path
) -> None:
    (day,) = happy.dates
    assert _parquet_rows(pipeline, day, tmp_path) == happy.info.lines - len(happy.info.malformed)


def test_malformed_lines_are_quarantined_with_their_file_and_line(
    pipeline: LocalPipeline, happy: Run
) -> None:
    records = _quarantined(pipeline, happy.manifests)
    bucket = pipeline.names.input_bucket
    where = sorted((r["source"], r["line"]) for r in records)
    assert where == sorted((f"s3://{bucket}/{key}", line) for key, line in happy.info.malformed)
    assert all(r["error"] and r["raw"] for r in records)


def test_duplicate_notifications_change_nothing(pipeline: LocalPipeline, happy: Run) -> None:
    before_items = _table_items(pipeline)
    before_outputs = _objects(pipeline, pipeline.names.output_bucket)
    before_executions = len(pipeline.executions())

    replayed = pipeline.replay_delivered()
    pipeline.run_until_idle(timeout=TIMEOUT)

    assert replayed >= happy.info.files  # one notification per uploaded file, at least
    assert _table_items(pipeline) == before_items
    assert _objects(pipeline, pipeline.names.output_bucket) == before_outputs
    assert len(pipeline.executions()) == before_executions


def test_a_glue_failure_succeeds_on_retry(pipeline: LocalPipeline, tmp_path: Path) -> None:
    pipeline.runner.faults = FaultPlan(fail_first=1)
    alerts_before = len(pipeline.alerts)
    try:
        run = _feed(pipeline, date(2024, 1, 20), files=3)
    finally:
        pipeline.runner.faults = FaultPlan()

    (manifest,) = run.manifests
    assert manifest[ManifestAttr.STATUS] == Status.COMPLETED
    (execution,) = _executions(pipeline, manifest[ManifestAttr.MANIFEST_ID])
    assert execution["status"] == "SUCCEEDED"
    runs = [
        r
        for r in pipeline.runner.records
        if r.manifest_path == manifest[ManifestAttr.MANIFEST_PATH]
    ]
    assert [(r.succeeded, r.injected) for r in runs] == [(False, True), (True, False)]
    assert len(pipeline.alerts) == alerts_before
    (day,) = run.dates
    assert _parquet_rows(pipeline, day, tmp_path) == run.info.lines


def test_a_permanent_failure_marks_the_manifest_failed_and_alerts_once(
    pipeline: LocalPipeline, tmp_path: Path
) -> None:
    pipeline.runner.faults = FaultPlan(fail_always=True)
    alerts_before = len(pipeline.alerts)
    try:
        run = _feed(pipeline, date(2024, 1, 30), files=2)
        pipeline.snapshot()  # collect alerts delivered at the very end
    finally:
        pipeline.runner.faults = FaultPlan()

    (manifest,) = run.manifests
    manifest_id = manifest[ManifestAttr.MANIFEST_ID]
    assert manifest[ManifestAttr.STATUS] == Status.FAILED
    (execution,) = _executions(pipeline, manifest_id)
    assert execution["status"] == "FAILED"
    runs = [
        r
        for r in pipeline.runner.records
        if r.manifest_path == manifest[ManifestAttr.MANIFEST_PATH]
    ]
    assert len(runs) == 1 + GLUE_FAILURE_RETRY.max_attempts
    assert not any(r.succeeded for r in runs)
    new_alerts = pipeline.alerts[alerts_before:]
    assert len(new_alerts) == 1
    assert manifest_id in new_alerts[0].message
    (day,) = run.dates
    assert _parquet_rows(pipeline, day, tmp_path) == 0

    # The operator re-runs it once the cause is fixed: a new execution, then completed.
    assert main(["redrive", "--env", ENVIRONMENT, manifest_id, "--execute"]) == 0
    pipeline.run_until_idle(timeout=TIMEOUT)
    (redriven,) = _manifests(pipeline, run.dates)
    assert redriven[ManifestAttr.STATUS] == Status.COMPLETED
    assert {e["name"]: e["status"] for e in _executions(pipeline, manifest_id)} == {
        manifest_id: "FAILED",
        f"{manifest_id}-r1": "SUCCEEDED",
    }
    assert _parquet_rows(pipeline, day, tmp_path) == run.info.lines


def test_an_input_overwritten_before_its_conversion_is_superseded_not_a_failure(
    pipeline: LocalPipeline,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The input bucket has no versioning: the converter reads If-Match the recorded ETag. The
    overwrite lands between the cut and the conversion; the manifest completes without that
    file, and the overwrite's own event brings the new version in a later manifest, once."""
    day = "2024-02-10"
    runner = pipeline.runner
    convert_run = runner._run
    new_body = b'{"overwritten": 1}\n{"overwritten": 2}\n'
    changed: list[tuple[str, bytes]] = []  # (uri, the bytes the manifest recorded)

    def overwrite_first(compute: str, run_id: str, manifest_path: str, *rest: Any) -> Any:
        if not changed and day in manifest_path:
            s3 = boto3.client("s3")
            bucket = pipeline.names.input_bucket
            key = f"events/{day}/part-00001.ndjson"
            old = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            s3.put_object(Bucket=bucket, Key=key, Body=new_body)
            changed.append((f"s3://{bucket}/{key}", old))
        return convert_run(compute, run_id, manifest_path, *rest)

    monkeypatch.setattr(runner, "_run", overwrite_first)
    alerts_before = len(pipeline.alerts)
    run = _feed(pipeline, date.fromisoformat(day), files=MAX_FILES)
    pipeline.snapshot()  # collect alerts delivered at the very end

    [(uri, old)] = changed
    first, second = sorted(run.manifests, key=lambda m: str(m[ManifestAttr.CREATED_AT]))
    assert [m[ManifestAttr.STATUS] for m in (first, second)] == [Status.COMPLETED] * 2
    assert [int(m[ManifestAttr.FILE_COUNT]) for m in (first, second)] == [MAX_FILES, 1]
    runs = runner.last_success_per_manifest()
    summary = runs[first[ManifestAttr.MANIFEST_PATH]].summary
    [superseded] = summary["superseded_files"]
    assert superseded["uri"] == uri
    assert superseded["s3_error"].startswith("PreconditionFailed")
    assert summary["counts_add_up"]
    assert runs[second[ManifestAttr.MANIFEST_PATH]].summary["rows_written"] == 2
    # One run each: nothing retried, nothing alerted.
    paths = {first[ManifestAttr.MANIFEST_PATH], second[ManifestAttr.MANIFEST_PATH]}
    assert len([r for r in runner.records if r.manifest_path in paths]) == 2
    assert len(pipeline.alerts) == alerts_before
    # Every line once: the other files' and the new version's; the old bytes are gone.
    old_lines = len([line for line in old.splitlines() if line.strip()])
    assert _parquet_rows(pipeline, day, tmp_path) == run.info.lines - old_lines + 2
    # The operator sees it in the manifest's story.
    manifest_id = str(first[ManifestAttr.MANIFEST_ID])
    capsys.readouterr()
    assert main(["inspect", "--env", ENVIRONMENT, manifest_id, "--json"]) == 0
    story = json.loads(capsys.readouterr().out)
    assert story["summary"]["superseded_files"] == [superseded]


def _uploaded_keys(run: Run) -> list[str]:
    keys = []
    for day, count in run.info.per_date.items():
        keys += [f"events/{day}/part-{n:05d}.ndjson" for n in range(count)]
    return keys


def _table_items(pipeline: LocalPipeline) -> list[dict[str, Any]]:
    """File and manifest items (batch totals and locks are hints the flush refreshes)."""
    items = scan_table(boto3.client("dynamodb"), pipeline.names.tracking_table)
    kept = [i for i in items if str(i["pk"]).startswith(("FILE#", "MANIFEST#"))]
    return sorted(kept, key=lambda i: (str(i["pk"]), str(i["sk"])))


def _objects(pipeline: LocalPipeline, bucket: str) -> dict[str, str]:
    return {o["Key"]: o["ETag"] for o in pipeline.list_objects(bucket)}


def test_an_unreadable_event_ends_in_the_dead_letter_queue(pipeline: LocalPipeline) -> None:
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=pipeline.deployment.queue_url, MessageBody="not an S3 event")

    snapshot = pipeline.run_until_idle(timeout=TIMEOUT)

    assert snapshot.dead_letters == 1
    (dead,) = sqs.receive_message(QueueUrl=pipeline.deployment.dlq_url)["Messages"]
    assert dead["Body"] == "not an S3 event"
    assert pipeline.mapping.stats.failed >= pipeline.settings.max_receive_count
