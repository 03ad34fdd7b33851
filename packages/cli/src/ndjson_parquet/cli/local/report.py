"""The end-of-run report of a local run: what went in, what came out, what failed.

`report_view` prints it for a person and as JSON."""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ndjson_parquet.cli.local.glue_runner import RunRecord
from ndjson_parquet.cli.local.output import OutputContents, RunFolder
from ndjson_parquet.cli.local.runtime import LocalPipeline
from ndjson_parquet.cli.local.state import Alert, Snapshot
from ndjson_parquet.cli.operator.causes import summarize
from ndjson_parquet.common.keys import ManifestAttr
from ndjson_parquet.workflow.settings import GLUE_FAILURE_RETRY

# Glue runs per manifest before the workflow gives up: the first and its retries.
MAX_ATTEMPTS = GLUE_FAILURE_RETRY.max_attempts + 1


@dataclass
class StageTimes:
    """Wall time per stage (seconds); stages overlap in a real run, these are the marks."""

    upload: float | None = None
    registration: float | None = None
    manifests: float | None = None
    executions: float | None = None
    conversion_wall: float | None = None
    conversion_total: float = 0.0
    total: float = 0.0


@dataclass
class RunReport:
    files_uploaded: int = 0
    bytes_uploaded: int = 0
    files_registered: int = 0
    dead_letters: int = 0
    manifests: Counter[str] = field(default_factory=Counter)
    manifest_rows: list[dict[str, Any]] = field(default_factory=list)
    executions: Counter[str] = field(default_factory=Counter)
    glue_runs: list[dict[str, Any]] = field(default_factory=list)
    max_attempts: int = MAX_ATTEMPTS
    faults: str | None = None
    lines_read: int = 0
    rows_written: int = 0
    lines_quarantined: int = 0
    blank_lines: int = 0
    output: OutputContents | None = None
    alerts: list[Alert] = field(default_factory=list)
    expected_lines: int | None = None
    timed_out: bool = False
    stages: StageTimes = field(default_factory=StageTimes)
    run_folder: RunFolder | None = None
    # The drain: most manifests waiting for a slot at once, most Glue runs at once, and input
    # files converted per minute from the first run's start to the last run's end.
    peak_queued: int = 0
    peak_glue_runs: int = 0
    files_per_minute: float | None = None

    @property
    def glue_runs_failed(self) -> list[dict[str, Any]]:
        return [r for r in self.glue_runs if not r["succeeded"]]

    @property
    def glue_runs_injected(self) -> list[dict[str, Any]]:
        return [r for r in self.glue_runs if r["injected"]]

    @property
    def lines_accounted(self) -> bool:
        """Every line read is in the output, in quarantine or was blank."""
        return self.lines_read == self.rows_written + self.lines_quarantined + self.blank_lines

    @property
    def lines_consistent(self) -> bool:
        """The line counts add up, and every uploaded line was read."""
        return self.lines_accounted and (
            self.expected_lines is None or self.lines_read == self.expected_lines
        )

    @property
    def failures(self) -> list[str]:
        """Why the run counts as failed (empty when it succeeded)."""
        problems: list[str] = []
        if self.timed_out:
            problems.append("the pipeline did not finish before the timeout")
        if self.dead_letters:
            problems.append(f"{self.dead_letters} event(s) in the dead-letter queue")
        not_done = sum(n for s, n in self.manifests.items() if s != "completed")
        if not_done:
            problems.append(f"{not_done} manifest(s) not completed")
        failed = sum(n for s, n in self.executions.items() if s != "SUCCEEDED")
        if failed:
            problems.append(f"{failed} execution(s) did not succeed")
        if self.alerts:
            problems.append(f"{len(self.alerts)} alert(s) published")
        if not self.lines_accounted:
            problems.append("line counts do not add up")
        if self.expected_lines is not None and self.lines_read != self.expected_lines:
            problems.append(
                f"{self.expected_lines} lines uploaded but {self.lines_read} read by the converter"
            )
        if self.output is not None and self.output.parquet_rows != self.rows_written:
            problems.append(
                f"{self.output.parquet_rows} rows in the output folder but "
                f"{self.rows_written} written by the converter"
            )
        return problems

    @property
    def ok(self) -> bool:
        return not self.failures


