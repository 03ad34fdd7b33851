"""moto workaround 5 (see `moto_fixes`): Lambda functions that run in-process.

moto runs a Lambda function's code only in a Docker container built from its deployment
package (`LambdaFunction.invoke` → `_invoke_lambda`), so the Step Functions interpreter's
`lambda:invoke` cannot reach an in-process handler. With a runner set (`set_runner`), every
invoke calls `runner(function_name, event)` in the calling thread instead: its return value is
the response payload; an exception is an unhandled function error whose `errorType` is the
exception's `error_type` attribute or its type name.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from typing import Any, Final

from ndjson_parquet.cli.emulator.shape import MARK as _MARK
from ndjson_parquet.cli.emulator.shape import MotoShapeError

LambdaFunctionRunner = Callable[[str, dict[str, Any]], object]
"""`fn(function_name, event)`: return the payload, or raise for an unhandled function error."""

_INVOKE: Final = "invoke"
_lambda_runner: LambdaFunctionRunner | None = None
_original_invoke: Callable[..., Any] | None = None


def _lambda_function_class() -> type[Any]:
    from moto.awslambda import models

    cls: type[Any] | None = getattr(models, "LambdaFunction", None)
    method = getattr(cls, _INVOKE, None) if cls is not None else None
    if cls is None or method is None:
        raise MotoShapeError("moto.awslambda.models.LambdaFunction.invoke is gone")
    params = list(inspect.signature(getattr(method, "__wrapped__", method)).parameters)
    if params != ["self", "body", "request_headers", "response_headers"]:
        raise MotoShapeError(f"LambdaFunction.invoke takes {params} now")
    return cls


def lambda_runs_in_docker_only() -> bool:
    """Whether moto's LambdaFunction.invoke still runs the code through `_invoke_lambda` (its
    Docker container), with no way to call a handler in this process."""
    method = _lambda_function_class().__dict__[_INVOKE]
    method = getattr(method, "__wrapped__", method)
    try:
        source = inspect.getsource(method)
    except OSError:  # pragma: no cover - no source installed: assume the deviation
        return True
    return "self._invoke_lambda(" in source


def _error_payload(exc: BaseException) -> dict[str, str]:
    # LambdaFunctionFailed, or any exception that names its error type the same way.
    error_type = str(getattr(exc, "error_type", "") or type(exc).__name__)
    return {"errorType": error_type, "errorMessage": str(exc) or error_type}


def _make_runner_invoke(original: Callable[..., Any]) -> Callable[..., Any]:
    def invoke(self: Any, body: Any, request_headers: Any, response_headers: Any) -> Any:
        runner = _lambda_runner
        if runner is None:
            return original(self, body, request_headers, response_headers)
        event = json.loads(body) if body else {}
        try:
            payload: object = runner(self.function_name, event)
        except Exception as exc:  # any failure of the handler is an unhandled function error
            response_headers["x-amz-function-error"] = "Unhandled"
            payload = _error_payload(exc)
        return json.dumps(payload, default=str).encode("utf-8")

    invoke.__wrapped__ = original  # type: ignore[attr-defined]
    setattr(invoke, _MARK, True)
    return invoke


def apply() -> None:
    """Install the hook (idempotent)."""
    global _original_invoke
    cls = _lambda_function_class()
    current = cls.__dict__[_INVOKE]
    if getattr(current, _MARK, False):
        return
    _original_invoke = current
    setattr(cls, _INVOKE, _make_runner_invoke(current))


def revert() -> None:
    """Remove the hook (idempotent)."""
    global _original_invoke
    cls = _lambda_function_class()
    if getattr(cls.__dict__[_INVOKE], _MARK, False) and _original_invoke is not None:
        setattr(cls, _INVOKE, _original_invoke)
        _original_invoke = None


def set_runner(runner: LambdaFunctionRunner | None) -> None:
    """The runner every invoke calls from now on (None: moto's own behaviour)."""
    global _lambda_runner
    _lambda_runner = runner
