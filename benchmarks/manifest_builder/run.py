"""Manifest builder benchmark: files registered per second, DynamoDB requests per file.

Runs the real SQS handler (Powertools and all) against moto in-process, one invocation per
batch of messages, then one flush for the remainder, and counts every DynamoDB request the
builder makes with a botocore event hook. All writes are single-item; write units are estimated
from item sizes as DynamoDB bills them (1 per started KB). The state machine's own status
updates of manifest items are not included (each costs as many units as the item has KB).

    python -m benchmarks.manifest_builder.run [--files 2000] [--batch 10] [--max-files 200]
        [--duplicates 0.1]     # a share of events delivered twice
        [--sweep]              # batches of 1, 2, 10 messages, with and without duplicates
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote_plus

# Quiet Powertools before the handler module creates its logger (metrics go to a buffer).
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
for _name, _value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}.items():
    os.environ.setdefault(_name, _value)

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from ndjson_parquet.common.keys import table_definition  # noqa: E402
from ndjson_parquet.manifest_builder import handler  # noqa: E402
from ndjson_parquet.manifest_builder.builder import ManifestBuilder  # noqa: E402
from ndjson_parquet.manifest_builder.settings import Settings  # noqa: E402

WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
READS = {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}


class Clock:
    """Real time plus an offset, so the final flush can find the remainder overdue."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


class Context:
    function_name = "manifest-builder"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:manifest-builder"
    memory_limit_in_mb = 512
    aws_request_id = "bench"
    log_group_name = "/aws/lambda/manifest-builder"
    log_stream_name = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


class RequestCounter:
    """Counts DynamoDB requests by operation, and remembers which item each write touched."""

    def __init__(self) -> None:
        self.by_operation: Counter[str] = Counter()
        self.writes: list[tuple[str, int]] = []  # (pk, size of a Put's item, else 0)
        self._lock = threading.Lock()

    def __call__(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        with self._lock:
            self.by_operation[model.name] += 1
            if model.name in WRITES:
                item = params.get("Item") or params.get("Key") or {}
                size = item_bytes(params["Item"]) if "Item" in params else 0
                self.writes.append((str(item.get("pk", {}).get("S", "")), size))

    def total(self, kinds: set[str]) -> int:
        return sum(n for op, n in self.by_operation.items() if op in kinds)

    def write_units(self, final_sizes: dict[str, int]) -> int:
        """Write units as DynamoDB bills them: 1 per started KB of the larger of the item's
        sizes (a Put's own item; for updates and deletes, the item as it ended up)."""
        return sum(-(-max(size, final_sizes.get(pk, 0), 1) // 1024) for pk, size in self.writes)


def attribute_bytes(value: dict[str, Any]) -> int:
    """DynamoDB's size of one attribute value (close to the documented rules)."""
    kind, inner = next(iter(value.items()))
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        return len(inner.lstrip("-").replace(".", "")) // 2 + 2
    if kind == "L":
        return 3 + sum(1 + attribute_bytes(v) for v in inner)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + attribute_bytes(v) for k, v in inner.items())
    return 1


def item_bytes(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + attribute_bytes(value) for name, value in item.items())


def create_resources() -> str:
    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(**table_definition("tracking"))
    boto3.client("s3").create_bucket(Bucket="manifests")
    definition = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}
    return str(
        boto3.client("stepfunctions").create_state_machine(
            name="processor",
            definition=json.dumps(definition),
            roleArn="arn:aws:iam::123456789012:role/processor",
        )["stateMachineArn"]
    )


def message(key: str, size: int, etag: str) -> dict[str, Any]:
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": "2024-03-05T12:00:00.000Z",
        "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:EXAMPLE"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": "R", "x-amz-id-2": "H"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "input",
            "bucket": {
                "name": "input",
                "ownerIdentity": {"principalId": "EXAMPLE"},
                "arn": "arn:aws:s3:::input",
            },
            "object": {"key": quote_plus(key, safe="/"), "size": size, "eTag": etag},
        },
    }
    return {
        "messageId": etag,
        "receiptHandle": etag,
        "body": json.dumps({"Records": [record]}),
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1709640000000",
            "SenderId": "AIDAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": "1709640000001",
        },
        "messageAttributes": {},
        "md5OfBody": "0" * 32,
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:events",
        "awsRegion": "us-east-1",
    }


def item_sizes() -> dict[str, int]:
    """Size of every item in the table, by partition key (every pk has one item here)."""
    sizes: dict[str, int] = {}
    for page in boto3.client("dynamodb").get_paginator("scan").paginate(TableName="tracking"):
        for item in page["Items"]:
            sizes[item["pk"]["S"]] = item_bytes(item)
    return sizes


