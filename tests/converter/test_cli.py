"""The `convert` command line: output, counts, quarantine, exit codes, manifests."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

from ndjson_parquet.common import Manifest, ManifestFile
from ndjson_parquet.converter.cli import (
    EXIT_FAILED,
    EXIT_MAX_ERROR_RATE,
    EXIT_NO_ROWS,
    EXIT_OK,
    EXIT_USAGE,
    main,
)

GOOD_A = b'{"id": 1, "name": "a"}\n\n{"id": 2, "name": "b"}\n'
GOOD_B = b'{"id": 3, "name": "c", "extra": true}\n'
WITH_BAD = b'{"id": 4}\nnot json\n[1, 2]\n{"id": 5}\n'


def _write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / "in" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return str(path)


def _run_json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict[str, Any]:
    code = main([*argv, "--json"])
    out, err = capsys.readouterr()
    assert code == EXIT_OK, err
    lines = out.strip().splitlines()
    assert len(lines) == 1, out  # one JSON object, nothing else on stdout
    summary: dict[str, Any] = json.loads(lines[0])
    return summary


def _parquet_rows(paths: list[str]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for path in paths:
        rows.extend(pq.read_table(path).to_pylist())
    return rows


def test_json_summary_counts_add_up(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = _write(tmp_path, "a.ndjson", GOOD_A)
    b = _write(tmp_path, "b.ndjson", GOOD_B)
    summary = _run_json(capsys, [a, b, "--output", str(tmp_path / "out")])

    for key in (
        "files",
        "lines_read",
        "blank_lines",
        "rows_written",
        "lines_quarantined",
        "bytes_read",
        "output_files",
        "schema",
        "drift",
        "seconds",
    ):
        assert key in summary
    assert summary["lines_read"] == 4
    assert summary["blank_lines"] == 1
    assert summary["rows_written"] == 3
    assert summary["lines_quarantined"] == 0
    assert summary["lines_read"] == (
        summary["rows_written"] + summary["lines_quarantined"] + summary["blank_lines"]
    )
    assert summary["bytes_read"] == len(GOOD_A) + len(GOOD_B)
    rows = _parquet_rows(summary["output_files"])
    assert sorted(r["id"] for r in rows) == [1, 2, 3]
    # A key first seen in the last line of the last file is kept, not dropped.
    assert [r["extra"] for r in sorted(rows, key=lambda r: r["id"])] == [None, None, True]


def test_bad_lines_are_quarantined_with_their_line_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _write(tmp_path, "bad.ndjson", WITH_BAD)
    quarantine = tmp_path / "quarantine"
    summary = _run_json(
        capsys, [src, "--output", str(tmp_path / "out"), "--quarantine", str(quarantine)]
    )
    assert (summary["lines_read"], summary["rows_written"]) == (4, 2)
    assert summary["lines_quarantined"] == 2
    records = [
        json.loads(line)
        for path in sorted(quarantine.rglob("*"))
        if path.is_file()
        for line in path.read_text().splitlines()
        if line.strip()
    ]
    assert sorted(r["line"] for r in records) == [2, 3]
    assert {r["raw"] for r in records} == {"not json", "[1, 2]"}
    assert all(r["source"].endswith("bad.ndjson") for r in records)


def test_max_error_rate_exceeded_has_its_own_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _write(tmp_path, "bad.ndjson", WITH_BAD)
    out = tmp_path / "out"
    code = main([src, "--output", str(out), "--max-error-rate", "0.25", "--json"])
    stdout, stderr = capsys.readouterr()
    assert code == EXIT_MAX_ERROR_RATE
    assert "error" in stderr.lower()
    assert stdout == ""
    # Nothing committed: no Parquet file under the destination.
    assert not list(out.rglob("*.parquet"))


def test_error_rate_within_limit_succeeds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _write(tmp_path, "bad.ndjson", WITH_BAD)
    summary = _run_json(capsys, [src, "--output", str(tmp_path / "out"), "--max-error-rate", "0.5"])
    assert summary["lines_quarantined"] == 2


def test_missing_input_fails_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([str(tmp_path / "nope.ndjson"), "--output", str(tmp_path / "out")])
    _, stderr = capsys.readouterr()
    assert code == EXIT_FAILED
    assert "nope.ndjson" in stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["--output", "out"],  # no input at all
        ["a.ndjson", "--output", "out", "--manifest", "m.json"],  # both inputs
        ["a.ndjson"],  # no --output
        ["a.ndjson", "--output", "out", "--compression", "gzip"],
        ["a.ndjson", "--output", "out", "--max-error-rate", "2"],
    ],
)
def test_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == EXIT_USAGE
    _, stderr = capsys.readouterr()
    assert "error" in stderr


def test_human_summary_without_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _write(tmp_path, "a.ndjson", GOOD_A)
    assert main([src, "--output", str(tmp_path / "out")]) == EXIT_OK
    out, _ = capsys.readouterr()
    assert "rows written" in out
    assert "lines quarantined" in out
    assert "3 = 2 + 0 + 1" in out  # two rows and a blank line


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3")
        for bucket in ("input-bucket", "manifest-bucket"):
            client.create_bucket(Bucket=bucket)
        yield client


def _manifest_in_s3(s3: Any) -> Manifest:
    files = []
    for key, body in (("2024-03-05/a.ndjson", GOOD_A), ("2024-03-05/b.ndjson", WITH_BAD)):
        etag = s3.put_object(Bucket="input-bucket", Key=key, Body=body)["ETag"].strip('"')
        files.append(ManifestFile(bucket="input-bucket", key=key, size=len(body), etag=etag))
    return Manifest.build(
        "2024-03-05-20240306T010203Z-0badc0de",
        "2024-03-05",
        files,
        created_at=datetime(2024, 3, 6, 1, 2, 3, tzinfo=UTC),
    )


def test_manifest_from_a_local_file(
    s3: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = _manifest_in_s3(s3)
    path = tmp_path / "manifest.json"
    path.write_text(manifest.to_json())
    summary = _run_json(capsys, ["--manifest", str(path), "--output", str(tmp_path / "out")])
    assert summary["lines_read"] == 3 + 4
    assert (summary["rows_written"], summary["lines_quarantined"]) == (2 + 2, 2)
    assert len(_parquet_rows(summary["output_files"])) == 4


def test_manifest_from_s3_output_to_s3(s3: Any, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = _manifest_in_s3(s3)
    s3.create_bucket(Bucket="output-bucket")
    s3.put_object(Bucket="manifest-bucket", Key=manifest.s3_key(), Body=manifest.to_json())
    summary = _run_json(
        capsys,
        [
            "--manifest",
            f"s3://manifest-bucket/{manifest.s3_key()}",
            "--output",
            "s3://output-bucket/events/",
        ],
    )
    assert summary["rows_written"] == 4
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="output-bucket")["Contents"]]
    parquet = [k for k in keys if k.endswith(".parquet")]
    assert parquet
    assert all(manifest.manifest_id in k for k in parquet)


def test_missing_manifest_fails(s3: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--manifest", "s3://manifest-bucket/nope.json", "--output", "out"])
    _, stderr = capsys.readouterr()
    assert code == EXIT_FAILED
    assert "s3://manifest-bucket/nope.json" in stderr


@pytest.mark.parametrize(
    ("tty", "as_json", "expect_bar"),
    [(True, False, True), (True, True, False), (False, False, False)],
)
def test_progress_bar_only_on_a_terminal_without_json(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tty: bool,
    as_json: bool,
    expect_bar: bool,
) -> None:
    import ndjson_parquet.converter as converter

    real_convert = converter.convert
    seen: list[Any] = []

    def spy(*args: Any, progress: Any = None, **kwargs: Any) -> Any:
        seen.append(progress)
        return real_convert(*args, progress=progress, **kwargs)

    monkeypatch.setattr(converter, "convert", spy)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: tty)
    src = _write(tmp_path, "a.ndjson", GOOD_A)
    argv = [src, "--output", str(tmp_path / "out"), *(["--json"] if as_json else [])]
    assert main(argv) == EXIT_OK
    assert len(seen) == 1
    assert callable(seen[0]) is expect_bar
    out, _ = capsys.readouterr()
    if as_json:
        assert json.loads(out)["rows_written"] == 2


def test_missing_s3_input_fails_with_a_message(
    s3: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["s3://input-bucket/nope.ndjson", "--output", str(tmp_path / "out")])
    _, stderr = capsys.readouterr()
    assert code == EXIT_FAILED
    assert any(s in stderr for s in ("NoSuchKey", "Not Found", "nope.ndjson"))
    assert "Traceback" not in stderr


def test_manifest_run_removes_what_a_spark_run_of_it_left(
    s3: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = _manifest_in_s3(s3)
    path = tmp_path / "manifest.json"
    path.write_text(manifest.to_json())
    out = tmp_path / "out"
    mid = manifest.manifest_id
    leftovers = [
        out / "dt=2024-03-05" / f"{mid}-s000-00000.parquet",
        out / "dt=2024-03-05" / f"{mid}-s001-00000.parquet",
        out / "_summary" / f"{mid}-s001.json",
        out / "_quarantine" / f"{mid}-s000.ndjson",
    ]
    unrelated = out / "dt=2024-03-05" / "other-manifest-s000-00000.parquet"
    for leftover in [*leftovers, unrelated]:
        leftover.parent.mkdir(parents=True, exist_ok=True)
        leftover.write_bytes(b"from an earlier run")

    summary = _run_json(capsys, ["--manifest", str(path), "--output", str(out)])
    assert not [p for p in leftovers if p.exists()]
    assert unrelated.exists()
    assert sorted(str(p) for p in out.rglob(f"{mid}*.parquet")) == sorted(summary["output_files"])


# --- inputs and outcomes that must not look like a success --------------------------------------


def test_all_lines_quarantined_is_not_a_success(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _write(tmp_path, "bad.ndjson", b"not json\n[1]\n\n")
    code = main([src, "--output", str(tmp_path / "out"), "--json"])
    out, err = capsys.readouterr()
    assert code == EXIT_NO_ROWS
    assert json.loads(out)["lines_quarantined"] == 2
    assert "warning: no row was written: all 2 non-blank lines went to quarantine" in err


def test_only_blank_lines_is_a_success(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _write(tmp_path, "blank.ndjson", b"\n \n")
    assert main([src, "--output", str(tmp_path / "out"), "--json"]) == EXIT_OK


def test_partition_by_a_field_no_row_has_warns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _write(tmp_path, "a.ndjson", GOOD_A)
    code = main([src, "--output", str(tmp_path / "out"), "--partition-by", "ts", "--json"])
    _, err = capsys.readouterr()
    assert code == EXIT_OK
    assert "warning: partition_by: no row has the field 'ts'" in err


def test_standard_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    stdin = io.TextIOWrapper(io.BytesIO(GOOD_A + WITH_BAD))
    monkeypatch.setattr(sys, "stdin", stdin)
    summary = _run_json(capsys, ["-", "--output", str(tmp_path / "out")])
    assert (summary["rows_written"], summary["lines_quarantined"]) == (4, 2)
    quarantine = Path(summary["quarantine_files"][0]).read_text().splitlines()
    assert {json.loads(r)["source"] for r in quarantine} == {"-"}


def test_folders_and_glob_patterns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(tmp_path, "a.ndjson", GOOD_A)
    _write(tmp_path, "sub/b.jsonl", GOOD_B)
    _write(tmp_path, "_hidden/c.ndjson", WITH_BAD)
    _write(tmp_path, "notes.txt", b"not data\n")
    folder = _run_json(capsys, [str(tmp_path / "in"), "--output", str(tmp_path / "out1")])
    assert (folder["files"], folder["rows_written"]) == (2, 3)
    pattern = _run_json(
        capsys, [str(tmp_path / "in/**/*.ndjson"), "--output", str(tmp_path / "o2")]
    )
    assert pattern["files"] == 2  # a.ndjson and _hidden/c.ndjson: a pattern names files itself
    code = main([str(tmp_path / "in/*.nothing"), "--output", str(tmp_path / "o3")])
    assert code == EXIT_FAILED
    assert "no file matches" in capsys.readouterr().err


def test_s3_prefix(s3: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    s3.put_object(Bucket="input-bucket", Key="2024-03-05/a.ndjson", Body=GOOD_A)
    s3.put_object(Bucket="input-bucket", Key="2024-03-05/b.ndjson.gz", Body=_gzip(GOOD_B))
    s3.put_object(Bucket="input-bucket", Key="2024-03-05/_SUCCESS", Body=b"")
    s3.put_object(Bucket="input-bucket", Key="2024-03-06/c.ndjson", Body=WITH_BAD)
    for uri in ("s3://input-bucket/2024-03-05/", "s3://input-bucket/2024-03-05"):
        summary = _run_json(capsys, [uri, "--output", str(tmp_path / "out")])
        assert (summary["files"], summary["rows_written"]) == (2, 3)


def _gzip(data: bytes) -> bytes:
    import gzip

    return gzip.compress(data)
