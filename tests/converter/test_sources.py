from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow as pa
import pytest

from ndjson_parquet.converter.sources import Source, iter_chunks, prefetch


def _chunks(path: Path, size: int) -> list[tuple[bytes, int, int]]:
    return [(c.data, c.first_line, c.lines) for c in iter_chunks(Source(str(path)), size)]


def test_chunks_end_at_newlines_and_number_lines(tmp_path: Path) -> None:
    lines = [f'{{"n":{i}}}'.encode() for i in range(50)]
    path = tmp_path / "a.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n")
    chunks = _chunks(path, 40)
    assert len(chunks) > 5
    assert b"".join(c[0] for c in chunks) == path.read_bytes()
    for data, first, count in chunks:
        assert data.endswith(b"\n")
        assert data.split(b"\n")[0] == lines[first - 1]
        assert count == data.count(b"\n")


def test_bom_is_removed_and_a_last_line_without_newline_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "b.ndjson"
    path.write_bytes(b'\xef\xbb\xbf{"a":1}\n{"a":2}')
    chunks = _chunks(path, 1 << 20)
    assert [c[0] for c in chunks] == [b'{"a":1}\n', b'{"a":2}']
    assert [c[1] for c in chunks] == [1, 2]


def test_a_line_longer_than_a_chunk_stays_whole(tmp_path: Path) -> None:
    path = tmp_path / "c.ndjson"
    long = b'{"s":"' + b"x" * 1000 + b'"}'
    path.write_bytes(b'{"a":1}\n' + long + b"\n")
    assert [c[0] for c in _chunks(path, 16)][-1] == long + b"\n"


def test_empty_file_has_no_chunks(tmp_path: Path) -> None:
    path = tmp_path / "e.ndjson"
    path.write_bytes(b"")
    assert _chunks(path, 10) == []


@pytest.mark.parametrize("ext", ["gz", "zst"])
def test_compressed_inputs_by_extension(tmp_path: Path, ext: str) -> None:
    body = b"".join(f'{{"n":{i}}}\n'.encode() for i in range(1000))
    path = tmp_path / f"d.ndjson.{ext}"
    if ext == "gz":
        path.write_bytes(gzip.compress(body))
    else:
        with pa.CompressedOutputStream(str(path), "zstd") as out:
            out.write(body)
    assert b"".join(c[0] for c in _chunks(path, 1000)) == body


def test_prefetch_passes_errors_on(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        list(prefetch(iter_chunks(Source(str(tmp_path / "missing.ndjson")), 10)))
