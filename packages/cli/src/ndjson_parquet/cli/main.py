"""`ndjson-parquet`: convert files, run the pipeline locally, and operate a deployment."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import Any

from ndjson_parquet.cli import __version__

Runner = Callable[[argparse.Namespace], int]

# (command, module, help); each module has add_arguments(parser) and run(args) -> int.
# Imported only when used, so that `ndjson-parquet status` does not load moto or pyarrow.
_COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("convert", "ndjson_parquet.converter.cli", "convert NDJSON files to Parquet"),
    ("status", "ndjson_parquet.cli.operator.status", "files and manifests by status per date"),
    ("orphans", "ndjson_parquet.cli.operator.orphans", "files pending for too long"),
    ("stuck", "ndjson_parquet.cli.operator.stuck", "manifests not started or processing too long"),
    ("redrive", "ndjson_parquet.cli.operator.redrive", "re-run failed manifests"),
    ("inspect", "ndjson_parquet.cli.operator.inspect", "the history of a manifest or a file"),
    ("backfill", "ndjson_parquet.cli.operator.backfill", "feed objects already in S3 through"),
    ("workflow", "ndjson_parquet.workflow.cli", "the Step Functions workflow: render, iam-actions"),
)
_GROUPS: tuple[tuple[str, str, tuple[tuple[str, str, str], ...]], ...] = (
    (
        "local",
        "the pipeline on an emulated AWS on this machine",
        (("run", "ndjson_parquet.cli.local.command", "run the whole pipeline end to end"),),
    ),
)


def _mount(subparsers: Any, name: str, module_name: str, help_text: str) -> None:
    module = importlib.import_module(module_name)
    parser = subparsers.add_parser(
        name,
        help=help_text,
        description=module.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    module.add_arguments(parser)
    parser.set_defaults(_run=module.run)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; only the chosen subcommand's module is imported."""
    parser = argparse.ArgumentParser(
        prog="ndjson-parquet",
        description="NDJSON in S3 → query-ready Parquet: convert, run locally, operate.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = _wanted(argv)
    for name, module_name, help_text in _COMMANDS:
        if wanted == (name,):
            _mount(subparsers, name, module_name, help_text)
        else:
            subparsers.add_parser(name, help=help_text)
    for group, group_help, commands in _GROUPS:
        group_parser = subparsers.add_parser(group, help=group_help)
        group_sub = group_parser.add_subparsers(dest="subcommand", metavar="SUBCOMMAND")
        for name, module_name, help_text in commands:
            if wanted == (group, name):
                _mount(group_sub, name, module_name, help_text)
            else:
                group_sub.add_parser(name, help=help_text)
    return parser


def _wanted(argv: Sequence[str] | None) -> tuple[str, ...] | None:
    """The command path named on the command line, or None."""
    words = [a for a in (argv or []) if not a.startswith("-")]
    if not words:
        return None
    groups = {g for g, _, _ in _GROUPS}
    if words[0] in groups:
        return (words[0], words[1]) if len(words) > 1 else None
    return (words[0],)


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(args_list)
    args = parser.parse_args(args_list)
    run: Runner | None = getattr(args, "_run", None)
    if run is None:
        parser.print_help()
        return 2
    try:
        return int(run(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
