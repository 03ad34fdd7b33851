"""Run the NDJSON → Parquet benchmark: the same data set through every tool, in one run.

    python -m benchmarks.converter.run [--mb 512] [--sets drift,no-drift] [--rounds 3]

For each data set (with drift between files, and without) and tool: MB/s (input bytes / wall
seconds), the ratio to DuckDB's MB/s, CPU seconds (user + sys, the steadier figure on a shared
machine), peak RSS, rows written, keys dropped and values changed on a sample of events
compared with the generator's ground truth. With `--rounds N` the tools run N times in turn
(alternating, so that a change in the machine's load hits all of them) and the fastest run of
each counts. For ndjson-parquet, one line per parsing route: its share of the lines and of
the run's CPU seconds. Numbers are compared by value (1 == 1.0), ISO-8601 text by instant
(a tool turning it into a timestamp is not counted as a change), JSON-text columns by the
value they hold.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from benchmarks.converter.generate import TOP_LEVEL_KEYS, events, generate
from ndjson_parquet.converter import is_json_text

SAMPLE_EVERY = 499


@dataclass
class Result:
    tool: str
    ok: bool
    seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    error: str | None
    routes: dict[str, dict[str, float]] = field(default_factory=dict)
    rows: int = 0
    dropped: list[str] = field(default_factory=list)
    changed: Counter[str] = field(default_factory=Counter)
    checked: int = 0


def _same(original: Any, stored: Any) -> bool:
    if original is None:
        return stored is None or stored == {} or stored == []
    if isinstance(original, bool) or isinstance(stored, bool):
        return original is stored
    if isinstance(original, int | float):
        return isinstance(stored, int | float) and original == stored
    if isinstance(original, str):
        if isinstance(stored, datetime):
            try:
                return bool(datetime.fromisoformat(original.replace("Z", "+00:00")) == stored)
            except ValueError:
                return False
        return bool(original == stored)
    if isinstance(original, list):
        return (
            isinstance(stored, list)
            and len(stored) == len(original)
            and all(_same(a, b) for a, b in zip(original, stored, strict=True))
        )
    if isinstance(original, dict):
        if not isinstance(stored, dict):
            return False
        return all(_same(v, stored.get(k)) for k, v in original.items())
    return False


def _decoded(value: Any, f: pa.Field) -> Any:
    """Values of JSON-text columns (ndjson-parquet's resolution of conflicts) decoded."""
    if value is None:
        return None
    if is_json_text(f):
        return json.loads(value)
    t = f.type
    if pa.types.is_struct(t):
        return {c.name: _decoded(value.get(c.name), c) for c in t}
    if pa.types.is_list(t):
        return [_decoded(v, t.value_field) for v in value]
    return value


def _truth(seed: int, counts: list[int], drift: bool) -> dict[str, dict[str, Any]]:
    sample: dict[str, dict[str, Any]] = {}
    for i, count in enumerate(counts):
        for n, ev in enumerate(events(seed, i, len(counts), count, drift)):
            if n % SAMPLE_EVERY == 0:
                sample[ev["event_id"]] = ev
    return sample


def _check(result: Result, out: Path, truth: dict[str, dict[str, Any]]) -> None:
    files = sorted(p for p in out.rglob("*.parquet") if "_summary" not in p.parts)
    if not files:
        return
    tables = [pq.read_table(p) for p in files]
    names = set().union(*(t.column_names for t in tables))
    result.rows = sum(t.num_rows for t in tables)
    present: set[str] = set().union(*truth.values())
    result.dropped = [k for k in TOP_LEVEL_KEYS if k in present and k not in names]
    ids = pa.array(list(truth))
    for table in tables:
        if "event_id" not in table.column_names:
            continue
        picked = table.filter(pc.is_in(table.column("event_id"), value_set=ids))
        for row in picked.to_pylist():
            original = truth[row["event_id"]]
            result.checked += 1
            for key, value in original.items():
                if key not in table.column_names:
                    continue
                stored = _decoded(row[key], table.schema.field(key))
                if not _same(value, stored):
                    result.changed[key] += 1


def _run_tool(tool: str, src: Path, out: Path) -> Result:
    shutil.rmtree(out, ignore_errors=True)
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.converter.tools", tool, str(src), str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        doc = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        doc = {"ok": False, "seconds": 0, "cpu_seconds": 0, "peak_rss_mb": 0}
        doc["error"] = f"crashed: {proc.stderr.strip().splitlines()[-1:]}"
    return Result(
        tool,
        doc["ok"],
        doc["seconds"],
        doc["cpu_seconds"],
        doc["peak_rss_mb"],
        doc["error"],
        doc.get("routes", {}),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=512, help="size of the data set")
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/ndjson-parquet-bench"))
    parser.add_argument(
        "--tools", default="ndjson-parquet,ndjson-parquet-iceberg,duckdb,polars,pyarrow"
    )
    parser.add_argument("--sets", default="drift,no-drift", help="data sets, in this order")
    parser.add_argument("--rounds", type=int, default=1, help="runs per tool; the fastest counts")
    args = parser.parse_args(argv)
    for data_set in args.sets.split(","):
        drift = data_set == "drift"
        print(f"\n## {data_set}")
        _bench(args, drift)


def _bench(args: argparse.Namespace, drift: bool) -> None:
    name = f"input-{args.mb}mb-{args.files}f-s{args.seed}" + ("" if drift else "-nodrift")
    src = args.workdir / name
    if not src.exists():
        generated = generate(src, args.mb, args.files, args.seed, drift)
        (src / "counts.json").write_text(json.dumps([c for _, c in generated]))
    counts: list[int] = json.loads((src / "counts.json").read_text())
    input_mb = sum(p.stat().st_size for p in src.glob("*.ndjson")) / 1e6
    truth = _truth(args.seed, counts, drift)
    best: dict[str, Result] = {}
    for _ in range(args.rounds):
        for tool in args.tools.split(","):
            out = args.workdir / f"out-{tool}"
            result = _run_tool(tool, src, out)
            if tool not in best:
                _check(result, out, truth)  # the output is the same every round
                best[tool] = result
            elif result.ok and result.cpu_seconds < best[tool].cpu_seconds:
                result.rows, result.dropped = best[tool].rows, best[tool].dropped
                result.changed, result.checked = best[tool].changed, best[tool].checked
                best[tool] = result
            shutil.rmtree(out, ignore_errors=True)
    _print(list(best.values()), input_mb, sum(counts))


def _print(results: list[Result], input_mb: float, events_total: int) -> None:
    duck = next((r for r in results if r.tool == "duckdb" and r.ok), None)
    print(
        f"input: {input_mb:.0f} MB, {events_total} events; sample compared: every {SAMPLE_EVERY}th event"
    )
    head = f"| {'tool':<15} | {'MB/s':>6} | {'vs DuckDB':>9} | {'CPU s':>6} | {'peak RSS MB':>11} | {'rows':>8} | dropped keys | changed values (sample) |"
    print(head)
    print("|" + "|".join("-" * (len(c)) for c in head.split("|")[1:-1]) + "|")
    for r in results:
        if not r.ok:
            print(f"| {r.tool:<15} | failed: {r.error} |")
            continue
        mbs = input_mb / r.seconds
        ratio = f"{mbs / (input_mb / duck.seconds):.2f}x" if duck else "n/a"
        changed = (
            ", ".join(f"{k}: {v}/{r.checked}" for k, v in r.changed.most_common(4))
            or f"none of {r.checked}"
        )
        dropped = ", ".join(r.dropped) or "none"
        rows = f"{r.rows}" + ("" if r.rows == events_total else f" (of {events_total})")
        print(
            f"| {r.tool:<15} | {mbs:6.1f} | {ratio:>9} | {r.cpu_seconds:6.1f} | {r.peak_rss_mb:11.0f} | {rows:>8} | {dropped} | {changed} |"
        )
    ours = {r.tool: r for r in results if r.ok}
    if "ndjson-parquet" in ours:
        _print_routes(ours["ndjson-parquet"])
    if {"ndjson-parquet", "ndjson-parquet-iceberg"} <= ours.keys():
        folders, table = ours["ndjson-parquet"], ours["ndjson-parquet-iceberg"]
        extra = table.seconds - folders.seconds
        cpu = table.cpu_seconds - folders.cpu_seconds
        print(
            f"Iceberg table vs Parquet folders: {extra:+.2f} s ({extra / folders.seconds:+.1%}) "
            f"wall, {cpu:+.2f} CPU-s ({cpu / folders.cpu_seconds:+.1%}); pyiceberg's import, "
            "the catalog and the commit included"
        )


def _print_routes(result: Result) -> None:
    """Each parsing route's share of the lines and of the run's CPU seconds (the rest is the
    Parquet writer, reading the input and the run's own work)."""
    lines = sum(r["lines"] for r in result.routes.values()) or 1
    for route, r in result.routes.items():
        print(
            f"route {route:<9}: {r['lines'] / lines:6.1%} of lines, {r['cpu_seconds']:5.2f} CPU-s "
            f"({r['cpu_seconds'] / result.cpu_seconds:.0%} of the run's)"
        )


if __name__ == "__main__":
    main()
