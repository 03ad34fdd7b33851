"""Replay quarantined lines into a table, e.g. after an operator widened a column.

A quarantine file holds one record per bad line (`{"source", "line", "error", "raw"}`, plus
`raw_base64` when the line was not UTF-8). The replay writes the lines back as NDJSON and
converts them into the table like any run: lines that fit now become rows, the others go to
quarantine again (under the replay's run id). The run id is a hash of the replayed lines, so
replaying the same files twice adds their rows once.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import orjson

from ndjson_parquet.converter import storage
from ndjson_parquet.converter.errors import ConversionError
from ndjson_parquet.converter.options import ConvertOptions, Progress, Summary
from ndjson_parquet.converter.table.catalog import TableDestination
from ndjson_parquet.converter.table.run import convert_to_table


def replay_quarantine(
    quarantine_files: Sequence[str | os.PathLike[str]],
    destination: TableDestination,
    options: ConvertOptions | None = None,
    *,
    progress: Callable[[Progress], None] | None = None,
) -> Summary:
    """Convert the lines of quarantine files (local or s3://) into the table, once."""
    opts = options or ConvertOptions()
    workdir = Path(tempfile.mkdtemp(prefix="ndjson-parquet-replay-"))
    try:
        lines = workdir / "replay.ndjson"
        digest = hashlib.sha256()
        with lines.open("wb") as out:
            for location in quarantine_files:
                for raw in _raw_lines(os.fspath(location)):
                    digest.update(raw + b"\n")
                    out.write(raw + b"\n")
        run_id = opts.run_id or f"replay-{digest.hexdigest()[:20]}"
        return convert_to_table(
            [str(lines)], destination, replace(opts, run_id=run_id), progress=progress
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _raw_lines(location: str) -> list[bytes]:
    out = []
    for number, text in enumerate(storage.read_bytes(location).splitlines(), start=1):
        if not text.strip():
            continue
        try:
            record = orjson.loads(text)
            raw = (
                base64.b64decode(record["raw_base64"])
                if "raw_base64" in record
                else str(record["raw"]).encode("utf-8", "surrogatepass")
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ConversionError(
                f"{location}:{number} is not a quarantine record ({exc}); give quarantine files"
            ) from exc
        out.append(raw)
    return out
