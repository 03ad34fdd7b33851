"""The local run's report and output folder: what a person reads after a run."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
from moto import mock_aws
from rich.console import Console

from ndjson_parquet.cli.local.output import LATEST, OutputContents, RunFolder
from ndjson_parquet.cli.local.report import MAX_ATTEMPTS, RunReport
from ndjson_parquet.cli.local.report_view import render_report
from ndjson_parquet.cli.local.state import Alert

# A failed Glue task's cause as Step Functions passes it on: the whole GetJobRun answer.
GLUE_CAUSE = json.dumps(
    {
        "Id": "jr_1",
        "JobRunState": "FAILED",
        "ErrorMessage": "injected failure of Glue run 3 (--fail-always)",
        "GlueVersion": "0.9",
        "Arguments": {"--MANIFEST_PATH": "s3://m/x.json"},
    }
)


def _manifest(
    n: int, status: str, attempts: int, injected: int, error: str | None
) -> dict[str, Any]:
    return {
        "manifest_id": f"2024-03-0{n}-m{n}",
        "date_prefix": f"2024-03-0{n}",
        "files": 3,
        "bytes": 100,
        "status": status,
        "attempts": attempts,
        "injected_failures": injected,
        "error": error,
        "rows": None if status == "failed" else 10,
        "quarantined": None if status == "failed" else 0,
    }


def _runs(*injected: bool) -> list[dict[str, Any]]:
    return [
        {
            "number": i + 1,
            "manifest_id": "m",
            "succeeded": not failed,
            "injected": failed,
            "error": "InjectedGlueFailure: …" if failed else None,
        }
        for i, failed in enumerate(injected)
    ]


def _render(report: RunReport) -> str:
    console = Console(record=True, width=200, color_system=None)
    render_report(report, console)
    return console.export_text()


def test_a_failed_run_says_per_manifest_what_failed_in_one_line(tmp_path: Path) -> None:
    error = "InjectedGlueFailure: injected failure of Glue run 3 (--fail-always)"
    report = RunReport(
        files_uploaded=6,
        files_registered=6,
        manifests=Counter(failed=2),
        executions=Counter(FAILED=2),
        glue_runs=_runs(*[True] * 6),
        faults="--fail-always",
        expected_lines=851,
        alerts=[Alert("ndjson-parquet: conversion failed", f"Cause: {GLUE_CAUSE}")] * 2,
        output=OutputContents(),
        run_folder=RunFolder(tmp_path / "run"),
        manifest_rows=[_manifest(5, "failed", 3, 3, error), _manifest(6, "failed", 3, 3, error)],
    )

    text = _render(report)

    for n in (5, 6):
        (line,) = [ln for ln in text.splitlines() if f"2024-03-0{n}-m{n} (3 files) failed" in ln]
        assert f"failed after attempt {MAX_ATTEMPTS} of {MAX_ATTEMPTS}: {error}" in line
    assert "GlueVersion" not in text  # the alert's raw Glue answer is in alerts.json, not here
    assert "alerts.json" in text
    assert "local-run.log" in text
    (lines,) = [ln for ln in text.splitlines() if "0 read = 0 rows" in ln]
    assert "✓" not in lines
    assert "✗ 851 lines uploaded" in lines
    assert "all injected by --fail-always" in text
    assert "851 lines uploaded but 0 read" in text


def test_injected_failures_that_the_retries_recovered_are_named(tmp_path: Path) -> None:
    report = RunReport(
        manifests=Counter(completed=2),
        executions=Counter(SUCCEEDED=2),
        glue_runs=_runs(True, True, False, False),
        faults="--fail-first 2",
        lines_read=20,
        rows_written=20,
        expected_lines=20,
        output=OutputContents(parquet_rows=20),
        run_folder=RunFolder(tmp_path / "run"),
        manifest_rows=[
            _manifest(5, "completed", 3, 2, None),
            _manifest(6, "completed", 1, 0, None),
        ],
    )

    text = _render(report)

    assert report.ok
    assert "4: 2 succeeded, 2 failed (runs 1 and 2 injected by --fail-first 2)" in text
    assert "3 (2 injected)" in text
    assert "20 read = 20 rows + 0 quarantined + 0 blank ✓" in text
    assert "pipeline succeeded" in text


def test_superseded_files_are_named_under_their_manifest(tmp_path: Path) -> None:
    uri = "s3://ndjson-parquet-input-local/events/2024-03-05/part-00001.ndjson"
    row = {**_manifest(5, "completed", 1, 0, None), "superseded": [uri]}
    report = RunReport(
        manifests=Counter(completed=1),
        executions=Counter(SUCCEEDED=1),
        glue_runs=_runs(False),
        lines_read=10,
        rows_written=10,
        output=OutputContents(parquet_rows=10),
        run_folder=RunFolder(tmp_path / "run"),
        manifest_rows=[row, _manifest(6, "completed", 1, 0, None)],
    )

    text = _render(report)

    assert report.ok
    assert "2024-03-05-m5: superseded (overwritten or deleted after the manifest" in text
    assert uri in text
    assert "2024-03-06-m6: superseded" not in text


def test_rows_missing_from_the_output_folder_fail_the_run() -> None:
    report = RunReport(lines_read=20, rows_written=20, output=OutputContents(parquet_rows=40))
    assert report.failures == ["40 rows in the output folder but 20 written by the converter"]


def test_each_run_gets_its_own_folder_and_latest_follows(tmp_path: Path) -> None:
    first = RunFolder.create(tmp_path)
    second = RunFolder.create(tmp_path)

    assert first.path != second.path
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [LATEST, first.path.name, second.path.name]
    )
    assert (tmp_path / LATEST).resolve() == second.path.resolve()


def test_the_run_folder_mirrors_the_buckets(tmp_path: Path) -> None:
    folder = RunFolder.create(tmp_path)

    def parquet(rows: int) -> bytes:
        sink = pa.BufferOutputStream()
        pq.write_table(pa.table({"a": list(range(rows))}), sink)
        return bytes(sink.getvalue().to_pybytes())

    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        for bucket in ("out", "quarantine"):
            s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket="out", Key="dt=1/part-0.parquet", Body=parquet(3))
        s3.put_object(Bucket="out", Key="dt=2/part-0.parquet", Body=parquet(4))
        s3.put_object(Bucket="quarantine", Key="run.ndjson", Body=b'{"line": 1}\n{"line": 9}\n')

        assert len(folder.sync(s3, "out", "quarantine")) == 3
        assert folder.sync(s3, "out", "quarantine") == []  # nothing new
        found = folder.contents()
        assert (len(found.parquet_files), found.parquet_rows, found.quarantined_lines) == (2, 7, 2)

        # A redrive rewrites one manifest's output; another part goes away.
        s3.put_object(Bucket="out", Key="dt=1/part-0.parquet", Body=parquet(5))
        s3.delete_object(Bucket="out", Key="dt=2/part-0.parquet")
        assert folder.sync(s3, "out", "quarantine") == [folder.parquet_dir / "dt=1/part-0.parquet"]
        found = folder.contents()
        assert (len(found.parquet_files), found.parquet_rows) == (1, 5)
