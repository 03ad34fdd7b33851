"""A deployment that `terraform apply` built on the emulator, read back: the runtime then uses
the Lambda environments, the event source mapping, the flush schedule, the state machine and
the Glue job exactly as deployed, and refuses a deployment not wired as it expects.
"""

from __future__ import annotations

from typing import Any

from ndjson_parquet.cli.aws import AwsTarget
from ndjson_parquet.cli.local.resources import Deployment, LocalSettings, arn_of_queue
from ndjson_parquet.common import ResourceNames


class DeploymentMismatch(RuntimeError):
    """What Terraform built is not wired the way the pipeline's code expects."""

    def __init__(self, problem: str) -> None:
        super().__init__(f"{problem}: check infra/modules against the local runtime's reading")


_RATE = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}


def schedule_seconds(expression: str) -> float:
    """Seconds between runs of an EventBridge `rate(N unit)` schedule."""
    inner = expression.strip().removeprefix("rate(").removesuffix(")").split()
    if not expression.strip().startswith("rate(") or len(inner) != 2 or inner[1] not in _RATE:
        raise DeploymentMismatch(f"flush schedule {expression!r} is not a rate(N unit)")
    return float(int(inner[0]) * _RATE[inner[1]])


# The outputs of infra/envs/local that `read_deployment` starts from.
TERRAFORM_OUTPUTS = frozenset(
    {
        "queue_url",
        "dead_letter_queue_url",
        "manifest_builder_function_name",
        "flush_function_name",
        "step_function_arn",
        "glue_job_name",
        "alerts_topic_arn",
    }
)


def read_deployment(aws: AwsTarget, names: ResourceNames, outputs: dict[str, Any]) -> Deployment:
    """The deployment Terraform built, read from the emulator's APIs and the Terraform outputs.

    Checks the wiring the runtime stands in for (S3 → queue, queue → builder function, schedule
    → flush function) and takes every setting from the resources themselves. Adds one thing of
    its own: a queue subscribed to the alerts topic, as the local stand-in for e-mail.
    """
    missing = sorted(TERRAFORM_OUTPUTS - set(outputs))
    if missing:
        raise DeploymentMismatch(f"the Terraform outputs lack {', '.join(missing)}")
    sqs, lam = aws.client("sqs"), aws.client("lambda")
    queue_url, dlq_url = str(outputs["queue_url"]), str(outputs["dead_letter_queue_url"])
    queue_arn = arn_of_queue(sqs, queue_url)
    notified = aws.client("s3").get_bucket_notification_configuration(Bucket=names.input_bucket)
    if not any(c["QueueArn"] == queue_arn for c in notified.get("QueueConfigurations", [])):
        raise DeploymentMismatch(f"the bucket {names.input_bucket} does not notify {queue_arn}")

    builder = str(outputs["manifest_builder_function_name"])
    flush = str(outputs["flush_function_name"])
    builder_arn = lam.get_function_configuration(FunctionName=builder)["FunctionArn"]
    mappings = lam.list_event_source_mappings(EventSourceArn=queue_arn)["EventSourceMappings"]
    if [m["FunctionArn"] for m in mappings] != [builder_arn]:
        raise DeploymentMismatch(f"{queue_arn} is not mapped to {builder} alone")

    def environment(function: str) -> dict[str, str]:
        config = lam.get_function_configuration(FunctionName=function)
        return dict(config.get("Environment", {}).get("Variables", {}))

    events = aws.client("events")
    flush_arn = lam.get_function_configuration(FunctionName=flush)["FunctionArn"]
    rules = [
        events.describe_rule(Name=name)
        for name in events.list_rule_names_by_target(TargetArn=flush_arn)["RuleNames"]
    ]
    # The flush function has two triggers: its schedule, and the rule on the state machine's
    # execution status changes (admission control), which the runtime stands in for too.
    schedules = [r["ScheduleExpression"] for r in rules if r.get("ScheduleExpression")]
    if len(schedules) != 1:
        raise DeploymentMismatch(f"{len(schedules)} schedules invoke {flush}")
    status_rules = [r for r in rules if "Execution Status Change" in r.get("EventPattern", "")]
    if len(status_rules) != 1:
        raise DeploymentMismatch(
            f"{len(status_rules)} rules on execution status changes invoke {flush}"
        )
    schedule = schedules[0]

    state_machine_arn = str(outputs["step_function_arn"])
    sfn = aws.client("stepfunctions")
    definition = sfn.describe_state_machine(stateMachineArn=state_machine_arn)["definition"]
    job = aws.client("glue").get_job(JobName=str(outputs["glue_job_name"]))["Job"]

    topic_arn = str(outputs["alerts_topic_arn"])
    inbox = f"{names.alerts_topic}-inbox"
    alerts_queue_url = sqs.create_queue(QueueName=inbox)["QueueUrl"]
    aws.client("sns").subscribe(
        TopicArn=topic_arn, Protocol="sqs", Endpoint=arn_of_queue(sqs, alerts_queue_url)
    )
    return Deployment(
        names=names,
        region=aws.region or "us-east-1",
        settings=LocalSettings(),
        queue_url=queue_url,
        queue_arn=queue_arn,
        dlq_url=dlq_url,
        alerts_topic_arn=topic_arn,
        alerts_queue_url=alerts_queue_url,
        state_machine_arn=state_machine_arn,
        definition=definition,
        builder_environment=environment(builder),
        flush_environment=environment(flush),
        batch_size=int(mappings[0]["BatchSize"]),
        batching_window_seconds=int(mappings[0].get("MaximumBatchingWindowInSeconds") or 0),
        flush_interval_seconds=schedule_seconds(schedule),
        glue_arguments=dict(job.get("DefaultArguments", {})),
        local_queues=(alerts_queue_url,),
    )


def remove_local_additions(aws: AwsTarget, deployment: Deployment) -> None:
    """Delete what `read_deployment` added, so that a destroy leaves nothing behind."""
    sns, sqs = aws.client("sns"), aws.client("sqs")
    for page in sns.get_paginator("list_subscriptions_by_topic").paginate(
        TopicArn=deployment.alerts_topic_arn
    ):
        for subscription in page.get("Subscriptions", []):
            if subscription["Protocol"] == "sqs":
                sns.unsubscribe(SubscriptionArn=subscription["SubscriptionArn"])
    for queue_url in deployment.local_queues:
        sqs.delete_queue(QueueUrl=queue_url)
