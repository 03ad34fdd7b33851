"""Every workaround for moto (Step Functions, Glue, SQS, S3, Lambda), in one place.

1. `glue:startJobRun.sync` always fails in moto (at least 5.1 to 5.2.5) with
   `States.Runtime: 'NoneType' object has no attribute 'interrupt_all'`: the callback base class
   of the interpreter calls `callback_endpoint.interrupt_all()` in a `finally` without a None
   check, and Glue (which supports `.sync` only) never has a callback endpoint. `apply()` gives
   the Glue task its own `.sync` evaluation, which has no callback endpoint to release.
2. moto's Glue job runs go STARTING → RUNNING → SUCCEEDED on their own and run nothing.
   `set_glue_job_runner(fn)` makes every run started afterwards call `fn(job_name, run_id,
   arguments)` in a thread: the run reports RUNNING while `fn` runs, then SUCCEEDED if it
   returned or FAILED (the exception text as ErrorMessage) if it raised, as GetJobRun does on AWS.
   A runner that raises `JobRunEnded("STOPPED" | "TIMEOUT" | "ERROR", message)` ends its run in
   that state instead (an operator's stop, the job's timeout, a Glue-side error).
   moto refuses StartJobRun with ConcurrentRunsExceededException while MaxConcurrentRuns runs
   are STARTING or RUNNING, as AWS does; a runner's run is RUNNING until the runner returns.

3. moto's Glue `UpdateTable` ignores `VersionId` (5.2.5), the optimistic lock Iceberg catalogs
   commit under: in `glue_table_versions`.

4. What `terraform apply` of infra/ needs from moto: in `terraform_fixes` (`apply()` installs
   them with the others).

5. moto runs a Lambda function's code only in a Docker container: `set_lambda_function_runner(fn)`
   makes every invoke call `fn(function_name, event)` in-process (`lambda_in_process`);
   `LambdaFunctionFailed(error_type, message)` reports any error type (`Sandbox.Timedout` for a
   timeout, `Runtime.OutOfMemory`), as Lambda reports them.

All patches act on classes, so they hold for `mock_aws` and for a `ThreadedMotoServer` in the
same process alike. They check the shape of the moto code they replace and raise
`MotoShapeError` when it is not the one they were written for: review them then (`shape.py`).
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

from ndjson_parquet.cli.emulator import glue_table_versions, lambda_in_process, terraform_fixes
from ndjson_parquet.cli.emulator.lambda_in_process import LambdaFunctionRunner
from ndjson_parquet.cli.emulator.shape import MARK as _MARK
from ndjson_parquet.cli.emulator.shape import MotoShapeError

GlueJobRunner = Callable[[str, str, dict[str, str]], object]
"""`fn(job_name, run_id, arguments)`: return for SUCCEEDED, raise for FAILED (or JobRunEnded)."""

# Terminal JobRunStates a runner may end its run in, besides SUCCEEDED.
ENDED_STATES: Final = frozenset({"FAILED", "STOPPED", "TIMEOUT", "ERROR"})


class JobRunEnded(Exception):
    """Raised by a runner to end its job run in `state` (one of ENDED_STATES)."""

    def __init__(self, state: str, message: str = "") -> None:
        if state not in ENDED_STATES:
            raise ValueError(f"a job run cannot end {state!r}; one of {sorted(ENDED_STATES)}")
        super().__init__(message or f"job run {state}")
        self.state = state


class LambdaFunctionFailed(Exception):
    """Raised by a Lambda runner to fail the invocation with `error_type` (e.g. a timeout)."""

    def __init__(self, error_type: str, message: str = "") -> None:
        super().__init__(message or error_type)
        self.error_type = error_type


# The line whose missing None check breaks every Glue `.sync` task.
_UNGUARDED_CALL: Final = "callback_endpoint.interrupt_all()"
_PATCHED_ATTRIBUTE: Final = "_eval_integration_pattern"
_START_JOB_RUN: Final = "start_job_run"

_lock = threading.Lock()
_runner: GlueJobRunner | None = None
_original_start_job_run: Callable[..., str] | None = None


# --- 1. glue:startJobRun.sync ---------------------------------------------------------------


def _glue_classes() -> tuple[type[Any], type[Any], Any]:
    try:
        from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
            state_task_service_callback as callback_module,
        )
        from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
            state_task_service_glue as glue_module,
        )
        from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import (
            ResourceCondition,
        )
    except ImportError as exc:  # pragma: no cover - depends on the installed moto
        raise MotoShapeError(f"the Step Functions interpreter modules moved ({exc})") from exc
    callback_cls = getattr(callback_module, "StateTaskServiceCallback", None)
    glue_cls = getattr(glue_module, "StateTaskServiceGlue", None)
    if callback_cls is None or glue_cls is None or not issubclass(glue_cls, callback_cls):
        raise MotoShapeError("StateTaskServiceGlue is no longer a StateTaskServiceCallback")
    patterns = getattr(glue_module, "_SUPPORTED_INTEGRATION_PATTERNS", None)
    if patterns != {ResourceCondition.Sync}:
        raise MotoShapeError(f"Glue supports other integration patterns now: {patterns}")
    return callback_cls, glue_cls, ResourceCondition


def glue_sync_bug_present() -> bool:
    """Whether moto's callback base class still releases a callback endpoint without a None check."""
    callback_cls, _, _ = _glue_classes()
    method = callback_cls.__dict__.get(_PATCHED_ATTRIBUTE)
    if method is None:
        raise MotoShapeError(f"StateTaskServiceCallback.{_PATCHED_ATTRIBUTE} is gone")
    try:
        source = inspect.getsource(method)
    except OSError:  # no source installed: assume the bug; the Glue evaluation is right anyway
        return True
    if _UNGUARDED_CALL not in source:
        return False
    # Fixed upstream as `if callback_endpoint is not None:` or `if callback_endpoint:` guards.
    return "if callback_endpoint" not in source


