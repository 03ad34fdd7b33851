"""Live progress of a local run: files, manifests and executions as they move."""

from __future__ import annotations

import time

from rich.console import RenderableType
from rich.table import Table

from ndjson_parquet.cli.local.runtime import LocalPipeline
from ndjson_parquet.cli.local.state import Snapshot

_MANIFEST_ORDER = ("manifested", "processing", "completed", "failed")
_EXECUTION_ORDER = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


def progress_view(pipeline: LocalPipeline, snapshot: Snapshot, started: float) -> RenderableType:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold cyan", justify="right")
    table.add_column()
    uploaded = pipeline.upload.files
    table.add_row("elapsed", f"{time.monotonic() - started:5.1f} s")
    table.add_row(
        "files",
        f"{uploaded} uploaded · {snapshot.files_registered} registered · "
        f"{snapshot.files_pending} pending · queue {snapshot.queue_visible + snapshot.queue_in_flight}"
        + (f" · [red]{snapshot.dead_letters} in DLQ[/]" if snapshot.dead_letters else ""),
    )
    table.add_row(
        "manifests",
        _line(snapshot.manifests, _MANIFEST_ORDER, {"completed": "green", "failed": "red"})
        or "none yet",
    )
    table.add_row(
        "executions",
        _line(snapshot.executions, _EXECUTION_ORDER, {"SUCCEEDED": "green", "FAILED": "red"})
        or "none yet",
    )
    records = list(pipeline.runner.records)
    failed = sum(1 for r in records if not r.succeeded)
    table.add_row(
        "glue runs",
        f"{pipeline.runner.active} running · {len(records) - failed} succeeded"
        + (f" · [red]{failed} failed[/]" if failed else ""),
    )
    if pipeline.alerts:
        table.add_row("alerts", f"[red]{len(pipeline.alerts)}[/]")
    return table


def _line(counts: dict[str, int], order: tuple[str, ...], colours: dict[str, str]) -> str:
    keys = [k for k in order if counts.get(k)] + sorted(k for k in counts if k not in order)
    parts = []
    for key in keys:
        text = f"{counts[key]} {key.lower()}"
        colour = colours.get(key)
        parts.append(f"[{colour}]{text}[/]" if colour else text)
    return " · ".join(parts)
