"""Names of settings, environment variables, Glue arguments and AWS resources, in one place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, TypedDict


class Env:
    """Environment variables read by the components (the Terraform sets the same names)."""

    # Shared
    TRACKING_TABLE: Final = "TRACKING_TABLE"
    MANIFEST_BUCKET: Final = "MANIFEST_BUCKET"
    MANIFEST_PREFIX: Final = "MANIFEST_PREFIX"
    # Manifest builder
    STEP_FUNCTION_ARN: Final = "STEP_FUNCTION_ARN"
    INPUT_PREFIX: Final = "INPUT_PREFIX"
    INPUT_SUFFIXES: Final = "INPUT_SUFFIXES"
    DATE_PREFIX_PATTERN: Final = "DATE_PREFIX_PATTERN"
    MAX_FILES_PER_MANIFEST: Final = "MAX_FILES_PER_MANIFEST"
    MAX_BYTES_PER_MANIFEST: Final = "MAX_BYTES_PER_MANIFEST"
    MAX_WAIT_SECONDS: Final = "MAX_WAIT_SECONDS"
    LOCK_TTL_SECONDS: Final = "LOCK_TTL_SECONDS"
    # Conversion slots: the Glue job's max_concurrent_runs (Terraform sets both from one variable).
    MAX_CONCURRENT_RUNS: Final = "MAX_CONCURRENT_RUNS"
    # Powertools
    POWERTOOLS_SERVICE_NAME: Final = "POWERTOOLS_SERVICE_NAME"
    POWERTOOLS_METRICS_NAMESPACE: Final = "POWERTOOLS_METRICS_NAMESPACE"
    # Any boto3 client: AWS_ENDPOINT_URL points every client at an emulator.
    AWS_ENDPOINT_URL: Final = "AWS_ENDPOINT_URL"


class Defaults:
    MANIFEST_PREFIX: Final = "manifests"
    INPUT_PREFIX: Final = ""
    INPUT_SUFFIXES: Final = (
        ".ndjson",
        ".jsonl",
        ".json",
        ".ndjson.gz",
        ".jsonl.gz",
        ".json.gz",
        ".ndjson.zst",
        ".jsonl.zst",
        ".json.zst",
    )
    # Each manifest costs about $0.00025 whatever it holds (an execution's transitions, a
    # converter invocation's start, a few writes; docs/cost.md): 2,000 files make that
    # $0.12 per million files, and 100 KB files still fill 200 MB manifests. The item holds
    # no file list, so only the workflow's Lambda route (5,000 files, 1 GiB) bounds it.
    MAX_FILES_PER_MANIFEST: Final = 2000
    MAX_BYTES_PER_MANIFEST: Final = 700 * 1000 * 1000
    MAX_WAIT_SECONDS: Final = 900
    LOCK_TTL_SECONDS: Final = 120
    MAX_CONCURRENT_RUNS: Final = 10
    METRICS_NAMESPACE: Final = "NdjsonParquet"


class GlueArg:
    """Job arguments of the converter's Glue entrypoint (passed as `--NAME value`)."""

    MANIFEST_PATH: Final = "MANIFEST_PATH"
    OUTPUT_URI: Final = "OUTPUT_URI"
    QUARANTINE_URI: Final = "QUARANTINE_URI"
    COMPRESSION: Final = "COMPRESSION"
    PARTITION_BY: Final = "PARTITION_BY"
    MAX_ERROR_RATE: Final = "MAX_ERROR_RATE"
    LINEAGE: Final = "LINEAGE"
    SCHEMA_URI: Final = "SCHEMA_URI"
    # "parquet" (folders under OUTPUT_URI, the default) or "iceberg": commit each manifest to
    # the Glue Data Catalog table ICEBERG_TABLE (database.table), OUTPUT_URI its warehouse.
    OUTPUT_FORMAT: Final = "OUTPUT_FORMAT"
    ICEBERG_TABLE: Final = "ICEBERG_TABLE"
    # Size in MB at which an output file is closed (default 128).
    TARGET_FILE_MB: Final = "TARGET_FILE_MB"


class WorkflowInput(TypedDict):
    """The input of one state machine execution (one manifest)."""

    manifest_path: str
    manifest_id: str
    date_prefix: str
    file_count: int
    total_bytes: int
    timestamp: str


@dataclass(frozen=True, slots=True)
class ResourceNames:
    """AWS resource names for one deployment; infra/ follows the same pattern.

    `ResourceNames("dev").input_bucket` is `ndjson-parquet-input-dev`. Bucket names get an
    optional suffix (account id, say) because they are global.
    """

    environment: str
    project: str = "ndjson-parquet"
    bucket_suffix: str = ""

    def _name(self, part: str) -> str:
        return f"{self.project}-{part}-{self.environment}"

    def _bucket(self, part: str) -> str:
        base = self._name(part)
        return f"{base}-{self.bucket_suffix}" if self.bucket_suffix else base

    @property
    def input_bucket(self) -> str:
        return self._bucket("input")

    @property
    def manifest_bucket(self) -> str:
        return self._bucket("manifests")

    @property
    def output_bucket(self) -> str:
        return self._bucket("output")

    @property
    def quarantine_bucket(self) -> str:
        return self._bucket("quarantine")

    @property
    def artifacts_bucket(self) -> str:
        return self._bucket("artifacts")

    @property
    def tracking_table(self) -> str:
        return self._name("tracking")

    @property
    def queue(self) -> str:
        return self._name("events")

    @property
    def dead_letter_queue(self) -> str:
        return self._name("events-dlq")

    @property
    def manifest_builder_function(self) -> str:
        return self._name("manifest-builder")

    @property
    def flush_function(self) -> str:
        return self._name("manifest-flush")

    @property
    def glue_job(self) -> str:
        return self._name("converter")

    @property
    def converter_function(self) -> str:
        """The converter's Lambda function (small manifests); the Glue job converts the rest."""
        return self._name("converter-fn")

    @property
    def state_machine(self) -> str:
        return self._name("processor")

    @property
    def alerts_topic(self) -> str:
        return self._name("alerts")

    @property
    def glue_database(self) -> str:
        """The Glue database of the Iceberg output (Glue names: lowercase, no hyphens)."""
        return f"{self.project}_{self.environment}".replace("-", "_").lower()

    @property
    def iceberg_table(self) -> str:
        """`database.table` of the Iceberg output (output_format = iceberg)."""
        return f"{self.glue_database}.events"
