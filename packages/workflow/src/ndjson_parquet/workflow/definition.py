"""The Amazon States Language definition of the manifest workflow, built from settings.

    UpdateStatusProcessing → StartGlueJob → CheckJobRunState → UpdateStatusCompleted
                 │             │    ▲  │ (not SUCCEEDED)          │
                 │             │    │  └→ JobRunNotSucceeded ─┐   └→ ReleaseSlot → Succeeded
                 │             │ WaitForGlueCapacity          │
                 │             │ (the job is busy: wait, never fail)
                 │             └→ (retries exhausted, or any other error)
                 │                  UpdateStatusFailed → SendAlert → ReleaseSlotAfterFailure
                 │                                                      → ConversionFailed (Fail)
                 └→ ReleaseSlotNotClaimable → ManifestNotClaimable (Fail): the manifest is
                    missing, completed, or otherwise not in a status that may become
                    `processing`; nothing is written or run.

Every way out gives back the conversion slot the admission control took for this execution
(the slots item's `holders.<execution name>`), so that the next queued manifest can start.

Every DynamoDB key, attribute name and status comes from `ndjson_parquet.common`.
"""

from __future__ import annotations

import json
from typing import Any, Final

from ndjson_parquet.common.keys import ManifestAttr
from ndjson_parquet.common.settings import WorkflowInput
from ndjson_parquet.common.status import Status, sources_of
from ndjson_parquet.workflow.compute import (
    choose_compute,
    convert_in_lambda,
    route_by_manifest_size,
)
from ndjson_parquet.workflow.conversion import (
    MANIFEST_PATH_INPUT,
    check_job_run_state,
    job_run_not_succeeded,
    release_slot,
    start_glue_job,
    wait_for_glue_capacity,
)
from ndjson_parquet.workflow.names import (
    ALERT_ERROR_PATH,
    ERROR_RESULT_PATH,
    FALLBACK_RECORD_ERROR_PATH,
    GLUE_RESULT_PATH,
    LAMBDA_FALLBACK_PATH,
    LAMBDA_RESULT_PATH,
    NOT_CLAIMABLE_PATH,
    STATUS_UPDATE_ERROR_PATH,
    ErrorName,
    Resource,
    StateName,
    format_template,
    service_retry,
)
from ndjson_parquet.workflow.settings import WorkflowSettings
from ndjson_parquet.workflow.status_update import MANIFEST_ID_INPUT, update_item

__all__ = ["ErrorName", "Resource", "StateName", "build_definition", "render"]

ALERT_SUBJECT_TEMPLATE: Final = "ndjson-parquet: conversion failed for date prefix {}"

# Input fields, checked against the shared contract when this module is imported.
_IN_MANIFEST_ID: Final = MANIFEST_ID_INPUT
_IN_MANIFEST_PATH: Final = MANIFEST_PATH_INPUT
_IN_DATE_PREFIX: Final = "date_prefix"
_IN_FILE_COUNT: Final = "file_count"
if not {_IN_MANIFEST_ID, _IN_MANIFEST_PATH, _IN_DATE_PREFIX, _IN_FILE_COUNT} <= set(
    WorkflowInput.__annotations__
):  # pragma: no cover - guards a contract change
    raise ImportError("WorkflowInput no longer has the fields the workflow reads")


def _update_status_processing(settings: WorkflowSettings) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Comment": "Claim the manifest: only a manifested, failed (redrive) or processing "
        "(execution retry) manifest may become processing; count the attempt.",
        "Resource": Resource.DYNAMODB_UPDATE_ITEM,
        "Parameters": update_item(
            settings,
            Status.PROCESSING,
            sets={ManifestAttr.ATTEMPTS: f"if_not_exists(#{ManifestAttr.ATTEMPTS}, :zero) + :one"},
            values={":zero": {"N": "0"}, ":one": {"N": "1"}},
        ),
        "ResultPath": None,
        "Retry": service_retry(settings),
        "Catch": [
            {
                "ErrorEquals": [ErrorName.CONDITIONAL_CHECK_FAILED],
                "ResultPath": NOT_CLAIMABLE_PATH,
                "Next": StateName.RELEASE_SLOT_NOT_CLAIMABLE,
            }
        ],
        "Next": _first_conversion_state(settings),
    }


def _first_conversion_state(settings: WorkflowSettings) -> str:
    if settings.converter_function_name is None:
        return StateName.START_GLUE_JOB
    return StateName.CHOOSE_COMPUTE


def _manifest_not_claimable() -> dict[str, Any]:
    allowed = ", ".join(sorted(sources_of(Status.PROCESSING)))
    cause = (
        "Manifest {} is missing or its status is not one of: "
        + allowed
        + ". It was left unchanged and no conversion was started."
    )
    return {
        "Type": "Fail",
        "Comment": "The manifest is missing or its status may not become processing (a completed "
        "manifest is never converted again). Nothing was changed and no job was started.",
        "Error": ErrorName.MANIFEST_NOT_CLAIMABLE,
        "CausePath": f"States.Format({format_template(cause)}, $.{_IN_MANIFEST_ID})",
    }


