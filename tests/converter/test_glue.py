"""The Glue entrypoint: arguments read as awsglue reads them, and whole runs against moto."""

from __future__ import annotations

import io
import json
import logging
import re
import runpy
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

from ndjson_parquet.common import GlueArg, Manifest, ManifestError, ManifestFile
from ndjson_parquet.converter import MaxErrorRateExceeded, glue
from ndjson_parquet.converter.glue import (
    GlueArgumentError,
    convert_options,
    parse_args,
    resolve_options,
)

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
        (["--OUTPUT_URI", "o", "--OUTPUT_FORMAT", "delta"], "parquet or iceberg"),
        (["--OUTPUT_URI", "o", "--OUTPUT_FORMAT", "iceberg"], "needs --ICEBERG_TABLE"),
        (["--OUTPUT_URI", "o", "--TARGET_FILE_MB", "0"], "positive number"),
        (["--OUTPUT_URI", "o", "--TARGET_FILE_MB", "big"], "positive number"),
    ],
)
def test_bad_arguments_raise(extra: list[str], message: str) -> None:
    with pytest.raises(GlueArgumentError, match=message):
        parse_args(_argv("--MANIFEST_PATH", "m.json", *extra))


def test_the_iceberg_output_arguments() -> None:
    args = parse_args(
        _argv(
            *("--MANIFEST_PATH", "m.json", "--OUTPUT_URI", "s3://lake/"),
            *("--OUTPUT_FORMAT", "iceberg", "--ICEBERG_TABLE", "db.events"),
            *("--TARGET_FILE_MB", "256"),
        )
    )
    assert (args.output_format, args.iceberg_table) == ("iceberg", "db.events")
    assert convert_options(args).target_file_bytes == 256 * 1024 * 1024
    assert parse_args(_argv("--MANIFEST_PATH", "m", "--OUTPUT_URI", "o")).output_format == "parquet"


def test_resolve_options_ignores_unknown_and_requires_named() -> None:
    argv = _argv("--A", "1", "--B", "2")
    assert resolve_options(argv, ["B"]) == {"B": "2"}
    with pytest.raises(GlueArgumentError, match="C"):
        resolve_options(argv, ["A", "C"])


# --- end to end, against moto's S3 --------------------------------------------------------------

MANIFEST_ID = "2024-03-05-20240306T010203Z-9f1c2ab4"
INPUTS = {
    "incoming/2024-03-05/a.ndjson": b'{"id": 1, "v": 1}\n{"id": 2, "v": 2.5}\n\n',
    "incoming/2024-03-05/b.ndjson": b'{"id": 3, "v": "x", "new": {"k": true}}\nnot json\n',
}


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3")
        for bucket in ("input-bucket", "manifest-bucket", "output-bucket", "quarantine-bucket"):
            client.create_bucket(Bucket=bucket)
        yield client


def _upload_manifest(s3: Any, inputs: dict[str, bytes], missing: tuple[str, ...] = ()) -> str:
    files = []
    for key, body in inputs.items():
        etag = "0" * 32
        if key not in missing:
            etag = s3.put_object(Bucket="input-bucket", Key=key, Body=body)["ETag"].strip('"')
        files.append(ManifestFile(bucket="input-bucket", key=key, size=len(body), etag=etag))
    manifest = Manifest.build(
        MANIFEST_ID, "2024-03-05", files, created_at=datetime(2024, 3, 6, tzinfo=UTC)
    )
    s3.put_object(Bucket="manifest-bucket", Key=manifest.s3_key(), Body=manifest.to_json())
    return f"s3://manifest-bucket/{manifest.s3_key()}"


def _job_argv(manifest_path: str, *extra: str) -> list[str]:
    return _argv(
        "--MANIFEST_PATH",
        manifest_path,
        "--OUTPUT_URI",
        "s3://output-bucket/events/",
        "--QUARANTINE_URI",
        "s3://quarantine-bucket/events/",
        *extra,
    )


