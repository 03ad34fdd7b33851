"""The sample read before converting: which inputs, and that it saves re-encoding without
changing anything in the output."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ndjson_parquet.converter import ConvertOptions, convert
from ndjson_parquet.converter.sampling import SampleSettings, sample_schema, sample_sources
from ndjson_parquet.converter.sources import STDIN, Source
from ndjson_parquet.converter.writer import PartWriter

MiB = 1024 * 1024


def _sources(sizes: list[int]) -> list[Source]:
    return [Source(f"f{i}.ndjson", size) for i, size in enumerate(sizes)]


def test_samples_spread_over_the_list_first_and_last_included() -> None:
    picked = sample_sources(_sources([64 * MiB] * 100), SampleSettings(max_files=5))
    assert [s.location for s in picked] == [
        "f0.ndjson",
        "f25.ndjson",
        "f50.ndjson",
        "f74.ndjson",
        "f99.ndjson",
    ]


def test_sample_stays_within_its_share_of_the_input() -> None:
    # 40 files of 1 MiB: 3% of 40 MiB is one window of 1 MiB, taken from the last file.
    picked = sample_sources(_sources([MiB] * 40), SampleSettings())
    assert [s.location for s in picked] == ["f39.ndjson"]
    settings = SampleSettings(window_bytes=64 * 1024)
    assert len(sample_sources(_sources([MiB] * 40), settings)) == int(40 * MiB * 0.03) // (
        64 * 1024
    )


def test_nothing_is_sampled_from_one_input_or_standard_input() -> None:
    assert sample_sources(_sources([MiB // 2]), SampleSettings()) == []
    assert sample_sources(_sources([512 * MiB]), SampleSettings()) == []
    assert sample_sources([Source(STDIN), Source(STDIN)], SampleSettings()) == []


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
