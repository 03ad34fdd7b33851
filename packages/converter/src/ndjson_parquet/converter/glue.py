"""AWS Glue entrypoint: convert the files of one manifest, as the workflow's Glue job run.

Glue starts `glue_script.py`, which calls `main(sys.argv)`. Job arguments arrive as
`--NAME value` pairs (names in `ndjson_parquet.common.GlueArg`) mixed with Glue's own
(`--JOB_NAME`, `--JOB_RUN_ID`, `--TempDir`, `--job-bookmark-option`, ...). They are read the way
`awsglue.utils.getResolvedOptions` reads them, with awsglue when it is installed and with the
same argparse rules otherwise, so the entrypoint also runs (and is tested) outside Glue.

Any failure raises: the Glue run then FAILS and the state machine retries or alerts. An input
overwritten or deleted since the manifest was made is no failure: the summary lists it in
`superseded_files`, the run's warning is logged, and the other inputs are converted.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, cast

from ndjson_parquet.common import GlueArg, Manifest, ManifestError, S3Uri

if TYPE_CHECKING:
    from ndjson_parquet.converter import ConvertOptions, Summary

log = logging.getLogger(__name__)

REQUIRED_ARGS: Final = (GlueArg.MANIFEST_PATH, GlueArg.OUTPUT_URI)
OPTIONAL_ARGS: Final = (
    GlueArg.QUARANTINE_URI,
    GlueArg.COMPRESSION,
    GlueArg.PARTITION_BY,
    GlueArg.MAX_ERROR_RATE,
    GlueArg.LINEAGE,
    GlueArg.SCHEMA_URI,
    GlueArg.OUTPUT_FORMAT,
    GlueArg.ICEBERG_TABLE,
    GlueArg.TARGET_FILE_MB,
)
# Set by Glue on every run; read here, not through getResolvedOptions (which rejects reserved
# names). Logged only, never the conversion's run id: output names must stay those of the
# manifest so that a retried run overwrites the files of the failed one.
JOB_NAME: Final = "JOB_NAME"
JOB_RUN_ID: Final = "JOB_RUN_ID"

_TRUE: Final = frozenset({"true", "1", "yes", "on"})
_FALSE: Final = frozenset({"false", "0", "no", "off", ""})


class GlueArgumentError(ValueError):
    """Job arguments that are missing or cannot be understood."""


@dataclass(frozen=True, slots=True)
class GlueJobArgs:
    """The converter's job arguments, typed. Empty strings count as not set."""

    manifest_path: str
    output_uri: str
    quarantine_uri: str | None = None
    compression: Literal["zstd", "snappy"] | None = None
    partition_by: str | None = None
    max_error_rate: float | None = None
    lineage: bool = False
    schema_uri: str | None = None
    output_format: Literal["parquet", "iceberg"] = "parquet"
    iceberg_table: str | None = None
    target_file_mb: float | None = None
    job_name: str | None = None
    job_run_id: str | None = None


def _present(argv: Sequence[str], name: str) -> bool:
    flag = f"--{name}"
    return any(arg == flag or arg.startswith(f"{flag}=") for arg in argv)


def _program_first(argv: Sequence[str]) -> list[str]:
    """argv with a program name first: getResolvedOptions always drops `argv[0]`."""
    args = list(argv)
    if not args or args[0].startswith("--"):
        args.insert(0, "glue_script.py")
    return args


def resolve_options(argv: Sequence[str], names: Iterable[str]) -> dict[str, str]:
    """`awsglue.utils.getResolvedOptions(argv, names)`, or the same rules without awsglue.

    Every name is required; other arguments (Glue's own) are tolerated and ignored.
    """
    args, wanted = _program_first(argv), list(names)
    try:
        from awsglue.utils import getResolvedOptions
    except ImportError:
        parser = _ArgParser(prog="glue_script.py", add_help=False, allow_abbrev=False)
        for name in wanted:
            parser.add_argument(f"--{name}", required=True)
        parsed, _glue_own = parser.parse_known_args(args[1:])
        return {name: getattr(parsed, name) for name in wanted}
    try:
        resolved = getResolvedOptions(args, wanted)
    except Exception as exc:  # awsglue raises its own GlueArgumentError
        raise GlueArgumentError(str(exc)) from exc
    return {name: str(resolved[name]) for name in wanted}


class _ArgParser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # raise instead of sys.exit(2), as awsglue does
        raise GlueArgumentError(message)


def _glue_own(argv: Sequence[str], name: str) -> str | None:
    """One of Glue's own arguments, if given. Never asked of getResolvedOptions: it rejects
    reserved names such as JOB_RUN_ID with a RuntimeError."""
    parser = _ArgParser(add_help=False, allow_abbrev=False)
    parser.add_argument(f"--{name}")
    parsed, _rest = parser.parse_known_args(_program_first(argv)[1:])
    value: str | None = getattr(parsed, name)
    return value or None


