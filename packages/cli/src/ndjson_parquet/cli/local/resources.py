"""The deployment on the emulator: the resources the Terraform creates, with the same names.

Either created here (`create_deployment`, a copy of the Terraform's resources that needs no
Terraform), or read back from what `terraform apply` built (`terraform_deployment`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ndjson_parquet.cli.aws import AwsTarget
from ndjson_parquet.common import GlueArg, ResourceNames, TableAttr
from ndjson_parquet.common.keys import table_definition
from ndjson_parquet.workflow.settings import LAMBDA_MAX_BYTES, LAMBDA_MAX_FILES

ACCOUNT_ID = "123456789012"  # moto's default account


@dataclass(frozen=True, slots=True)
class LocalSettings:
    """Knobs of the local deployment; production values live in the Terraform variables."""

    max_files_per_manifest: int = 10
    max_bytes_per_manifest: int = 700 * 1000 * 1000
    # Short, so that a trickle below the file-count threshold is flushed during a demo.
    max_wait_seconds: int = 3
    lock_ttl_seconds: int = 30
    queue_visibility_timeout: int = 10
    max_receive_count: int = 3
    glue_max_concurrent_runs: int = 10
    compression: str = "zstd"
    # Seconds before the first retry of a failed Glue run (AWS default: a minute); the local
    # run keeps the real definition's retry count and backoff but waits less.
    glue_retry_interval_seconds: int = 1
    # "parquet" folders, or "iceberg": each manifest a snapshot of a table in the emulated Glue
    # Data Catalog, warehouse in the output bucket (as output_format in the Terraform).
    output_format: str = "parquet"
    extra_glue_arguments: dict[str, str] = field(default_factory=dict)
    # Manifests within both limits convert in the Lambda converter (as the Terraform's
    # lambda_max_bytes / lambda_max_files); None: every manifest in Glue.
    lambda_max_bytes: int | None = LAMBDA_MAX_BYTES
    lambda_max_files: int = LAMBDA_MAX_FILES


@dataclass(frozen=True, slots=True)
class Deployment:
    """Names and addresses of one environment's resources on the emulator."""

    names: ResourceNames
    region: str
    settings: LocalSettings
    queue_url: str
    queue_arn: str
    dlq_url: str
    alerts_topic_arn: str
    alerts_queue_url: str
    state_machine_arn: str
    definition: str
    builder_environment: dict[str, str] = field(default_factory=dict)
    flush_environment: dict[str, str] = field(default_factory=dict)
    batch_size: int = 10
    batching_window_seconds: int = 0
    # Seconds between scheduled flushes; None: the runtime's own interval.
    flush_interval_seconds: float | None = None
    glue_arguments: dict[str, str] = field(default_factory=dict)
    # Emulator-only additions (the alerts inbox), removed before a terraform destroy.
    local_queues: tuple[str, ...] = ()

    @property
    def table(self) -> str:
        return self.names.tracking_table

    @property
    def glue_job(self) -> str:
        return self.names.glue_job

    @property
    def output_uri(self) -> str:
        return f"s3://{self.names.output_bucket}/"

    @property
    def quarantine_uri(self) -> str:
        return f"s3://{self.names.quarantine_bucket}/"

    def lambda_environment(self) -> dict[str, str]:
        """The manifest builder's environment, as deployed."""
        return self.builder_environment


def settings_environment(
    names: ResourceNames, state_machine_arn: str, settings: LocalSettings
) -> dict[str, str]:
    """The functions' environment from local settings, as the Terraform's lambda module sets it."""
    from ndjson_parquet.common import Env

    return {
        Env.TRACKING_TABLE: names.tracking_table,
        Env.MANIFEST_BUCKET: names.manifest_bucket,
        Env.STEP_FUNCTION_ARN: state_machine_arn,
        Env.MAX_FILES_PER_MANIFEST: str(settings.max_files_per_manifest),
        Env.MAX_BYTES_PER_MANIFEST: str(settings.max_bytes_per_manifest),
        Env.MAX_WAIT_SECONDS: str(settings.max_wait_seconds),
        Env.LOCK_TTL_SECONDS: str(settings.lock_ttl_seconds),
        Env.MAX_CONCURRENT_RUNS: str(settings.glue_max_concurrent_runs),
        Env.POWERTOOLS_SERVICE_NAME: names.manifest_builder_function,
    }