def _completed(
    settings: WorkflowSettings, comment: str, sets: dict[str, str], values: dict[str, Any]
) -> dict[str, Any]:
    """Mark the manifest completed with what the compute reported; clear a redriven error."""
    return {
        "Type": "Task",
        "Comment": comment,
        "Resource": Resource.DYNAMODB_UPDATE_ITEM,
        "Parameters": update_item(
            settings,
            Status.COMPLETED,
            sets={ManifestAttr.COMPLETED_AT: ":now", **sets},
            values=values,
            remove=(ManifestAttr.ERROR, ManifestAttr.CAUSE),
        ),
        "ResultPath": None,
        "Retry": service_retry(settings),
        # The data is converted but the record could not say so: treat it as a failure, so
        # that the operator is alerted (a redrive converts again, to the same output).
        "Catch": [
            {
                "ErrorEquals": [ErrorName.ALL],
                "ResultPath": ERROR_RESULT_PATH,
                "Next": StateName.UPDATE_STATUS_FAILED,
            }
        ],
        "Next": StateName.RELEASE_SLOT,
    }


def _update_status_completed(settings: WorkflowSettings) -> dict[str, Any]:
    return _completed(
        settings,
        "Record the job run id and its execution time; clear a redriven error.",
        sets={
            ManifestAttr.GLUE_JOB_RUN_ID: ":run_id",
            ManifestAttr.GLUE_EXECUTION_SECONDS: ":execution_seconds",
            ManifestAttr.COMPUTE: ":compute",
        },
        values={
            ":compute": {"S": "glue"},
            ":run_id": {"S.$": f"{GLUE_RESULT_PATH}.Id"},
            # A number attribute takes its value as a string.
            ":execution_seconds": {
                "N.$": f"States.Format('{{}}', {GLUE_RESULT_PATH}.ExecutionTime)"
            },
        },
    )


def _update_status_completed_in_lambda(settings: WorkflowSettings) -> dict[str, Any]:
    return _completed(
        settings,
        "Record the Lambda request id and the conversion's seconds; clear a redriven error.",
        sets={
            ManifestAttr.COMPUTE: ":compute",
            ManifestAttr.LAMBDA_REQUEST_ID: ":request_id",
            ManifestAttr.LAMBDA_EXECUTION_SECONDS: ":execution_seconds",
        },
        values={
            ":compute": {"S": "lambda"},
            ":request_id": {"S.$": f"States.Format('{{}}', {LAMBDA_RESULT_PATH}.RequestId)"},
            ":execution_seconds": {"N.$": f"States.Format('{{}}', {LAMBDA_RESULT_PATH}.Seconds)"},
        },
    )


def _fall_back_to_glue(settings: WorkflowSettings) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Comment": "Lambda ran out of time or memory: say so on the manifest, then convert it "
        "in Glue (once: Glue never comes back to Lambda).",
        "Resource": Resource.DYNAMODB_UPDATE_ITEM,
        "Parameters": update_item(
            settings,
            Status.PROCESSING,
            sets={
                ManifestAttr.LAMBDA_FALLBACK: ":fallback",
                ManifestAttr.LAMBDA_FALLBACK_AT: ":now",
            },
            values={":fallback": {"S.$": f"{LAMBDA_FALLBACK_PATH}.Error"}},
        ),
        "ResultPath": None,
        "Retry": service_retry(settings),
        # The record is for operators; the conversion goes on without it.
        "Catch": [
            {
                "ErrorEquals": [ErrorName.ALL],
                "ResultPath": FALLBACK_RECORD_ERROR_PATH,
                "Next": StateName.START_GLUE_JOB,
            }
        ],
        "Next": StateName.START_GLUE_JOB,
    }


def _update_status_failed(settings: WorkflowSettings) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Comment": "Keep the error and its cause on the manifest item.",
        "Resource": Resource.DYNAMODB_UPDATE_ITEM,
        "Parameters": update_item(
            settings,
            Status.FAILED,
            sets={
                ManifestAttr.FAILED_AT: ":now",
                ManifestAttr.ERROR: ":error",
                ManifestAttr.CAUSE: ":cause",
            },
            values={
                ":error": {"S.$": f"{ERROR_RESULT_PATH}.Error"},
                ":cause": {"S.$": f"{ERROR_RESULT_PATH}.Cause"},
            },
        ),
        "ResultPath": None,
        "Retry": service_retry(settings),
        # The alert matters more than the record: send it even if the record cannot be written.
        "Catch": [
            {
                "ErrorEquals": [ErrorName.ALL],
                "ResultPath": STATUS_UPDATE_ERROR_PATH,
                "Next": StateName.SEND_ALERT,
            }
        ],
        "Next": StateName.SEND_ALERT,
    }