def _check_sync_hooks(callback_cls: type[Any]) -> None:
    expected = {
        "_eval_sync": ["self", "env", "sync_resolver", "timeout_seconds", "callback_endpoint"],
        "_build_sync_resolver": ["self", "env", "resource_runtime_part", "normalised_parameters"],
    }
    for name, params in expected.items():
        method = getattr(callback_cls, name, None)
        if method is None:
            raise MotoShapeError(f"StateTaskServiceCallback.{name} is gone")
        actual = list(inspect.signature(method).parameters)
        if actual[: len(params)] != params:
            raise MotoShapeError(f"StateTaskServiceCallback.{name} takes {actual} now")


def _make_glue_sync_evaluation(resource_condition: Any) -> Callable[..., None]:
    def _eval_integration_pattern(
        self: Any,
        env: Any,
        resource_runtime_part: Any,
        normalised_parameters: dict[str, Any],
        state_credentials: Any,
    ) -> None:
        # The `.sync` path of StateTaskServiceCallback._eval_integration_pattern, without the
        # waitForTaskToken endpoint that Glue never has (and so nothing to release afterwards).
        if self.resource.condition != resource_condition.Sync or self.heartbeat:
            raise RuntimeError(
                f"Unsupported callback procedure in resource {self.resource.resource_arn}"
            )
        task_output = env.stack.pop()
        self.timeout.eval(env=env)
        timeout_seconds = env.stack.pop()
        env.stack.append(task_output)  # the sync resolver reads StartJobRun's output
        sync_resolver = self._build_sync_resolver(
            env=env,
            resource_runtime_part=resource_runtime_part,
            normalised_parameters=normalised_parameters,
            state_credentials=state_credentials,
        )
        outcome = self._eval_sync(
            env=env,
            sync_resolver=sync_resolver,
            timeout_seconds=timeout_seconds,
            callback_endpoint=None,
            heartbeat_endpoint=None,
        )
        env.stack.append(outcome)

    setattr(_eval_integration_pattern, _MARK, True)
    return _eval_integration_pattern


def _apply_glue_sync_fix() -> None:
    callback_cls, glue_cls, resource_condition = _glue_classes()
    own = glue_cls.__dict__.get(_PATCHED_ATTRIBUTE)
    if own is not None:
        if getattr(own, _MARK, False):
            return
        raise MotoShapeError(f"StateTaskServiceGlue defines {_PATCHED_ATTRIBUTE} itself now")
    if not glue_sync_bug_present():
        return  # fixed upstream: nothing to do
    _check_sync_hooks(callback_cls)
    setattr(glue_cls, _PATCHED_ATTRIBUTE, _make_glue_sync_evaluation(resource_condition))


def _revert_glue_sync_fix() -> None:
    _, glue_cls, _ = _glue_classes()
    own = glue_cls.__dict__.get(_PATCHED_ATTRIBUTE)
    if own is not None and getattr(own, _MARK, False):
        delattr(glue_cls, _PATCHED_ATTRIBUTE)


# --- 2. Glue job runs that run something ----------------------------------------------------


def _glue_models() -> Any:
    from moto.glue import models

    for name in ("FakeJob", "FakeJobRun"):
        if not inspect.isclass(getattr(models, name, None)):
            raise MotoShapeError(f"moto.glue.models.{name} is gone")
    params = list(inspect.signature(models.FakeJob.start_job_run).parameters)
    if params[0] != "self" or "arguments" not in params:
        raise MotoShapeError(f"FakeJob.start_job_run takes {params} now")
    if not callable(getattr(models.FakeJobRun, "as_dict", None)):
        raise MotoShapeError("FakeJobRun.as_dict is gone")
    status = inspect.getattr_static(models.FakeJobRun, "status", None)
    if not isinstance(status, property):
        raise MotoShapeError("FakeJobRun.status is no longer a property")
    return models


