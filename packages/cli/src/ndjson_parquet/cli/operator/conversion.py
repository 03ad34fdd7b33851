"""The converter's summary of a manifest: what `inspect` shows of the conversion itself.

The workflow keeps counts only; the converter writes its whole summary to
`<OUTPUT_URI>/_summary/<manifest_id>.json`, last, as the run's completion marker. It names, among
the rest, the inputs set aside as superseded (overwritten or deleted after the manifest was
made). OUTPUT_URI is the deployed Glue job's default argument (the converter function runs with
the same arguments) unless the operator gives it.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ndjson_parquet.common import GlueArg, S3Uri


def deployed_output_uri(glue: Any, job_name: str) -> str:
    """The Glue job's `--OUTPUT_URI` default argument."""
    job = glue.get_job(JobName=job_name)["Job"]
    return str(job.get("DefaultArguments", {}).get(f"--{GlueArg.OUTPUT_URI}", ""))


def conversion_summary(
    s3: Any, glue: Any, job_name: str, manifest_id: str, output_uri: str | None = None
) -> dict[str, Any]:
    """`{"summary": <the converter's summary>}`, or `{"summary_error": why there is none}`."""
    from ndjson_parquet.converter import summary_location

    try:
        output = output_uri or deployed_output_uri(glue, job_name)
        if not output:
            return {"summary_error": f"the Glue job {job_name} has no --{GlueArg.OUTPUT_URI}"}
        location = S3Uri.parse(summary_location(output, manifest_id))
        body = s3.get_object(Bucket=location.bucket, Key=location.key)["Body"].read()
        summary: dict[str, Any] = json.loads(body)
    except (ClientError, BotoCoreError, ValueError) as exc:
        return {"summary_error": f"no conversion summary for {manifest_id}: {exc}"}
    return {"summary": summary}


def superseded_of(story: dict[str, Any]) -> list[dict[str, Any]]:
    """The superseded inputs of an inspected manifest: from its conversion summary, or from
    its Iceberg snapshot."""
    summary = story.get("summary") or {}
    if "superseded_files" in summary:
        return list(summary["superseded_files"])
    from ndjson_parquet.converter.run_inputs import SNAPSHOT_PROPERTY

    snapshot = story.get("snapshot") or {}
    listed = (snapshot.get("summary") or {}).get(SNAPSHOT_PROPERTY)
    return list(json.loads(listed)) if listed else []


def superseded_lines(superseded: list[dict[str, Any]]) -> list[str]:
    """One line per superseded input: what it expected and what S3 said."""
    lines = []
    for entry in superseded:
        expected = (
            f"version {entry['version_id']}"
            if entry.get("version_id")
            else f"ETag {entry.get('etag')}"
        )
        lines.append(f"  {entry.get('uri')} (expected {expected}; S3: {entry.get('s3_error')})")
    return lines