ALERT_MESSAGE_LINES: Final = (
    "A manifest could not be converted to Parquet.",
    "",
    "Manifest id: {}",
    "Date prefix: {}",
    "Files: {}",
    "Manifest: {}",
    "Error: {}",
    "Cause: {}",
    "Execution: {}",
)


def _send_alert(settings: WorkflowSettings) -> dict[str, Any]:
    message_args = ", ".join(
        [
            f"$.{_IN_MANIFEST_ID}",
            f"$.{_IN_DATE_PREFIX}",
            f"$.{_IN_FILE_COUNT}",
            f"$.{_IN_MANIFEST_PATH}",
            f"{ERROR_RESULT_PATH}.Error",
            f"{ERROR_RESULT_PATH}.Cause",
            "$$.Execution.Id",
        ]
    )
    message = "\n".join(ALERT_MESSAGE_LINES)
    return {
        "Type": "Task",
        "Comment": "Tell the operators: subject and message name the manifest and the execution.",
        "Resource": Resource.SNS_PUBLISH,
        "Parameters": {
            "TopicArn": settings.alerts_topic_arn,
            # A date prefix is 10 characters, so the subject stays within SNS's 100.
            "Subject.$": f"States.Format({format_template(ALERT_SUBJECT_TEMPLATE)}, "
            f"$.{_IN_DATE_PREFIX})",
            "Message.$": f"States.Format({format_template(message)}, {message_args})",
        },
        "ResultPath": None,
        "Retry": [settings.service_retry.retrier([ErrorName.TASK_FAILED])],
        "Catch": [
            {
                "ErrorEquals": [ErrorName.ALL],
                "ResultPath": ALERT_ERROR_PATH,
                "Next": StateName.RELEASE_SLOT_AFTER_FAILURE,
            }
        ],
        "Next": StateName.RELEASE_SLOT_AFTER_FAILURE,
    }


def _conversion_failed() -> dict[str, Any]:
    return {
        "Type": "Fail",
        "Comment": "The execution fails; its cause carries the conversion's error and cause.",
        # A fixed error name: the caught one may be a reserved `States.*` name.
        "Error": ErrorName.CONVERSION_FAILED,
        "CausePath": f"States.Format('{{}}: {{}}', {ERROR_RESULT_PATH}.Error, "
        f"{ERROR_RESULT_PATH}.Cause)",
    }


def _lambda_states(settings: WorkflowSettings) -> dict[str, Any]:
    if settings.converter_function_name is None:
        return {}
    return {
        StateName.CHOOSE_COMPUTE: choose_compute(settings),
        StateName.ROUTE_BY_MANIFEST_SIZE: route_by_manifest_size(),
        StateName.CONVERT_IN_LAMBDA: convert_in_lambda(settings),
        StateName.UPDATE_STATUS_COMPLETED_IN_LAMBDA: _update_status_completed_in_lambda(settings),
        StateName.FALL_BACK_TO_GLUE: _fall_back_to_glue(settings),
    }


def build_definition(settings: WorkflowSettings) -> dict[str, Any]:
    """The ASL definition (a STANDARD state machine) for `settings`; with a converter function,
    small manifests convert in Lambda (`ndjson_parquet.workflow.compute`)."""
    return {
        "Comment": settings.comment,
        "StartAt": StateName.UPDATE_STATUS_PROCESSING,
        "States": {
            StateName.UPDATE_STATUS_PROCESSING: _update_status_processing(settings),
            StateName.MANIFEST_NOT_CLAIMABLE: _manifest_not_claimable(),
            StateName.RELEASE_SLOT_NOT_CLAIMABLE: release_slot(
                settings, StateName.MANIFEST_NOT_CLAIMABLE
            ),
            **_lambda_states(settings),
            StateName.START_GLUE_JOB: start_glue_job(settings),
            StateName.WAIT_FOR_GLUE_CAPACITY: wait_for_glue_capacity(settings),
            StateName.CHECK_JOB_RUN_STATE: check_job_run_state(),
            StateName.JOB_RUN_NOT_SUCCEEDED: job_run_not_succeeded(),
            StateName.UPDATE_STATUS_COMPLETED: _update_status_completed(settings),
            StateName.RELEASE_SLOT: release_slot(settings, StateName.SUCCEEDED),
            StateName.SUCCEEDED: {"Type": "Succeed"},
            StateName.UPDATE_STATUS_FAILED: _update_status_failed(settings),
            StateName.SEND_ALERT: _send_alert(settings),
            StateName.RELEASE_SLOT_AFTER_FAILURE: release_slot(
                settings, StateName.CONVERSION_FAILED
            ),
            StateName.CONVERSION_FAILED: _conversion_failed(),
        },
    }


def render(settings: WorkflowSettings | None = None) -> str:
    """The definition as JSON; without settings, as a Terraform `templatefile` template."""
    definition = build_definition(settings or WorkflowSettings.terraform())
    return json.dumps(definition, indent=2, ensure_ascii=False) + "\n"