def _parse_bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise GlueArgumentError(f"--{name} must be true or false, got {value!r}")


def parse_args(argv: Sequence[str]) -> GlueJobArgs:
    """Read the converter's arguments from a Glue argv (`sys.argv`)."""
    present = [name for name in OPTIONAL_ARGS if _present(argv, name)]
    values = resolve_options(argv, [*REQUIRED_ARGS, *present])
    got = {name: value for name, value in values.items() if value.strip()}
    for name in REQUIRED_ARGS:
        if name not in got:
            raise GlueArgumentError(f"--{name} must not be empty")

    compression = got.get(GlueArg.COMPRESSION)
    if compression is not None and compression not in ("zstd", "snappy"):
        raise GlueArgumentError(
            f"--{GlueArg.COMPRESSION} must be zstd or snappy, got {compression!r}"
        )

    max_error_rate: float | None = None
    if GlueArg.MAX_ERROR_RATE in got:
        raw = got[GlueArg.MAX_ERROR_RATE]
        try:
            max_error_rate = float(raw)
        except ValueError:
            raise GlueArgumentError(
                f"--{GlueArg.MAX_ERROR_RATE} must be a number, got {raw!r}"
            ) from None
        if not 0.0 <= max_error_rate <= 1.0:
            raise GlueArgumentError(
                f"--{GlueArg.MAX_ERROR_RATE} must be between 0 and 1, got {raw!r}"
            )

    target_file_mb: float | None = None
    if GlueArg.TARGET_FILE_MB in got:
        raw = got[GlueArg.TARGET_FILE_MB]
        try:
            target_file_mb = float(raw)
        except ValueError:
            target_file_mb = -1.0
        if not target_file_mb > 0:
            raise GlueArgumentError(
                f"--{GlueArg.TARGET_FILE_MB} must be a positive number, got {raw!r}"
            )

    output_format = got.get(GlueArg.OUTPUT_FORMAT, "parquet")
    if output_format not in ("parquet", "iceberg"):
        raise GlueArgumentError(
            f"--{GlueArg.OUTPUT_FORMAT} must be parquet or iceberg, got {output_format!r}"
        )
    if output_format == "iceberg" and GlueArg.ICEBERG_TABLE not in got:
        raise GlueArgumentError(
            f"--{GlueArg.OUTPUT_FORMAT} iceberg needs --{GlueArg.ICEBERG_TABLE} database.table"
        )

    return GlueJobArgs(
        manifest_path=got[GlueArg.MANIFEST_PATH],
        output_uri=got[GlueArg.OUTPUT_URI],
        quarantine_uri=got.get(GlueArg.QUARANTINE_URI),
        compression=cast(Literal["zstd", "snappy"] | None, compression),
        partition_by=got.get(GlueArg.PARTITION_BY),
        max_error_rate=max_error_rate,
        lineage=_parse_bool(GlueArg.LINEAGE, values.get(GlueArg.LINEAGE, "false")),
        schema_uri=got.get(GlueArg.SCHEMA_URI),
        output_format=cast(Literal["parquet", "iceberg"], output_format),
        iceberg_table=got.get(GlueArg.ICEBERG_TABLE),
        target_file_mb=target_file_mb,
        job_name=_glue_own(argv, JOB_NAME),
        job_run_id=_glue_own(argv, JOB_RUN_ID),
    )


def argv_from_arguments(arguments: Mapping[str, str]) -> list[str]:
    """A Glue-style argv (`["glue_script.py", "--NAME", "value", ...]`) for job arguments given as
    a mapping (`{"--MANIFEST_PATH": "s3://..."}`), as the Lambda entrypoint receives them."""
    argv = ["glue_script.py"]
    for name, value in arguments.items():
        if not name.startswith("--"):
            raise GlueArgumentError(f"argument names start with --, got {name!r}")
        argv.extend((name, str(value)))
    return argv


def read_manifest(location: str) -> Manifest:
    """Load and validate a manifest document from a local path or an s3:// URI.

    S3 is read with boto3, so `AWS_ENDPOINT_URL` points it at an emulator.
    """
    if S3Uri.is_s3(location):
        uri = S3Uri.parse(location)
        import boto3
        from botocore.exceptions import ClientError

        try:
            body = boto3.client("s3").get_object(Bucket=uri.bucket, Key=uri.key)["Body"].read()
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            raise ManifestError(f"cannot read manifest {location}: {code or exc}") from exc
    else:
        try:
            body = Path(location).read_bytes()
        except OSError as exc:
            raise ManifestError(f"cannot read manifest {location}: {exc.strerror}") from exc
    return Manifest.from_json(body, source=location)


