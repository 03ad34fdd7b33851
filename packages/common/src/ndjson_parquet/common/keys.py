"""DynamoDB single-table design: key formats and attribute names.

One table holds four kinds of item. Every key string is built here, so that the Lambda, the state
machine definition and the operator CLI can never disagree about where an item lives.

| item     | pk                          | sk              | gsi1 (pk / sk)                         | gsi2 (pk / sk)                     |
|----------|-----------------------------|-----------------|----------------------------------------|------------------------------------|
| file     | FILE#<bucket>/<key>         | V#<etag>        | PENDING#<date> / <registered>#<uri>    | (none)                             |
|          |                             |                 | (removed once the file is manifested)  |                                    |
| manifest | MANIFEST#<manifest_id>      | MANIFEST        | (none)                                 | STATUS#<status> / <updated>#<id>   |
| batch    | BATCH#<date>                | BATCH           | BATCHES / <date>                       | (none)                             |
| lock     | LOCK#<date>                 | LOCK            | (none)                                 | (none)                             |
| slots    | SLOTS                       | SLOTS           | (none)                                 | (none)                             |

gsi1 is sparse: it lists exactly the pending files of a date prefix in arrival order, and the
batches (date prefixes) that have ever had files, for the age-based flush. gsi2 lists manifests by
status, newest last, for the operator's `stuck`, `status` and `redrive --failed`; its
`STATUS#queued` partition is the admission queue, oldest first. The one slots item holds the
conversion slots in use (see `SlotAttr`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final


class TableAttr:
    """Attribute names used in keys and indexes."""

    PK: Final = "pk"
    SK: Final = "sk"
    GSI1_PK: Final = "gsi1pk"
    GSI1_SK: Final = "gsi1sk"
    GSI2_PK: Final = "gsi2pk"
    GSI2_SK: Final = "gsi2sk"
    # Epoch seconds; DynamoDB's TTL deletes expired lock items (and, if configured, old items).
    TTL: Final = "expires_at"


class TableIndex:
    """Global secondary index names (each projects what its queries read: `projected`)."""

    PENDING: Final = "gsi1"
    BY_STATUS: Final = "gsi2"


def table_definition(table_name: str) -> dict[str, Any]:
    """`CreateTable` arguments for the tracking table, as infra/modules/dynamodb declares it.

    Used where the table is created outside Terraform: the local emulated pipeline and tests.
    TTL (`TableAttr.TTL`) is a separate call, `UpdateTimeToLive`.
    """
    indexes = (
        (TableIndex.PENDING, TableAttr.GSI1_PK, TableAttr.GSI1_SK),
        (TableIndex.BY_STATUS, TableAttr.GSI2_PK, TableAttr.GSI2_SK),
    )
    key_attributes = [TableAttr.PK, TableAttr.SK, *(a for _, pk, sk in indexes for a in (pk, sk))]
    projected = index_projections()
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": a, "AttributeType": "S"} for a in key_attributes
        ],
        "KeySchema": [
            {"AttributeName": TableAttr.PK, "KeyType": "HASH"},
            {"AttributeName": TableAttr.SK, "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": name,
                "KeySchema": [
                    {"AttributeName": pk, "KeyType": "HASH"},
                    {"AttributeName": sk, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": projected[name]},
            }
            for name, pk, sk in indexes
        ],
    }


def index_projections() -> dict[str, list[str]]:
    """The non-key attributes each index carries: exactly what the queries on it read.

    An index entry is written whenever a projected attribute changes, and costs a write unit
    per KB of what it projects; the attributes nobody reads through the index stay out.
    gsi1: the cutter's pending files (`selection.PendingFile`), the operator's orphans, and
    the flush's batches (the in-flight journal). gsi2: the admission queue and the flush (a
    `WorkflowStart` and the execution name), and the operator's status, stuck and redrive.
    """
    return {
        TableIndex.PENDING: [
            FileAttr.BUCKET,
            FileAttr.KEY,
            FileAttr.ETAG,
            FileAttr.SIZE,
            FileAttr.VERSION_ID,
            FileAttr.REGISTERED_AT,
            FileAttr.DATE_PREFIX,
            BatchAttr.INFLIGHT_MANIFEST_ID,
        ],
        TableIndex.BY_STATUS: [
            ManifestAttr.MANIFEST_ID,
            ManifestAttr.DATE_PREFIX,
            ManifestAttr.FILE_COUNT,
            ManifestAttr.TOTAL_BYTES,
            ManifestAttr.MANIFEST_PATH,
            ManifestAttr.CREATED_AT,
            ManifestAttr.UPDATED_AT,
            ManifestAttr.EXECUTION_ARN,
            ManifestAttr.NEXT_EXECUTION,
        ],
    }


SEP: Final = "#"
BATCHES_PK: Final = "BATCHES"


@dataclass(frozen=True, slots=True)
class FileKey:
    """One version (by ETag) of one S3 object."""

    bucket: str
    key: str
    etag: str

    @property
    def pk(self) -> str:
        return f"FILE{SEP}{self.bucket}/{self.key}"

    @property
    def sk(self) -> str:
        return f"V{SEP}{self.etag}"

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def as_key(self) -> dict[str, str]:
        return {TableAttr.PK: self.pk, TableAttr.SK: self.sk}

    @staticmethod
    def object_pk(bucket: str, key: str) -> str:
        """The partition holding every version of one object (for `inspect s3://…`)."""
        return f"FILE{SEP}{bucket}/{key}"


# DynamoDB limits a sort key to 1024 bytes; index keys need not be unique, so longer ones are cut.
SORT_KEY_MAX_BYTES: Final = 1024


def pending_gsi1(date_prefix: str, registered_at: str, uri: str) -> dict[str, str]:
    """gsi1 attributes of a pending file: arrival order within its date prefix."""
    sort_key = f"{registered_at}{SEP}{uri}".encode()[:SORT_KEY_MAX_BYTES]
    return {
        TableAttr.GSI1_PK: f"PENDING{SEP}{date_prefix}",
        TableAttr.GSI1_SK: sort_key.decode("utf-8", errors="ignore"),
    }


def pending_partition(date_prefix: str) -> str:
    return f"PENDING{SEP}{date_prefix}"


@dataclass(frozen=True, slots=True)
class ManifestKey:
    manifest_id: str

    @property
    def pk(self) -> str:
        return f"MANIFEST{SEP}{self.manifest_id}"

    @property
    def sk(self) -> str:
        return "MANIFEST"

    def as_key(self) -> dict[str, str]:
        return {TableAttr.PK: self.pk, TableAttr.SK: self.sk}


def status_gsi2(status: str, updated_at: str, manifest_id: str) -> dict[str, str]:
    """gsi2 attributes of a manifest: listed under its status, oldest update first."""
    return {
        TableAttr.GSI2_PK: status_partition(status),
        TableAttr.GSI2_SK: f"{updated_at}{SEP}{manifest_id}",
    }


def status_partition(status: str) -> str:
    return f"STATUS{SEP}{status}"


@dataclass(frozen=True, slots=True)
class BatchKey:
    """The running totals of one date prefix's pending files (a trigger hint, not the truth)."""

    date_prefix: str

    @property
    def pk(self) -> str:
        return f"BATCH{SEP}{self.date_prefix}"

    @property
    def sk(self) -> str:
        return "BATCH"

    def as_key(self) -> dict[str, str]:
        return {TableAttr.PK: self.pk, TableAttr.SK: self.sk}

    def gsi1(self) -> dict[str, str]:
        return {TableAttr.GSI1_PK: BATCHES_PK, TableAttr.GSI1_SK: self.date_prefix}


