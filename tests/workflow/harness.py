"""A moto account with the workflow's resources, and helpers to run the rendered definition."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, field
from typing import Any

import boto3

from ndjson_parquet.common.keys import (
    ManifestAttr,
    ManifestKey,
    SlotAttr,
    SlotsKey,
    table_definition,
)
from ndjson_parquet.common.settings import WorkflowInput
from ndjson_parquet.common.status import Status
from ndjson_parquet.workflow import RetryPolicy, WorkflowSettings, render

# Step Functions waits IntervalSeconds (at least 1) per retry, and moto really sleeps it: with
# full jitter and a 1 s cap each retry waits between 0 and 1 s.
FAST = RetryPolicy(interval_seconds=1, max_attempts=2, backoff_rate=1.0, max_delay_seconds=1)
FAST_CONCURRENCY = RetryPolicy(
    interval_seconds=1, max_attempts=8, backoff_rate=1.0, max_delay_seconds=1
)
_EMPTY_ZIP = base64.b64decode("UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==")  # the code runs in-process
ROLE_ARN = "arn:aws:iam::123456789012:role/ndjson-parquet-states"
# A hang guard only: every execution here ends in a few seconds.
EXECUTION_DEADLINE_SECONDS = 120.0


FUNCTION = "converter-fn"
# The Lambda limits of the tests' workflow: a manifest of at most 1 MB and 10 files.
LAMBDA_MAX_BYTES = 1_000_000
LAMBDA_MAX_FILES = 10


def fast_settings(
    table: str, job: str, topic_arn: str, function: str | None = None
) -> WorkflowSettings:
    return WorkflowSettings(
        tracking_table=table,
        glue_job_name=job,
        alerts_topic_arn=topic_arn,
        converter_function_name=function,
        lambda_max_bytes=LAMBDA_MAX_BYTES,
        lambda_max_files=LAMBDA_MAX_FILES,
        lambda_service_retry=FAST,
        glue_failure_retry=FAST,
        glue_concurrency_retry=FAST_CONCURRENCY,
        service_retry=FAST,
        glue_capacity_wait_seconds=1,
    )


def workflow_input(manifest_id: str, file_count: int = 3, total_bytes: int = 1234) -> WorkflowInput:
    return WorkflowInput(
        manifest_path=f"s3://manifests/manifests/dt=2024-03-05/{manifest_id}.json",
        manifest_id=manifest_id,
        date_prefix="2024-03-05",
        file_count=file_count,
        total_bytes=total_bytes,
        timestamp="2024-03-06T01:02:03Z",
    )


@dataclass
class Stack:
    """The workflow's resources in one moto account, and helpers to drive executions."""

    session: boto3.session.Session
    table: str = "tracking"
    job: str = "converter"
    topic_arn: str = ""
    queue_url: str = ""
    state_machine_arn: str = ""
    endpoint_url: str | None = None
    clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self.clients:
            self.clients[service] = self.session.client(service, endpoint_url=self.endpoint_url)
        return self.clients[service]

    def create(self, max_concurrent_runs: int = 1, lambda_converter: bool = False) -> Stack:
        """The resources; with `lambda_converter`, also the converter function, and a workflow
        that sends manifests within the harness's limits to it."""
        ddb = self.client("dynamodb")
        ddb.create_table(**table_definition(self.table))
        # The slots item as the admission control leaves it: no slot in use.
        ddb.put_item(
            TableName=self.table,
            Item={
                **{k: {"S": v} for k, v in SlotsKey().as_key().items()},
                SlotAttr.HOLDERS: {"M": {}},
            },
        )
        self.client("glue").create_job(
            Name=self.job,
            Role=ROLE_ARN,
            Command={"Name": "glueetl", "ScriptLocation": "s3://artifacts/glue_entrypoint.py"},
            ExecutionProperty={"MaxConcurrentRuns": max_concurrent_runs},
            DefaultArguments={"--OUTPUT_URI": "s3://output/data/"},
            GlueVersion="5.0",
        )
        sns = self.client("sns")
        self.topic_arn = sns.create_topic(Name="alerts")["TopicArn"]
        sqs = self.client("sqs")
        self.queue_url = sqs.create_queue(QueueName="alerts-inbox")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(TopicArn=self.topic_arn, Protocol="sqs", Endpoint=queue_arn)
        function = self._create_function() if lambda_converter else None
        definition = render(fast_settings(self.table, self.job, self.topic_arn, function))
        self.state_machine_arn = self.client("stepfunctions").create_state_machine(
            name="processor", definition=definition, roleArn=ROLE_ARN, type="STANDARD"
        )["stateMachineArn"]
        return self

    def _create_function(self) -> str:
        role = self.client("iam").create_role(
            RoleName="converter-fn",
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
        )["Role"]["Arn"]
        self.client("lambda").create_function(
            FunctionName=FUNCTION,
            Runtime="python3.12",
            Role=role,
            Handler="ndjson_parquet.converter.lambda_function.handler",
            Code={"ZipFile": _EMPTY_ZIP},
        )
        return FUNCTION

    def put_manifest(self, manifest_id: str, status: Status, **extra: Any) -> dict[str, Any]:
        item: dict[str, Any] = {
            **{k: {"S": v} for k, v in ManifestKey(manifest_id).as_key().items()},
            ManifestAttr.MANIFEST_ID: {"S": manifest_id},
            ManifestAttr.STATUS: {"S": str(status)},
            ManifestAttr.FILE_COUNT: {"N": "3"},
        }
        item.update(extra)
        self.client("dynamodb").put_item(TableName=self.table, Item=item)
        return item

    def slot_holders(self) -> dict[str, str]:
        """Execution name → time the slot was taken, for every slot in use."""
        key = {k: {"S": v} for k, v in SlotsKey().as_key().items()}
        item = self.client("dynamodb").get_item(TableName=self.table, Key=key)["Item"]
        return {name: value["S"] for name, value in item[SlotAttr.HOLDERS]["M"].items()}

    def hold_slot(self, execution_name: str) -> None:
        """Take a slot for `execution_name`, as the admission control does before a start."""
        self.client("dynamodb").update_item(
            TableName=self.table,
            Key={k: {"S": v} for k, v in SlotsKey().as_key().items()},
            UpdateExpression="SET #h.#n = :now",
            ExpressionAttributeNames={"#h": SlotAttr.HOLDERS, "#n": execution_name},
            ExpressionAttributeValues={":now": {"S": "2024-03-06T01:02:03Z"}},
        )

    def manifest_item(self, manifest_id: str) -> dict[str, Any] | None:
        key = {k: {"S": v} for k, v in ManifestKey(manifest_id).as_key().items()}
        response = self.client("dynamodb").get_item(TableName=self.table, Key=key)
        item: dict[str, Any] | None = response.get("Item")
        return item

    def start(self, manifest_id: str, file_count: int = 3, total_bytes: int = 1234) -> str:
        arn: str = self.client("stepfunctions").start_execution(
            stateMachineArn=self.state_machine_arn,
            name=manifest_id,
            input=json.dumps(workflow_input(manifest_id, file_count, total_bytes)),
        )["executionArn"]
        return arn

    def wait(self, execution_arn: str) -> dict[str, Any]:
        sfn = self.client("stepfunctions")
        deadline = time.monotonic() + EXECUTION_DEADLINE_SECONDS
        while True:
            description: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
            if description["status"] != "RUNNING":
                return description
            if time.monotonic() > deadline:
                raise TimeoutError(f"{execution_arn} still running")
            time.sleep(0.05)

    def run(self, manifest_id: str, file_count: int = 3, total_bytes: int = 1234) -> dict[str, Any]:
        return self.wait(self.start(manifest_id, file_count, total_bytes))

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = self.client("stepfunctions").get_execution_history(
            executionArn=execution_arn, maxResults=1000
        )["events"]
        return events

    def alerts(self) -> list[dict[str, Any]]:
        """Every SNS notification delivered to the subscribed queue so far (then deleted)."""
        sqs = self.client("sqs")
        bodies: list[dict[str, Any]] = []
        while True:
            messages = sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                return bodies
            for message in messages:
                bodies.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def job_runs(self) -> list[dict[str, Any]]:
        runs: list[dict[str, Any]] = self.client("glue").get_job_runs(JobName=self.job)["JobRuns"]
        return sorted(runs, key=lambda run: run["StartedOn"])
