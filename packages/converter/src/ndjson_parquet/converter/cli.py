"""Convert NDJSON files to Parquet: every line ends up in the output or in quarantine.

Stand-alone as `ndjson-parquet-convert SRC... --output DEST`; the operator command mounts the
same arguments as `ndjson-parquet convert` (`add_arguments` and `run`).

Inputs: files, `-` (standard input), folders and glob patterns (`in/**/*.ndjson`), s3:// URIs
of objects and s3:// prefixes (`s3://bucket/2024-03-05/`). A folder or prefix stands for the
NDJSON files under it (names ending in .ndjson, .jsonl or .json, optionally .gz/.zst/.zstd;
names starting with `_` or `.` are skipped, as dataset readers skip them), in name order.

Exit codes: 0 converted; 1 the conversion failed; 2 bad usage; 3 more lines were bad than
`--max-error-rate` allows (nothing was written); 4 the input had non-blank lines but no row was
written (all went to quarantine; the quarantine file and summary are written). Warnings (no
row written, a `--partition-by` field no row has) go to stderr.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final

from ndjson_parquet.common import ManifestError
from ndjson_parquet.converter.cli_display import new_console, print_summary, progress_bar

if TYPE_CHECKING:
    from ndjson_parquet.converter import ConvertOptions, Progress, Summary

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2
EXIT_MAX_ERROR_RATE: Final = 3
EXIT_NO_ROWS: Final = 4

_NDJSON_NAME: Final = re.compile(r"[^/]*\.(ndjson|jsonl|json)(\.(gz|zst|zstd))?", re.IGNORECASE)
_GLOB_CHARS: Final = re.compile(r"[*?\[]")

DESCRIPTION: Final = (
    "Convert NDJSON files (local paths or s3:// URIs; .gz and .zst by extension) to Parquet. "
    "Every line ends up in the output or in quarantine, and the counts add up."
)


def _error_rate(text: str) -> float:
    try:
        rate = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= rate <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return rate


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the `convert` arguments to `parser` (a standalone parser or a subcommand's)."""
    parser.add_argument(
        "sources",
        nargs="*",
        metavar="SRC",
        help="input files, '-' (stdin), folders, glob patterns, s3:// URIs or s3:// prefixes "
        "(or give --manifest instead)",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="DEST",
        help="output folder or s3:// prefix (or give --table)",
    )
    parser.add_argument(
        "--manifest",
        metavar="URI",
        help="convert the files of this manifest document (local path or s3:// URI)",
    )
    parser.add_argument(
        "--quarantine",
        metavar="DEST",
        help="where rejected lines go (folder or s3:// prefix); default: the library's",
    )
    parser.add_argument(
        "--schema",
        metavar="FILE",
        help="declared schema file (local path or s3:// URI); overrides inference",
    )
    parser.add_argument(
        "--partition-by",
        metavar="FIELD",
        help="write Hive-style dt=YYYY-MM-DD/ folders from this date or timestamp field "
        "(with --table: partition a new table by day(FIELD))",
    )
    parser.add_argument(
        "--compression",
        choices=("zstd", "snappy"),
        help="Parquet compression (default: zstd)",
    )
    parser.add_argument(
        "--max-error-rate",
        type=_error_rate,
        metavar="R",
        help="fail, committing nothing, when more than this fraction (0..1) of lines is rejected",
    )
    parser.add_argument(
        "--lineage",
        action="store_true",
        help="add _source_file, _source_line and _manifest_id columns",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the summary as one JSON object (no progress bar)",
    )
    add_table_arguments(parser)


def add_table_arguments(parser: argparse.ArgumentParser) -> None:
    """The Iceberg table destination (`ndjson_parquet.converter.table`), instead of --output."""
    group = parser.add_argument_group("Iceberg table (needs the converter's iceberg extra)")
    group.add_argument(
        "--table",
        metavar="DB.TABLE",
        help="commit the run to this Iceberg table as one snapshot (created by the first run)",
    )
    group.add_argument(
        "--warehouse",
        metavar="LOC",
        help="folder or s3:// prefix of the tables; with --catalog sql also holds catalog.db",
    )
    group.add_argument(
        "--catalog",
        choices=("sql", "glue"),
        default="sql",
        help="sql: a SQLite catalog in the warehouse (default); glue: the Glue Data Catalog",
    )
    group.add_argument(
        "--target-file-mb",
        type=float,
        metavar="MB",
        help="size at which a data file of the table is closed (default: 128)",
    )
    group.add_argument(
        "--replay",
        action="store_true",
        help="SRC are quarantine files: convert their lines into --table again",
    )


