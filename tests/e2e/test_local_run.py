"""`ndjson-parquet local run` as a user runs it: exit status, report, files on disk."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ndjson_parquet.cli.main import main

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SMALL = ["--files", "6", "--mb", "0.3", "--dates", "2", "--max-files", "4", "--max-wait", "1"]


def test_local_run_converts_the_sample_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code = main(["local", "run", *SMALL, "--malformed", "2", "--output", str(out), "--json"])

    report = json.loads(capsys.readouterr().out)
    assert code == 0, report["failures"]
    assert report["ok"] is True
    assert report["files_uploaded"] == report["files_registered"] == 6
    assert report["lines_quarantined"] == 2
    assert report["alerts"] == []
    parquet = sorted(out.glob("parquet/**/*.parquet"))
    assert parquet
    rows = sum(pq.read_metadata(p).num_rows for p in parquet)
    assert rows == report["rows_written"] == report["lines_read"] - 2
    quarantined = [
        json.loads(line)
        for q in out.glob("quarantine/**/*.ndjson")
        for line in q.read_text().splitlines()
        if line.strip()
    ]
    assert len(quarantined) == 2
    assert (out / "local-run.log").stat().st_size > 0


def test_local_run_with_fail_always_alerts_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["local", "run", *SMALL, "--fail-always", "--output", str(tmp_path), "--json"])

    report = json.loads(capsys.readouterr().out)
    assert code == 1
    failed = report["manifests"].get("failed", 0)
    assert failed >= 2  # at least one manifest per date prefix
    assert report["manifests"].get("completed", 0) == 0
    assert len(report["alerts"]) == failed
    assert report["rows_written"] == 0


def test_local_run_rejects_a_missing_input_folder(tmp_path: Path) -> None:
    assert main(["local", "run", "--input", str(tmp_path / "nope"), "--output", str(tmp_path)]) == 2
