"""The local run's report for a person (a rich panel) and for scripts (JSON)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ndjson_parquet.cli.local.output import OutputContents
from ndjson_parquet.cli.local.report import RunReport


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
        f"at most {report.peak_queued} manifest(s) queued, {report.peak_glue_runs} "
        f"conversion(s) at once; {rate} files/min converted",
    )
    summary.add_row("runs", _glue_line(report))
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

    manifests = Table(title="manifests", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    # On a narrow terminal the long manifest id folds and "runs" wraps; the rest keep width.
    manifests.add_column("manifest", overflow="fold")
    manifests.add_column("files", justify="right", no_wrap=True)
    manifests.add_column("status", no_wrap=True)
    manifests.add_column("compute", no_wrap=True)
    manifests.add_column("runs", justify="right")
    manifests.add_column("rows", justify="right", no_wrap=True)
    manifests.add_column("quarantined", justify="right", no_wrap=True)
    for row in report.manifest_rows:
        status = str(row["status"])
        colour = {"completed": "green", "failed": "red"}.get(status, "yellow")
        injected = row["injected_failures"]
        manifests.add_row(
            str(row["manifest_id"]),
            str(row["files"]),
            f"[{colour}]{status}[/]",
            _compute(row),
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
    for row in report.manifest_rows:
        if row.get("superseded"):
            parts.append(
                Text.assemble(
                    ("! ", "yellow"),
                    f"{row['manifest_id']}: superseded (overwritten or deleted after the manifest "
                    f"was made, not converted here): {', '.join(row['superseded'])}",
                )
            )
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


def _compute(row: dict[str, Any]) -> str:
    compute = str(row.get("compute") or "-")
    if row.get("lambda_fallback"):  # Lambda ran out of time or memory, Glue converted it
        return f"lambda→{compute}"
    return compute


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
    by_compute = Counter(str(r.get("compute", "glue")) for r in runs)
    if by_compute:
        text += "; " + ", ".join(f"{n} in {c.capitalize()}" for c, n in sorted(by_compute.items()))
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
    tried = (
        f"after attempt {attempts} of {report.max_attempts}" if attempts else "without a Glue run"
    )
    return (
        f"{row['manifest_id']} ({row['files']} files) {row['status']} {tried}: "
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
        "glue_runs": report.glue_runs,  # every conversion run; "compute" says where
        "runs_by_compute": dict(Counter(str(r.get("compute")) for r in report.glue_runs)),
        "glue_max_attempts": report.max_attempts,
        "drain": {
            "peak_queued": report.peak_queued,
            "peak_glue_runs": report.peak_glue_runs,
            "files_per_minute": report.files_per_minute,
        },
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