def build_report(
    pipeline: LocalPipeline,
    snapshot: Snapshot,
    folder: RunFolder | None,
    timed_out: bool = False,
) -> RunReport:
    """Collect the report; mirror the output and quarantine buckets into `folder` if given."""
    faults = pipeline.runner.faults
    report = RunReport(
        files_uploaded=pipeline.upload.files,
        bytes_uploaded=pipeline.upload.bytes,
        files_registered=snapshot.files_registered,
        dead_letters=snapshot.dead_letters,
        manifests=Counter(snapshot.manifests),
        executions=Counter(snapshot.executions),
        alerts=list(pipeline.alerts),
        faults=faults.describe() if faults.active else None,
        timed_out=timed_out,
        run_folder=folder,
    )
    if pipeline.sample is not None:
        report.expected_lines = pipeline.sample.lines
    report.peak_queued = pipeline.milestones.peak_queued
    report.peak_glue_runs = pipeline.runner.peak_active
    report.files_per_minute = _files_per_minute(list(pipeline.runner.records), snapshot)
    latest = pipeline.runner.last_success_per_manifest()
    for record in latest.values():
        s = record.summary
        report.lines_read += int(s.get("lines_read", 0))
        report.rows_written += int(s.get("rows_written", 0))
        report.lines_quarantined += int(s.get("lines_quarantined", 0))
        report.blank_lines += int(s.get("blank_lines", 0))
    manifest_ids: dict[str, str] = {}
    for item in sorted(snapshot.manifest_items, key=lambda i: str(i.get(ManifestAttr.CREATED_AT))):
        path = str(item.get(ManifestAttr.MANIFEST_PATH, ""))
        manifest_ids[path] = str(item.get(ManifestAttr.MANIFEST_ID))
        summary = latest[path].summary if path in latest else {}
        runs = [r for r in pipeline.runner.records if r.manifest_path == path]
        report.manifest_rows.append(
            {
                "manifest_id": item.get(ManifestAttr.MANIFEST_ID),
                "date_prefix": item.get(ManifestAttr.DATE_PREFIX),
                "files": int(item.get(ManifestAttr.FILE_COUNT, 0)),
                "bytes": int(item.get(ManifestAttr.TOTAL_BYTES, 0)),
                "status": item.get(ManifestAttr.STATUS),
                # Where it was converted (the workflow records it), and a Lambda that ran out
                # of time or memory before Glue took over.
                "compute": item.get(ManifestAttr.COMPUTE),
                "lambda_fallback": item.get(ManifestAttr.LAMBDA_FALLBACK),
                "attempts": len(runs),
                "injected_failures": sum(1 for r in runs if r.injected),
                "error": _last_error(runs, item),
                "rows": summary.get("rows_written"),
                "quarantined": summary.get("lines_quarantined"),
                # Inputs overwritten or deleted after the manifest was made: not converted here.
                "superseded": [str(f["uri"]) for f in summary.get("superseded_files", [])],
            }
        )
    report.glue_runs = [
        {
            "number": r.number,
            "run_id": r.run_id,
            "manifest_id": manifest_ids.get(r.manifest_path, r.manifest_path),
            "compute": r.compute,
            "succeeded": r.succeeded,
            "injected": r.injected,
            "error": r.error,
            "seconds": round(r.seconds, 3),
        }
        for r in sorted(pipeline.runner.records, key=lambda r: r.number)
    ]
    if folder is not None:
        names = pipeline.names
        folder.sync(pipeline.client("s3"), names.output_bucket, names.quarantine_bucket)
        report.output = folder.contents()
        if report.alerts:
            alerts = [{"subject": a.subject, "message": a.message} for a in report.alerts]
            folder.alerts_file.write_text(json.dumps(alerts, indent=2) + "\n", encoding="utf-8")
    report.stages = stage_times(pipeline)
    return report


def _files_per_minute(records: list[RunRecord], snapshot: Snapshot) -> float | None:
    if not records:
        return None
    first = min(r.started for r in records)
    last = max(r.started + r.seconds for r in records)
    files = sum(
        int(item.get(ManifestAttr.FILE_COUNT, 0))
        for item in snapshot.manifest_items
        if item.get(ManifestAttr.STATUS) == "completed"
    )
    return files * 60.0 / (last - first) if last > first else None


def _last_error(runs: list[RunRecord], item: dict[str, Any]) -> str | None:
    """The error of the manifest's last failed Glue run, else the one the workflow recorded."""
    failed = [r for r in runs if not r.succeeded]
    if failed:
        return failed[-1].error
    if item.get(ManifestAttr.ERROR):
        return summarize(item.get(ManifestAttr.ERROR), item.get(ManifestAttr.CAUSE))
    return None


def stage_times(pipeline: LocalPipeline) -> StageTimes:
    m = pipeline.milestones
    times = StageTimes(total=time.monotonic() - m.started)

    def span(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else max(0.0, b - a)

    times.upload = span(m.upload_started, m.upload_finished)
    times.registration = span(m.upload_started, m.all_registered)
    times.manifests = span(m.upload_started, m.all_manifested)
    times.executions = span(m.first_execution, m.all_ended)
    records = list(pipeline.runner.records)
    times.conversion_total = sum(r.seconds for r in records if r.succeeded)
    return times
