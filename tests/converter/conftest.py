"""Helpers for the converter tests: write NDJSON, convert it, read the Parquet back."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ndjson_parquet.converter import ConvertOptions, Summary, convert, storage


@pytest.fixture(autouse=True)
def _fresh_clients() -> Iterator[None]:
    """Each test gets its own boto3 client (moto's mock is per test)."""
    storage.reset_clients()
    yield
    storage.reset_clients()


def _read_rows(summary: Summary) -> list[dict[str, Any]]:
    """All rows of a run's output files."""
    tables = [pq.read_table(f) for f in summary.output_files if not f.startswith("s3://")]
    if not tables:
        return []
    return pa.concat_tables(tables).to_pylist()


Run = Callable[..., tuple[Summary, list[dict[str, Any]]]]


@pytest.fixture
def run(tmp_path: Path) -> Run:
    """`run(b"...ndjson...", **options)` converts one file and returns (summary, rows)."""
    counter = iter(range(10_000))

    def _run(*contents: bytes, **options: Any) -> tuple[Summary, list[dict[str, Any]]]:
        n = next(counter)
        paths = []
        for i, content in enumerate(contents):
            p = tmp_path / f"in{n}" / f"part{i}.ndjson"
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(content)
            paths.append(p)
        summary = convert(paths, tmp_path / f"out{n}", ConvertOptions(**options))
        return summary, _read_rows(summary)

    return _run