def role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT_ID}:role/{name}"


def create_deployment(
    aws: AwsTarget, names: ResourceNames, settings: LocalSettings | None = None
) -> Deployment:
    """Create buckets, table, queues, topic, Glue job and state machine; wire S3 → SQS."""
    settings = settings or LocalSettings()
    region = aws.region or "us-east-1"
    s3, sqs, sns = aws.client("s3"), aws.client("sqs"), aws.client("sns")

    for bucket in (
        names.input_bucket,
        names.manifest_bucket,
        names.output_bucket,
        names.quarantine_bucket,
        names.artifacts_bucket,
    ):
        s3.create_bucket(Bucket=bucket)

    _create_table(aws.client("dynamodb"), names.tracking_table)

    dlq_url = sqs.create_queue(QueueName=names.dead_letter_queue)["QueueUrl"]
    dlq_arn = arn_of_queue(sqs, dlq_url)
    queue_url = sqs.create_queue(
        QueueName=names.queue,
        Attributes={
            "VisibilityTimeout": str(settings.queue_visibility_timeout),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": settings.max_receive_count}
            ),
        },
    )["QueueUrl"]
    queue_arn = arn_of_queue(sqs, queue_url)
    s3.put_bucket_notification_configuration(
        Bucket=names.input_bucket,
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}]
        },
    )

    topic_arn = sns.create_topic(Name=names.alerts_topic)["TopicArn"]
    # Alerts are e-mails in production; locally a queue subscribed to the topic collects them.
    alerts_queue_url = sqs.create_queue(QueueName=f"{names.alerts_topic}-inbox")["QueueUrl"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn_of_queue(sqs, alerts_queue_url))

    if settings.output_format == "iceberg":
        aws.client("glue").create_database(DatabaseInput={"Name": names.glue_database})
    glue_arguments = _create_glue_job(aws.client("glue"), names, settings)
    if settings.lambda_max_bytes is not None:
        _create_converter_function(aws, names, settings)

    definition = render_definition(names, topic_arn, settings)
    state_machine_arn = aws.client("stepfunctions").create_state_machine(
        name=names.state_machine,
        definition=definition,
        roleArn=role_arn(f"{names.state_machine}-role"),
        type="STANDARD",
    )["stateMachineArn"]

    return Deployment(
        names=names,
        region=region,
        settings=settings,
        queue_url=queue_url,
        queue_arn=queue_arn,
        dlq_url=dlq_url,
        alerts_topic_arn=topic_arn,
        alerts_queue_url=alerts_queue_url,
        state_machine_arn=state_machine_arn,
        definition=definition,
        builder_environment=settings_environment(names, state_machine_arn, settings),
        flush_environment=settings_environment(names, state_machine_arn, settings),
        glue_arguments=glue_arguments,
    )