def _job_run_class(models: Any) -> type[Any]:
    """A FakeJobRun whose state follows a runner thread instead of moto's state manager."""

    class RunnerJobRun(models.FakeJobRun):  # type: ignore[misc]
        _runner_done: threading.Event
        _runner_error: str | None
        _runner_state: str
        _runner_seconds: float
        _runner_completed_on: datetime | None

        def start_runner(self, runner: GlueJobRunner) -> None:
            self._runner_done = threading.Event()
            self._runner_error = None
            self._runner_state = "SUCCEEDED"
            self._runner_seconds = 0.0
            self._runner_completed_on = None
            arguments = {str(k): str(v) for k, v in (self.arguments or {}).items()}
            thread = threading.Thread(
                target=self._run,
                args=(runner, arguments),
                name=f"glue-job-run-{self.job_run_id[:12]}",
                daemon=True,
            )
            thread.start()

        def _run(self, runner: GlueJobRunner, arguments: dict[str, str]) -> None:
            started = time.monotonic()
            try:
                runner(self.job_name, self.job_run_id, arguments)
            except JobRunEnded as exc:
                self._runner_state = exc.state
                self._runner_error = str(exc)
            except BaseException as exc:  # any failure of the job is the run's failure
                self._runner_state = "FAILED"
                self._runner_error = str(exc) or type(exc).__name__
            finally:
                self._runner_seconds = time.monotonic() - started
                self._runner_completed_on = datetime.now(UTC)
                self._runner_done.set()

        @property
        def status(self) -> str:
            if not self._runner_done.is_set():
                return "RUNNING"
            return self._runner_state

        @status.setter
        def status(self, value: str) -> None:
            raise RuntimeError(f"a job run driven by a runner cannot be set to {value}")

        def as_dict(self) -> dict[str, Any]:
            result: dict[str, Any] = super().as_dict()
            result["JobRunState"] = self.status
            # Glue reports whole seconds of execution.
            result["ExecutionTime"] = round(self._runner_seconds)
            if self._runner_completed_on is not None:
                result["CompletedOn"] = self._runner_completed_on
                result["LastModifiedOn"] = self._runner_completed_on
            else:
                result.pop("CompletedOn", None)
            if self._runner_error is not None:
                result["ErrorMessage"] = self._runner_error
            return result

    return RunnerJobRun


def _apply_glue_runner_hook() -> None:
    global _original_start_job_run
    if _original_start_job_run is not None:
        return
    models = _glue_models()
    current = models.FakeJob.start_job_run
    if getattr(current, _MARK, False):  # pragma: no cover - patched by another copy of this module
        raise MotoShapeError("FakeJob.start_job_run is already patched elsewhere")
    original: Callable[..., str] = current
    runner_run_cls = _job_run_class(models)

    def start_job_run(self: Any, *args: Any, **kwargs: Any) -> str:
        run_id = original(self, *args, **kwargs)
        runner = _runner
        if runner is None:
            return run_id
        run = self.job_runs[-1] if self.job_runs else None
        if run is None or run.job_run_id != run_id or type(run) is not models.FakeJobRun:
            raise MotoShapeError("FakeJob.start_job_run no longer appends a FakeJobRun")
        run.__class__ = runner_run_cls
        run.start_runner(runner)
        return run_id

    setattr(start_job_run, _MARK, True)
    _original_start_job_run = original
    setattr(models.FakeJob, _START_JOB_RUN, start_job_run)


def _revert_glue_runner_hook() -> None:
    global _original_start_job_run
    from moto.glue import models

    if _original_start_job_run is not None:
        setattr(models.FakeJob, _START_JOB_RUN, _original_start_job_run)
        _original_start_job_run = None


# --- public -----------------------------------------------------------------------------------


def apply() -> None:
    """Install every workaround (idempotent); raise MotoShapeError on an unexpected moto."""
    with _lock:
        _apply_glue_sync_fix()
        _apply_glue_runner_hook()
        glue_table_versions.apply()
        terraform_fixes.apply()
        lambda_in_process.apply()


def revert() -> None:
    """Remove every workaround (idempotent); job runs already started keep their runner."""
    with _lock:
        _revert_glue_sync_fix()
        _revert_glue_runner_hook()
        glue_table_versions.revert()
        terraform_fixes.revert()
        lambda_in_process.revert()


def set_glue_job_runner(runner: GlueJobRunner | None) -> None:
    """Make Glue job runs started from now on execute `runner`; None restores moto's behaviour.

    `runner(job_name, run_id, arguments)` runs in its own thread; `arguments` are the run's
    arguments over the job's defaults (`{"--MANIFEST_PATH": "s3://…", …}`).
    """
    global _runner
    apply()
    with _lock:
        _runner = runner


def set_lambda_function_runner(runner: LambdaFunctionRunner | None) -> None:
    """Make every Lambda invoke call `runner(function_name, event)` in-process; None restores
    moto's behaviour (its Docker container)."""
    apply()
    with _lock:
        lambda_in_process.set_runner(runner)