def convert_options(args: GlueJobArgs) -> ConvertOptions:
    """The `ConvertOptions` for these job arguments (unset ones keep the library defaults)."""
    from ndjson_parquet.converter import ConvertOptions, load_schema

    fields: dict[str, Any] = {"lineage": args.lineage}
    if args.quarantine_uri is not None:
        fields["quarantine"] = args.quarantine_uri
    if args.compression is not None:
        fields["compression"] = args.compression
    if args.partition_by is not None:
        fields["partition_by"] = args.partition_by
    if args.max_error_rate is not None:
        fields["max_error_rate"] = args.max_error_rate
    if args.schema_uri is not None:
        fields["schema"] = load_schema(args.schema_uri)
    if args.target_file_mb is not None:
        fields["target_file_bytes"] = int(args.target_file_mb * 1024 * 1024)
    return ConvertOptions(**fields)


@dataclass(slots=True)
class _GlueRuntime:
    """The Spark context (and the Glue job) when running on Glue; nothing otherwise."""

    spark_context: Any = None
    job: Any = None

    @classmethod
    def start(cls, args: GlueJobArgs, argv: Sequence[str], spark_context: Any) -> _GlueRuntime:
        try:
            from awsglue.context import GlueContext
            from awsglue.job import Job
            from pyspark.context import SparkContext
        except ImportError:  # plain Python: in-process, unless a Spark context was handed in
            return cls(spark_context=spark_context)
        sc = spark_context or SparkContext.getOrCreate()
        job = None
        if args.job_name:
            job = Job(GlueContext(sc))
            job.init(args.job_name, resolve_options(argv, [JOB_NAME]))
        return cls(spark_context=sc, job=job)

    def commit(self) -> None:
        if self.job is not None:
            self.job.commit()


def summary_json(summary: Summary) -> str:
    """One line of JSON: what the Glue log shows and what operators grep for."""
    return json.dumps(summary.to_dict(), default=str, separators=(",", ":"))


def main(argv: Sequence[str] | None = None, *, spark_context: Any = None) -> Summary:
    """Run one conversion from Glue job arguments and return its `Summary`.

    On Glue (awsglue importable) the job's Spark context is used; elsewhere `spark_context` may
    hand one in. With more than one Spark core and more than one file, the manifest's files are
    spread over the executors (`ndjson_parquet.converter.spark`); otherwise they are converted
    in this process.
    Raises on any failure so that the Glue job run fails.
    """
    argv = list(sys.argv if argv is None else argv)
    started = time.monotonic()
    try:
        args = parse_args(argv)
        runtime = _GlueRuntime.start(args, argv, spark_context)
        manifest = read_manifest(args.manifest_path)
        log.info(
            "job run %s: converting manifest %s: %d files, %d bytes -> %s",
            args.job_run_id or "-",
            manifest.manifest_id,
            manifest.file_count,
            manifest.total_bytes,
            args.output_uri,
        )
        summary = _convert(manifest, args, runtime.spark_context)
        runtime.commit()
    except Exception:
        log.exception(
            "conversion failed after %.1f s (argv: %s)", time.monotonic() - started, _safe(argv)
        )
        raise
    log.info("conversion summary %s", summary_json(summary))
    for warning in summary.warnings:  # e.g. no row written: every line went to quarantine
        log.warning("%s", warning)
    return summary


def _convert(manifest: Manifest, args: GlueJobArgs, spark_context: Any) -> Summary:
    options = convert_options(args)
    if args.output_format == "iceberg":
        return _convert_to_table(manifest, args, options)
    if spark_context is not None:
        from ndjson_parquet.converter import spark
        from ndjson_parquet.converter.spark_plan import should_distribute

        if should_distribute(spark_context, manifest):
            return spark.convert_distributed(spark_context, manifest, args.output_uri, options)
    from ndjson_parquet.converter import convert
    from ndjson_parquet.converter.spark import remove_split_leftovers

    summary = convert(manifest, args.output_uri, options)
    remove_split_leftovers(summary, options, manifest)
    return summary


def _convert_to_table(manifest: Manifest, args: GlueJobArgs, options: ConvertOptions) -> Summary:
    """The manifest as one snapshot of the Glue Data Catalog table (converted in this process:
    the Spark path's shares would need one commit of several writers' files)."""
    from ndjson_parquet.converter.table import TableDestination, convert_to_table

    assert args.iceberg_table is not None  # parse_args requires it with iceberg
    destination = TableDestination(
        args.iceberg_table,
        args.output_uri,
        catalog="glue",
        partition_by=options.partition_by,
        target_file_bytes=options.target_file_bytes,
    )
    return convert_to_table(manifest, destination, options)


def _safe(argv: Sequence[str]) -> str:
    """argv for the log, without Glue's security configuration values."""
    hidden = {"--encryption-type", "--SECURITY_CONFIGURATION"}
    shown: list[str] = []
    hide_next = False
    for arg in _program_first(argv)[1:]:
        shown.append("***" if hide_next else arg)
        hide_next = arg in hidden
    return " ".join(shown)