@dataclass(frozen=True, slots=True)
class LockKey:
    """The lease that serialises manifest cutting for one date prefix."""

    date_prefix: str

    @property
    def pk(self) -> str:
        return f"LOCK{SEP}{self.date_prefix}"

    @property
    def sk(self) -> str:
        return "LOCK"

    def as_key(self) -> dict[str, str]:
        return {TableAttr.PK: self.pk, TableAttr.SK: self.sk}


@dataclass(frozen=True, slots=True)
class SlotsKey:
    """The conversion slots of the deployment's Glue job: who holds one (admission control)."""

    @property
    def pk(self) -> str:
        return "SLOTS"

    @property
    def sk(self) -> str:
        return "SLOTS"

    def as_key(self) -> dict[str, str]:
        return {TableAttr.PK: self.pk, TableAttr.SK: self.sk}


class SlotAttr:
    """Attributes of the slots item."""

    # Map: execution name → ISO time the slot was taken. Its size is the number of slots in use;
    # the admission takes one before StartExecution, the execution gives it back on every way out.
    HOLDERS: Final = "holders"
    # The limit the admission last applied (informational; the setting is the truth).
    LIMIT: Final = "limit"
    UPDATED_AT: Final = "updated_at"


class FileAttr:
    """Non-key attributes of a file item."""

    BUCKET: Final = "bucket"
    KEY: Final = "key"
    ETAG: Final = "etag"
    # The S3 version the event announced (versioned buckets only).
    VERSION_ID: Final = "version_id"
    SIZE: Final = "size"
    SEQUENCER: Final = "sequencer"
    DATE_PREFIX: Final = "date_prefix"
    STATUS: Final = "status"
    REGISTERED_AT: Final = "registered_at"
    EVENT_TIME: Final = "event_time"
    MANIFEST_ID: Final = "manifest_id"
    MANIFESTED_AT: Final = "manifested_at"


