"""Lambda's SQS event source mapping, emulated: receive, invoke, delete what succeeded."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ndjson_parquet.cli.local.lambda_context import LocalLambdaContext

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class PollStats:
    """Running totals of one event source mapping."""

    invocations: int = 0
    received: int = 0
    deleted: int = 0
    failed: int = 0
    handler_errors: int = 0
    last_error: str | None = None
    # Bodies of the messages processed successfully, for replaying them (duplicate delivery).
    delivered_bodies: list[str] = field(default_factory=list)


class EventSourceMapping:
    """A batch is up to `batch_size` messages gathered for at most `batching_window_seconds`;
    its `batchItemFailures` stay on the queue, the rest are deleted.

    As with Lambda, a handler that raises leaves the whole batch on the queue, and the queue's
    redrive policy moves a message to the dead-letter queue after `maxReceiveCount` receives.
    """

    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        queue_arn: str,
        handler: Handler,
        function_name: str,
        region: str,
        batch_size: int = 10,
        batching_window_seconds: float = 0,
        retry_delay_seconds: int = 1,
        before_invoke: Callable[[], None] | None = None,
    ) -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        self._queue_arn = queue_arn
        self._handler = handler
        self._function_name = function_name
        self._region = region
        self._batch_size = batch_size
        self._window = batching_window_seconds
        self._retry_delay = retry_delay_seconds
        self._before_invoke = before_invoke
        self.stats = PollStats()
        self._lock = threading.Lock()

    def poll_once(self, wait_seconds: int = 0) -> int:
        """Receive one batch and invoke the handler on it; return how many messages came."""
        messages = self._receive(wait_seconds, self._batch_size)
        if not messages:
            return 0
        # As Lambda: gather until the batch is full or the window since the first message ends.
        window_ends = time.monotonic() + self._window
        while len(messages) < self._batch_size and time.monotonic() < window_ends:
            more = self._receive(0, self._batch_size - len(messages))
            messages.extend(more)
            if not more:
                time.sleep(min(0.1, max(0.0, window_ends - time.monotonic())))
        event = {"Records": [self._record(m) for m in messages]}
        if self._before_invoke:
            self._before_invoke()
        context = LocalLambdaContext(function_name=self._function_name, region=self._region)
        with self._lock:
            self.stats.invocations += 1
            self.stats.received += len(messages)
        try:
            result = self._handler(event, context)
        except Exception as exc:  # the function failed: Lambda retries the whole batch
            with self._lock:
                self.stats.handler_errors += 1
                self.stats.failed += len(messages)
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
            self._delay_retry(messages)
            return len(messages)
        failed_ids = {
            str(item.get("itemIdentifier")) for item in (result or {}).get("batchItemFailures", [])
        }
        done = [m for m in messages if m["MessageId"] not in failed_ids]
        retry = [m for m in messages if m["MessageId"] in failed_ids]
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)
                ],
            )
        self._delay_retry(retry)
        with self._lock:
            self.stats.deleted += len(done)
            self.stats.failed += len(retry)
            self.stats.delivered_bodies.extend(m["Body"] for m in done)
        return len(messages)

    def _receive(self, wait_seconds: int, count: int) -> list[dict[str, Any]]:
        response = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=min(10, count),  # SQS's most per request
            WaitTimeSeconds=wait_seconds,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages: list[dict[str, Any]] = response.get("Messages", [])
        return messages

    def drain(self, max_batches: int = 1000) -> int:
        """Poll until the queue returns nothing; return the number of messages handled."""
        total = 0
        for _ in range(max_batches):
            count = self.poll_once()
            if not count:
                break
            total += count
        return total

    def _delay_retry(self, messages: list[dict[str, Any]]) -> None:
        # Lambda leaves a failed message invisible for the queue's visibility timeout; locally
        # the wait is shortened so that retries (and the move to the DLQ) show promptly.
        for message in messages:
            self._sqs.change_message_visibility(
                QueueUrl=self._queue_url,
                ReceiptHandle=message["ReceiptHandle"],
                VisibilityTimeout=self._retry_delay,
            )

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        attributes = message.get("Attributes", {})
        body = message["Body"]
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": body,
            "attributes": {
                "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
                "SentTimestamp": attributes.get("SentTimestamp", "0"),
                "SenderId": attributes.get("SenderId", "AIDAEMULATOR"),
                "ApproximateFirstReceiveTimestamp": attributes.get(
                    "ApproximateFirstReceiveTimestamp", "0"
                ),
            },
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody") or hashlib.md5(body.encode()).hexdigest(),
            "eventSource": "aws:sqs",
            "eventSourceARN": self._queue_arn,
            "awsRegion": self._region,
        }
