"""AWS Lambda entrypoint: convert the files of one manifest, as the workflow's Lambda run.

The workflow sends small manifests here and large ones to the Glue job, with the same job
arguments either way: the event is `{"Arguments": {"--MANIFEST_PATH": "s3://…"}}`, the
arguments the state machine passes to `glue:startJobRun`. The function's defaults (output,
quarantine, compression, …) are the environment variable `CONVERTER_ARGUMENTS`, a JSON object
of the same `--NAME: value` pairs as the Glue job's default arguments (Terraform writes both
from one map). Both entrypoints then run `ndjson_parquet.converter.glue.main`: the same argument
handling, the same output, summary and quarantine contract.

An input overwritten or deleted since its manifest was made is not a failure: it is listed
in the summary's `superseded_files` (counted in the result) and the rest is converted.
Any other failure raises, so that the invocation fails with the exception's type as its error
(`ConversionError`, `ManifestError`, …): the state machine retries it like a failed job run.
The return value is small on purpose (Step Functions keeps it in the execution's state).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from ndjson_parquet.converter.glue import GlueArgumentError, argv_from_arguments, main

if TYPE_CHECKING:
    from ndjson_parquet.converter import Summary

ARGUMENTS_ENV: Final = "CONVERTER_ARGUMENTS"
EVENT_ARGUMENTS: Final = "Arguments"

log = logging.getLogger(__name__)


def default_arguments(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The function's default job arguments, from `CONVERTER_ARGUMENTS`."""
    text = (os.environ if environ is None else environ).get(ARGUMENTS_ENV, "") or "{}"
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise GlueArgumentError(f"{ARGUMENTS_ENV} must be a JSON object: {exc}") from exc
    if not isinstance(value, dict):
        raise GlueArgumentError(f"{ARGUMENTS_ENV} must be a JSON object of --NAME: value")
    return {str(k): str(v) for k, v in value.items()}


def event_arguments(
    event: Mapping[str, Any], defaults: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The run's arguments over the defaults (the function's, unless given), as Glue merges a
    run's arguments over the job's."""
    given = event.get(EVENT_ARGUMENTS)
    if not isinstance(given, Mapping):
        raise GlueArgumentError(f"the event needs {EVENT_ARGUMENTS!r}: {{'--NAME': 'value'}}")
    base = default_arguments() if defaults is None else dict(defaults)
    return {**base, **{str(k): str(v) for k, v in given.items()}}


def convert_event(
    event: Mapping[str, Any],
    defaults: Mapping[str, str] | None = None,
    request_id: str | None = None,
) -> Summary:
    """Run the Glue entrypoint's `main` on the event's arguments; return its `Summary`."""
    argv = argv_from_arguments(event_arguments(event, defaults))
    if request_id:
        argv.extend(("--JOB_RUN_ID", request_id))
    return main(argv)


def result(summary: Summary, request_id: str | None = None) -> dict[str, Any]:
    """What the function returns: the summary's counts (the execution's state stays small)."""
    return {
        "manifest_id": summary.manifest_id,
        "files": summary.files,
        "lines_read": summary.lines_read,
        "rows_written": summary.rows_written,
        "lines_quarantined": summary.lines_quarantined,
        "bytes_read": summary.bytes_read,
        "output_files": len(summary.output_files),
        # Inputs overwritten or deleted since the manifest was made: listed in the summary.
        "superseded_files": len(summary.superseded_files),
        "seconds": round(summary.seconds, 3),
        "request_id": request_id,
    }


def handler(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """Convert the manifest the event names; return the summary's counts."""
    if not logging.getLogger().handlers:  # outside Lambda's runtime, which installs one
        logging.basicConfig(level=logging.INFO)
    logging.getLogger("ndjson_parquet").setLevel(logging.INFO)
    request_id = getattr(context, "aws_request_id", None)
    request_id = str(request_id) if request_id else None
    return result(convert_event(event, request_id=request_id), request_id)