def render_definition(
    names: ResourceNames, alerts_topic_arn: str, settings: LocalSettings | None = None
) -> str:
    """The state machine definition the infrastructure deploys, with concrete names and the
    local retry intervals."""
    from dataclasses import replace

    from ndjson_parquet.workflow.definition import build_definition
    from ndjson_parquet.workflow.settings import (
        GLUE_CONCURRENCY_RETRY,
        GLUE_FAILURE_RETRY,
        SERVICE_RETRY,
        WorkflowSettings,
    )

    local = settings or LocalSettings()
    interval = local.glue_retry_interval_seconds
    lambda_on = local.lambda_max_bytes is not None
    workflow_settings = WorkflowSettings(
        converter_function_name=names.converter_function if lambda_on else None,
        lambda_max_bytes=local.lambda_max_bytes or 0,
        lambda_max_files=local.lambda_max_files,
        lambda_service_retry=replace(SERVICE_RETRY, interval_seconds=1, max_delay_seconds=5),
        tracking_table=names.tracking_table,
        glue_job_name=names.glue_job,
        alerts_topic_arn=alerts_topic_arn,
        glue_failure_retry=replace(GLUE_FAILURE_RETRY, interval_seconds=interval),
        glue_concurrency_retry=replace(
            GLUE_CONCURRENCY_RETRY, interval_seconds=interval, max_delay_seconds=max(interval, 5)
        ),
        service_retry=replace(SERVICE_RETRY, interval_seconds=1, max_delay_seconds=5),
        glue_capacity_wait_seconds=max(interval, 5),
    )
    return json.dumps(build_definition(workflow_settings))


def _create_table(dynamodb: Any, table: str) -> None:
    dynamodb.create_table(**table_definition(table))
    dynamodb.update_time_to_live(
        TableName=table,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": TableAttr.TTL},
    )


def converter_arguments(names: ResourceNames, settings: LocalSettings) -> dict[str, str]:
    """The converter's own default arguments: the Glue job's and the Lambda function's."""
    return {
        f"--{GlueArg.OUTPUT_URI}": f"s3://{names.output_bucket}/",
        f"--{GlueArg.QUARANTINE_URI}": f"s3://{names.quarantine_bucket}/",
        f"--{GlueArg.COMPRESSION}": settings.compression,
        f"--{GlueArg.OUTPUT_FORMAT}": settings.output_format,
        **(
            {f"--{GlueArg.ICEBERG_TABLE}": names.iceberg_table}
            if settings.output_format == "iceberg"
            else {}
        ),
        **settings.extra_glue_arguments,
    }


def _create_converter_function(
    aws: AwsTarget, names: ResourceNames, settings: LocalSettings
) -> None:
    """The converter function as infra/modules/converter_lambda creates it (the emulator runs
    its handler in-process: the zip is empty)."""
    import base64

    role = aws.client("iam").create_role(
        RoleName=f"{names.converter_function}-role",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    aws.client("lambda").create_function(
        FunctionName=names.converter_function,
        Runtime="python3.12",
        Role=role,
        Handler="ndjson_parquet.converter.lambda_function.handler",
        Code={"ZipFile": base64.b64decode("UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==")},
        Timeout=900,
        MemorySize=2048,
        Environment={
            "Variables": {"CONVERTER_ARGUMENTS": json.dumps(converter_arguments(names, settings))}
        },
    )


def _create_glue_job(glue: Any, names: ResourceNames, settings: LocalSettings) -> dict[str, str]:
    arguments = {
        # Glue's own arguments, as infra/modules/glue sets them: the script must tolerate them.
        "--job-language": "python",
        "--job-bookmark-option": "job-bookmark-disable",
        "--TempDir": f"s3://{names.artifacts_bucket}/glue-temp/",
        "--enable-metrics": "true",
        **converter_arguments(names, settings),
    }
    glue.create_job(
        Name=names.glue_job,
        Role=role_arn(f"{names.glue_job}-role"),
        Command={
            "Name": "glueetl",
            "ScriptLocation": f"s3://{names.artifacts_bucket}/glue/convert.py",
            "PythonVersion": "3",
        },
        DefaultArguments=arguments,
        GlueVersion="5.0",
        ExecutionProperty={"MaxConcurrentRuns": settings.glue_max_concurrent_runs},
        WorkerType="G.1X",
        NumberOfWorkers=2,
    )
    return arguments


def arn_of_queue(sqs: Any, queue_url: str) -> str:
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    return str(attributes["Attributes"]["QueueArn"])