class ManifestAttr:
    """Non-key attributes of a manifest item. The state machine writes the last group."""

    MANIFEST_ID: Final = "manifest_id"
    DATE_PREFIX: Final = "date_prefix"
    STATUS: Final = "status"
    FILE_COUNT: Final = "file_count"
    TOTAL_BYTES: Final = "total_bytes"
    # The s3:// location of the manifest document, the one place that lists the files.
    MANIFEST_PATH: Final = "manifest_path"
    CREATED_AT: Final = "created_at"
    UPDATED_AT: Final = "updated_at"
    EXECUTION_ARN: Final = "execution_arn"
    STARTED_AT: Final = "started_at"
    # Executions that entered processing (the state machine counts them, redrives included).
    ATTEMPTS: Final = "attempts"
    # StartExecution calls by the manifest builder, failed ones included.
    START_ATTEMPTS: Final = "start_attempts"
    # The last failed attempt to start the workflow (cleared by nothing; execution_arn wins).
    LAST_START_ERROR: Final = "last_start_error"
    # Set when the manifest is queued: when, and the name its execution will have (the manifest
    # id, `<id>-r<N>` for a redrive), so that a repeated admission starts the same execution.
    QUEUED_AT: Final = "queued_at"
    NEXT_EXECUTION: Final = "next_execution"
    # Written by the state machine:
    GLUE_JOB_RUN_ID: Final = "glue_job_run_id"
    GLUE_EXECUTION_SECONDS: Final = "glue_execution_seconds"
    # Where the manifest was converted: "lambda" or "glue".
    COMPUTE: Final = "compute"
    LAMBDA_REQUEST_ID: Final = "lambda_request_id"
    LAMBDA_EXECUTION_SECONDS: Final = "lambda_execution_seconds"
    # Set when a Lambda conversion ran out of time or memory and Glue took over: the error
    # Step Functions reported, and when.
    LAMBDA_FALLBACK: Final = "lambda_fallback"
    LAMBDA_FALLBACK_AT: Final = "lambda_fallback_at"
    COMPLETED_AT: Final = "completed_at"
    FAILED_AT: Final = "failed_at"
    ERROR: Final = "error"
    CAUSE: Final = "cause"


class BatchAttr:
    PENDING_FILES: Final = "pending_files"
    PENDING_BYTES: Final = "pending_bytes"
    # Manifest being cut by a lease holder that may have died; the next holder finishes it.
    INFLIGHT_MANIFEST_ID: Final = "inflight_manifest_id"
    DATE_PREFIX: Final = "date_prefix"
    UPDATED_AT: Final = "updated_at"


class LockAttr:
    OWNER: Final = "owner"
    LEASE_UNTIL: Final = "lease_until"
