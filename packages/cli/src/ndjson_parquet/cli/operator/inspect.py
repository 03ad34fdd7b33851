"""`ndjson-parquet inspect`: the whole story of a manifest or a file."""

from __future__ import annotations

import argparse
from typing import Any

from botocore.exceptions import ClientError
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from ndjson_parquet.cli.aws import add_target_arguments, target_from_args
from ndjson_parquet.cli.errors import NotFound
from ndjson_parquet.cli.operator.causes import summarize
from ndjson_parquet.cli.operator.conversion import (
    conversion_summary,
    superseded_lines,
    superseded_of,
)
from ndjson_parquet.cli.operator.executions import (
    find_state_machine_arn,
    history,
    manifest_executions,
)
from ndjson_parquet.cli.operator.output import console, print_json
from ndjson_parquet.cli.operator.tracking import Tracking
from ndjson_parquet.common import Manifest, S3Uri, Status
from ndjson_parquet.common.keys import FileAttr, ManifestAttr

# Keys of a history event's details worth showing.
_DETAIL_KEYS = ("name", "error", "cause", "resource", "resourceType")


def inspect_manifest(
    tracking: Tracking,
    sfn: Any,
    manifest_id: str,
    state_machine_arn: str | None,
    s3: Any = None,
) -> dict[str, Any] | None:
    """The manifest item, its files (from its document, with `s3`), its executions and each
    one's history events."""
    item = tracking.manifest(manifest_id)
    if item is None:
        return None
    story: dict[str, Any] = {"manifest": item}
    if s3 is not None:
        story.update(manifest_files(s3, item))
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
    story["executions"] = executions
    return story


def manifest_files(s3: Any, item: dict[str, Any]) -> dict[str, Any]:
    """`files` as the manifest document lists them (the item has counts only), or
    `files_error` saying why the document could not be read."""
    path = str(item.get(ManifestAttr.MANIFEST_PATH) or "")
    try:
        location = S3Uri.parse(path)
        body = s3.get_object(Bucket=location.bucket, Key=location.key)["Body"].read()
        manifest = Manifest.from_json(body, path)
    except (ClientError, ValueError) as exc:
        return {"files_error": f"cannot read the manifest document {path or '(none)'}: {exc}"}
    return {"files": [f.model_dump(exclude_none=True) for f in manifest.files]}


