"""The Lambda entrypoint: the Glue job's arguments and output, from an event."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from ndjson_parquet.converter import MaxErrorRateExceeded, glue, lambda_function
from ndjson_parquet.converter.glue import GlueArgumentError
from tests.converter import test_glue
from tests.converter.test_glue import INPUTS, _job_argv, _keys, _upload_manifest

s3 = test_glue.s3  # the same moto buckets as the Glue entrypoint's tests

DEFAULTS = {
    "--OUTPUT_URI": "s3://output-bucket/events/",
    "--QUARANTINE_URI": "s3://quarantine-bucket/events/",
}


def _parquet_etags(s3: Any) -> dict[str, str]:
    keys = [k for k in _keys(s3, "output-bucket") if k.endswith(".parquet")]
    return {k: s3.get_object(Bucket="output-bucket", Key=k)["ETag"] for k in keys}


@pytest.fixture
def defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(lambda_function.ARGUMENTS_ENV, json.dumps(DEFAULTS))


def test_the_handler_writes_what_the_glue_entrypoint_writes(s3: Any, defaults: None) -> None:
    path = _upload_manifest(s3, INPUTS)
    glue_summary = glue.main(_job_argv(path))
    glue_output = _parquet_etags(s3)
    glue_quarantine = _keys(s3, "quarantine-bucket")

    result = lambda_function.handler(
        {"Arguments": {"--MANIFEST_PATH": path}}, SimpleNamespace(aws_request_id="req-1")
    )

    # Same Parquet names and bytes, summary object and quarantine: a retry in the other
    # compute overwrites, never adds.
    assert _parquet_etags(s3) == glue_output
    assert any("_summary" in k for k in _keys(s3, "output-bucket"))
    assert _keys(s3, "quarantine-bucket") == glue_quarantine
    assert result["rows_written"] == glue_summary.rows_written == 3
    assert result["lines_quarantined"] == 1
    assert result["output_files"] == len(glue_summary.output_files)
    assert result["request_id"] == "req-1"
    json.dumps(result)  # the state machine keeps it: JSON only


def test_an_input_overwritten_since_the_manifest_is_counted_not_failed(
    s3: Any, defaults: None
) -> None:
    path = _upload_manifest(s3, INPUTS)
    s3.put_object(Bucket="input-bucket", Key="incoming/2024-03-05/a.ndjson", Body=b'{"id":9}\n')

    result = lambda_function.handler({"Arguments": {"--MANIFEST_PATH": path}})

    assert result["superseded_files"] == 1
    assert result["rows_written"] == 1  # b.ndjson's one good line
    json.dumps(result)


def test_event_arguments_override_the_defaults(s3: Any, defaults: None) -> None:
    path = _upload_manifest(s3, INPUTS)
    with pytest.raises(MaxErrorRateExceeded):
        lambda_function.handler({"Arguments": {"--MANIFEST_PATH": path, "--MAX_ERROR_RATE": "0.1"}})


@pytest.mark.parametrize(
    ("event", "environ", "message"),
    [
        ({}, "{}", "Arguments"),
        ({"Arguments": {"MANIFEST_PATH": "x"}}, "{}", "start with --"),
        ({"Arguments": {"--MANIFEST_PATH": "x"}}, "[1]", "JSON object"),
        ({"Arguments": {"--MANIFEST_PATH": "x"}}, "{", "JSON object"),
        ({"Arguments": {"--MANIFEST_PATH": "x"}}, "{}", "OUTPUT_URI"),
    ],
)
def test_bad_events_and_settings_raise_argument_errors(
    monkeypatch: pytest.MonkeyPatch, event: dict[str, Any], environ: str, message: str
) -> None:
    monkeypatch.setenv(lambda_function.ARGUMENTS_ENV, environ)
    with pytest.raises(GlueArgumentError, match=message):
        lambda_function.handler(event)
