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

3. moto's Glue `UpdateTable` ignores `VersionId` (5.2.5): AWS refuses an update based on an
   older table version with `ConcurrentModificationException`, which is the optimistic lock
   Iceberg catalogs (pyiceberg's Glue catalog) commit under; moto applies every update, so of
   two concurrent Iceberg commits the first is lost. `apply()` adds the check, and runs
   UpdateTable and CreateTable under one lock (moto serves requests on several threads and
   checks, then writes, without a lock: two CreateTable calls could both succeed).

4. What `terraform apply` of infra/ needs from moto (each one stopped or broke the apply):
   a. SQS GetQueueAttributes never returns `RedriveAllowPolicy` (moto stores it but leaves it out
      of its attribute list), so the AWS provider's wait for the attributes it set never ends.
   b. Step Functions `ValidateStateMachineDefinition` and `ListStateMachineVersions` are not
      implemented (HTTP 500, which the provider retries for minutes); it calls the first before
      creating a state machine and the second when reading one. The first is answered with
      moto's own ASL parser, the second from moto's record of published versions.
   c. moto's bucket policies ignore `Bool` conditions, so a statement that denies requests
      without TLS (`aws:SecureTransport` false, as every bucket of infra/ has) denies every
      object request, over HTTPS too. S3 requests record whether they came over HTTPS, and
      such statements apply only when the condition holds, as on AWS.
   d. moto delivers an SQS queue's messages to a Lambda event source mapping inside SendMessage,
      in a container; on AWS, Lambda polls. The mapping is kept (its settings are what the local
      runtime's poller reads) but moto's inline delivery is detached from the queue.
   e. In a bucket whose versioning is Suspended (the provider suspends it when it destroys
      `aws_s3_bucket_versioning`, before it empties the bucket for `force_destroy`), moto's
      DeleteObject(s) ignores VersionId and drops every version of the key, calling `dispose()`
      on each; delete markers have none, so the request fails with HTTP 500 and the provider
      retries the bucket's deletion forever. Delete markers get a `dispose()` that does nothing
      (they hold no data). moto still drops all versions of the key at once there, where AWS
      drops the one version: emptying a bucket ends the same.

All patches act on classes, so they hold for `mock_aws` and for a `ThreadedMotoServer` in the
same process alike. They check the shape of the moto code they replace and raise
`MotoShapeError` when it is not the one they were written for: review this module then.
"""

from __future__ import annotations

import inspect
import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

import moto

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


# The line whose missing None check breaks every Glue `.sync` task.
_UNGUARDED_CALL: Final = "callback_endpoint.interrupt_all()"
_PATCHED_ATTRIBUTE: Final = "_eval_integration_pattern"
_START_JOB_RUN: Final = "start_job_run"
_MARK: Final = "_ndjson_parquet_fix"

_lock = threading.Lock()
_runner: GlueJobRunner | None = None
_original_start_job_run: Callable[..., str] | None = None


class MotoShapeError(RuntimeError):
    """The installed moto is not shaped as these workarounds expect."""

    def __init__(self, what: str) -> None:
        super().__init__(
            f"moto {moto.__version__}: {what}. The workarounds in {__name__} were written for "
            "moto 5.1-5.2.5; review them against this version."
        )


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


# --- 3. Glue UpdateTable honours VersionId --------------------------------------------------

_UPDATE_TABLE: Final = "update_table"
_CREATE_TABLE: Final = "create_table"
_table_lock = threading.Lock()


def _glue_responses() -> type[Any]:
    from moto.glue import responses

    cls: type[Any] | None = getattr(responses, "GlueResponse", None)
    if cls is None or not callable(cls.__dict__.get(_UPDATE_TABLE)):
        raise MotoShapeError("moto.glue.responses.GlueResponse.update_table is gone")
    return cls


def _update_table_method() -> Callable[..., Any]:
    method: Callable[..., Any] = _glue_responses().__dict__[_UPDATE_TABLE]
    return method


def glue_version_check_missing() -> bool:
    """Whether moto's UpdateTable still ignores VersionId (read from its source)."""
    method = _update_table_method()
    if getattr(method, _MARK, False):
        method = getattr(method, "__wrapped__", method)
    try:
        source = inspect.getsource(method)
    except OSError:  # pragma: no cover - no source installed: assume the deviation
        return True
    return "VersionId" not in source


def _make_checked_update_table(original: Callable[..., Any]) -> Callable[..., Any]:
    def update_table(self: Any) -> Any:
        from moto.glue.exceptions import GlueClientError

        version_id = self.parameters.get("VersionId")
        table_input = self.parameters.get("TableInput") or {}
        with _table_lock:  # the check and the update at once, as one request on AWS
            if version_id:
                table = self.glue_backend.get_table(
                    self.parameters.get("DatabaseName"), table_input.get("Name")
                )
                current = str(table._current_version)
                if current != str(version_id):
                    raise GlueClientError(
                        "ConcurrentModificationException",
                        f"Update table failed due to concurrent modifications: version "
                        f"{version_id} is not the current version {current}",
                    )
            return original(self)

    update_table.__wrapped__ = original  # type: ignore[attr-defined]
    setattr(update_table, _MARK, True)
    return update_table


def _make_serialized(original: Callable[..., Any]) -> Callable[..., Any]:
    def serialized(self: Any) -> Any:
        with _table_lock:
            return original(self)

    serialized.__wrapped__ = original  # type: ignore[attr-defined]
    setattr(serialized, _MARK, True)
    return serialized


def _apply_glue_version_check() -> None:
    responses = _glue_responses()
    create = responses.__dict__.get(_CREATE_TABLE)
    if create is None:
        raise MotoShapeError("moto.glue.responses.GlueResponse.create_table is gone")
    if not getattr(create, _MARK, False):
        setattr(responses, _CREATE_TABLE, _make_serialized(create))
    current = _update_table_method()
    if getattr(current, _MARK, False) or not glue_version_check_missing():
        return
    setattr(responses, _UPDATE_TABLE, _make_checked_update_table(current))


def _revert_glue_version_check() -> None:
    responses = _glue_responses()
    for name in (_UPDATE_TABLE, _CREATE_TABLE):
        current = responses.__dict__.get(name)
        if getattr(current, _MARK, False):
            setattr(responses, name, current.__wrapped__)  # type: ignore[union-attr]


# --- 4. what terraform apply needs ----------------------------------------------------------

_REDRIVE_ALLOW_POLICY: Final = "RedriveAllowPolicy"
_CREATE_MAPPING: Final = "create_event_source_mapping"
_DISPOSE: Final = "dispose"
_original_create_mapping: Callable[..., Any] | None = None


def _sqs_queue_class() -> type[Any]:
    from moto.sqs.models import Queue

    if not isinstance(getattr(Queue, "BASE_ATTRIBUTES", None), list):
        raise MotoShapeError("moto.sqs.models.Queue.BASE_ATTRIBUTES is gone")
    return Queue


def redrive_allow_policy_dropped() -> bool:
    """Whether moto's queues still leave RedriveAllowPolicy out of their attributes."""
    return _REDRIVE_ALLOW_POLICY not in _sqs_queue_class().BASE_ATTRIBUTES


def _apply_redrive_allow_policy_fix() -> None:
    queue_cls = _sqs_queue_class()
    if not redrive_allow_policy_dropped():
        return
    # Queues keep every attribute they were given as a snake_case field; the class default
    # covers queues created without one (None is left out of the response, as for Policy).
    queue_cls.redrive_allow_policy = None
    queue_cls.BASE_ATTRIBUTES.append(_REDRIVE_ALLOW_POLICY)
    setattr(queue_cls, _MARK, True)


def _revert_redrive_allow_policy_fix() -> None:
    queue_cls = _sqs_queue_class()
    if queue_cls.__dict__.get(_MARK):
        queue_cls.BASE_ATTRIBUTES.remove(_REDRIVE_ALLOW_POLICY)
        delattr(queue_cls, "redrive_allow_policy")
        delattr(queue_cls, _MARK)


def _sfn_response_class() -> type[Any]:
    from moto.stepfunctions.responses import StepFunctionResponse

    return StepFunctionResponse


def _validate_state_machine_definition(self: Any) -> Any:
    from moto.core.responses import ActionResult
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    try:
        AmazonStateLanguageParser.parse(self._get_param("definition"))
    except Exception as exc:  # the parser's exceptions are its verdict on the definition
        diagnostic = {"severity": "ERROR", "code": "SCHEMA_VALIDATION_FAILED", "message": str(exc)}
        return ActionResult({"result": "FAIL", "diagnostics": [diagnostic], "truncated": False})
    return ActionResult({"result": "OK", "diagnostics": [], "truncated": False})


def _list_state_machine_versions(self: Any) -> Any:
    from moto.core.responses import ActionResult

    machine = self.stepfunction_backend.describe_state_machine(self._get_param("stateMachineArn"))
    versions = [
        {"stateMachineVersionArn": v.arn, "creationDate": v.creation_date}
        for _, v in sorted(getattr(machine, "versions", {}).items(), reverse=True)
    ]
    return ActionResult({"stateMachineVersions": versions})


_MISSING_SFN_ACTIONS: Final[dict[str, Callable[..., Any]]] = {
    "validate_state_machine_definition": _validate_state_machine_definition,
    "list_state_machine_versions": _list_state_machine_versions,
}


def missing_sfn_actions() -> list[str]:
    """The Step Functions actions the AWS provider needs that moto still does not implement."""
    response_cls = _sfn_response_class()
    return [
        name
        for name in _MISSING_SFN_ACTIONS
        if name not in response_cls.__dict__ or getattr(response_cls.__dict__[name], _MARK, False)
    ]


def _apply_sfn_actions_fix() -> None:
    response_cls = _sfn_response_class()
    for name in missing_sfn_actions():
        action = _MISSING_SFN_ACTIONS[name]
        setattr(action, _MARK, True)
        setattr(response_cls, name, action)


def _revert_sfn_actions_fix() -> None:
    response_cls = _sfn_response_class()
    for name in _MISSING_SFN_ACTIONS:
        if getattr(response_cls.__dict__.get(name), _MARK, False):
            delattr(response_cls, name)


_SECURE_TRANSPORT: Final = "aws:SecureTransport"
_transport = threading.local()  # .secure: whether this thread's current S3 request used HTTPS
_original_s3_setup: Callable[..., Any] | None = None
_original_get_permission: Callable[..., Any] | None = None


def _s3_classes() -> tuple[type[Any], type[Any]]:
    from moto.s3.models import FakeBucket
    from moto.s3.responses import S3Response

    for cls, name in ((FakeBucket, "get_permission"), (S3Response, "setup_class")):
        if not callable(getattr(cls, name, None)):
            raise MotoShapeError(f"{cls.__name__}.{name} is gone")
    return FakeBucket, S3Response


def _statement_applies(statement: dict[str, Any], secure: bool) -> bool:
    """False when the statement's aws:SecureTransport condition does not hold for `secure`."""
    for operator, keys in (statement.get("Condition") or {}).items():
        if operator == "Bool" and _SECURE_TRANSPORT in keys:
            expected = keys[_SECURE_TRANSPORT]
            values = expected if isinstance(expected, list) else [expected]
            if str(secure).lower() not in [str(v).lower() for v in values]:
                return False
    return True


def _apply_secure_transport_fix() -> None:
    global _original_s3_setup, _original_get_permission
    if _original_get_permission is not None:
        return
    from urllib.parse import urlparse

    bucket_cls, response_cls = _s3_classes()
    original_setup: Callable[..., Any] = response_cls.setup_class
    original_permission: Callable[..., Any] = bucket_cls.get_permission

    def setup_class(self: Any, request: Any, *args: Any, **kwargs: Any) -> None:
        original_setup(self, request, *args, **kwargs)
        _transport.secure = urlparse(str(self.uri)).scheme == "https"

    def get_permission(self: Any, action: str, resource: str) -> Any:
        secure = getattr(_transport, "secure", None)
        if self.policy is None or secure is None:
            return original_permission(self, action, resource)
        from moto.iam.access_control import IAMPolicy

        document = json.loads(self.policy)
        statements = document.get("Statement", [])
        statements = statements if isinstance(statements, list) else [statements]
        document["Statement"] = [s for s in statements if _statement_applies(s, secure)]
        return IAMPolicy(json.dumps(document)).is_action_permitted(action, resource)

    for patched in (setup_class, get_permission):
        setattr(patched, _MARK, True)
    _original_s3_setup, _original_get_permission = original_setup, original_permission
    response_cls.setup_class = setup_class
    bucket_cls.get_permission = get_permission


def _revert_secure_transport_fix() -> None:
    global _original_s3_setup, _original_get_permission
    if _original_get_permission is None or _original_s3_setup is None:
        return
    bucket_cls, response_cls = _s3_classes()
    response_cls.setup_class = _original_s3_setup
    bucket_cls.get_permission = _original_get_permission
    _original_s3_setup = _original_get_permission = None


def _apply_inline_delivery_fix() -> None:
    global _original_create_mapping
    if _original_create_mapping is not None:
        return
    from moto.awslambda.models import LambdaBackend
    from moto.sqs.models import sqs_backends

    original: Callable[..., Any] = LambdaBackend.create_event_source_mapping

    def create_event_source_mapping(self: Any, spec: dict[str, Any]) -> Any:
        mapping = original(self, spec)
        for queue in sqs_backends[self.account_id][self.region_name].queues.values():
            delivered_inline = getattr(queue, "lambda_event_source_mappings", None)
            if not isinstance(delivered_inline, dict):
                raise MotoShapeError("SQS queues no longer hold lambda_event_source_mappings")
            if queue.queue_arn == mapping.event_source_arn:
                delivered_inline.pop(mapping.function_arn, None)
        return mapping

    setattr(create_event_source_mapping, _MARK, True)
    _original_create_mapping = original
    setattr(LambdaBackend, _CREATE_MAPPING, create_event_source_mapping)


def _revert_inline_delivery_fix() -> None:
    global _original_create_mapping
    from moto.awslambda.models import LambdaBackend

    if _original_create_mapping is not None:
        setattr(LambdaBackend, _CREATE_MAPPING, _original_create_mapping)
        _original_create_mapping = None


def _delete_marker_class() -> type[Any]:
    from moto.s3.models import FakeDeleteMarker

    return FakeDeleteMarker


def delete_marker_dispose_missing() -> bool:
    """Whether moto's delete markers still lack the dispose() that deleting a key calls."""
    return not callable(getattr(_delete_marker_class(), _DISPOSE, None))


def _apply_delete_marker_fix() -> None:
    marker_cls = _delete_marker_class()
    if not delete_marker_dispose_missing():
        return

    def dispose(self: Any, garbage: bool = False) -> None:
        """A delete marker holds no data: nothing to release."""

    setattr(marker_cls, _DISPOSE, dispose)
    setattr(marker_cls, _MARK, True)


def _revert_delete_marker_fix() -> None:
    marker_cls = _delete_marker_class()
    if marker_cls.__dict__.get(_MARK):
        delattr(marker_cls, _DISPOSE)
        delattr(marker_cls, _MARK)


# --- public -----------------------------------------------------------------------------------


def apply() -> None:
    """Install every workaround (idempotent); raise MotoShapeError on an unexpected moto."""
    with _lock:
        _apply_glue_sync_fix()
        _apply_glue_runner_hook()
        _apply_glue_version_check()
        _apply_redrive_allow_policy_fix()
        _apply_sfn_actions_fix()
        _apply_secure_transport_fix()
        _apply_inline_delivery_fix()
        _apply_delete_marker_fix()


def revert() -> None:
    """Remove every workaround (idempotent); job runs already started keep their runner."""
    with _lock:
        _revert_glue_sync_fix()
        _revert_glue_runner_hook()
        _revert_glue_version_check()
        _revert_redrive_allow_policy_fix()
        _revert_sfn_actions_fix()
        _revert_secure_transport_fix()
        _revert_inline_delivery_fix()
        _revert_delete_marker_fix()


def set_glue_job_runner(runner: GlueJobRunner | None) -> None:
    """Make Glue job runs started from now on execute `runner`; None restores moto's behaviour.

    `runner(job_name, run_id, arguments)` runs in its own thread; `arguments` are the run's
    arguments over the job's defaults (`{"--MANIFEST_PATH": "s3://…", …}`).
    """
    global _runner
    apply()
    with _lock:
        _runner = runner
