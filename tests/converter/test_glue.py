"""Glue job arguments are read the way awsglue's getResolvedOptions reads them."""

from __future__ import annotations

import pytest

from ndjson_parquet.common import GlueArg
from ndjson_parquet.converter.glue import GlueArgumentError, parse_args, resolve_options

# What Glue itself puts around the job's own arguments on a real run.
GLUE_OWN = [
    "--JOB_ID",
    "j_0123",
    "--JOB_RUN_ID",
    "jr_abc",
    "--job-bookmark-option",
    "job-bookmark-disable",
    "--TempDir",
    "s3://aws-glue-assets/temporary/",
    "--enable-metrics",
    "true",
    "--JOB_NAME",
    "ndjson-parquet-converter-dev",
]


def _argv(*pairs: str) -> list[str]:
    return ["/tmp/glue_script.py", *GLUE_OWN[:6], *pairs, *GLUE_OWN[6:]]


def test_required_and_glue_own_arguments() -> None:
    args = parse_args(
        _argv("--MANIFEST_PATH", "s3://m/manifests/x.json", "--OUTPUT_URI", "s3://out/tbl/")
    )
    assert args.manifest_path == "s3://m/manifests/x.json"
    assert args.output_uri == "s3://out/tbl/"
    assert args.job_name == "ndjson-parquet-converter-dev"
    assert args.job_run_id == "jr_abc"
    assert (args.quarantine_uri, args.compression, args.partition_by) == (None, None, None)
    assert (args.max_error_rate, args.lineage, args.schema_uri) == (None, False, None)


def test_every_optional_argument() -> None:
    args = parse_args(
        _argv(
            f"--{GlueArg.MANIFEST_PATH}=s3://m/x.json",
            f"--{GlueArg.OUTPUT_URI}",
            "s3://out/",
            f"--{GlueArg.QUARANTINE_URI}",
            "s3://q/",
            f"--{GlueArg.COMPRESSION}",
            "snappy",
            f"--{GlueArg.PARTITION_BY}",
            "event_time",
            f"--{GlueArg.MAX_ERROR_RATE}",
            "0.05",
            f"--{GlueArg.LINEAGE}",
            "True",
            f"--{GlueArg.SCHEMA_URI}",
            "s3://cfg/schema.json",
        )
    )
    assert args.manifest_path == "s3://m/x.json"
    assert args.quarantine_uri == "s3://q/"
    assert args.compression == "snappy"
    assert args.partition_by == "event_time"
    assert args.max_error_rate == 0.05
    assert args.lineage is True
    assert args.schema_uri == "s3://cfg/schema.json"


def test_empty_default_arguments_count_as_unset() -> None:
    # Terraform passes every default argument; an unset one arrives as an empty string.
    args = parse_args(
        _argv(
            "--MANIFEST_PATH",
            "m.json",
            "--OUTPUT_URI",
            "out",
            "--PARTITION_BY",
            "",
            "--MAX_ERROR_RATE",
            "",
            "--LINEAGE",
            "",
        )
    )
    assert (args.partition_by, args.max_error_rate, args.lineage) == (None, None, False)


def test_argv_without_program_name() -> None:
    args = parse_args(["--MANIFEST_PATH", "m.json", "--OUTPUT_URI", "out"])
    assert (args.manifest_path, args.output_uri) == ("m.json", "out")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "OUTPUT_URI"),
        (["--OUTPUT_URI", ""], "OUTPUT_URI must not be empty"),
        (["--OUTPUT_URI", "o", "--COMPRESSION", "gzip"], "zstd or snappy"),
        (["--OUTPUT_URI", "o", "--MAX_ERROR_RATE", "lots"], "must be a number"),
        (["--OUTPUT_URI", "o", "--MAX_ERROR_RATE", "1.5"], "between 0 and 1"),
        (["--OUTPUT_URI", "o", "--LINEAGE", "maybe"], "true or false"),
    ],
)
def test_bad_arguments_raise(extra: list[str], message: str) -> None:
    with pytest.raises(GlueArgumentError, match=message):
        parse_args(_argv("--MANIFEST_PATH", "m.json", *extra))


def test_resolve_options_ignores_unknown_and_requires_named() -> None:
    argv = _argv("--A", "1", "--B", "2")
    assert resolve_options(argv, ["B"]) == {"B": "2"}
    with pytest.raises(GlueArgumentError, match="C"):
        resolve_options(argv, ["A", "C"])