def inspect_file(
    tracking: Tracking, sfn: Any, uri: str, state_machine_arn: str | None, s3: Any = None
) -> dict[str, Any]:
    """Every tracked version of an object, each with its manifest's story."""
    location = S3Uri.parse(uri)
    versions = []
    for item in tracking.file_versions(location.bucket, location.key):
        manifest_id = item.get(FileAttr.MANIFEST_ID)
        versions.append(
            {
                "file": item,
                "manifest": inspect_manifest(tracking, sfn, str(manifest_id), state_machine_arn, s3)
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
    parser.add_argument(
        "--output-uri",
        metavar="S3_URI",
        help="the converter's output, where each manifest's summary is "
        "(default: the deployed Glue job's --OUTPUT_URI)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON (everything)")
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="every history event with its full cause (default: one line per error)",
    )


def run(args: argparse.Namespace) -> int:
    """Exit 0 when found, 4 (not found) when nothing is tracked under that name."""
    target = target_from_args(args)
    tracking = Tracking(target.aws.client("dynamodb"), target.table)
    sfn = target.aws.client("stepfunctions")
    s3 = target.aws.client("s3")
    machine = args.state_machine_arn or find_state_machine_arn(sfn, target.names.state_machine)
    glue = target.aws.client("glue")

    def add_summary(story: dict[str, Any]) -> None:
        manifest_id = str(story["manifest"].get(ManifestAttr.MANIFEST_ID))
        job = target.names.glue_job
        story.update(conversion_summary(s3, glue, job, manifest_id, args.output_uri))

    out = console()
    if S3Uri.is_s3(args.subject):
        found = inspect_file(tracking, sfn, args.subject, machine, s3)
        if not found["versions"]:
            raise NotFound(f"{args.subject} is not tracked in {target.table}")
        if args.iceberg_table is not None:
            for version in found["versions"]:
                if version["manifest"]:
                    table = args.iceberg_table or target.names.iceberg_table
                    version["manifest"]["snapshot"] = committed_snapshot(table, version["manifest"])
        for version in found["versions"]:
            if version["manifest"]:
                add_summary(version["manifest"])
        if args.json:
            print_json(found)
        else:
            for version in found["versions"]:
                _print_file(out, args.subject, version, args.verbose)
        return 0
    story = inspect_manifest(tracking, sfn, args.subject, machine, s3)
    if story is None:
        raise NotFound(f"no manifest {args.subject} in {target.table}")
    add_summary(story)
    if args.iceberg_table is not None:
        story["snapshot"] = committed_snapshot(
            args.iceberg_table or target.names.iceberg_table, story
        )
    if args.json:
        print_json(story)
    else:
        _print_manifest(out, story, args.verbose)
    return 0


def _attributes(title: str, item: dict[str, Any], skip: tuple[str, ...] = ()) -> Table:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for key in sorted(item):
        if key in skip:
            continue
        table.add_row(key, str(item[key]))
    return table


def _print_file(out: Console, uri: str, version: dict[str, Any], verbose: bool) -> None:
    item = version["file"]
    out.print(_attributes(f"{uri} (etag {item.get(FileAttr.ETAG)})", item))
    if version["manifest"]:
        _print_manifest(out, version["manifest"], verbose)
    else:
        out.print("not in a manifest yet (pending)")


def _print_manifest(out: Console, story: dict[str, Any], verbose: bool = False) -> None:
    item = dict(story["manifest"])
    files = story.get("files")
    skip: tuple[str, ...] = ()
    if not verbose and item.get(ManifestAttr.ERROR):
        # The cause is the whole Glue answer as JSON; its message is what a person needs.
        item[ManifestAttr.ERROR] = summarize(item[ManifestAttr.ERROR], item.get(ManifestAttr.CAUSE))
        skip += (ManifestAttr.CAUSE,)
    out.print(_attributes(f"manifest {item.get(ManifestAttr.MANIFEST_ID)}", item, skip=skip))
    if item.get(ManifestAttr.LAMBDA_FALLBACK):
        # The workflow's FallBackToGlue state recorded it: not a failure of the data.
        out.print(
            f"[yellow]the Lambda conversion ran out of time or memory "
            f"({item[ManifestAttr.LAMBDA_FALLBACK]} at {item.get(ManifestAttr.LAMBDA_FALLBACK_AT)})"
            f"; the workflow converted the manifest in Glue instead[/]"
        )
    if isinstance(files, list):
        out.print(f"{len(files)} file(s):")
        for f in files:
            if isinstance(f, dict):
                out.print(f"  s3://{f.get('bucket')}/{f.get('key')} ({f.get('size')} bytes)")
            else:
                out.print(f"  {f}")
    if story.get("files_error"):
        out.print(f"[yellow]{escape(str(story['files_error']))}[/]")
    _print_conversion(out, story, str(item.get(ManifestAttr.STATUS)))
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
        if verbose:
            _add_events(tree, execution)
        else:
            _add_outline(tree, execution)
        out.print(tree)
    if not verbose and any(e.get("error") for e in story["executions"]):
        out.print("[dim]every history event with its full cause: --verbose (or --json)[/]")


def _print_conversion(out: Console, story: dict[str, Any], status: str) -> None:
    """The converter's counts and the inputs it set aside as superseded."""
    summary = story.get("summary")
    if summary:
        out.print(
            f"converted: {summary.get('rows_written')} rows, "
            f"{summary.get('lines_quarantined')} lines quarantined, "
            f"{len(summary.get('superseded_files') or [])} of {summary.get('files')} files superseded"
        )
    elif story.get("summary_error") and status == str(Status.COMPLETED):
        out.print(f"[yellow]{escape(str(story['summary_error']))}[/]")
    superseded = superseded_of(story)
    if superseded:
        out.print(
            f"[yellow]{len(superseded)} file(s) superseded (overwritten or deleted after the "
            "manifest was made; not converted here, a new version has its own manifest):[/]"
        )
        for line in superseded_lines(superseded):
            out.print(escape(line))


def _add_outline(tree: Tree, execution: dict[str, Any]) -> None:
    """The states the execution went through, its task failures and its error, once each."""
    states = [
        str(e["name"])
        for e in execution["events"]
        if e.get("name") and str(e.get("type", "")).endswith("StateEntered")
    ]
    failures = [e for e in execution["events"] if e.get("error")]
    if states:
        tree.add("states: " + " → ".join(_collapse(states)))
    task_failures = [e for e in failures if str(e.get("type", "")).startswith("Task")]
    if task_failures:
        tree.add(f"{len(task_failures)} task failure(s), last: {_event_error(task_failures[-1])}")
    if execution.get("error"):
        tree.add(f"[red]{escape(summarize(execution['error'], execution.get('cause')))}[/]")


def _add_events(tree: Tree, execution: dict[str, Any]) -> None:
    if execution.get("error"):
        tree.add(
            f"[red]{escape(str(execution['error']))}[/]: {escape(str(execution.get('cause')))}"
        )
    for event in execution["events"]:
        text = f"{event['timestamp']} {event['type']}"
        if event.get("name"):
            text += f" [bold]{escape(str(event['name']))}[/]"
        if event.get("error"):
            text += (
                f" [red]{escape(str(event['error']))}[/] {escape(str(event.get('cause') or ''))}"
            )
        tree.add(text)


def _event_error(event: dict[str, Any]) -> str:
    return escape(summarize(event.get("error"), event.get("cause")))


def _collapse(states: list[str]) -> list[str]:
    """`A → A → B` as `A (2) → B` (a state entered again by a redrive or a loop)."""
    collapsed: list[str] = []
    counts: list[int] = []
    for state in states:
        if collapsed and collapsed[-1] == state:
            counts[-1] += 1
        else:
            collapsed.append(state)
            counts.append(1)
    return [s if n == 1 else f"{s} ({n})" for s, n in zip(collapsed, counts, strict=True)]
