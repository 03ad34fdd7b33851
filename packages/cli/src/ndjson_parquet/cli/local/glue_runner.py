"""Glue job runs on the emulator: the real converter entrypoint, with optional injected faults."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from ndjson_parquet.common import GlueArg


class InjectedGlueFailure(RuntimeError):
    """A failure requested with `--fail-first` / `--fail-always`."""


@dataclass
class FaultPlan:
    """Which runs fail on purpose: the first `fail_first` runs under this plan, or all."""

    fail_first: int = 0
    fail_always: bool = False
    _failed: int = field(default=0, repr=False)

    def should_fail(self) -> bool:
        """Whether the next run fails (counts it; call once per run, under the runner's lock)."""
        if self.fail_always:
            return True
        if self._failed < self.fail_first:
            self._failed += 1
            return True
        return False

    def describe(self) -> str:
        return "--fail-always" if self.fail_always else f"--fail-first {self.fail_first}"


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One Glue job run as the runner saw it."""

    run_id: str
    number: int
    manifest_path: str
    succeeded: bool
    seconds: float
    injected: bool = False
    error: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    # time.monotonic() when the run started converting.
    started: float = 0.0
    # The run's arguments (the job's defaults and the workflow's), as Glue passes them.
    arguments: dict[str, str] = field(default_factory=dict)


def glue_argv(arguments: dict[str, str]) -> list[str]:
    """Glue's argv for a run: `--NAME value` pairs (Glue passes job arguments the same way)."""
    argv: list[str] = ["glue_script.py"]
    for name, value in arguments.items():
        argv += [name if name.startswith("--") else f"--{name}", str(value)]
    return argv


class GlueJobRunner:
    """Executes `ndjson_parquet.converter.glue.main` for each run and records the outcome."""

    def __init__(self, faults: FaultPlan | None = None) -> None:
        self.faults = faults or FaultPlan()
        # While cleared, runs wait before converting (the benchmark times stages apart).
        self.gate = threading.Event()
        self.gate.set()
        self.records: list[RunRecord] = []
        self._count = 0
        self._active = 0
        self._lock = threading.Lock()
        # The most runs converting at once (admission control keeps it within the job's limit).
        self.peak_active = 0

    @property
    def active(self) -> int:
        return self._active

    def __call__(self, job_name: str, run_id: str, arguments: dict[str, str]) -> Any:
        from ndjson_parquet.converter import glue

        self.gate.wait()
        with self._lock:
            self._count += 1
            number = self._count
            self._active += 1
            self.peak_active = max(self.peak_active, self._active)
            inject = self.faults.should_fail()
        manifest_path = _argument(arguments, GlueArg.MANIFEST_PATH)
        started = time.monotonic()
        try:
            if inject:
                raise InjectedGlueFailure(
                    f"injected failure of Glue run {number} ({self.faults.describe()})"
                )
            argv = glue_argv({"--JOB_NAME": job_name, "--JOB_RUN_ID": run_id, **arguments})
            summary = glue.main(argv)
        except Exception as exc:
            self._record(
                RunRecord(
                    run_id=run_id,
                    number=number,
                    manifest_path=manifest_path,
                    succeeded=False,
                    seconds=time.monotonic() - started,
                    injected=isinstance(exc, InjectedGlueFailure),
                    error=f"{type(exc).__name__}: {exc}",
                    started=started,
                    arguments=dict(arguments),
                )
            )
            raise
        self._record(
            RunRecord(
                run_id=run_id,
                number=number,
                manifest_path=manifest_path,
                succeeded=True,
                seconds=time.monotonic() - started,
                summary=summary.to_dict(),
                started=started,
                arguments=dict(arguments),
            )
        )
        return summary

    def _record(self, record: RunRecord) -> None:
        with self._lock:
            self.records.append(record)
            self._active -= 1

    def last_success_per_manifest(self) -> dict[str, RunRecord]:
        """The latest successful run of each manifest: retries overwrite their own output."""
        with self._lock:
            records = list(self.records)
        latest: dict[str, RunRecord] = {}
        for record in records:
            if record.succeeded:
                latest[record.manifest_path] = record
        return latest


def _argument(arguments: dict[str, str], name: str) -> str:
    return str(arguments.get(f"--{name}", arguments.get(name, "")))
