"""Typed settings of the state machine: resource names and retry policies."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

# Names of the Terraform `templatefile` variables the infrastructure passes in; the rendered
# template contains `${<name>}` for each and no other `${` or `%{` sequence.
TF_TRACKING_TABLE_NAME: Final = "tracking_table_name"
TF_GLUE_JOB_NAME: Final = "glue_job_name"
TF_ALERTS_TOPIC_ARN: Final = "alerts_topic_arn"
TF_CONVERTER_FUNCTION_NAME: Final = "converter_function_name"
TF_LAMBDA_MAX_BYTES: Final = "lambda_max_bytes"
TF_LAMBDA_MAX_FILES: Final = "lambda_max_files"
TERRAFORM_VARIABLES: Final = (
    TF_TRACKING_TABLE_NAME,
    TF_GLUE_JOB_NAME,
    TF_ALERTS_TOPIC_ARN,
    TF_CONVERTER_FUNCTION_NAME,
    TF_LAMBDA_MAX_BYTES,
    TF_LAMBDA_MAX_FILES,
)

# Limits of a Step Functions Retrier (Amazon States Language).
_MAX_INTERVAL_SECONDS: Final = 99_999_999
_MAX_DELAY_SECONDS: Final = 31_622_400
_MAX_ATTEMPTS: Final = 99_999_999


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """One ASL Retrier: the n-th retry waits `interval_seconds * backoff_rate**(n-1)`, capped at
    `max_delay_seconds`; with full jitter Step Functions waits a random time up to that value."""

    interval_seconds: int
    max_attempts: int
    backoff_rate: float = 2.0
    max_delay_seconds: int | None = None
    full_jitter: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.interval_seconds <= _MAX_INTERVAL_SECONDS:
            raise ValueError(f"interval_seconds must be 1..{_MAX_INTERVAL_SECONDS}")
        if not 0 <= self.max_attempts <= _MAX_ATTEMPTS:
            raise ValueError(f"max_attempts must be 0..{_MAX_ATTEMPTS}")
        if self.backoff_rate < 1.0:
            raise ValueError("backoff_rate must be at least 1.0")
        if self.max_delay_seconds is not None and not (
            1 <= self.max_delay_seconds <= _MAX_DELAY_SECONDS
        ):
            raise ValueError(f"max_delay_seconds must be 1..{_MAX_DELAY_SECONDS}")

    def retrier(self, errors: list[str]) -> dict[str, Any]:
        """The ASL Retrier object for `errors`."""
        retrier: dict[str, Any] = {
            "ErrorEquals": errors,
            "IntervalSeconds": self.interval_seconds,
            "MaxAttempts": self.max_attempts,
            "BackoffRate": self.backoff_rate,
        }
        if self.max_delay_seconds is not None:
            retrier["MaxDelaySeconds"] = self.max_delay_seconds
        if self.full_jitter:
            retrier["JitterStrategy"] = "FULL"
        return retrier


# Defaults for AWS. A failed conversion is retried twice, after about a minute and two
# (randomised, so manifests failing together do not retry together).
GLUE_FAILURE_RETRY: Final = RetryPolicy(interval_seconds=60, max_attempts=2, backoff_rate=2.0)
# The job's MaxConcurrentRuns is reached: wait longer and more often; a run takes minutes.
GLUE_CONCURRENCY_RETRY: Final = RetryPolicy(
    interval_seconds=120, max_attempts=10, backoff_rate=1.5, max_delay_seconds=900
)
# Past that retrier the execution waits this long and tries again, for as long as it takes.
GLUE_CAPACITY_WAIT_SECONDS: Final = 900
# lambda:invoke's transient errors: AWS's recommended retrier (2 s, doubling, 6 attempts), jittered.
LAMBDA_SERVICE_RETRY: Final = RetryPolicy(interval_seconds=2, max_attempts=6, backoff_rate=2.0)
# Manifests up to this size convert in Lambda. The converter was measured at about 73 MB of
# NDJSON per CPU-second with a peak RSS of 0.6 GB (README): 1 GiB takes about 15-25 s on the
# function's one vCPU, a 40x margin under the 15-minute timeout, and it is above the manifest
# builder's default cut (700 MB), so every manifest of a default deployment converts in Lambda.
LAMBDA_MAX_BYTES: Final = 1024**3
# Per-file overhead (one GET, one reader) is small; this only bounds a manifest of many tiny
# files, whose GETs dominate, to a few minutes.
LAMBDA_MAX_FILES: Final = 5000
# The Task's own timeout: the function's (900 s at most) plus a margin for the invoke itself.
LAMBDA_TASK_TIMEOUT_SECONDS: Final = 960
# DynamoDB throttling or a transient service error on a status update or the alert.
SERVICE_RETRY: Final = RetryPolicy(
    interval_seconds=2, max_attempts=4, backoff_rate=2.0, max_delay_seconds=30
)


@dataclass(frozen=True, slots=True)
class WorkflowSettings:
    """Everything the state machine definition depends on."""

    tracking_table: str
    glue_job_name: str
    alerts_topic_arn: str
    # The converter's Lambda function; None converts every manifest in Glue.
    converter_function_name: str | None = None
    # Manifests with at most this many bytes and files convert in Lambda (int, or a Terraform
    # placeholder); 0 bytes sends every manifest to Glue.
    lambda_max_bytes: int | str = LAMBDA_MAX_BYTES
    lambda_max_files: int | str = LAMBDA_MAX_FILES
    lambda_task_timeout_seconds: int = LAMBDA_TASK_TIMEOUT_SECONDS
    lambda_service_retry: RetryPolicy = field(default=LAMBDA_SERVICE_RETRY)
    glue_failure_retry: RetryPolicy = field(default=GLUE_FAILURE_RETRY)
    glue_concurrency_retry: RetryPolicy = field(default=GLUE_CONCURRENCY_RETRY)
    service_retry: RetryPolicy = field(default=SERVICE_RETRY)
    # After the concurrency retrier gives up: wait this long, then start the run again.
    glue_capacity_wait_seconds: int = GLUE_CAPACITY_WAIT_SECONDS
    comment: str = "ndjson-parquet: convert one manifest of NDJSON files to Parquet"

    def __post_init__(self) -> None:
        for name in ("tracking_table", "glue_job_name", "alerts_topic_arn"):
            if not getattr(self, name):
                raise ValueError(f"{name} must not be empty")
        if self.glue_capacity_wait_seconds < 1:
            raise ValueError("glue_capacity_wait_seconds must be at least 1")
        if self.converter_function_name == "":
            raise ValueError("converter_function_name must not be empty (None: Glue only)")
        for name in ("lambda_max_bytes", "lambda_max_files"):
            value = getattr(self, name)
            if isinstance(value, int) and value < 0:
                raise ValueError(f"{name} must not be negative")
        if self.lambda_task_timeout_seconds < 1:
            raise ValueError("lambda_task_timeout_seconds must be at least 1")

    @classmethod
    def terraform(
        cls,
        glue_failure_retry: RetryPolicy = GLUE_FAILURE_RETRY,
        glue_concurrency_retry: RetryPolicy = GLUE_CONCURRENCY_RETRY,
        service_retry: RetryPolicy = SERVICE_RETRY,
        glue_capacity_wait_seconds: int = GLUE_CAPACITY_WAIT_SECONDS,
        lambda_service_retry: RetryPolicy = LAMBDA_SERVICE_RETRY,
    ) -> WorkflowSettings:
        """Settings whose names are Terraform `templatefile` placeholders."""
        return cls(
            tracking_table=f"${{{TF_TRACKING_TABLE_NAME}}}",
            glue_job_name=f"${{{TF_GLUE_JOB_NAME}}}",
            alerts_topic_arn=f"${{{TF_ALERTS_TOPIC_ARN}}}",
            converter_function_name=f"${{{TF_CONVERTER_FUNCTION_NAME}}}",
            lambda_max_bytes=f"${{{TF_LAMBDA_MAX_BYTES}}}",
            lambda_max_files=f"${{{TF_LAMBDA_MAX_FILES}}}",
            lambda_service_retry=lambda_service_retry,
            glue_failure_retry=glue_failure_retry,
            glue_concurrency_retry=glue_concurrency_retry,
            service_retry=service_retry,
            glue_capacity_wait_seconds=glue_capacity_wait_seconds,
        )
