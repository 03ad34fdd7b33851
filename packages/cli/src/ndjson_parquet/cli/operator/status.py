"""`ndjson-parquet status`: files and manifests by status, per date prefix."""

from __future__ import annotations

import argparse
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from rich.table import Table

from ndjson_parquet.cli.aws import add_target_arguments, target_from_args
from ndjson_parquet.cli.operator.output import console, print_json
from ndjson_parquet.cli.operator.tracking import MANIFEST_STATUSES, Tracking
from ndjson_parquet.common import Status
from ndjson_parquet.common.keys import ManifestAttr


@dataclass
class PrefixStatus:
    """One date prefix: pending files, and manifests (with their files) per status."""

    date_prefix: str
    pending_files: int = 0
    manifests: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    files: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def as_dict(self) -> dict[str, Any]:
        return {
            "date_prefix": self.date_prefix,
            "pending_files": self.pending_files,
            "manifests": {str(s): self.manifests.get(str(s), 0) for s in MANIFEST_STATUSES},
            "files": {str(s): self.files.get(str(s), 0) for s in MANIFEST_STATUSES},
        }


def collect_status(tracking: Tracking) -> list[PrefixStatus]:
    """Counts per date prefix: pending files via gsi1, manifests by status via gsi2."""
    rows: dict[str, PrefixStatus] = {}

    def row(prefix: str) -> PrefixStatus:
        return rows.setdefault(prefix, PrefixStatus(prefix))

    for prefix in tracking.date_prefixes():
        row(prefix).pending_files = tracking.count_pending(prefix)
    for status in MANIFEST_STATUSES:
        for item in tracking.manifests_by_status(status):
            r = row(str(item.get(ManifestAttr.DATE_PREFIX, "?")))
            r.manifests[str(status)] += 1
            r.files[str(status)] += int(item.get(ManifestAttr.FILE_COUNT, 0))
    return [rows[k] for k in sorted(rows)]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_target_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace) -> int:
    target = target_from_args(args)
    rows = collect_status(Tracking(target.aws.client("dynamodb"), target.table))
    if args.json:
        print_json({"table": target.table, "date_prefixes": [r.as_dict() for r in rows]})
        return 0
    table = Table(title=f"{target.table}: manifests (files) by status")
    table.add_column("date prefix")
    table.add_column("pending files", justify="right")
    colours = {
        Status.COMPLETED: "green",
        Status.FAILED: "red",
        Status.PROCESSING: "yellow",
        Status.QUEUED: "cyan",
    }
    for status in MANIFEST_STATUSES:
        table.add_column(str(status), justify="right", style=colours.get(status))
    totals = PrefixStatus("total")
    for r in rows:
        totals.pending_files += r.pending_files
        cells = []
        for status in MANIFEST_STATUSES:
            s = str(status)
            totals.manifests[s] += r.manifests.get(s, 0)
            totals.files[s] += r.files.get(s, 0)
            cells.append(_cell(r.manifests.get(s, 0), r.files.get(s, 0)))
        table.add_row(r.date_prefix, str(r.pending_files), *cells)
    if len(rows) > 1:
        table.add_section()
        table.add_row(
            "total",
            str(totals.pending_files),
            *[_cell(totals.manifests[str(s)], totals.files[str(s)]) for s in MANIFEST_STATUSES],
        )
    out = console()
    if rows:
        out.print(table)
    else:
        out.print(f"{target.table}: no files tracked yet")
    return 0


def _cell(manifests: int, files: int) -> str:
    return f"{manifests} ({files})" if manifests else "-"
