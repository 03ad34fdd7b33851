"""The contract shared by every ndjson-parquet component.

The Lambda, the state machine, the converter and the operator CLI agree on these names, keys,
statuses and document shapes; change them here and nowhere else.
"""

from ndjson_parquet.common.keys import (
    BatchKey,
    FileKey,
    LockKey,
    ManifestKey,
    SlotsKey,
    TableAttr,
    TableIndex,
)
from ndjson_parquet.common.manifest import (
    MANIFEST_SCHEMA_VERSION,
    Manifest,
    ManifestError,
    ManifestFile,
    manifest_json_schema,
    new_manifest_id,
)
from ndjson_parquet.common.s3uri import S3Uri, decode_event_key
from ndjson_parquet.common.settings import Env, GlueArg, ResourceNames, WorkflowInput
from ndjson_parquet.common.status import InvalidTransition, Status, check_transition

__version__ = "0.1.0"

__all__ = [
    "MANIFEST_SCHEMA_VERSION",
    "BatchKey",
    "Env",
    "FileKey",
    "GlueArg",
    "InvalidTransition",
    "LockKey",
    "Manifest",
    "ManifestError",
    "ManifestFile",
    "ManifestKey",
    "ResourceNames",
    "S3Uri",
    "SlotsKey",
    "Status",
    "TableAttr",
    "TableIndex",
    "WorkflowInput",
    "check_transition",
    "decode_event_key",
    "manifest_json_schema",
    "new_manifest_id",
]
