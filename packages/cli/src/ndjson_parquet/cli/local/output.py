"""The output folder of a local run: a folder per run, and `latest` pointing at the newest.

    local-output/
      run-20261130-234512/   parquet/…  quarantine/…  local-run.log  alerts.json
      run-20261130-235040/   …
      latest -> run-20261130-235040

A run never writes into an earlier run's folder, so a query over `local-output/latest/parquet`
reads exactly one run's rows, and nothing a user keeps under `--output` is deleted. The run
folder mirrors the emulated output and quarantine buckets: `sync` fetches what is new or
changed (a manifest redriven under `--keep-running` rewrites its files) and drops what the
buckets no longer hold. The report's figures about the output are read back from these files,
so they say what a query over the folder finds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

LATEST = "latest"


@dataclass
class OutputContents:
    """What is on disk in a run folder."""

    parquet_files: list[Path] = field(default_factory=list)
    parquet_rows: int = 0
    parquet_bytes: int = 0
    quarantine_files: list[Path] = field(default_factory=list)
    quarantined_lines: int = 0


class RunFolder:
    """One run's folder under the output root."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._etags: dict[Path, str] = {}

    @classmethod
    def create(cls, root: Path, now: datetime | None = None) -> RunFolder:
        """A new, empty folder `run-<UTC time>` under `root`; `root/latest` points at it."""
        root.mkdir(parents=True, exist_ok=True)
        stamp = (now or datetime.now(UTC)).strftime("run-%Y%m%d-%H%M%S")
        path = root / stamp
        n = 1
        while True:
            try:
                path.mkdir()
                break
            except FileExistsError:
                n += 1
                path = root / f"{stamp}-{n}"
        _point_latest(root, path.name)
        return cls(path)

    @property
    def parquet_dir(self) -> Path:
        return self.path / "parquet"

    @property
    def quarantine_dir(self) -> Path:
        return self.path / "quarantine"

    @property
    def log_file(self) -> Path:
        return self.path / "local-run.log"

    @property
    def alerts_file(self) -> Path:
        return self.path / "alerts.json"

    def sync(self, s3: Any, output_bucket: str, quarantine_bucket: str) -> list[Path]:
        """Mirror both buckets into the folder; return the files written (new or changed)."""
        written = self._mirror(s3, output_bucket, self.parquet_dir)
        written += self._mirror(s3, quarantine_bucket, self.quarantine_dir)
        return written

    def _mirror(self, s3: Any, bucket: str, destination: Path) -> list[Path]:
        written: list[Path] = []
        present: set[Path] = set()
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                target = destination / obj["Key"]
                present.add(target)
                if self._etags.get(target) == obj["ETag"] and target.exists():
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                s3.download_file(bucket, obj["Key"], str(target))
                self._etags[target] = obj["ETag"]
                written.append(target)
        if destination.exists():
            for stale in [p for p in destination.rglob("*") if p.is_file() and p not in present]:
                stale.unlink()
                self._etags.pop(stale, None)
        return written

    def contents(self) -> OutputContents:
        """Files, rows and bytes as they are on disk now."""
        import pyarrow.parquet as pq

        found = OutputContents()
        if self.parquet_dir.exists():
            found.parquet_files = sorted(self.parquet_dir.rglob("*.parquet"))
        for path in found.parquet_files:
            found.parquet_rows += pq.read_metadata(path).num_rows
            found.parquet_bytes += path.stat().st_size
        if self.quarantine_dir.exists():
            found.quarantine_files = sorted(
                p for p in self.quarantine_dir.rglob("*") if p.is_file()
            )
        for path in found.quarantine_files:
            if path.suffix == ".ndjson":
                with open(path, "rb") as stream:
                    found.quarantined_lines += sum(1 for line in stream if line.strip())
        return found


def _point_latest(root: Path, name: str) -> None:
    """Make `root/latest` a relative symbolic link to `name`, replaced in one step."""
    link = root / LATEST
    temporary = root / f".{LATEST}-{os.getpid()}"
    try:
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(name, target_is_directory=True)
        os.replace(temporary, link)
    except OSError:
        # No symbolic links here (Windows without the privilege): name the run in a file.
        temporary.unlink(missing_ok=True)
        (root / f"{LATEST}.txt").write_text(name + "\n", encoding="utf-8")