def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    with mock_aws():
        arn = create_resources()
        clock = Clock()
        settings = Settings(
            table_name="tracking",
            manifest_bucket="manifests",
            step_function_arn=arn,
            max_files=args.max_files,
            max_bytes=args.max_bytes,
        )
        builder = ManifestBuilder(settings, clock=clock)
        counter = RequestCounter()
        builder.store.client.meta.events.register("before-parameter-build.dynamodb", counter)
        s3_requests: Counter[str] = Counter()
        builder.s3.meta.events.register(
            "before-parameter-build.s3",
            lambda model, **_: s3_requests.update([model.name]),
        )
        handler.use_builder(builder)
        days = [f"2024-03-{5 + d:02}" for d in range(args.prefixes)]
        messages = [
            message(f"{rng.choice(days)}/part-{i:06}.ndjson", rng.randint(1, 200_000), f"e{i}")
            for i in range(args.files)
        ]
        # S3 and SQS deliver at least once: the same event again, in another message.
        again = rng.sample(messages, int(args.files * args.duplicates))
        messages += [{**m, "messageId": f"{m['messageId']}-again"} for m in again]
        rng.shuffle(messages)
        context = Context()
        started = time.perf_counter()
        failures = 0
        with contextlib.redirect_stdout(io.StringIO()):  # one EMF metrics line per invocation
            for start in range(0, len(messages), args.batch):
                event = {"Records": messages[start : start + args.batch]}
                failures += len(handler.lambda_handler(event, context)["batchItemFailures"])
        elapsed = time.perf_counter() - started
        registration = counter.total(WRITES), counter.total(READS)
        clock.offset = timedelta(seconds=settings.max_wait_seconds + 1)
        flushed = builder.flush()
        handler.use_builder(None)
        manifests = boto3.client("dynamodb").query(
            TableName="tracking",
            IndexName="gsi2",
            KeyConditionExpression="gsi2pk = :s",
            ExpressionAttributeValues={":s": {"S": "STATUS#manifested"}},
            Select="COUNT",
        )["Count"]
        writes, reads = counter.total(WRITES), counter.total(READS)
        sizes = item_sizes()
        units = counter.write_units(sizes)
        manifest_sizes = [size for pk, size in sizes.items() if pk.startswith("MANIFEST#")]
        return {
            "files": args.files,
            "duplicate_events": len(again),
            "messages_per_invocation": args.batch,
            "date_prefixes": args.prefixes,
            "max_files_per_manifest": args.max_files,
            "failed_messages": failures,
            "manifests": manifests,
            "manifests_cut_by_flush": flushed["manifests_created"],
            "seconds": round(elapsed, 2),
            "files_per_second": round(args.files / elapsed, 1),
            "writes_per_file_while_registering": round(registration[0] / args.files, 3),
            "writes_per_file": round(writes / args.files, 3),
            "reads_per_file": round(reads / args.files, 3),
            "write_units_per_file": round(units / args.files, 3),
            "requests_by_operation": dict(sorted(counter.by_operation.items())),
            "s3_requests_per_manifest": {
                op: round(n / max(manifests, 1), 2) for op, n in sorted(s3_requests.items())
            },
            "largest_file_item_bytes": max(v for k, v in sizes.items() if k.startswith("FILE#")),
            "largest_manifest_item_bytes": max(manifest_sizes, default=0),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--files", type=int, default=2_000)
    parser.add_argument("--batch", type=int, default=10, help="SQS messages per invocation")
    parser.add_argument(
        "--prefixes", type=int, default=1, help="date prefixes the files spread over"
    )
    parser.add_argument("--max-files", type=int, default=200)
    parser.add_argument("--max-bytes", type=int, default=700 * 1000 * 1000)
    parser.add_argument(
        "--duplicates", type=float, default=0.0, help="share of events delivered twice"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--sweep", action="store_true", help="compare batch sizes and duplicate shares"
    )
    args = parser.parse_args()
    if args.sweep:
        sweep(args)
        return
    result = run(args)
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")


def sweep(args: argparse.Namespace) -> None:
    """What small batches and duplicate events cost, per file, against the 2-writes aim."""
    print("messages/invocation  duplicates  writes/file  write units/file  reads/file")
    for batch in (1, 2, 10):
        for duplicates in (0.0, 0.2):
            result = run(
                argparse.Namespace(**{**vars(args), "batch": batch, "duplicates": duplicates})
            )
            print(
                f"{batch:>19}  {duplicates:>10.0%}  {result['writes_per_file']:>11}"
                f"  {result['write_units_per_file']:>16}  {result['reads_per_file']:>10}"
            )


if __name__ == "__main__":
    main()
