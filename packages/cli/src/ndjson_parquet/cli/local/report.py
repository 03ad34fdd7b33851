"""The end-of-run report of a local run: what went in, what came out, what failed."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table

from ndjson_parquet.cli.local.runtime import LocalPipeline
from ndjson_parquet.cli.local.state import Alert, Snapshot
from ndjson_parquet.common.keys import ManifestAttr


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
    glue_runs: int = 0
    glue_runs_failed: int = 0
    glue_runs_injected: int = 0
    lines_read: int = 0
    rows_written: int = 0
    lines_quarantined: int = 0
    blank_lines: int = 0
    parquet_files: list[Path] = field(default_factory=list)
    parquet_bytes: int = 0
    quarantine_files: list[Path] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    expected_lines: int | None = None
    timed_out: bool = False
    stages: StageTimes = field(default_factory=StageTimes)
    output_dir: Path | None = None
    # The drain: most manifests waiting for a slot at once, most Glue runs at once, and input
    # files converted per minute from the first run's start to the last run's end.
    peak_queued: int = 0
    peak_glue_runs: int = 0
    files_per_minute: float | None = None

    @property
    def lines_accounted(self) -> bool:
        """Every line read is in the output, in quarantine or was blank."""
        return self.lines_read == self.rows_written + self.lines_quarantined + self.blank_lines

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
        return problems

    @property
    def ok(self) -> bool:
        return not self.failures


def build_report(
    pipeline: LocalPipeline,
    snapshot: Snapshot,
    output_dir: Path | None,
    timed_out: bool = False,
) -> RunReport:
    """Collect the report; copy Parquet and quarantine objects to `output_dir` if given."""
    report = RunReport(
        files_uploaded=pipeline.upload.files,
        bytes_uploaded=pipeline.upload.bytes,
        files_registered=snapshot.files_registered,
        dead_letters=snapshot.dead_letters,
        manifests=Counter(snapshot.manifests),
        executions=Counter(snapshot.executions),
        alerts=list(pipeline.alerts),
        timed_out=timed_out,
        output_dir=output_dir,
    )
    if pipeline.sample is not None:
        report.expected_lines = pipeline.sample.lines
    records = list(pipeline.runner.records)
    report.glue_runs = len(records)
    report.glue_runs_failed = sum(1 for r in records if not r.succeeded)
    report.glue_runs_injected = sum(1 for r in records if r.injected)
    report.peak_queued = pipeline.milestones.peak_queued
    report.peak_glue_runs = pipeline.runner.peak_active
    report.files_per_minute = _files_per_minute(records, snapshot)
    latest = pipeline.runner.last_success_per_manifest()
    for record in latest.values():
        s = record.summary
        report.lines_read += int(s.get("lines_read", 0))
        report.rows_written += int(s.get("rows_written", 0))
        report.lines_quarantined += int(s.get("lines_quarantined", 0))
        report.blank_lines += int(s.get("blank_lines", 0))
    for item in sorted(snapshot.manifest_items, key=lambda i: str(i.get(ManifestAttr.CREATED_AT))):
        path = str(item.get(ManifestAttr.MANIFEST_PATH, ""))
        summary = latest[path].summary if path in latest else {}
        report.manifest_rows.append(
            {
                "manifest_id": item.get(ManifestAttr.MANIFEST_ID),
                "date_prefix": item.get(ManifestAttr.DATE_PREFIX),
                "files": int(item.get(ManifestAttr.FILE_COUNT, 0)),
                "bytes": int(item.get(ManifestAttr.TOTAL_BYTES, 0)),
                "status": item.get(ManifestAttr.STATUS),
                "attempts": int(item.get(ManifestAttr.ATTEMPTS, 0)),
                "rows": summary.get("rows_written"),
                "quarantined": summary.get("lines_quarantined"),
            }
        )
    names = pipeline.names
    parquet = [
        o for o in pipeline.list_objects(names.output_bucket) if o["Key"].endswith(".parquet")
    ]
    report.parquet_bytes = sum(int(o["Size"]) for o in parquet)
    if output_dir is not None:
        downloaded = pipeline.download(names.output_bucket, output_dir / "parquet")
        report.parquet_files = [p for p in downloaded if p.suffix == ".parquet"]
        report.quarantine_files = pipeline.download(
            names.quarantine_bucket, output_dir / "quarantine"
        )
    else:
        report.parquet_files = [Path(o["Key"]) for o in parquet]
    report.stages = stage_times(pipeline)
    return report


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


def _files_per_minute(records: list[Any], snapshot: Snapshot) -> float | None:
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


def render_report(report: RunReport, console: Console) -> None:
    summary = Table.grid(padding=(0, 2))
    summary.add_column(style="bold")
    summary.add_column()
    summary.add_row(
        "files",
        f"{report.files_uploaded} uploaded ({_mb(report.bytes_uploaded)}), "
        f"{report.files_registered} registered, {report.dead_letters} in the DLQ",
    )
    summary.add_row("manifests", _counts(report.manifests) or "none")
    summary.add_row("executions", _counts(report.executions) or "none")
    rate = f"{report.files_per_minute:.0f}" if report.files_per_minute is not None else "-"
    summary.add_row(
        "drain",
        f"at most {report.peak_queued} manifest(s) queued, {report.peak_glue_runs} Glue run(s) "
        f"at once; {rate} files/min converted",
    )
    summary.add_row(
        "glue runs",
        f"{report.glue_runs} ({report.glue_runs_failed} failed, "
        f"{report.glue_runs_injected} of them injected)",
    )
    summary.add_row(
        "lines",
        f"{report.lines_read} read = {report.rows_written} rows + "
        f"{report.lines_quarantined} quarantined + {report.blank_lines} blank "
        + ("[green]✓[/]" if report.lines_accounted else "[red]✗ counts differ[/]"),
    )
    where = f" → {report.output_dir}" if report.output_dir else ""
    summary.add_row(
        "parquet",
        f"{len(report.parquet_files)} file(s), {_mb(report.parquet_bytes)}{where}",
    )
    if report.quarantine_files:
        summary.add_row("quarantine", f"{len(report.quarantine_files)} file(s)")
    summary.add_row("alerts", str(len(report.alerts)))
    s = report.stages
    summary.add_row(
        "time",
        f"{s.total:.1f} s in all; upload {_sec(s.upload)}, all registered {_sec(s.registration)}, "
        f"all manifested {_sec(s.manifests)}, executions {_sec(s.executions)}, "
        f"conversion {s.conversion_total:.1f} s (sum of runs)",
    )

    manifests = Table(title="manifests", box=box.SIMPLE_HEAD, pad_edge=False)
    manifests.add_column("manifest", no_wrap=True)
    manifests.add_column("files", justify="right")
    manifests.add_column("status", no_wrap=True)
    manifests.add_column("rows", justify="right")
    manifests.add_column("quarantined", justify="right")
    for row in report.manifest_rows:
        status = str(row["status"])
        colour = {"completed": "green", "failed": "red"}.get(status, "yellow")
        manifests.add_row(
            str(row["manifest_id"]),
            str(row["files"]),
            f"[{colour}]{status}[/]",
            _dash(row["rows"]),
            _dash(row["quarantined"]),
        )
    parts: list[Any] = [summary]
    if report.manifest_rows:
        parts.append(manifests)
    for alert in report.alerts:
        parts.append(Panel(alert.message, title=f"alert: {alert.subject}", border_style="red"))
    verdict = (
        "[bold green]pipeline succeeded[/]"
        if report.ok
        else "[bold red]pipeline failed:[/] " + "; ".join(report.failures)
    )
    parts.append(verdict)
    console.print(Panel(Group(*parts), title="ndjson-parquet local run", border_style="blue"))


def report_dict(report: RunReport) -> dict[str, Any]:
    s = report.stages
    return {
        "ok": report.ok,
        "failures": report.failures,
        "files_uploaded": report.files_uploaded,
        "bytes_uploaded": report.bytes_uploaded,
        "files_registered": report.files_registered,
        "dead_letters": report.dead_letters,
        "manifests": dict(report.manifests),
        "executions": dict(report.executions),
        "glue_runs": report.glue_runs,
        "glue_runs_failed": report.glue_runs_failed,
        "drain": {
            "peak_queued": report.peak_queued,
            "peak_glue_runs": report.peak_glue_runs,
            "files_per_minute": report.files_per_minute,
        },
        "lines_read": report.lines_read,
        "rows_written": report.rows_written,
        "lines_quarantined": report.lines_quarantined,
        "blank_lines": report.blank_lines,
        "parquet_files": [str(p) for p in report.parquet_files],
        "parquet_bytes": report.parquet_bytes,
        "quarantine_files": [str(p) for p in report.quarantine_files],
        "alerts": [{"subject": a.subject, "message": a.message} for a in report.alerts],
        "stages": {
            "upload": s.upload,
            "registration": s.registration,
            "manifests": s.manifests,
            "executions": s.executions,
            "conversion_total": s.conversion_total,
            "total": s.total,
        },
    }


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{n} {status.lower()}" for status, n in sorted(counter.items()))


def _mb(value: Any) -> str:
    return f"{int(value or 0) / 1e6:.1f} MB"


def _sec(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def _dash(value: Any) -> str:
    return "-" if value is None else str(value)
