"""The writer encodes what it holds before the last chunks are parsed, when the input's size
is known; for standard input, whose end is only seen when it comes, row groups stay whole."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ndjson_parquet.converter import ConvertOptions, convert

_CHUNK = 4096
# Row groups by size only: without the drain, the whole input is one row group.
_OPTIONS = ConvertOptions(chunk_bytes=_CHUNK, row_group_rows=10**9, row_group_bytes=1 << 30)


def _input(lines: int) -> bytes:
    return b"".join(b'{"i":%d,"s":"%s"}\n' % (i, b"x" * 40) for i in range(lines))


def _row_groups(dest: Path) -> list[int]:
    parts = sorted(dest.glob("*.parquet"))
    assert len(parts) == 1
    meta = pq.ParquetFile(parts[0]).metadata
    return [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]


def test_the_last_chunks_of_a_file_are_written_as_they_come(tmp_path: Path) -> None:
    data = _input(3000)  # about 40 chunks
    src = tmp_path / "in.ndjson"
    src.write_bytes(data)
    summary = convert([src], tmp_path / "out", _OPTIONS)
    groups = _row_groups(tmp_path / "out")
    assert sum(groups) == summary.rows_written == 3000
    # What was buffered when the drain came, then each of the last few chunks on its own.
    per_chunk = _CHUNK // len(data.split(b"\n", 1)[0])
    assert groups[0] > 3000 // 2
    assert 4 <= len(groups) <= 8
    assert all(g <= per_chunk for g in groups[1:])


def test_standard_input_keeps_whole_row_groups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(_input(3000))))
    summary = convert(["-"], tmp_path / "out", _OPTIONS)
    groups = _row_groups(tmp_path / "out")
    assert sum(groups) == summary.rows_written == 3000
    assert len(groups) <= 3  # the drain comes only with the last chunks
