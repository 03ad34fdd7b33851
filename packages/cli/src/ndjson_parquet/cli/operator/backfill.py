"""`ndjson-parquet backfill s3://bucket/prefix/`: feed objects that already exist (landed before
the deployment, or to convert again) through the pipeline, as if S3 had just notified them.

For each object under the prefix (modified since `--since`, if given) an S3 event notification,
shaped as S3 sends it (`ObjectCreated:Put`, the key URL-encoded, size, ETag, `eventTime` = the
object's LastModified), is sent to the deployment's event queue. The manifest builder registers
it like any upload: the file item is keyed by bucket, key and ETag, so a backfill run twice, or
over objects already converted, registers nothing new; new files are cut into manifests that
queue for a conversion slot like any backlog. Objects outside the builder's input prefix and
suffixes are ignored by the builder, as for S3's own events.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import quote_plus

from ndjson_parquet.cli.aws import add_target_arguments, target_from_args
from ndjson_parquet.cli.duration import parse_since
from ndjson_parquet.cli.operator.output import console, print_json
from ndjson_parquet.common import S3Uri

# SendMessageBatch takes at most 10 messages.
_BATCH: Final = 10
_PROGRESS_EVERY: Final = 500


@dataclass
class BackfillResult:
    listed: int = 0
    sent: int = 0
    skipped_older: int = 0
    failed: int = 0


def notification(bucket: str, obj: dict[str, Any], region: str) -> str:
    """The S3 event notification body S3 would have sent for `obj` (a ListObjectsV2 entry)."""
    modified: datetime = obj["LastModified"]
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": modified.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "eventName": "ObjectCreated:Put",
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "ndjson-parquet-backfill",
            "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
            "object": {
                "key": quote_plus(str(obj["Key"]), safe="/"),
                "size": int(obj["Size"]),
                "eTag": str(obj["ETag"]).strip('"'),
            },
        },
    }
    return json.dumps({"Records": [record]})


def objects(s3: Any, uri: S3Uri) -> Iterator[dict[str, Any]]:
    """Every object under the prefix, in key order (folder markers left out)."""
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=uri.bucket, Prefix=uri.key):
        for obj in page.get("Contents", []):
            if not str(obj["Key"]).endswith("/"):
                yield obj


def backfill(
    s3: Any,
    sqs: Any,
    queue_url: str,
    uri: S3Uri,
    region: str,
    since: datetime | None = None,
    progress: Any = None,
) -> BackfillResult:
    """Send one notification per object; `progress(result)` is called now and then."""
    result = BackfillResult()
    batch: list[dict[str, str]] = []

    def send() -> None:
        response = sqs.send_message_batch(QueueUrl=queue_url, Entries=batch)
        result.failed += len(response.get("Failed", []))
        result.sent += len(response.get("Successful", []))
        batch.clear()

    for obj in objects(s3, uri):
        result.listed += 1
        if since is not None and obj["LastModified"] < since:
            result.skipped_older += 1
            continue
        batch.append({"Id": str(len(batch)), "MessageBody": notification(uri.bucket, obj, region)})
        if len(batch) == _BATCH:
            send()
        if progress is not None and result.listed % _PROGRESS_EVERY == 0:
            progress(result)
    if batch:
        send()
    return result


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_target_arguments(parser)
    parser.add_argument("uri", metavar="s3://BUCKET/PREFIX/", help="the objects to feed in")
    parser.add_argument(
        "--since",
        metavar="T",
        help="only objects modified since T (a date, an ISO time, or a duration ago: 7d)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace) -> int:
    """Exit 0 when every notification was sent, 1 when some failed, 2 for bad usage."""
    out = console()
    try:
        uri = S3Uri.parse(args.uri)
        since = parse_since(args.since) if args.since else None
    except ValueError as exc:
        out.print(f"[red]{exc}[/]")
        return 2
    target = target_from_args(args)
    sqs = target.aws.client("sqs")
    queue_url = sqs.get_queue_url(QueueName=target.names.queue)["QueueUrl"]
    region = sqs.meta.region_name

    def progress(result: BackfillResult) -> None:
        print(f"backfill: {result.listed} listed, {result.sent} sent", file=sys.stderr)

    result = backfill(
        target.aws.client("s3"), sqs, queue_url, uri, region, since, None if args.json else progress
    )
    if args.json:
        print_json({"uri": args.uri, "queue_url": queue_url, **asdict(result)})
    else:
        out.print(
            f"{result.sent} object(s) of {args.uri} sent to {target.names.queue} "
            f"({result.listed} listed, {result.skipped_older} older than --since, "
            f"{result.failed} failed); `ndjson-parquet status` shows them registered and queued"
        )
    return 1 if result.failed else 0
