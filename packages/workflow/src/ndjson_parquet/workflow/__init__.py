"""ndjson-parquet workflow: the Step Functions STANDARD state machine, built in Python.

settings = WorkflowSettings(tracking_table=…, glue_job_name=…, alerts_topic_arn=…)
definition = build_definition(settings)          # a dict
text = render(settings)                           # JSON; render() alone: Terraform template
actions = required_iam_actions(definition)        # for the execution role's policy
"""

from ndjson_parquet.workflow.definition import (
    ErrorName,
    Resource,
    StateName,
    build_definition,
    render,
)
from ndjson_parquet.workflow.iam import required_iam_actions, task_resources
from ndjson_parquet.workflow.settings import (
    GLUE_CONCURRENCY_RETRY,
    GLUE_FAILURE_RETRY,
    SERVICE_RETRY,
    TERRAFORM_VARIABLES,
    RetryPolicy,
    WorkflowSettings,
)

__version__ = "0.1.0"

__all__ = [
    "GLUE_CONCURRENCY_RETRY",
    "GLUE_FAILURE_RETRY",
    "SERVICE_RETRY",
    "TERRAFORM_VARIABLES",
    "ErrorName",
    "Resource",
    "RetryPolicy",
    "StateName",
    "WorkflowSettings",
    "build_definition",
    "render",
    "required_iam_actions",
    "task_resources",
]
