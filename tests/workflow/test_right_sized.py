"""Right-sized conversion on moto's interpreter: Lambda for small manifests, Glue for the rest,
Glue once more when Lambda runs out of time, and Glue's failure handling for a data failure."""

from __future__ import annotations

from typing import Any

import pytest

from ndjson_parquet.cli.emulator import moto_fixes
from ndjson_parquet.common.keys import ManifestAttr
from ndjson_parquet.common.settings import GlueArg
from ndjson_parquet.common.status import Status
from ndjson_parquet.workflow import ErrorName, StateName
from tests.workflow.harness import FUNCTION, LAMBDA_MAX_BYTES, LAMBDA_MAX_FILES, Stack


class LambdaConverter:
    """A converter function: fails with `error_type` on its first `failures` invocations."""

    def __init__(self, failures: int = 0, error_type: str = "ConversionError") -> None:
        self.failures = failures
        self.error_type = error_type
        self.events: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, function_name: str, event: dict[str, Any]) -> dict[str, Any]:
        self.events.append((function_name, event))
        if len(self.events) <= self.failures:
            raise moto_fixes.LambdaFunctionFailed(self.error_type, "it went wrong")
        return {
            "request_id": f"req-{len(self.events)}",
            "seconds": 1.5,
            "rows_written": 7,
            "lines_quarantined": 0,
        }


class GlueConverter:
    def __init__(self) -> None:
        self.calls: list[dict[str, str]] = []

    def __call__(self, job_name: str, run_id: str, arguments: dict[str, str]) -> None:
        self.calls.append(arguments)


@pytest.fixture
def converters(aws: Any) -> tuple[LambdaConverter, GlueConverter]:
    glue = GlueConverter()
    moto_fixes.set_glue_job_runner(glue)
    return LambdaConverter(), glue


@pytest.fixture
def lstack(aws: Any) -> Stack:
    return Stack(aws).create(lambda_converter=True)


def _entered(stack: Stack, execution: dict[str, Any]) -> list[str]:
    history = stack.history(execution["executionArn"])
    return [
        e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e
    ]


def _use(converter: LambdaConverter) -> LambdaConverter:
    moto_fixes.set_lambda_function_runner(converter)
    return converter


def test_a_small_manifest_converts_in_lambda_with_the_glue_arguments(
    lstack: Stack, converters: tuple[LambdaConverter, GlueConverter]
) -> None:
    fn, glue = _use(converters[0]), converters[1]
    lstack.put_manifest("m-small", Status.MANIFESTED)

    execution = lstack.run("m-small", file_count=3, total_bytes=5000)

    assert execution["status"] == "SUCCEEDED"
    assert StateName.CONVERT_IN_LAMBDA in _entered(lstack, execution)
    ((name, event),) = fn.events
    assert name == FUNCTION
    manifest_path = "s3://manifests/manifests/dt=2024-03-05/m-small.json"
    assert event == {"Arguments": {f"--{GlueArg.MANIFEST_PATH}": manifest_path}}
    assert glue.calls == []
    item = lstack.manifest_item("m-small")
    assert item is not None
    assert item[ManifestAttr.STATUS]["S"] == Status.COMPLETED
    assert item[ManifestAttr.COMPUTE]["S"] == "lambda"
    assert item[ManifestAttr.LAMBDA_REQUEST_ID]["S"] == "req-1"
    assert float(item[ManifestAttr.LAMBDA_EXECUTION_SECONDS]["N"]) == 1.5
    assert lstack.slot_holders() == {}


@pytest.mark.parametrize(
    ("total_bytes", "file_count", "compute"),
    [
        (LAMBDA_MAX_BYTES, LAMBDA_MAX_FILES, "lambda"),  # at both limits
        (LAMBDA_MAX_BYTES + 1, 1, "glue"),  # one byte over
        (10, LAMBDA_MAX_FILES + 1, "glue"),  # one file over
    ],
)
def test_the_threshold_at_its_boundary(
    lstack: Stack,
    converters: tuple[LambdaConverter, GlueConverter],
    total_bytes: int,
    file_count: int,
    compute: str,
) -> None:
    fn, glue = _use(converters[0]), converters[1]
    lstack.put_manifest("m-edge", Status.MANIFESTED)

    execution = lstack.run("m-edge", file_count=file_count, total_bytes=total_bytes)

    assert execution["status"] == "SUCCEEDED"
    item = lstack.manifest_item("m-edge")
    assert item is not None
    assert item[ManifestAttr.COMPUTE]["S"] == compute
    assert (len(fn.events), len(glue.calls)) == ((1, 0) if compute == "lambda" else (0, 1))


