"""The pipeline with the Iceberg output on the local emulator: one snapshot per manifest in the
emulated Glue Data Catalog, through the same Glue entrypoint and pyiceberg calls as on AWS."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import boto3
import pyarrow.parquet as pq
import pytest

from ndjson_parquet.cli.local.resources import LocalSettings
from ndjson_parquet.cli.local.runtime import LocalPipeline
from ndjson_parquet.cli.local.sample import SampleSpec
from ndjson_parquet.cli.local.server import Emulator
from ndjson_parquet.cli.main import main
from ndjson_parquet.cli.operator.tracking import Tracking
from ndjson_parquet.common import Status
from ndjson_parquet.common.keys import ManifestAttr

pytest.importorskip("pyiceberg")

from pyiceberg.table import Table

from ndjson_parquet.converter.table import RUN_ID_PROPERTY, TableDestination, open_catalog
from ndjson_parquet.converter.table import run as table_run

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TIMEOUT = 90.0
ENVIRONMENT = "e2e-iceberg"


@pytest.fixture(scope="module")
def pipeline() -> Iterator[LocalPipeline]:
    with Emulator() as emulator:
        emulator.set_env({"POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "WARNING"})
        deployed = LocalPipeline(
            emulator,
            environment=ENVIRONMENT,
            settings=LocalSettings(
                max_files_per_manifest=3, max_wait_seconds=2, output_format="iceberg"
            ),
            flush_interval=0.5,
        ).deploy()
        yield deployed
        deployed.close()


def _table(pipeline: LocalPipeline) -> Table:
    names = pipeline.names
    destination = TableDestination(
        names.iceberg_table, f"s3://{names.output_bucket}/", catalog="glue"
    )
    return open_catalog(destination).load_table(names.iceberg_table)


def _completed_manifests(pipeline: LocalPipeline) -> list[dict[str, Any]]:
    tracking = Tracking(boto3.client("dynamodb"), pipeline.names.tracking_table)
    assert not list(tracking.manifests_by_status(Status.FAILED))
    return list(tracking.manifests_by_status(Status.COMPLETED))


def test_each_manifest_is_one_snapshot_and_a_retry_after_writing_adds_no_duplicates(
    pipeline: LocalPipeline, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The first Glue run writes its data files, then its worker is lost before the commit.
    real = table_run.commit_files
    lost: list[str] = []

    def lose_first(*args: Any, **kwargs: Any) -> Any:
        if not lost:
            lost.append(kwargs["run_id"])
            raise RuntimeError("Glue worker lost after writing the data files")
        return real(*args, **kwargs)

    monkeypatch.setattr(table_run, "commit_files", lose_first)
    info = pipeline.upload_sample(
        SampleSpec(files=7, total_bytes=7 * 12_000, dates=2, start=date(2024, 2, 1), malformed=2)
    )
    pipeline.run_until_idle(timeout=TIMEOUT)

    manifests = _completed_manifests(pipeline)
    assert len(manifests) >= 3  # 7 files, at most 3 per manifest
    runs = pipeline.runner.records
    assert sum(1 for r in runs if not r.succeeded) == 1  # the lost one, retried by the workflow
    table = _table(pipeline)
    committed = [
        s.summary.additional_properties[RUN_ID_PROPERTY] for s in table.snapshots() if s.summary
    ]
    assert sorted(committed) == sorted(m[ManifestAttr.MANIFEST_ID] for m in manifests)
    assert lost[0] in committed

    rows = table.scan().to_arrow()
    assert rows.num_rows == info.lines - len(info.malformed)
    files = [task.file.file_path for task in table.scan().plan_files()]
    where = [
        (t.file.file_path, t.file.partition, t.file.spec_id) for t in table.scan().plan_files()
    ]
    assert {str(d) for d in rows.column("_date_prefix").to_pylist()} == set(info.per_date), where
    # the data files the snapshot lists, read with pyarrow: the same rows
    assert (
        sum(pq.read_metadata(table.io.new_input(f).open()).num_rows for f in files) == rows.num_rows
    )
    s3 = boto3.client("s3")
    listed = s3.list_objects_v2(Bucket=pipeline.names.output_bucket).get("Contents", [])
    # the lost attempt's files stay (its commit's outcome was unknown), listed by no snapshot
    bucket = pipeline.names.output_bucket
    parquet = {f"s3://{bucket}/{o['Key']}" for o in listed if o["Key"].endswith(".parquet")}
    orphans = parquet - set(files)
    assert set(files) <= parquet
    assert orphans
    assert all(f"/data/{lost[0]}-" in o for o in orphans)

    # the operator command shows the snapshot each manifest committed
    by_run = {
        s.summary.additional_properties[RUN_ID_PROPERTY]: s.snapshot_id
        for s in table.snapshots()
        if s.summary
    }
    manifest_id = str(manifests[0][ManifestAttr.MANIFEST_ID])
    capsys.readouterr()
    assert main(["inspect", "--env", ENVIRONMENT, manifest_id, "--iceberg-table", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["snapshot"]["snapshot_id"] == by_run[manifest_id]
    assert shown["snapshot"]["summary"]["ndjson-parquet.manifest-id"] == manifest_id
