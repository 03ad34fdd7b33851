"""`ndjson-parquet`: convert files, run the pipeline locally, and operate a deployment.

Every command runs inside `main`: AWS and configuration errors become one line on stderr with
an exit status per kind (`errors.ExitCode`), a traceback only with `--debug`, and a reader that
goes away (`... | head`) ends the command quietly.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shlex
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from ndjson_parquet.cli import __version__
from ndjson_parquet.cli.errors import ExitCode, MissingExtra, NotFound, explain

Runner = Callable[[argparse.Namespace], int]

PROG = "ndjson-parquet"
DEBUG_VARIABLE = "NDJSON_PARQUET_DEBUG"

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
    ("completion", "ndjson_parquet.cli.completion", 'shell completion: eval "$(… completion)"'),
)
_GROUPS: tuple[tuple[str, str, tuple[tuple[str, str, str], ...]], ...] = (
    (
        "local",
        "the pipeline on an emulated AWS on this machine",
        (("run", "ndjson_parquet.cli.local.command", "run the whole pipeline end to end"),),
    ),
)
# Modules that need an optional extra of the distribution: module → extra.
_EXTRAS = {"ndjson_parquet.cli.local.command": "local"}


def _mount(subparsers: Any, path: tuple[str, ...], module_name: str, help_text: str) -> None:
    name = path[-1]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        extra = _EXTRAS.get(module_name)
        if extra is None:
            raise
        raise MissingExtra(" ".join((PROG, *path)), extra, exc.name) from exc
    parser = subparsers.add_parser(
        name,
        help=help_text,
        description=module.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    module.add_arguments(parser)
    _add_debug(parser)
    parser.set_defaults(_run=module.run)


def _add_debug(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS: a subcommand's default must not overwrite `--debug` given before it.
    parser.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help=f"show the traceback of an error (or set {DEBUG_VARIABLE}=1)",
    )


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; only the chosen subcommand's module is imported."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="NDJSON in S3 → query-ready Parquet: convert, run locally, operate.",
        epilog="Exit status: 0 ok, 1 a problem was found, 2 usage or configuration, "
        "4 not found (check --env/--table/--region), 5 AWS endpoint unreachable, "
        "6 AWS refused the request, 70 internal error.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _add_debug(parser)
    parser.set_defaults(debug=False)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = _wanted(argv)
    for name, module_name, help_text in _COMMANDS:
        if wanted == (name,):
            _mount(subparsers, (name,), module_name, help_text)
        else:
            subparsers.add_parser(name, help=help_text)
    for group, group_help, commands in _GROUPS:
        group_parser = subparsers.add_parser(group, help=group_help)
        group_sub = group_parser.add_subparsers(dest="subcommand", metavar="SUBCOMMAND")
        for name, module_name, help_text in commands:
            if wanted == (group, name):
                _mount(group_sub, (group, name), module_name, help_text)
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
    """The entry point; returns the exit status."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args_list or bool(os.environ.get(DEBUG_VARIABLE))
    args: argparse.Namespace | None = None
    try:
        completing = "_ARGCOMPLETE" in os.environ
        parser = build_parser(_completion_words() if completing else args_list)
        if completing:
            _complete(parser)
        args = parser.parse_args(args_list)
        run: Runner | None = getattr(args, "_run", None)
        if run is None:
            parser.print_help()
            return ExitCode.USAGE
        code = int(run(args))
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit
        return code
    except KeyboardInterrupt:
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        # Point stdout at /dev/null so that the interpreter's final flush stays quiet too.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return ExitCode.BROKEN_PIPE
    except Exception as exc:
        return _report(exc, args, debug)


def _report(exc: Exception, args: argparse.Namespace | None, debug: bool) -> int:
    """One line on stderr for an error; its traceback with --debug."""
    from ndjson_parquet.cli import aws

    target: aws.Target | None = None
    where = ""
    if args is not None and hasattr(args, "endpoint_url"):
        try:
            target = aws.target_from_args(args)
            where = target.describe()
        except Exception:  # the configuration itself is broken: the error says how
            target = None
    error = explain(exc, where, local=bool(target and target.aws.local))
    if debug:
        traceback.print_exc()
    if error is None:
        message = f"internal error: {type(exc).__name__}: {exc}"
        if not debug:
            message += " (run again with --debug for the traceback, and report it)"
        print(f"{PROG}: {message}", file=sys.stderr)
        return ExitCode.INTERNAL
    message = error.message
    if isinstance(error, NotFound) and error is not exc and target is not None:
        message += _environments_hint(target)
    print(f"{PROG}: {message}", file=sys.stderr)
    return error.exit_code


def _environments_hint(target: Any) -> str:
    """Which environments the endpoint does have, when the named one is missing."""
    from ndjson_parquet.cli.aws import deployed_environments

    try:
        found = deployed_environments(target.aws)
    except Exception:  # a hint only: the error itself is already known
        return ""
    if not found:
        return ""
    return "; deployed there: " + ", ".join(f"--env {e}" for e in found)


def _completion_words() -> list[str]:
    """The words before the cursor of the line being completed (argcomplete's protocol)."""
    line = os.environ.get("COMP_LINE", "")
    point = int(os.environ.get("COMP_POINT", len(line)))
    try:
        words = shlex.split(line[:point])
    except ValueError:
        words = line[:point].split()
    return words[1:]


def _complete(parser: argparse.ArgumentParser) -> None:
    import argcomplete

    argcomplete.autocomplete(parser)


if __name__ == "__main__":
    sys.exit(main())
