"""`ndjson-parquet inspect`: the whole story of a manifest or a file."""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from ndjson_parquet.cli.aws import add_target_arguments, target_from_args
from ndjson_parquet.cli.operator.executions import (
    find_state_machine_arn,
    history,
    manifest_executions,
)
from ndjson_parquet.cli.operator.output import console, print_json
from ndjson_parquet.cli.operator.tracking import Tracking
from ndjson_parquet.common import S3Uri
from ndjson_parquet.common.keys import FileAttr, ManifestAttr

# Keys of a history event's details worth showing.
_DETAIL_KEYS = ("name", "error", "cause", "resource", "resourceType")


def inspect_manifest(
    tracking: Tracking, sfn: Any, manifest_id: str, state_machine_arn: str | None
) -> dict[str, Any] | None:
    """The manifest item, its executions and each one's history events."""
    item = tracking.manifest(manifest_id)
    if item is None:
        return None
    executions = []
    for execution in manifest_executions(sfn, item, state_machine_arn):
        arn = str(execution["executionArn"])
        executions.append(
            {
                "execution_arn": arn,
                "name": execution.get("name"),
                "status": execution.get("status"),
                "start_date": execution.get("startDate"),
                "stop_date": execution.get("stopDate"),
                "error": execution.get("error"),
                "cause": execution.get("cause"),
                "events": [_event(e) for e in history(sfn, arn)],
            }
        )
    return {"manifest": item, "executions": executions}


def inspect_file(
    tracking: Tracking, sfn: Any, uri: str, state_machine_arn: str | None
) -> dict[str, Any]:
    """Every tracked version of an object, each with its manifest's story."""
    location = S3Uri.parse(uri)
    versions = []
    for item in tracking.file_versions(location.bucket, location.key):
        manifest_id = item.get(FileAttr.MANIFEST_ID)
        versions.append(
            {
                "file": item,
                "manifest": inspect_manifest(tracking, sfn, str(manifest_id), state_machine_arn)
                if manifest_id
                else None,
            }
        )
    return {"uri": uri, "versions": versions}


def committed_snapshot(table: str, story: dict[str, Any]) -> dict[str, Any] | None:
    """The snapshot of the Iceberg table (Glue Data Catalog) that holds the manifest's rows."""
    from ndjson_parquet.converter.table import snapshot_of_run

    return snapshot_of_run(table, str(story["manifest"].get(ManifestAttr.MANIFEST_ID)))


def _event(event: dict[str, Any]) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "id": event.get("id"),
        "timestamp": event.get("timestamp"),
        "type": event.get("type"),
    }
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, dict):
            for detail in _DETAIL_KEYS:
                if detail in value:
                    shown[detail] = value[detail]
    return shown


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_target_arguments(parser)
    parser.add_argument("subject", metavar="MANIFEST_ID|s3://bucket/key")
    parser.add_argument(
        "--state-machine-arn", help="the workflow (default: found by the environment's name)"
    )
    parser.add_argument(
        "--iceberg-table",
        nargs="?",
        const="",
        metavar="DB.TABLE",
        help="also show the Iceberg snapshot each manifest committed (output_format iceberg; "
        "default table: the environment's); needs the converter's iceberg extra",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace) -> int:
    """Exit 0 when found, 1 when nothing is tracked under that name."""
    target = target_from_args(args)
    tracking = Tracking(target.aws.client("dynamodb"), target.table)
    sfn = target.aws.client("stepfunctions")
    machine = args.state_machine_arn or find_state_machine_arn(sfn, target.names.state_machine)
    out = console()
    if S3Uri.is_s3(args.subject):
        found = inspect_file(tracking, sfn, args.subject, machine)
        if args.iceberg_table is not None:
            for version in found["versions"]:
                if version["manifest"]:
                    table = args.iceberg_table or target.names.iceberg_table
                    version["manifest"]["snapshot"] = committed_snapshot(table, version["manifest"])
        if args.json:
            print_json(found)
        elif not found["versions"]:
            out.print(f"{args.subject} is not tracked in {target.table}")
        else:
            for version in found["versions"]:
                _print_file(out, args.subject, version)
        return 0 if found["versions"] else 1
    story = inspect_manifest(tracking, sfn, args.subject, machine)
    if story is not None and args.iceberg_table is not None:
        story["snapshot"] = committed_snapshot(
            args.iceberg_table or target.names.iceberg_table, story
        )
    if args.json:
        print_json(story)
    elif story is None:
        out.print(f"no manifest {args.subject} in {target.table}")
    else:
        _print_manifest(out, story)
    return 0 if story else 1


def _attributes(title: str, item: dict[str, Any], skip: tuple[str, ...] = ()) -> Table:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for key in sorted(item):
        if key in skip:
            continue
        table.add_row(key, str(item[key]))
    return table


def _print_file(out: Console, uri: str, version: dict[str, Any]) -> None:
    item = version["file"]
    out.print(_attributes(f"{uri} (etag {item.get(FileAttr.ETAG)})", item))
    if version["manifest"]:
        _print_manifest(out, version["manifest"])
    else:
        out.print("not in a manifest yet (pending)")


def _print_manifest(out: Console, story: dict[str, Any]) -> None:
    item = story["manifest"]
    files = item.get(ManifestAttr.FILES)
    out.print(_attributes(f"manifest {item.get(ManifestAttr.MANIFEST_ID)}", item, skip=("files",)))
    if isinstance(files, list):
        out.print(f"{len(files)} file(s):")
        for f in files:
            if isinstance(f, dict):
                out.print(f"  s3://{f.get('bucket')}/{f.get('key')} ({f.get('size')} bytes)")
            else:
                out.print(f"  {f}")
    if "snapshot" in story:
        snap = story["snapshot"]
        out.print(
            f"table snapshot [bold]{snap['snapshot_id']}[/] of {snap['table']} at {snap['committed_at']}"
            if snap
            else "[yellow]no table snapshot holds this manifest[/]"
        )
    if not story["executions"]:
        out.print("no execution found")
    for execution in story["executions"]:
        colour = {"SUCCEEDED": "green", "RUNNING": "yellow"}.get(str(execution["status"]), "red")
        tree = Tree(
            f"execution [bold]{execution['name']}[/] [{colour}]{execution['status']}[/] "
            f"({execution['start_date']} → {execution['stop_date'] or '…'})"
        )
        if execution.get("error"):
            tree.add(f"[red]{execution['error']}[/]: {execution.get('cause')}")
        for event in execution["events"]:
            text = f"{event['timestamp']} {event['type']}"
            if event.get("name"):
                text += f" [bold]{event['name']}[/]"
            if event.get("error"):
                text += f" [red]{event['error']}[/] {str(event.get('cause') or '')[:300]}"
            tree.add(text)
        out.print(tree)
