"""A backlog far beyond the Glue job's concurrent runs drains on the emulated pipeline: every
manifest completed, none failed, no alert, never more runs at once than the job allows."""

from __future__ import annotations

from datetime import date

import pytest

from ndjson_parquet.cli.local.report import build_report
from ndjson_parquet.cli.local.report_view import report_dict
from ndjson_parquet.cli.local.resources import LocalSettings
from ndjson_parquet.cli.local.runtime import LocalPipeline
from ndjson_parquet.cli.local.sample import SampleSpec
from ndjson_parquet.cli.local.server import Emulator
from ndjson_parquet.workflow import ErrorName

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

MANIFESTS = 40
CONCURRENT_RUNS = 2


def test_a_backlog_of_forty_manifests_drains_two_at_a_time() -> None:
    with Emulator() as emulator:
        emulator.set_env({"POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "WARNING"})
        pipeline = LocalPipeline(
            emulator,
            environment="backlog",
            # One file per manifest: forty manifests from forty tiny files.
            settings=LocalSettings(
                max_files_per_manifest=1,
                max_wait_seconds=1,
                glue_max_concurrent_runs=CONCURRENT_RUNS,
            ),
            flush_interval=0.5,
        ).deploy()
        try:
            info = pipeline.upload_sample(
                SampleSpec(
                    files=MANIFESTS,
                    total_bytes=MANIFESTS * 300,
                    dates=1,
                    start=date(2024, 2, 1),
                    malformed=0,
                )
            )
            snapshot = pipeline.run_until_idle(timeout=300)
            report = report_dict(build_report(pipeline, snapshot, folder=None))
            histories = [
                pipeline.client("stepfunctions").get_execution_history(
                    executionArn=e["executionArn"], maxResults=1000
                )["events"]
                for e in pipeline.executions()
            ]
        finally:
            pipeline.close()

    assert report["failures"] == []
    assert report["manifests"] == {"completed": MANIFESTS}
    assert report["executions"] == {"SUCCEEDED": MANIFESTS}
    assert report["alerts"] == []
    assert report["lines_read"] == report["rows_written"] == info.lines
    # The drain: most manifests waited, and the job never ran more than it allows.
    drain = report["drain"]
    assert drain["peak_queued"] >= MANIFESTS // 2
    assert drain["peak_glue_runs"] == CONCURRENT_RUNS
    assert drain["files_per_minute"] > 0
    # Glue never had to refuse a run: the admission control kept within the limit.
    refusals = [
        event
        for history in histories
        for event in history
        if event.get("taskFailedEventDetails", {}).get("error")
        == ErrorName.GLUE_CONCURRENT_RUNS_EXCEEDED
    ]
    assert refusals == []
