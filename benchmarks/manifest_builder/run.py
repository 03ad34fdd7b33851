"""Manifest builder benchmark: files registered per second, DynamoDB units per file.

Runs the real SQS handler (Powertools and all) against moto in-process, one invocation per
batch of messages, then one flush for the remainder, then plays each started execution's
DynamoDB tasks (the Lambda success path, from the built definition) and the admission that its
end triggers. Every request is metered (capacity.py): write and read units of the table and
of each index, by DynamoDB's documented rules, since neither moto nor dynalite reports index
units.

    python -m benchmarks.manifest_builder.run [--files 2000] [--batch 10] [--max-files 2000]
        [--duplicates 0.1]     # a share of events delivered twice
        [--sweep]              # batches of 1, 2, 10 messages, with and without duplicates
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import os
import random
import time
from collections import Counter, defaultdict
from collections.abc import Mapping
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

from benchmarks.manifest_builder.capacity import (  # noqa: E402
    READ_OPERATIONS,
    TABLE,
    WRITE_OPERATIONS,
    CapacityMeter,
    Units,
    item_bytes,
)
from benchmarks.manifest_builder.workflow import run_success_path, success_path_tasks  # noqa: E402
from ndjson_parquet.common.keys import ManifestAttr, TableIndex, table_definition  # noqa: E402
from ndjson_parquet.common.settings import Defaults  # noqa: E402
from ndjson_parquet.common.status import Status  # noqa: E402
from ndjson_parquet.manifest_builder import handler  # noqa: E402
from ndjson_parquet.manifest_builder.builder import ManifestBuilder  # noqa: E402
from ndjson_parquet.manifest_builder.settings import Settings  # noqa: E402


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
        meter = CapacityMeter(boto3.client("dynamodb"), table_definition("tracking"))
        meter.attach(builder.store.client)
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
        registration = requests(meter.units, WRITE_OPERATIONS)
        clock.offset = timedelta(seconds=settings.max_wait_seconds + 1)
        flushed = builder.flush()
        handler.use_builder(None)
        builder_units = copy.deepcopy(meter.units)
        executions = complete_executions(builder)
        workflow_units = difference(meter.units, builder_units)
        sizes = item_sizes()
        manifest_sizes = [size for pk, size in sizes.items() if pk.startswith("MANIFEST#")]
        manifests = len(manifest_sizes)
        return {
            "files": args.files,
            "duplicate_events": len(again),
            "messages_per_invocation": args.batch,
            "date_prefixes": args.prefixes,
            "max_files_per_manifest": args.max_files,
            "failed_messages": failures,
            "manifests": manifests,
            "manifests_cut_by_flush": flushed["manifests_created"],
            "executions_completed": executions,
            "seconds": round(elapsed, 2),
            "files_per_second": round(args.files / elapsed, 1),
            "writes_per_file_while_registering": round(registration / args.files, 3),
            "writes_per_file": round(requests(meter.units, WRITE_OPERATIONS) / args.files, 3),
            "reads_per_file": round(requests(meter.units, READ_OPERATIONS) / args.files, 3),
            "write_units_per_file": per_file(meter.units.write, args.files),
            "read_units_per_file": per_file(meter.units.read, args.files),
            "builder_write_units_per_file": per_file(builder_units.write, args.files),
            "workflow_write_units_per_manifest": per_file(workflow_units.write, max(manifests, 1)),
            "requests_by_operation": dict(sorted(meter.units.requests.items())),
            "s3_requests_per_manifest": {
                op: round(n / max(manifests, 1), 2) for op, n in sorted(s3_requests.items())
            },
            "largest_file_item_bytes": max(v for k, v in sizes.items() if k.startswith("FILE#")),
            "largest_manifest_item_bytes": max(manifest_sizes, default=0),
        }


def requests(units: Units, operations: set[str]) -> int:
    return sum(n for op, n in units.requests.items() if op in operations)


def per_file(counts: Mapping[str, float], files: int) -> dict[str, float]:
    """Units per file by table and index, and their total."""
    names = [TABLE, TableIndex.PENDING, TableIndex.BY_STATUS]
    out = {name: round(counts.get(name, 0) / files, 3) for name in names}
    out["total"] = round(sum(counts.values()) / files, 3)
    return out


def difference(after: Units, before: Units) -> Units:
    read = defaultdict(float, {k: v - before.read.get(k, 0.0) for k, v in after.read.items()})
    return Units(after.requests - before.requests, after.write - before.write, read)


def complete_executions(builder: ManifestBuilder) -> int:
    """Play each started execution's Lambda success path, then the admission its end
    triggers (the EventBridge rule), until no manifest is queued; how many ran."""
    tasks = success_path_tasks("tracking")
    observer = boto3.client("dynamodb")
    done = 0
    while True:
        started = [
            item
            for page in observer.get_paginator("scan").paginate(TableName="tracking")
            for item in page["Items"]
            if item.get(ManifestAttr.STATUS, {}).get("S") == str(Status.QUEUED)
            and ManifestAttr.EXECUTION_ARN in item
        ]
        if not started:
            return done
        for item in started:
            manifest_id = item[ManifestAttr.MANIFEST_ID]["S"]
            name = item.get(ManifestAttr.NEXT_EXECUTION, {}).get("S", manifest_id)
            run_success_path(builder.store.client, tasks, manifest_id, name)
            builder.admit_after_execution()
            done += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--files", type=int, default=2_000)
    parser.add_argument("--batch", type=int, default=10, help="SQS messages per invocation")
    parser.add_argument(
        "--prefixes", type=int, default=1, help="date prefixes the files spread over"
    )
    parser.add_argument("--max-files", type=int, default=Defaults.MAX_FILES_PER_MANIFEST)
    parser.add_argument("--max-bytes", type=int, default=Defaults.MAX_BYTES_PER_MANIFEST)
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
    """What small batches and duplicate events cost, per file."""
    print("messages/invocation  duplicates  writes/file  write units/file  read units/file")
    for batch in (1, 2, 10):
        for duplicates in (0.0, 0.2):
            result = run(
                argparse.Namespace(**{**vars(args), "batch": batch, "duplicates": duplicates})
            )
            print(
                f"{batch:>19}  {duplicates:>10.0%}  {result['writes_per_file']:>11}"
                f"  {result['write_units_per_file']['total']:>16}"
                f"  {result['read_units_per_file']['total']:>15}"
            )


if __name__ == "__main__":
    main()
