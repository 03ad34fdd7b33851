"""Right-sized conversion: small manifests convert in Lambda, the others in Glue.

    ChooseCompute → RouteByManifestSize ─(bytes and files within the limits)→ ConvertInLambda
                                         └(otherwise)→ StartGlueJob
    ConvertInLambda ─(ran out of time or memory)→ FallBackToGlue → StartGlueJob (once)
                    ─(failed on data, after retries)→ UpdateStatusFailed

The Lambda function runs the converter's entrypoint with the arguments the Glue job gets, so a
manifest converts to the same output either way. Glue's one-minute start-up is most of what a
small manifest costs there; Lambda bills milliseconds. A Lambda run that exceeds its timeout or
memory says nothing about the data, only that the manifest was too big for the function: the
workflow records that on the manifest item (FallBackToGlue) and runs it in Glue, which never
comes back here, so the fallback happens at most once. Any other error is the conversion's own,
retried and alerted exactly as a failed Glue run.

The limits reach the Choice through `States.StringToJson`, so the Terraform template carries
them as `${...}` placeholders inside strings and stays valid JSON.
"""

from __future__ import annotations

from typing import Any

from ndjson_parquet.workflow.conversion import job_arguments
from ndjson_parquet.workflow.names import (
    COMPUTE_LIMITS_PATH,
    ERROR_RESULT_PATH,
    LAMBDA_FALLBACK_PATH,
    LAMBDA_RESULT_PATH,
    ErrorName,
    Resource,
    StateName,
    format_template,
)
from ndjson_parquet.workflow.settings import WorkflowSettings

# Input fields the routing reads (the shared WorkflowInput contract).
TOTAL_BYTES_INPUT = "total_bytes"
FILE_COUNT_INPUT = "file_count"
_MAX_BYTES = "max_bytes"
_MAX_FILES = "max_files"


def choose_compute(settings: WorkflowSettings) -> dict[str, Any]:
    return {
        "Type": "Pass",
        "Comment": "The limits up to which a manifest converts in Lambda.",
        "Parameters": {
            f"{_MAX_BYTES}.$": f"States.StringToJson({format_template(str(settings.lambda_max_bytes))})",
            f"{_MAX_FILES}.$": f"States.StringToJson({format_template(str(settings.lambda_max_files))})",
        },
        "ResultPath": COMPUTE_LIMITS_PATH,
        "Next": StateName.ROUTE_BY_MANIFEST_SIZE,
    }


def route_by_manifest_size() -> dict[str, Any]:
    return {
        "Type": "Choice",
        "Comment": "Lambda for a manifest within both limits, Glue for the rest.",
        "Choices": [
            {
                "And": [
                    {
                        "Variable": f"$.{TOTAL_BYTES_INPUT}",
                        "NumericLessThanEqualsPath": f"{COMPUTE_LIMITS_PATH}.{_MAX_BYTES}",
                    },
                    {
                        "Variable": f"$.{FILE_COUNT_INPUT}",
                        "NumericLessThanEqualsPath": f"{COMPUTE_LIMITS_PATH}.{_MAX_FILES}",
                    },
                ],
                "Next": StateName.CONVERT_IN_LAMBDA,
            }
        ],
        "Default": StateName.START_GLUE_JOB,
    }


def convert_in_lambda(settings: WorkflowSettings) -> dict[str, Any]:
    out_of_resources = list(ErrorName.LAMBDA_OUT_OF_RESOURCES)
    return {
        "Type": "Task",
        "Comment": "Run the converter in the Lambda function, with the Glue job's arguments.",
        "Resource": Resource.LAMBDA_INVOKE,
        "Parameters": {
            "FunctionName": settings.converter_function_name,
            "Payload": {"Arguments": job_arguments()},
        },
        "TimeoutSeconds": settings.lambda_task_timeout_seconds,
        "ResultSelector": {
            "RequestId.$": "$.Payload.request_id",
            "Seconds.$": "$.Payload.seconds",
            "RowsWritten.$": "$.Payload.rows_written",
            "LinesQuarantined.$": "$.Payload.lines_quarantined",
        },
        "ResultPath": LAMBDA_RESULT_PATH,
        # First match wins: out of time or memory is never retried here (Glue takes over),
        # Lambda's own transient errors are retried as AWS recommends, and the conversion's
        # failure (States.TaskFailed matches every other error) as a failed Glue run is.
        "Retry": [
            {"ErrorEquals": out_of_resources, "MaxAttempts": 0},
            settings.lambda_service_retry.retrier(list(ErrorName.LAMBDA_SERVICE_ERRORS)),
            settings.glue_failure_retry.retrier([ErrorName.TASK_FAILED]),
        ],
        "Catch": [
            {
                "ErrorEquals": out_of_resources,
                "ResultPath": LAMBDA_FALLBACK_PATH,
                "Next": StateName.FALL_BACK_TO_GLUE,
            },
            {
                "ErrorEquals": [ErrorName.ALL],
                "ResultPath": ERROR_RESULT_PATH,
                "Next": StateName.UPDATE_STATUS_FAILED,
            },
        ],
        "Next": StateName.UPDATE_STATUS_COMPLETED_IN_LAMBDA,
    }