def test_a_large_manifest_converts_in_glue(
    lstack: Stack, converters: tuple[LambdaConverter, GlueConverter]
) -> None:
    fn, glue = _use(converters[0]), converters[1]
    lstack.put_manifest("m-large", Status.MANIFESTED)

    execution = lstack.run("m-large", file_count=3, total_bytes=50 * LAMBDA_MAX_BYTES)

    assert execution["status"] == "SUCCEEDED"
    entered = _entered(lstack, execution)
    assert StateName.START_GLUE_JOB in entered
    assert StateName.CONVERT_IN_LAMBDA not in entered
    assert fn.events == []
    assert len(glue.calls) == 1
    assert lstack.manifest_item("m-large")[ManifestAttr.COMPUTE]["S"] == "glue"  # type: ignore[index]


@pytest.mark.parametrize("error_type", ["Sandbox.Timedout", "Runtime.OutOfMemory"])
def test_lambda_out_of_time_or_memory_falls_back_to_glue_once(
    lstack: Stack, converters: tuple[LambdaConverter, GlueConverter], error_type: str
) -> None:
    fn = _use(LambdaConverter(failures=99, error_type=error_type))
    glue = converters[1]
    lstack.put_manifest("m-slow", Status.MANIFESTED)

    execution = lstack.run("m-slow")

    assert execution["status"] == "SUCCEEDED"
    entered = _entered(lstack, execution)
    # One Lambda attempt (never retried), the named fallback, one Glue run.
    assert entered.count(StateName.CONVERT_IN_LAMBDA) == 1
    assert entered.count(StateName.FALL_BACK_TO_GLUE) == 1
    assert len(fn.events) == 1
    assert len(glue.calls) == 1
    item = lstack.manifest_item("m-slow")
    assert item is not None
    assert item[ManifestAttr.STATUS]["S"] == Status.COMPLETED
    assert item[ManifestAttr.COMPUTE]["S"] == "glue"
    assert item[ManifestAttr.LAMBDA_FALLBACK]["S"] == error_type
    assert lstack.alerts() == []


def test_a_lambda_data_failure_is_retried_then_failed_with_one_alert(
    lstack: Stack, converters: tuple[LambdaConverter, GlueConverter]
) -> None:
    fn = _use(LambdaConverter(failures=99, error_type="ConversionError"))
    glue = converters[1]
    lstack.put_manifest("m-bad", Status.MANIFESTED)

    execution = lstack.run("m-bad")

    assert execution["status"] == "FAILED"
    assert execution["error"] == ErrorName.CONVERSION_FAILED
    assert len(fn.events) == 3  # the attempt and 2 retries, as for a failed Glue run
    assert glue.calls == []
    assert StateName.FALL_BACK_TO_GLUE not in _entered(lstack, execution)
    item = lstack.manifest_item("m-bad")
    assert item is not None
    assert item[ManifestAttr.STATUS]["S"] == Status.FAILED
    assert item[ManifestAttr.ERROR]["S"] == "ConversionError"
    assert len(lstack.alerts()) == 1
    assert lstack.slot_holders() == {}


def test_a_transient_lambda_error_is_retried_and_completes(
    lstack: Stack, converters: tuple[LambdaConverter, GlueConverter]
) -> None:
    fn = _use(LambdaConverter(failures=1, error_type="Lambda.ServiceException"))
    lstack.put_manifest("m-flaky", Status.MANIFESTED)

    execution = lstack.run("m-flaky")

    assert execution["status"] == "SUCCEEDED"
    assert len(fn.events) == 2
    assert lstack.manifest_item("m-flaky")[ManifestAttr.COMPUTE]["S"] == "lambda"  # type: ignore[index]
