"""`ndjson-parquet workflow …`: render the definition, list the IAM actions it needs.

The operator command mounts this module on its `workflow` subcommand:

    add_arguments(workflow_parser)        # adds `render` and `iam-actions`
    return run(args)

`python -m ndjson_parquet.workflow …` takes the same arguments.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ndjson_parquet.workflow import __version__
from ndjson_parquet.workflow.definition import build_definition, render
from ndjson_parquet.workflow.iam import required_iam_actions
from ndjson_parquet.workflow.settings import WorkflowSettings

COMMAND_DEST = "workflow_command"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the `render` and `iam-actions` subcommands to `parser`."""
    commands = parser.add_subparsers(dest=COMMAND_DEST, metavar="COMMAND", required=True)
    render_parser = commands.add_parser(
        "render",
        help="print the state machine definition (ASL JSON)",
        description="Print the ASL definition: as a Terraform templatefile template "
        "(--terraform) or with concrete resource names.",
    )
    target = render_parser.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "--terraform",
        action="store_true",
        help="placeholders ${tracking_table_name}, ${glue_job_name}, ${alerts_topic_arn}",
    )
    target.add_argument("--table", help="DynamoDB tracking table name")
    render_parser.add_argument("--glue-job", help="Glue job name (with --table)")
    render_parser.add_argument("--topic-arn", help="SNS alerts topic ARN (with --table)")
    render_parser.add_argument(
        "-o", "--output", type=Path, help="write to this file instead of standard output"
    )
    commands.add_parser(
        "iam-actions",
        help="print the IAM actions the state machine's role needs, one per line",
    )


def _settings(args: argparse.Namespace) -> WorkflowSettings | str:
    if args.terraform:
        if args.glue_job or args.topic_arn:
            return "--terraform takes no --glue-job or --topic-arn"
        return WorkflowSettings.terraform()
    missing = [
        flag
        for flag, value in (("--glue-job", args.glue_job), ("--topic-arn", args.topic_arn))
        if not value
    ]
    if missing:
        return f"--table needs {' and '.join(missing)}"
    return WorkflowSettings(
        tracking_table=args.table, glue_job_name=args.glue_job, alerts_topic_arn=args.topic_arn
    )


def run(args: argparse.Namespace) -> int:
    """Run the parsed subcommand; return the exit status."""
    command = getattr(args, COMMAND_DEST)
    if command == "iam-actions":
        print("\n".join(required_iam_actions(build_definition(WorkflowSettings.terraform()))))
        return 0
    settings = _settings(args)
    if isinstance(settings, str):
        print(f"error: {settings}", file=sys.stderr)
        return 2
    text = render(settings)
    if args.output is not None:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ndjson_parquet.workflow",
        description="The ndjson-parquet state machine definition.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    add_arguments(parser)
    return run(parser.parse_args(argv))
