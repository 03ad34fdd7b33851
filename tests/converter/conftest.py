"""Helpers for the converter tests: write NDJSON, convert it, read the Parquet back."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ndjson_parquet.converter import ConvertOptions, Summary, convert, storage
from tests.conftest import require_tool


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


# --- reading outputs back with the engines users query with --------------------------------------


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One local[2] SparkSession (Spark 3.5, Glue 5's engine) for every test that needs it."""
    pyspark = pytest.importorskip("pyspark")
    from pyspark.sql import SparkSession

    require_tool("java")  # Spark's JVM
    # Local-mode executors are separate Python processes that inherit the environment of the
    # moment the context starts: this interpreter, and fake credentials (the endpoint of a
    # test's moto server is passed on with each task; credentials never are).
    saved = dict(os.environ)
    os.environ.update(
        {
            "PYSPARK_PYTHON": sys.executable,
            "PYSPARK_DRIVER_PYTHON": sys.executable,
            "SPARK_LOCAL_IP": "127.0.0.1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    )
    conf = (
        pyspark.SparkConf()
        .setMaster("local[2]")
        .setAppName("ndjson-parquet-test")
        .set("spark.ui.enabled", "false")
        .set("spark.ui.showConsoleProgress", "false")
        .set("spark.sql.shuffle.partitions", "2")
        .set("spark.driver.host", "127.0.0.1")
        .set("spark.driver.bindAddress", "127.0.0.1")
    )
    session = SparkSession.builder.config(conf=conf).getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()
        os.environ.clear()
        os.environ.update(saved)


def _canonical(rows: list[dict[str, Any]]) -> list[str]:
    """Rows in a form that compares equal across engines (order-free)."""
    return sorted(json.dumps(r, sort_keys=True, default=repr) for r in rows)


def pyarrow_rows(folder: Path) -> list[dict[str, Any]]:
    """The dataset's rows as pyarrow reads every `*.parquet` below `folder`, defaults only."""
    files = sorted(folder.rglob("*.parquet"))
    return [r for f in files for r in pq.read_table(f).to_pylist()]


def duckdb_rows(folder: Path) -> list[dict[str, Any]]:
    """The rows as DuckDB reads `folder/**/*.parquet` (its glob does not skip hidden folders)."""
    import duckdb

    if not any(folder.rglob("*.parquet")):
        return []  # DuckDB refuses a glob that matches nothing
    with duckdb.connect() as con:
        rel = con.sql(
            f"SELECT * FROM read_parquet('{folder}/**/*.parquet', hive_partitioning = false)"
        )
        table = rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.arrow()
    rows: list[dict[str, Any]] = table.to_pylist()
    return rows


def spark_rows(spark: Any, folder: Path) -> list[dict[str, Any]]:
    """The rows as Spark reads the folder as a Parquet dataset, default settings."""
    frame = spark.read.parquet(str(folder))
    frame = frame.drop("dt")  # partition discovery adds the dt folders as a column
    return [row.asDict(recursive=True) for row in frame.collect()]


def assert_engines_agree(folder: Path, spark: Any | None = None) -> list[dict[str, Any]]:
    """pyarrow, DuckDB (and Spark) read the same rows; returns pyarrow's."""
    rows = pyarrow_rows(folder)
    expected = _canonical(rows)
    assert _canonical(duckdb_rows(folder)) == expected
    if spark is not None and rows:
        assert _canonical(spark_rows(spark, folder)) == expected
    return rows
