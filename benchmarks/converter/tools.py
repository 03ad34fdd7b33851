"""One conversion by one tool, run in its own process so that its peak RSS is its own.

    python -m benchmarks.converter.tools TOOL INPUT_DIR OUTPUT_DIR

Prints one JSON object: ok, seconds, cpu_seconds, peak_rss_mb, error.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _inputs(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.ndjson"))


def run_ours(src: Path, out: Path) -> dict[str, Any]:
    from ndjson_parquet.converter import convert

    return {"routes": convert(_inputs(src), out).extra["routes"]}


def run_ours_iceberg(src: Path, out: Path) -> None:
    """The same conversion committed as one snapshot of an Iceberg table (SQLite catalog)."""
    from ndjson_parquet.converter.table import TableDestination, convert_to_table

    convert_to_table(_inputs(src), TableDestination("bench.events", str(out)))


def run_duckdb(src: Path, out: Path) -> None:
    import duckdb

    files = ", ".join(f"'{p}'" for p in _inputs(src))
    out.mkdir(parents=True, exist_ok=True)
    duckdb.sql(
        f"COPY (SELECT * FROM read_json_auto([{files}])) "
        f"TO '{out / 'data.parquet'}' (FORMAT parquet, COMPRESSION zstd)"
    )


def run_polars(src: Path, out: Path) -> None:
    import polars as pl

    out.mkdir(parents=True, exist_ok=True)
    pl.scan_ndjson([str(p) for p in _inputs(src)]).sink_parquet(
        out / "data.parquet", compression="zstd"
    )


def run_pyarrow(src: Path, out: Path) -> None:
    import pyarrow.json as pj
    import pyarrow.parquet as pq

    out.mkdir(parents=True, exist_ok=True)
    for path in _inputs(src):
        table = pj.read_json(path)
        pq.write_table(table, out / f"{path.stem}.parquet", compression="zstd")


TOOLS: dict[str, Callable[[Path, Path], dict[str, Any] | None]] = {
    "ndjson-parquet": run_ours,
    "ndjson-parquet-iceberg": run_ours_iceberg,
    "duckdb": run_duckdb,
    "polars": run_polars,
    "pyarrow": run_pyarrow,
}


def _peak_rss_mb() -> float:
    """This process's peak RSS. Linux's ru_maxrss survives exec, so a tool started by a large
    parent would report the parent's peak; VmHWM belongs to this program's memory only."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str]) -> None:
    tool, src, out = argv[0], Path(argv[1]), Path(argv[2])
    start = time.perf_counter()
    cpu_start = time.process_time()
    error = None
    details: dict[str, Any] | None = None
    try:
        details = TOOLS[tool](src, out)
    except Exception as exc:  # reported, not raised: a failing tool is a result
        error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
    print(
        json.dumps(
            {
                "ok": error is None,
                "seconds": time.perf_counter() - start,
                "cpu_seconds": time.process_time() - cpu_start,
                "peak_rss_mb": _peak_rss_mb(),
                "error": error,
                **(details or {}),
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])
