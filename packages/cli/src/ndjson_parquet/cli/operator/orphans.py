"""`ndjson-parquet orphans`: files registered but still in no manifest after a while."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.table import Table

from ndjson_parquet.cli.aws import add_target_arguments, target_from_args
from ndjson_parquet.cli.duration import format_age, parse_duration
from ndjson_parquet.cli.operator.output import console, print_json
from ndjson_parquet.cli.operator.tracking import Tracking, registered_at
from ndjson_parquet.common.keys import FileAttr


def find_orphans(
    tracking: Tracking, older_than: timedelta, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Pending files registered more than `older_than` ago, oldest first."""
    now = now or datetime.now(UTC)
    cutoff = now - older_than
    found: list[dict[str, Any]] = []
    for prefix in tracking.date_prefixes():
        for item in tracking.pending_files(prefix):
            moment = registered_at(item)
            if moment is not None and moment < cutoff:
                found.append(
                    {
                        "uri": f"s3://{item.get(FileAttr.BUCKET)}/{item.get(FileAttr.KEY)}",
                        "etag": item.get(FileAttr.ETAG),
                        "size": item.get(FileAttr.SIZE),
                        "date_prefix": item.get(FileAttr.DATE_PREFIX, prefix),
                        "registered_at": moment,
                        "age_seconds": int((now - moment).total_seconds()),
                    }
                )
    return sorted(found, key=lambda f: f["registered_at"])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_target_arguments(parser)
    parser.add_argument(
        "--older-than",
        type=parse_duration,
        default=parse_duration("30m"),
        metavar="DURATION",
        help="pending for longer than this (e.g. 15m, 2h; default 30m: twice the flush age)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace) -> int:
    """Exit status 0 when there are none, 1 when orphans were found (for alerting scripts)."""
    target = target_from_args(args)
    orphans = find_orphans(Tracking(target.aws.client("dynamodb"), target.table), args.older_than)
    if args.json:
        print_json({"table": target.table, "orphans": orphans})
        return 1 if orphans else 0
    out = console()
    if not orphans:
        out.print(f"no pending file older than {format_age(args.older_than)}")
        return 0
    table = Table(title=f"{len(orphans)} pending file(s) older than {format_age(args.older_than)}")
    for column in ("file", "date prefix", "size", "registered", "age"):
        table.add_column(column)
    for o in orphans:
        table.add_row(
            o["uri"],
            str(o["date_prefix"]),
            str(o["size"]),
            o["registered_at"].isoformat(timespec="seconds"),
            format_age(timedelta(seconds=o["age_seconds"])),
        )
    out.print(table)
    out.print(
        "The flush function cuts manifests for pending files older than MAX_WAIT_SECONDS; "
        "orphans mean it is not running or failing: check its logs and schedule."
    )
    return 1