def _keys(s3: Any, bucket: str) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def test_glue_main_converts_a_manifest_from_s3_to_s3(
    s3: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ndjson_parquet.converter.glue")
    summary = glue.main(_job_argv(_upload_manifest(s3, INPUTS), "--LINEAGE", "true"))

    assert summary.manifest_id == MANIFEST_ID
    assert (summary.lines_read, summary.blank_lines) == (5, 1)
    assert (summary.rows_written, summary.lines_quarantined) == (3, 1)
    parquet = [k for k in _keys(s3, "output-bucket") if k.endswith(".parquet")]
    assert parquet
    assert all(k.startswith("events/dt=2024-03-05/") and MANIFEST_ID in k for k in parquet)
    rows = []
    for key in parquet:
        body = s3.get_object(Bucket="output-bucket", Key=key)["Body"].read()
        rows.extend(pq.read_table(io.BytesIO(body)).to_pylist())
    assert sorted(r["id"] for r in rows) == [1, 2, 3]
    assert {r["_manifest_id"] for r in rows} == {MANIFEST_ID}
    assert {(r["_source_file"].rsplit("/", 1)[-1], r["_source_line"]) for r in rows} == {
        ("a.ndjson", 1),
        ("a.ndjson", 2),
        ("b.ndjson", 1),
    }
    # The summary object marks the output complete; the quarantine names file and line.
    assert f"events/_summary/{MANIFEST_ID}.json" in _keys(s3, "output-bucket")
    (q_key,) = _keys(s3, "quarantine-bucket")
    record = json.loads(s3.get_object(Bucket="quarantine-bucket", Key=q_key)["Body"].read())
    assert (record["source"], record["line"]) == (
        "s3://input-bucket/incoming/2024-03-05/b.ndjson",
        2,
    )
    # The summary is logged as one JSON document.
    logged = [r.getMessage() for r in caplog.records if "conversion summary" in r.getMessage()]
    assert len(logged) == 1
    doc = json.loads(logged[0].split("conversion summary ", 1)[1])
    assert doc["rows_written"] == 3
    assert doc["counts_add_up"] is True


def test_glue_retry_overwrites_its_own_files(s3: Any) -> None:
    path = _upload_manifest(s3, INPUTS)
    first = glue.main(_job_argv(path))
    before = _keys(s3, "output-bucket")
    # A retry is another job run (new JOB_RUN_ID): same names, nothing added.
    again = glue.main([a.replace("jr_abc", "jr_retry") for a in _job_argv(path)])
    assert _keys(s3, "output-bucket") == before
    assert again.output_files == first.output_files


def test_glue_main_sets_a_deleted_input_aside_as_superseded(
    s3: Any, caplog: pytest.LogCaptureFixture
) -> None:
    path = _upload_manifest(s3, INPUTS, missing=("incoming/2024-03-05/b.ndjson",))
    summary = glue.main(_job_argv(path))
    assert [s["uri"] for s in summary.superseded_files] == [
        "s3://input-bucket/incoming/2024-03-05/b.ndjson"
    ]
    assert summary.rows_written == 2
    assert any("superseded" in r.getMessage() for r in caplog.records if r.levelname == "WARNING")


def test_glue_main_raises_when_the_error_rate_is_exceeded(s3: Any) -> None:
    path = _upload_manifest(s3, INPUTS)
    with pytest.raises(MaxErrorRateExceeded):
        glue.main(_job_argv(path, "--MAX_ERROR_RATE", "0.1"))
    assert _keys(s3, "output-bucket") == []


def test_glue_main_raises_on_a_missing_manifest(s3: Any) -> None:
    with pytest.raises(ManifestError, match=re.escape("s3://manifest-bucket/nope.json")):
        glue.main(_job_argv("s3://manifest-bucket/nope.json"))


def test_glue_script_runs_main_with_sys_argv(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    script = Path(glue.__file__).with_name("glue_script.py")
    monkeypatch.setattr(sys, "argv", [str(script), *_job_argv(_upload_manifest(s3, INPUTS))[1:]])
    runpy.run_path(str(script), run_name="__main__")
    assert f"events/_summary/{MANIFEST_ID}.json" in _keys(s3, "output-bucket")


class _FakeAwsglue:
    """`awsglue.utils` as Glue ships it, reduced to what matters here: it rejects reserved
    names (JOB_ID, JOB_RUN_ID, SECURITY_CONFIGURATION) and requires every name asked for."""

    calls: list[list[str]]

    def __init__(self) -> None:
        self.calls = []

    def getResolvedOptions(self, args: list[str], options: list[str]) -> dict[str, str]:
        import argparse

        self.calls.append(list(options))
        for reserved in ("JOB_ID", "JOB_RUN_ID", "SECURITY_CONFIGURATION"):
            if reserved in options:
                raise RuntimeError(f"Using reserved arguments --{reserved}")
        parser = argparse.ArgumentParser()
        for option in ("--JOB_NAME", "--JOB_ID", "--JOB_RUN_ID", "--TempDir"):
            parser.add_argument(option, required=False)
        parser.add_argument("--job-bookmark-option", required=False)
        for option in options:
            if option not in ("JOB_NAME", "TempDir"):
                parser.add_argument(f"--{option}", required=True)
        parsed, _ = parser.parse_known_args(args[1:])
        return vars(parsed)


def test_with_awsglue_only_job_arguments_are_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    fake = _FakeAwsglue()
    utils = types.ModuleType("awsglue.utils")
    utils.getResolvedOptions = fake.getResolvedOptions  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "awsglue", types.ModuleType("awsglue"))
    monkeypatch.setitem(sys.modules, "awsglue.utils", utils)

    args = parse_args(
        _argv("--MANIFEST_PATH", "s3://m/x.json", "--OUTPUT_URI", "s3://o/", "--LINEAGE", "1")
    )
    assert fake.calls == [["MANIFEST_PATH", "OUTPUT_URI", "LINEAGE"]]
    assert (args.manifest_path, args.output_uri, args.lineage) == ("s3://m/x.json", "s3://o/", True)
    assert (args.job_name, args.job_run_id) == ("ndjson-parquet-converter-dev", "jr_abc")
    with pytest.raises(GlueArgumentError, match="reserved arguments"):
        resolve_options(_argv(), ["JOB_RUN_ID"])