def build_parser(prog: str = "ndjson-parquet-convert") -> argparse.ArgumentParser:
    from ndjson_parquet.converter import __version__

    parser = argparse.ArgumentParser(prog=prog, description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    add_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Standalone entry point (`ndjson-parquet-convert`); returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error already printed by argparse
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    return run(args)


def run(args: argparse.Namespace) -> int:
    """Run a conversion from parsed `add_arguments` arguments; returns the exit code."""
    from botocore.exceptions import BotoCoreError, ClientError

    from ndjson_parquet.converter import ConversionError, MaxErrorRateExceeded, convert

    if bool(args.sources) == bool(args.manifest):
        return _fail("give input files or --manifest (one of them)", EXIT_USAGE)
    usage = _destination_usage(args)
    if usage:
        return _fail(usage, EXIT_USAGE)
    interactive = not args.json and sys.stdout.isatty()
    try:
        options = _options(args)
        sources: Any = expand_inputs(args.sources)
        if args.manifest:
            from ndjson_parquet.converter.glue import read_manifest

            sources = read_manifest(args.manifest)
        with progress_bar(interactive) as on_progress:
            if args.table:
                summary = _to_table(args, sources, options, on_progress)
            else:
                summary = convert(sources, args.output, options, progress=on_progress)
        if args.manifest and not args.table:
            from ndjson_parquet.converter.spark import remove_split_leftovers

            remove_split_leftovers(summary, options, sources)
    except MaxErrorRateExceeded as exc:
        return _fail(str(exc), EXIT_MAX_ERROR_RATE)
    except (ConversionError, ManifestError, OSError, ValueError, BotoCoreError, ClientError) as exc:
        return _fail(str(exc) or type(exc).__name__, EXIT_FAILED)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    if args.json:
        print(json.dumps(summary.to_dict(), default=str))
    else:
        print_summary(summary, new_console())
    for warning in summary.warnings:
        print(f"ndjson-parquet convert: warning: {warning}", file=sys.stderr)
    if summary.rows_written == 0 and summary.lines_read > summary.blank_lines:
        return EXIT_NO_ROWS
    return EXIT_OK


class InputError(ValueError):
    """An input pattern, folder or prefix that names no file."""


def expand_inputs(specs: Sequence[str]) -> list[str]:
    """Files, in order, for the command's inputs (see the module docs)."""
    found: list[str] = []
    for spec in specs:
        if spec == "-":
            found.append(spec)
        elif spec.startswith("s3://"):
            found.extend(_s3_inputs(spec))
        elif _GLOB_CHARS.search(spec):
            matches = sorted(p for p in glob.glob(spec, recursive=True) if os.path.isfile(p))
            if not matches:
                raise InputError(f"no file matches {spec}")
            found.extend(matches)
        elif os.path.isdir(spec):
            found.extend(_folder_inputs(spec))
        else:
            found.append(spec)
    return found


def _is_data_file(relative: str) -> bool:
    parts = relative.replace(os.sep, "/").split("/")
    hidden = any(p.startswith(("_", ".")) for p in parts)
    return not hidden and bool(_NDJSON_NAME.fullmatch(parts[-1]))


def _folder_inputs(folder: str) -> list[str]:
    files = []
    for root, _dirs, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            if _is_data_file(os.path.relpath(path, folder)):
                files.append(path)
    if not files:
        raise InputError(f"no NDJSON file (.ndjson, .jsonl, .json) in folder {folder}")
    return sorted(files)


def _s3_inputs(uri: str) -> list[str]:
    """An object, or the NDJSON objects under a prefix (a URI ending in '/', naming a bucket,
    or naming no object with an NDJSON file name)."""
    from ndjson_parquet.converter import storage

    bucket_and_key = uri[len("s3://") :]
    key = bucket_and_key.partition("/")[2]
    if key and not key.endswith("/") and _NDJSON_NAME.fullmatch(key.rsplit("/", 1)[-1]):
        return [uri]
    prefix = uri if not key or key.endswith("/") else uri + "/"
    objects = storage.list_files(prefix)
    root = prefix.rstrip("/") + "/"
    files = sorted(o for o in objects if _is_data_file(o[len(root) :]))
    if not files:
        if key and not key.endswith("/"):
            return [uri]  # an object with another name: read as NDJSON
        raise InputError(f"no NDJSON object under {uri}")
    return files


def _destination_usage(args: argparse.Namespace) -> str | None:
    """What is wrong with the destination arguments, if anything."""
    if bool(args.output) == bool(args.table):
        return "give --output or --table (one of them)"
    if args.table and not args.warehouse:
        return "--table needs --warehouse"
    if args.replay and not args.table:
        return "--replay needs --table"
    return None


def _to_table(
    args: argparse.Namespace,
    sources: Any,
    options: ConvertOptions,
    on_progress: Callable[[Progress], None] | None,
) -> Summary:
    from ndjson_parquet.converter.table import (
        TableDestination,
        convert_to_table,
        replay_quarantine,
    )

    fields: dict[str, Any] = {"catalog": args.catalog, "partition_by": args.partition_by}
    if args.target_file_mb is not None:
        fields["target_file_bytes"] = int(args.target_file_mb * 1024 * 1024)
    destination = TableDestination(args.table, args.warehouse, **fields)
    if args.replay:
        return replay_quarantine(sources, destination, options, progress=on_progress)
    return convert_to_table(sources, destination, options, progress=on_progress)


def _options(args: argparse.Namespace) -> ConvertOptions:
    from ndjson_parquet.converter import ConvertOptions, load_schema

    fields: dict[str, Any] = {"lineage": args.lineage}
    if args.quarantine:
        fields["quarantine"] = args.quarantine
    if args.schema:
        fields["schema"] = load_schema(args.schema)
    if args.partition_by:
        fields["partition_by"] = args.partition_by
    if args.compression:
        fields["compression"] = args.compression
    if args.max_error_rate is not None:
        fields["max_error_rate"] = args.max_error_rate
    return ConvertOptions(**fields)


def _fail(message: str, code: int) -> int:
    print(f"ndjson-parquet convert: error: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":  # pragma: no cover - `python -m ndjson_parquet.converter.cli`
    sys.exit(main())
