"""Conversions on the emulator, in Glue job runs and Lambda invocations alike: the real converter
entrypoints, with optional injected faults (a failed run, a Lambda that times out)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from ndjson_parquet.common import GlueArg

GLUE: Final = "glue"
LAMBDA: Final = "lambda"
# What Step Functions reports when a function exceeds its timeout (the payload's errorType).
LAMBDA_TIMEOUT_ERROR: Final = "Sandbox.Timedout"


class InjectedGlueFailure(RuntimeError):
    """A failure requested with `--fail-first` / `--fail-always`."""


@dataclass
class FaultPlan:
    """Which runs fail on purpose: the first `fail_first` runs under this plan, or all."""

    fail_first: int = 0
    fail_always: bool = False
    # The first `lambda_timeout_first` Lambda conversions time out (the workflow then uses Glue).
    lambda_timeout_first: int = 0
    _failed: int = field(default=0, repr=False)
    _timed_out: int = field(default=0, repr=False)

    def should_fail(self) -> bool:
        """Whether the next run fails (counts it; call once per run, under the runner's lock)."""
        if self.fail_always:
            return True
        if self._failed < self.fail_first:
            self._failed += 1
            return True
        return False

    def should_time_out(self) -> bool:
        """Whether the next Lambda conversion times out (counts it, like `should_fail`)."""
        if self._timed_out < self.lambda_timeout_first:
            self._timed_out += 1
            return True
        return False

    @property
    def active(self) -> bool:
        return self.fail_always or self.fail_first > 0 or self.lambda_timeout_first > 0

    def describe(self) -> str:
        parts = []
        if self.fail_always or self.fail_first:
            parts.append("--fail-always" if self.fail_always else f"--fail-first {self.fail_first}")
        if self.lambda_timeout_first:
            parts.append(f"--lambda-timeout-first {self.lambda_timeout_first}")
        return " ".join(parts)


class InjectedLambdaTimeout(RuntimeError):
    """A Lambda timeout requested with `--lambda-timeout-first`."""

    error_type = LAMBDA_TIMEOUT_ERROR


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
    # Where it ran: "glue" (a job run) or "lambda" (an invocation of the converter function).
    compute: str = GLUE


def glue_argv(arguments: dict[str, str]) -> list[str]:
    """Glue's argv for a run: `--NAME value` pairs (Glue passes job arguments the same way)."""
    argv: list[str] = ["glue_script.py"]
    for name, value in arguments.items():
        argv += [name if name.startswith("--") else f"--{name}", str(value)]
    return argv


class GlueJobRunner:
    """Executes the converter for each Glue job run and Lambda invocation; records the outcome.

    Glue runs call `ndjson_parquet.converter.glue.main`, Lambda invocations the function's
    handler core (`lambda_function.convert_event`, which calls the same `main`) with
    `lambda_arguments`, the converter arguments the function's environment carries on AWS.
    """

    def __init__(self, faults: FaultPlan | None = None) -> None:
        self.faults = faults or FaultPlan()
        # While cleared, runs wait before converting (the benchmark times stages apart).
        self.gate = threading.Event()
        self.gate.set()
        self.records: list[RunRecord] = []
        self.lambda_arguments: dict[str, str] = {}
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

        def convert() -> Any:
            return glue.main(
                glue_argv({"--JOB_NAME": job_name, "--JOB_RUN_ID": run_id, **arguments})
            )

        manifest_path = _argument(arguments, GlueArg.MANIFEST_PATH)
        return self._run(GLUE, run_id, manifest_path, convert, arguments)

    def invoke_lambda(self, function_name: str, event: dict[str, Any]) -> dict[str, Any]:
        """One invocation of the converter function: the handler's result, or its error."""
        from ndjson_parquet.converter import lambda_function

        request_id = str(uuid.uuid4())
        given = event.get(lambda_function.EVENT_ARGUMENTS) or {}
        manifest_path = _argument(dict(given), GlueArg.MANIFEST_PATH)

        def convert() -> Any:
            return lambda_function.convert_event(event, self.lambda_arguments, request_id)

        arguments = {**self.lambda_arguments, **dict(given)}
        summary = self._run(LAMBDA, request_id, manifest_path, convert, arguments)
        return lambda_function.result(summary, request_id)

    def _run(
        self,
        compute: str,
        run_id: str,
        manifest_path: str,
        convert: Callable[[], Any],
        arguments: dict[str, str],
    ) -> Any:
        """Run one conversion, recorded with the arguments it was given."""
        self.gate.wait()
        with self._lock:
            self._count += 1
            number = self._count
            self._active += 1
            self.peak_active = max(self.peak_active, self._active)
            time_out = compute == LAMBDA and self.faults.should_time_out()
            inject = not time_out and self.faults.should_fail()
        started = time.monotonic()
        try:
            if time_out:
                raise InjectedLambdaTimeout(
                    f"injected timeout of Lambda conversion {number} ({self.faults.describe()})"
                )
            if inject:
                raise InjectedGlueFailure(
                    f"injected failure of {compute} run {number} ({self.faults.describe()})"
                )
            summary = convert()
        except Exception as exc:
            self._record(
                RunRecord(
                    run_id=run_id,
                    number=number,
                    manifest_path=manifest_path,
                    succeeded=False,
                    seconds=time.monotonic() - started,
                    injected=isinstance(exc, InjectedGlueFailure | InjectedLambdaTimeout),
                    error=f"{type(exc).__name__}: {exc}",
                    started=started,
                    arguments=dict(arguments),
                    compute=compute,
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
                compute=compute,
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
