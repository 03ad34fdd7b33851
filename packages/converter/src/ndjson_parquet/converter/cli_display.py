"""What `ndjson-parquet-convert` shows on a terminal: a progress bar over the input bytes while
it converts, and the summary (counts, the check that they add up, files, run id, schema drift)
as rich tables afterwards. `--json` output and the exit codes stay in `cli`.

rich is imported inside the functions: a `--json` run or a Glue job never loads it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from ndjson_parquet.converter import Progress, Summary


def new_console() -> Console:
    """The terminal console of the command's output."""
    from rich.console import Console

    return Console()


@contextmanager
def progress_bar(show: bool) -> Iterator[Callable[[Progress], None] | None]:
    """A rich progress bar over input bytes when `show`, else no callback at all."""
    if not show:
        yield None
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )
    from rich.progress import Progress as Bar

    bar = Bar(
        TextColumn("[bold]converting"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TextColumn("files {task.fields[files]}"),
        TextColumn("rows {task.fields[rows]:,}"),
        TimeRemainingColumn(),
        console=new_console(),
        transient=True,
    )
    task = bar.add_task("convert", total=None, files="0/?", rows=0)

    def update(progress: Progress) -> None:
        bar.update(
            task,
            total=progress.bytes_total or None,
            completed=progress.bytes_read,
            files=f"{progress.files_done}/{progress.files_total}",
            rows=progress.rows_written,
        )

    with bar:
        yield update


def print_summary(summary: Summary, console: Console) -> None:
    """The summary tables, then the output and quarantine files, one a line."""
    from rich.table import Table

    s = summary
    accounted = s.rows_written + s.lines_quarantined + s.blank_lines
    table = Table(title="Conversion summary", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    rate = s.bytes_read / s.seconds / 1e6 if s.seconds > 0 else 0.0
    rows: list[tuple[str, str]] = [
        ("files", f"{s.files:,}"),
        ("bytes read", f"{s.bytes_read:,}"),
        ("lines read", f"{s.lines_read:,}"),
        ("rows written", f"{s.rows_written:,}"),
        ("lines quarantined", f"{s.lines_quarantined:,}"),
        ("blank lines", f"{s.blank_lines:,}"),
        (
            "check",
            ("[green]" if accounted == s.lines_read else "[red]")
            + f"{s.lines_read:,} = {s.rows_written:,} + {s.lines_quarantined:,} + {s.blank_lines:,}",
        ),
        ("output files", f"{len(s.output_files):,}"),
        ("quarantine files", f"{len(s.quarantine_files):,}"),
        ("seconds", f"{s.seconds:.2f} ({rate:.1f} MB/s)"),
        ("run id", str(s.run_id or "")),
    ]
    if "table" in s.extra:
        t = s.extra["table"]
        state = "committed" if t["created"] else "already in the table"
        rows.append(("table", f"{t['identifier']} snapshot {t['snapshot_id']} ({state})"))
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    for path in s.output_files:
        console.print(f"  [cyan]{path}[/]", highlight=False)
    for path in s.quarantine_files:
        console.print(f"  [yellow]{path}[/] (quarantine)", highlight=False)
    if s.drift:
        drift = Table(title="Schema drift", title_justify="left")
        columns = ("column", "from_type", "to_type", "resolution", "file", "line")
        for column in columns:
            drift.add_column(column.replace("_", " "))
        for entry in s.drift:
            drift.add_row(*("" if entry.get(c) is None else str(entry[c]) for c in columns))
        console.print(drift)
