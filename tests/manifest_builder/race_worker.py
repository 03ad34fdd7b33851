"""A manifest builder worker process: consumes the event queue like the Lambda does, and
stops itself (SIGSTOP) or dies (SIGKILL) right after the steps it was told to."""

from __future__ import annotations

import os
import signal
import threading
from dataclasses import dataclass
from multiprocessing.synchronize import Event
from pathlib import Path

import boto3

from ndjson_parquet.manifest_builder.builder import Invocation, ManifestBuilder
from ndjson_parquet.manifest_builder.settings import Settings
from tests.manifest_builder.steps import StepSession

MESSAGES_PER_BATCH = 10


@dataclass(frozen=True)
class Target:
    """Stop ("pause") or die ("kill") right after a request of `step`."""

    action: str
    step: str

    @property
    def name(self) -> str:
        return f"{self.action}-{self.step}"


@dataclass(frozen=True)
class WorkerConfig:
    moto_url: str
    dynalite_url: str
    queue_url: str
    settings: Settings
    # One file per target not fired yet; the worker that deletes it fires it.
    targets_dir: str
    fired_log: str
    visibility_seconds: int


def run(config: WorkerConfig, sending_done: Event) -> None:
    """Consume until no more events come and the queue is empty; fire every target met."""
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": config.moto_url,
            "AWS_ENDPOINT_URL_DYNAMODB": config.dynalite_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    )
    lock = threading.Lock()

    def after(step: str, _: int) -> None:
        with lock:  # flips report from several threads
            for action in ("pause", "kill"):
                target = Target(action, step)
                try:
                    Path(config.targets_dir, target.name).unlink()
                except FileNotFoundError:
                    continue  # fired by another worker, or not a target
                with Path(config.fired_log).open("a") as log:
                    log.write(f"{target.name}\n")
                if action == "kill":
                    os.kill(os.getpid(), signal.SIGKILL)
                os.kill(os.getpid(), signal.SIGSTOP)  # until the test resumes this process
                return

    builder = ManifestBuilder(config.settings, session=StepSession(after))
    sqs = boto3.client("sqs")
    while True:
        messages = sqs.receive_message(
            QueueUrl=config.queue_url,
            MaxNumberOfMessages=MESSAGES_PER_BATCH,
            WaitTimeSeconds=1,
            VisibilityTimeout=config.visibility_seconds,
        ).get("Messages", [])
        if not messages:
            counts = sqs.get_queue_attributes(
                QueueUrl=config.queue_url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                ],
            )["Attributes"]
            if sending_done.is_set() and not any(int(v) for v in counts.values()):
                return
            continue
        invocation = Invocation()
        for message in messages:
            builder.register_body(message["Body"], invocation)
        builder.settle(invocation, lambda: False)
        sqs.delete_message_batch(
            QueueUrl=config.queue_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
            ],
        )
