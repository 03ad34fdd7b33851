"""`ndjson-parquet local run` as a user runs it: exit status, report, files on disk."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ndjson_parquet.cli.main import main

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SMALL = ["--files", "6", "--mb", "0.3", "--dates", "2", "--max-files", "4", "--max-wait", "1"]
README = Path(__file__).resolve().parents[2] / "packages" / "cli" / "README.md"


def _rows(folder: Path) -> int:
    return sum(pq.read_metadata(p).num_rows for p in folder.glob("**/*.parquet"))


def test_two_runs_in_a_row_each_report_their_own_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    code = main(["local", "run", *SMALL, "--malformed", "2", "--output", str(out), "--json"])

    report = json.loads(capsys.readouterr().out)
    assert code == 0, report["failures"]
    assert report["ok"] is True
    assert report["files_uploaded"] == report["files_registered"] == 6
    assert report["lines_quarantined"] == 2
    assert report["alerts"] == []
    first = Path(report["output_dir"])
    assert (out / "latest").resolve() == first.resolve()
    rows = _rows(first / "parquet")
    assert rows == report["rows_written"] == report["parquet_rows"] == report["lines_read"] - 2
    quarantined = [
        json.loads(line)
        for q in first.glob("quarantine/**/*.ndjson")
        for line in q.read_text().splitlines()
        if line.strip()
    ]
    assert len(quarantined) == 2
    assert (first / "local-run.log").stat().st_size > 0

    # The second run, as a person reads it: its own folder, and `latest` moves to it.
    monkeypatch.setenv("COLUMNS", "100")
    assert main(["local", "run", *SMALL, "--seed", "8", "--output", str(out)]) == 0
    text = capsys.readouterr().out
    second = (out / "latest").resolve()
    assert second != first.resolve()
    assert sorted(p.name for p in out.iterdir() if p.name.startswith("run-")) == sorted(
        [first.name, second.name]
    )
    parquet = re.search(r"parquet\s+(\d+) file\(s\), (\d+) rows", text)
    assert parquet is not None, text
    assert int(parquet[1]) == len(list(second.glob("parquet/**/*.parquet")))
    assert int(parquet[2]) == _rows(second / "parquet") != rows
    assert _rows(out) == rows + _rows(second / "parquet")  # nothing shared, nothing doubled
    assert _shape(text) == _shape(_readme_capture())


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
    assert all(r["injected"] and not r["succeeded"] for r in report["glue_runs"])
    attempts = report["glue_max_attempts"]
    assert [r["attempts"] for r in report["manifest_rows"]] == [attempts] * failed
    assert all("injected failure" in r["error"] for r in report["manifest_rows"])
    assert json.loads((Path(report["output_dir"]) / "alerts.json").read_text()) == report["alerts"]


def test_local_run_rejects_a_missing_input_folder(tmp_path: Path) -> None:
    assert main(["local", "run", "--input", str(tmp_path / "nope"), "--output", str(tmp_path)]) == 2


def _readme_capture() -> str:
    """The captured `local run` output in the command's README."""
    text = README.read_text()
    start = text.index("<!-- local-run-capture -->")
    block = text[start:].split("```text\n", 1)[1].split("```", 1)[0]
    return block


def _shape(output: str) -> tuple[list[str], list[str]]:
    """The report's row labels (and verdict) and the manifest table's columns."""
    labels = re.findall(r"^│ ([a-z][a-z ]*[a-z])  ", output, flags=re.MULTILINE)
    header = next(line for line in output.splitlines() if " manifest " in line and "status" in line)
    columns = re.split(r"\s{2,}", header.strip("│ \n"))
    return labels, columns


def test_a_manifest_redriven_under_keep_running_reaches_the_run_folder(tmp_path: Path) -> None:
    import io
    import threading
    import time

    from rich.console import Console

    from ndjson_parquet.cli.local import command
    from ndjson_parquet.cli.local.glue_runner import FaultPlan
    from ndjson_parquet.cli.local.output import RunFolder
    from ndjson_parquet.cli.local.resources import LocalSettings
    from ndjson_parquet.cli.local.runtime import LocalPipeline
    from ndjson_parquet.cli.local.sample import SampleSpec
    from ndjson_parquet.cli.local.server import Emulator

    with Emulator() as emulator:
        pipeline = LocalPipeline(
            emulator,
            settings=LocalSettings(max_wait_seconds=1),
            faults=FaultPlan(fail_always=True),
        ).deploy()
        try:
            info = pipeline.upload_sample(
                SampleSpec(files=2, total_bytes=40_000, dates=1, malformed=0)
            )
            assert pipeline.run_until_idle(timeout=90).manifests == {"failed": 1}
            folder = RunFolder.create(tmp_path)
            pipeline.runner.faults.fail_always = False  # what an operator's fix would do
            stop = threading.Event()
            console = Console(file=io.StringIO())
            serving = threading.Thread(
                target=command._serve, args=(pipeline, folder, console, stop)
            )
            serving.start()
            try:
                redrive = ["redrive", "--failed", "--execute", "--endpoint-url"]
                assert main([*redrive, emulator.endpoint_url]) == 0
                deadline = time.monotonic() + 90
                while not list(folder.parquet_dir.glob("**/*.parquet")):
                    assert time.monotonic() < deadline, "the redriven output never arrived"
                    time.sleep(0.5)
            finally:
                stop.set()
                serving.join(timeout=30)
        finally:
            pipeline.close()

    assert _rows(folder.parquet_dir) == info.lines
    assert "new or changed file(s)" in console.file.getvalue()  # type: ignore[attr-defined]


def test_the_report_says_which_compute_each_manifest_used_and_a_timeout_falls_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 6 files of 50 KB in 2 dates, at most 4 per manifest: manifests of 100-200 KB; the
    # threshold sends those up to 150 KB to Lambda, and the first Lambda conversion times out.
    args = [*SMALL, "--lambda-max-mb", "0.15", "--lambda-timeout-first", "1"]
    code = main(["local", "run", *args, "--output", str(tmp_path), "--json"])

    report = json.loads(capsys.readouterr().out)
    assert code == 0, report["failures"]
    rows = report["manifest_rows"]
    by_id = {r["manifest_id"]: r for r in rows}
    lambda_runs = [r for r in report["glue_runs"] if r["compute"] == "lambda"]
    assert lambda_runs
    assert lambda_runs[0]["injected"]
    assert not lambda_runs[0]["succeeded"]
    fallback = by_id[lambda_runs[0]["manifest_id"]]
    assert (fallback["compute"], fallback["lambda_fallback"]) == ("glue", "Sandbox.Timedout")
    for row in rows:
        assert row["status"] == "completed"
        assert row["compute"] == (
            "lambda" if row["bytes"] <= 150_000 and row is not fallback else "glue"
        )
    assert report["runs_by_compute"]["lambda"] == len(lambda_runs)
    assert report["lines_read"] == report["rows_written"] + report["lines_quarantined"]
