"""The conversion's states: the Glue run, its outcome, and giving back the conversion slot.

StartGlueJob runs the converter (`.sync`); CheckJobRunState lets only SUCCEEDED through, since
the integration fails the task on FAILED, TIMEOUT and ERROR but returns a STOPPED run as a
result; a busy job (past its retrier) waits in WaitForGlueCapacity and starts again, never
fails. The release states give the admission control's slot back on every way out.
"""

from __future__ import annotations

from typing import Any

from ndjson_parquet.common.keys import SlotAttr, SlotsKey, TableAttr
from ndjson_parquet.common.settings import GlueArg
from ndjson_parquet.workflow.names import (
    ERROR_RESULT_PATH,
    GLUE_RESULT_PATH,
    JOB_RUN_SUCCEEDED,
    RELEASE_ERROR_PATH,
    ErrorName,
    Resource,
    StateName,
    format_template,
    service_retry,
)
from ndjson_parquet.workflow.settings import WorkflowSettings

MANIFEST_PATH_INPUT = "manifest_path"


def job_arguments() -> dict[str, str]:
    """The run's converter arguments, the same for the Glue job and the Lambda function (the
    others are the job's default arguments, and the function's `CONVERTER_ARGUMENTS`)."""
    return {f"--{GlueArg.MANIFEST_PATH}.$": f"$.{MANIFEST_PATH_INPUT}"}


def start_glue_job(settings: WorkflowSettings) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Comment": "Run the converter on the manifest and wait for the job run to end.",
        "Resource": Resource.GLUE_START_JOB_RUN_SYNC,
        "Parameters": {
            "JobName": settings.glue_job_name,
            "Arguments": job_arguments(),
        },
        "ResultSelector": {
            "Id.$": "$.Id",
            "JobRunState.$": "$.JobRunState",
            "ExecutionTime.$": "$.ExecutionTime",
        },
        "ResultPath": GLUE_RESULT_PATH,
        # Order matters: the first retrier whose ErrorEquals matches applies, and
        # States.TaskFailed also matches Glue.ConcurrentRunsExceededException.
        "Retry": [
            settings.glue_concurrency_retry.retrier([ErrorName.GLUE_CONCURRENT_RUNS_EXCEEDED]),
            settings.glue_failure_retry.retrier([ErrorName.TASK_FAILED]),
        ],
        # A busy job is never a failure: past its retrier, wait and start again (the admission
        # control keeps this rare: only runs started outside it make the job busy).
        "Catch": [
            {
                "ErrorEquals": [ErrorName.GLUE_CONCURRENT_RUNS_EXCEEDED],
                "ResultPath": None,
                "Next": StateName.WAIT_FOR_GLUE_CAPACITY,
            },
            {
                "ErrorEquals": [ErrorName.ALL],
                "ResultPath": ERROR_RESULT_PATH,
                "Next": StateName.UPDATE_STATUS_FAILED,
            },
        ],
        "Next": StateName.CHECK_JOB_RUN_STATE,
    }


def wait_for_glue_capacity(settings: WorkflowSettings) -> dict[str, Any]:
    return {
        "Type": "Wait",
        "Comment": "The Glue job stayed at its MaxConcurrentRuns through every retry: wait, "
        "then start the run again (the manifest stays processing; nothing failed).",
        "Seconds": settings.glue_capacity_wait_seconds,
        "Next": StateName.START_GLUE_JOB,
    }


def check_job_run_state() -> dict[str, Any]:
    return {
        "Type": "Choice",
        "Comment": "The .sync integration fails the task on FAILED, TIMEOUT and ERROR, but "
        "returns a STOPPED run as a result: only SUCCEEDED is a conversion.",
        "Choices": [
            {
                "Variable": f"{GLUE_RESULT_PATH}.JobRunState",
                "StringEquals": JOB_RUN_SUCCEEDED,
                "Next": StateName.UPDATE_STATUS_COMPLETED,
            }
        ],
        "Default": StateName.JOB_RUN_NOT_SUCCEEDED,
    }


def job_run_not_succeeded() -> dict[str, Any]:
    cause = "Glue job run {} ended {} after {} s; it wrote no complete output."
    return {
        "Type": "Pass",
        "Comment": "Describe the run as an error, like a failed task's, for the failure path.",
        "Parameters": {
            "Error": ErrorName.JOB_RUN_NOT_SUCCEEDED,
            "Cause.$": f"States.Format({format_template(cause)}, {GLUE_RESULT_PATH}.Id, "
            f"{GLUE_RESULT_PATH}.JobRunState, {GLUE_RESULT_PATH}.ExecutionTime)",
        },
        "ResultPath": ERROR_RESULT_PATH,
        "Next": StateName.UPDATE_STATUS_FAILED,
    }


def release_slot(settings: WorkflowSettings, next_state: str) -> dict[str, Any]:
    """Give back the execution's conversion slot, then go on to `next_state` whatever happens.

    Removing a holder that is not there changes nothing (an execution started outside the
    admission control holds none). The admission control creates the slots item before its
    first start; without it the update is refused, and the execution goes on all the same.
    """
    key = SlotsKey()
    return {
        "Type": "Task",
        "Comment": "Give back this execution's conversion slot, so the oldest queued manifest "
        "can start.",
        "Resource": Resource.DYNAMODB_UPDATE_ITEM,
        "Parameters": {
            "TableName": settings.tracking_table,
            "Key": {TableAttr.PK: {"S": key.pk}, TableAttr.SK: {"S": key.sk}},
            "ConditionExpression": "attribute_exists(#holders)",
            "UpdateExpression": "REMOVE #holders.#execution",
            "ExpressionAttributeNames": {
                "#holders": SlotAttr.HOLDERS,
                "#execution.$": "$$.Execution.Name",
            },
        },
        "ResultPath": None,
        "Retry": service_retry(settings),
        # A slot that cannot be given back is recovered by the admission's reconciliation.
        "Catch": [
            {
                "ErrorEquals": [ErrorName.ALL],
                "ResultPath": RELEASE_ERROR_PATH,
                "Next": next_state,
            }
        ],
        "Next": next_state,
    }
