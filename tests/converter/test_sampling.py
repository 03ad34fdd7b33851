"""The sample read before converting: which inputs, and that it saves re-encoding without
changing anything in the output."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ndjson_parquet.converter import ConvertOptions, convert
from ndjson_parquet.converter.sampling import SampleSettings, Window, sample_schema, sample_windows
from ndjson_parquet.converter.sources import STDIN, Source
from ndjson_parquet.converter.writer import PartWriter

MiB = 1024 * 1024


def _sources(sizes: list[int], suffix: str = ".ndjson") -> list[Source]:
    return [Source(f"f{i}{suffix}", size) for i, size in enumerate(sizes)]


def _where(windows: list[Window]) -> list[tuple[str, int]]:
    return [(w.source.location, w.offset) for w in windows]


def test_windows_end_at_evenly_spaced_points_the_last_at_the_end() -> None:
    settings = SampleSettings(window_bytes=MiB, max_windows=4)
    # 4 files of 64 MiB: each window is the last MiB of a file.
    assert _where(sample_windows(_sources([64 * MiB] * 4), settings)) == [
        (f"f{i}.ndjson", 63 * MiB) for i in range(4)
    ]
    # One file: windows spread inside it, so drift within a file is seen too.
    assert _where(sample_windows(_sources([400 * MiB]), settings)) == [
        ("f0.ndjson", 99 * MiB),
        ("f0.ndjson", 199 * MiB),
        ("f0.ndjson", 299 * MiB),
        ("f0.ndjson", 399 * MiB),
    ]


def test_a_compressed_input_is_sampled_from_its_start_and_small_files_whole() -> None:
    settings = SampleSettings(window_bytes=MiB, max_windows=2)
    windows = sample_windows(_sources([64 * MiB] * 2, ".ndjson.gz"), settings)
    # The first input's start is what the conversion reads first: not sampled again.
    assert _where(windows) == [("f1.ndjson.gz", 0)]
    small = sample_windows(_sources([100_000] * 1000), SampleSettings(window_bytes=MiB))
    assert all(w.offset == 0 for w in small)


def test_the_sample_stays_within_its_share_of_the_input() -> None:
    # 40 MiB: 3% is one window of 1 MiB, at the very end.
    one = SampleSettings(window_bytes=MiB)
    assert _where(sample_windows(_sources([MiB] * 40), one)) == [("f39.ndjson", 0)]
    settings = SampleSettings(window_bytes=64 * 1024)
    windows = sample_windows(_sources([MiB] * 40), settings)
    assert len(windows) == int(40 * MiB * 0.03) // (64 * 1024)


def test_standard_input_is_never_sampled() -> None:
    assert sample_windows([Source(STDIN), Source(STDIN)], SampleSettings()) == []


def _files(tmp_path: Path) -> list[Path]:
    """Three files; the last ones add a field, widen an integer and turn an id into text."""
    paths = []
    for f in range(3):
        path = tmp_path / f"in-{f}.ndjson"
        with path.open("w") as out:
            for i in range(3000):
                row: dict[str, object] = {"id": i, "n": i, "s": "x" * (i % 7)}
                if f >= 1:
                    row["n"] = i + 0.5
                    row["late"] = {"a": i}
                if f == 2 and i % 10 == 3:
                    row["id"] = f"anon-{i}"
                out.write(json.dumps(row) + "\n")
        paths.append(path)
    return paths


def test_the_sample_finds_what_later_files_change(tmp_path: Path) -> None:
    sources = [Source(str(p), p.stat().st_size) for p in _files(tmp_path)]
    schema = sample_schema(sources, None, SampleSettings(window_bytes=16 * 1024))
    assert schema is not None
    types = {f.name: str(f.type) for f in schema}
    assert types["n"] == "double"
    assert types["id"] == "string"  # int and string met: JSON text
    assert "late" in types


def test_with_the_sample_no_row_is_encoded_twice_and_the_output_is_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = _files(tmp_path)
    copied: list[int] = []
    carry = PartWriter._carry

    def counting_carry(self: PartWriter, old: object, schema: object) -> None:
        copied.append(old.rows)  # type: ignore[attr-defined]
        carry(self, old, schema)  # type: ignore[arg-type]

    monkeypatch.setattr(PartWriter, "_carry", counting_carry)
    # Small chunks and row groups, so that rows are encoded before the later files are read.
    base = ConvertOptions(chunk_bytes=64 * 1024, row_group_rows=1000, run_id="r")
    runs = {}
    for name, options in (
        ("sampled", dataclasses.replace(base, sample_bytes=16 * 1024)),
        ("unsampled", dataclasses.replace(base, sample_bytes=0)),
    ):
        copied.clear()
        summary = convert(files, tmp_path / name, options)
        runs[name] = (summary, sum(copied))
    (sampled, sampled_copies), (unsampled, unsampled_copies) = runs["sampled"], runs["unsampled"]
    assert unsampled_copies > 0  # without the sample the first file's rows are copied
    assert sampled_copies == 0
    assert sampled.schema == unsampled.schema
    assert sampled.drift == unsampled.drift  # still found where the data changes
    assert [d["file"] for d in sampled.drift if d["column"] == "id"] == [str(files[2])]
    tables = [pq.read_table(tmp_path / name).to_pylist() for name in ("sampled", "unsampled")]
    assert tables[0] == tables[1]
    assert len(tables[0]) == 9000


def test_drift_within_one_file_is_found_too(tmp_path: Path) -> None:
    path = tmp_path / "one.ndjson"
    with path.open("w") as out:
        for i in range(20000):
            row: dict[str, object] = {"id": i, "n": i if i < 15000 else i + 0.5}
            if i >= 15000:
                row["late"] = True
            out.write(json.dumps(row) + "\n")
    source = Source(str(path), path.stat().st_size)
    schema = sample_schema([source], None, SampleSettings(window_bytes=8 * 1024))
    assert schema is not None
    assert {f.name: str(f.type) for f in schema} == {"id": "int64", "n": "double", "late": "bool"}


def test_windows_inside_an_s3_object_are_ranged_reads_of_its_recorded_version() -> None:
    import boto3
    from moto import mock_aws

    from ndjson_parquet.converter import storage

    lines = [json.dumps({"id": i, "n": i if i < 3000 else i + 0.5}) for i in range(4000)]
    body = ("\n".join(lines) + "\n").encode()
    with mock_aws():
        storage.reset_clients()
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="in-bkt")
        etag = s3.put_object(Bucket="in-bkt", Key="a.ndjson", Body=body)["ETag"].strip('"')
        source = Source("s3://in-bkt/a.ndjson", len(body), etag)
        settings = SampleSettings(window_bytes=4096, max_windows=4)
        assert all(w.offset > 0 for w in sample_windows([source], settings))
        schema = sample_schema([source], None, settings)
        assert schema is not None
        assert str(schema.field("n").type) == "double"
        # Overwritten since: the recorded version is gone, and the sample says nothing.
        s3.put_object(Bucket="in-bkt", Key="a.ndjson", Body=b'{"other":1}\n')
        assert sample_schema([source], None, settings) is None
        storage.reset_clients()
