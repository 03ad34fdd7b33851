"""The end-of-run report of a local run: what went in, what came out, what failed."""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

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
        faults=faults.describe() if faults.fail_always or faults.fail_first else None,
        timed_out=timed_out,
        run_folder=folder,
    )
    if pipeline.sample is not None:
        report.expected_lines = pipeline.sample.lines
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
                "attempts": len(runs),
                "injected_failures": sum(1 for r in runs if r.injected),
                "error": _last_error(runs, item),
                "rows": summary.get("rows_written"),
                "quarantined": summary.get("lines_quarantined"),
            }
        )
    report.glue_runs = [
        {
            "number": r.number,
            "run_id": r.run_id,
            "manifest_id": manifest_ids.get(r.manifest_path, r.manifest_path),
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
    summary.add_row("glue runs", _glue_line(report))
    summary.add_row("lines", _lines_line(report))
    if report.output is not None and report.run_folder is not None:
        out = report.output
        summary.add_row(
            "parquet",
            f"{len(out.parquet_files)} file(s), {out.parquet_rows} rows, "
            f"{_mb(out.parquet_bytes)} in {_shown(report.run_folder.parquet_dir)}",
        )
        if out.quarantine_files:
            summary.add_row(
                "quarantine",
                f"{len(out.quarantine_files)} file(s), {out.quarantined_lines} lines in "
                f"{_shown(report.run_folder.quarantine_dir)}",
            )
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
    manifests.add_column("glue runs", justify="right")
    manifests.add_column("rows", justify="right")
    manifests.add_column("quarantined", justify="right")
    for row in report.manifest_rows:
        status = str(row["status"])
        colour = {"completed": "green", "failed": "red"}.get(status, "yellow")
        injected = row["injected_failures"]
        manifests.add_row(
            str(row["manifest_id"]),
            str(row["files"]),
            f"[{colour}]{status}[/]",
            f"{row['attempts']}" + (f" ({injected} injected)" if injected else ""),
            _dash(row["rows"]),
            _dash(row["quarantined"]),
        )
    parts: list[Any] = [summary]
    if report.manifest_rows:
        parts.append(manifests)
    failed = [r for r in report.manifest_rows if r["status"] != "completed"]
    for row in failed:
        parts.append(Text.assemble(("✗ ", "red"), _failure_line(report, row)))
    if failed and report.run_folder is not None:
        where = [f"Glue run logs: {_shown(report.run_folder.log_file)}"]
        if report.alerts:
            where.append(f"alerts: {_shown(report.run_folder.alerts_file)}")
        parts.append(
            Text(
                "; ".join(where) + "; the whole story: `ndjson-parquet inspect MANIFEST "
                "--verbose` against the emulator (--keep-running)",
                style="dim",
            )
        )
    verdict = (
        "[bold green]pipeline succeeded[/]"
        if report.ok
        else "[bold red]pipeline failed:[/] " + "; ".join(report.failures)
    )
    parts.append(verdict)
    console.print(Panel(Group(*parts), title="ndjson-parquet local run", border_style="blue"))


def _glue_line(report: RunReport) -> str:
    runs, failed, injected = (
        report.glue_runs,
        report.glue_runs_failed,
        report.glue_runs_injected,
    )
    text = f"{len(runs)}: {len(runs) - len(failed)} succeeded, {len(failed)} failed"
    if injected:
        which = (
            "all"
            if len(injected) == len(failed) and len(injected) > 3
            else "run" + ("s " if len(injected) > 1 else " ") + _numbers(injected)
        )
        text += f" ({which} injected by {report.faults})"
    return text


def _lines_line(report: RunReport) -> str:
    text = (
        f"{report.lines_read} read = {report.rows_written} rows + "
        f"{report.lines_quarantined} quarantined + {report.blank_lines} blank "
    )
    if report.lines_consistent:
        return text + "[green]✓[/]"
    if not report.lines_accounted:
        return text + "[red]✗ counts differ[/]"
    return text + f"[red]✗ {report.expected_lines} lines uploaded[/]"


def _failure_line(report: RunReport, row: dict[str, Any]) -> str:
    attempts = row["attempts"]
    tried = f"attempt {attempts} of {report.max_attempts} failed" if attempts else "no Glue run"
    return (
        f"{row['manifest_id']} ({row['files']} files) {row['status']}: {tried}: "
        f"{row['error'] or 'no error recorded'}"
    )


def _numbers(runs: list[dict[str, Any]]) -> str:
    numbers = [str(r["number"]) for r in runs]
    return ", ".join(numbers[:-1]) + " and " + numbers[-1] if len(numbers) > 1 else numbers[0]


def report_dict(report: RunReport) -> dict[str, Any]:
    s = report.stages
    out = report.output or OutputContents()
    folder = report.run_folder
    return {
        "ok": report.ok,
        "failures": report.failures,
        "files_uploaded": report.files_uploaded,
        "bytes_uploaded": report.bytes_uploaded,
        "files_registered": report.files_registered,
        "dead_letters": report.dead_letters,
        "manifests": dict(report.manifests),
        "manifest_rows": report.manifest_rows,
        "executions": dict(report.executions),
        "glue_runs": report.glue_runs,
        "glue_max_attempts": report.max_attempts,
        "faults": report.faults,
        "lines_uploaded": report.expected_lines,
        "lines_read": report.lines_read,
        "rows_written": report.rows_written,
        "lines_quarantined": report.lines_quarantined,
        "blank_lines": report.blank_lines,
        "output_dir": str(folder.path) if folder else None,
        "parquet_files": [str(p) for p in out.parquet_files],
        "parquet_rows": out.parquet_rows,
        "parquet_bytes": out.parquet_bytes,
        "quarantine_files": [str(p) for p in out.quarantine_files],
        "quarantined_lines_in_output": out.quarantined_lines,
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


def _shown(path: Path) -> str:
    """A path as short as it can be said from here."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{n} {status.lower()}" for status, n in sorted(counter.items()))


def _mb(value: Any) -> str:
    return f"{int(value or 0) / 1e6:.1f} MB"


def _sec(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def _dash(value: Any) -> str:
    return "-" if value is None else str(value)
