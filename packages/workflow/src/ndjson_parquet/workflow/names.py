"""Names the definition's states use: state and error names, integrations, result paths.

Shared by the modules that build states, so that a name is spelled in one place.
"""

from __future__ import annotations

from typing import Any, Final

from ndjson_parquet.workflow.settings import WorkflowSettings


class StateName:
    """Names of the states (they show in the console, the execution history and alarms)."""

    UPDATE_STATUS_PROCESSING: Final = "UpdateStatusProcessing"
    MANIFEST_NOT_CLAIMABLE: Final = "ManifestNotClaimable"
    CHOOSE_COMPUTE: Final = "ChooseCompute"
    ROUTE_BY_MANIFEST_SIZE: Final = "RouteByManifestSize"
    CONVERT_IN_LAMBDA: Final = "ConvertInLambda"
    UPDATE_STATUS_COMPLETED_IN_LAMBDA: Final = "UpdateStatusCompletedInLambda"
    # Lambda ran out of time or memory: record it, then convert the manifest in Glue (once).
    FALL_BACK_TO_GLUE: Final = "FallBackToGlue"
    START_GLUE_JOB: Final = "StartGlueJob"
    WAIT_FOR_GLUE_CAPACITY: Final = "WaitForGlueCapacity"
    CHECK_JOB_RUN_STATE: Final = "CheckJobRunState"
    JOB_RUN_NOT_SUCCEEDED: Final = "JobRunNotSucceeded"
    UPDATE_STATUS_COMPLETED: Final = "UpdateStatusCompleted"
    RELEASE_SLOT: Final = "ReleaseSlot"
    SUCCEEDED: Final = "Succeeded"
    UPDATE_STATUS_FAILED: Final = "UpdateStatusFailed"
    SEND_ALERT: Final = "SendAlert"
    RELEASE_SLOT_AFTER_FAILURE: Final = "ReleaseSlotAfterFailure"
    CONVERSION_FAILED: Final = "ConversionFailed"
    RELEASE_SLOT_NOT_CLAIMABLE: Final = "ReleaseSlotNotClaimable"


class ErrorName:
    """Errors the workflow raises itself or reacts to."""

    # The execution's own error when the manifest may not be (re)processed.
    MANIFEST_NOT_CLAIMABLE: Final = "ManifestNotClaimable"
    # The execution's own error when the conversion failed (after the alert was sent).
    CONVERSION_FAILED: Final = "ConversionFailed"
    # The job run ended without an error from the integration but not SUCCEEDED (STOPPED).
    JOB_RUN_NOT_SUCCEEDED: Final = "Glue.JobRunNotSucceeded"
    CONDITIONAL_CHECK_FAILED: Final = "DynamoDB.ConditionalCheckFailedException"
    GLUE_CONCURRENT_RUNS_EXCEEDED: Final = "Glue.ConcurrentRunsExceededException"
    TASK_FAILED: Final = "States.TaskFailed"
    TIMEOUT: Final = "States.Timeout"
    # lambda:invoke's transient service errors, retried as AWS recommends ("Handle Lambda
    # service exceptions", Step Functions developer guide).
    LAMBDA_SERVICE_ERRORS: Final = (
        "Lambda.ClientExecutionTimeoutException",
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.TooManyRequestsException",
    )
    # A Lambda conversion that ran out of time or memory: the manifest is too big for Lambda,
    # not broken. Step Functions reports an unhandled function error as its payload's
    # errorType: `Sandbox.Timedout` for a timeout, `Runtime.OutOfMemory` or `Runtime.ExitError`
    # when the runtime is killed; `Lambda.Unknown` when the payload names no type (the guide
    # lists timeouts and out-of-memory errors there); `States.Timeout` is the Task's own
    # TimeoutSeconds.
    LAMBDA_OUT_OF_RESOURCES: Final = (
        "Sandbox.Timedout",
        "Runtime.OutOfMemory",
        "Runtime.ExitError",
        "Lambda.Unknown",
        "States.Timeout",
    )
    ALL: Final = "States.ALL"


class Resource:
    """Step Functions service integrations used by the definition."""

    DYNAMODB_UPDATE_ITEM: Final = "arn:aws:states:::dynamodb:updateItem"
    LAMBDA_INVOKE: Final = "arn:aws:states:::lambda:invoke"
    GLUE_START_JOB_RUN_SYNC: Final = "arn:aws:states:::glue:startJobRun.sync"
    SNS_PUBLISH: Final = "arn:aws:states:::sns:publish"


# Where intermediate results live in the execution's JSON document (the input stays intact).
GLUE_RESULT_PATH: Final = "$.glue"
LAMBDA_RESULT_PATH: Final = "$.lambda"
LAMBDA_FALLBACK_PATH: Final = "$.lambda_fallback"
FALLBACK_RECORD_ERROR_PATH: Final = "$.fallback_record_error"
COMPUTE_LIMITS_PATH: Final = "$.compute_limits"
ERROR_RESULT_PATH: Final = "$.error"
STATUS_UPDATE_ERROR_PATH: Final = "$.status_update_error"
ALERT_ERROR_PATH: Final = "$.alert_error"
RELEASE_ERROR_PATH: Final = "$.release_error"
NOT_CLAIMABLE_PATH: Final = "$.not_claimable"
# The one JobRunState that means the conversion ran to its end.
JOB_RUN_SUCCEEDED: Final = "SUCCEEDED"


def format_template(text: str) -> str:
    """`text` with `{}` placeholders, quoted for an intrinsic function (escape `'` and `\\`)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def service_retry(settings: WorkflowSettings) -> list[dict[str, Any]]:
    # A refused condition is an answer, not a transient error: never retry it (first match wins).
    return [
        {"ErrorEquals": [ErrorName.CONDITIONAL_CHECK_FAILED], "MaxAttempts": 0},
        settings.service_retry.retrier([ErrorName.TASK_FAILED]),
    ]
