variable "environment" {
  description = "Deployment name; the last part of every resource name (dev, prod)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,15}$", var.environment))
    error_message = "environment must be 1-16 lowercase letters, digits or hyphens."
  }
}

variable "project" {
  description = "First part of every resource name."
  type        = string
  default     = "ndjson-parquet"
}

variable "bucket_suffix" {
  description = "Appended to bucket names (which are global), e.g. the account id; empty for none."
  type        = string
  default     = ""
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}

# Build artifacts (paths relative to where terraform runs, or absolute). Empty: the default
# location under the repository's dist/ directory.
variable "lambda_package_path" {
  description = "Manifest builder deployment zip (default <repo>/dist/manifest_builder_lambda.zip)."
  type        = string
  default     = ""
}

variable "converter_wheel_path" {
  description = "Converter wheel (default: the one ndjson_parquet_converter-*.whl in <repo>/dist)."
  type        = string
  default     = ""
}

variable "common_wheel_path" {
  description = "Common wheel (default: the one ndjson_parquet_common-*.whl in <repo>/dist)."
  type        = string
  default     = ""
}

variable "glue_script_path" {
  description = "Glue entrypoint (default <repo>/packages/converter/src/ndjson_parquet/converter/glue_script.py)."
  type        = string
  default     = ""
}

# Input and batching
variable "input_prefix" {
  description = "Key prefix of input objects in the input bucket."
  type        = string
  default     = ""
}

variable "input_suffixes" {
  description = "Accepted key endings (empty: the manifest builder's defaults)."
  type        = list(string)
  default     = []
}

variable "date_prefix_pattern" {
  description = "Regex extracting the date prefix from a key (empty: the manifest builder's default)."
  type        = string
  default     = ""
}

variable "manifest_prefix" {
  description = "Key prefix of manifest documents in the manifests bucket."
  type        = string
  default     = "manifests"
}

variable "output_prefix" {
  description = "Key prefix of Parquet output in the output bucket."
  type        = string
  default     = "parquet"
}

variable "quarantine_prefix" {
  description = "Key prefix of quarantined lines in the quarantine bucket."
  type        = string
  default     = "quarantine"
}

variable "max_files_per_manifest" {
  description = "A manifest is cut when a date prefix has this many pending files."
  type        = number
  default     = 2000
}

variable "max_bytes_per_manifest" {
  description = "A manifest is cut when a date prefix's pending files add up to this many bytes."
  type        = number
  default     = 700000000
}

variable "max_wait_seconds" {
  description = "A date prefix's pending files are flushed after waiting this long."
  type        = number
  default     = 900
}

variable "lock_ttl_seconds" {
  description = "Lease of the per-date-prefix manifest lock."
  type        = number
  default     = 120
}

variable "start_workflow" {
  description = "Whether the manifest builder starts the workflow (false sets STEP_FUNCTION_ARN empty: rollback)."
  type        = bool
  default     = true
}

# Lambda
variable "lambda_runtime" {
  description = "python3.11 or python3.12 (must match the zip's compiled dependencies)."
  type        = string
  default     = "python3.11"
}

variable "lambda_architecture" {
  description = "x86_64 or arm64 (must match the zip's compiled dependencies)."
  type        = string
  default     = "x86_64"
}

variable "lambda_timeout_seconds" {
  description = "Timeout of both functions; the queue's visibility timeout is six times this plus the batching window."
  type        = number
  default     = 60
}

variable "lambda_memory_mb" {
  description = "Memory of both functions."
  type        = number
  default     = 512
}

variable "lambda_batch_size" {
  description = "S3 events per manifest builder invocation."
  type        = number
  default     = 100
}

variable "lambda_batching_window_seconds" {
  description = "How long Lambda gathers events before invoking the manifest builder."
  type        = number
  default     = 10
}

variable "lambda_max_concurrency" {
  description = "Maximum concurrent manifest builder invocations started by the queue."
  type        = number
  default     = 10
}

variable "builder_reserved_concurrency" {
  description = "Reserved concurrency of the manifest builder (-1: unreserved)."
  type        = number
  default     = -1
}

variable "flush_schedule_expression" {
  description = "Schedule of the flush function."
  type        = string
  default     = "rate(5 minutes)"
}

variable "log_level" {
  description = "Powertools log level of the functions."
  type        = string
  default     = "INFO"
}

# Queue
variable "max_receive_count" {
  description = "Receives before an S3 event moves to the dead-letter queue."
  type        = number
  default     = 5
}

# Glue
variable "glue_worker_type" {
  description = "Glue worker type."
  type        = string
  default     = "G.1X"
}

variable "glue_number_of_workers" {
  description = "Glue workers per run."
  type        = number
  default     = 2
}

variable "glue_max_concurrent_runs" {
  description = "Converter runs at the same time."
  type        = number
  default     = 10
}

variable "glue_timeout_minutes" {
  description = "A converter run taking longer is stopped."
  type        = number
  default     = 60
}

variable "parquet_compression" {
  description = "Parquet codec of the output."
  type        = string
  default     = "zstd"
}

variable "output_format" {
  description = "parquet: Parquet folders under the output prefix. iceberg: each manifest one snapshot of an Apache Iceberg table in the Glue Data Catalog (warehouse: the output prefix; the first run creates the table)."
  type        = string
  default     = "parquet"

  validation {
    condition     = contains(["parquet", "iceberg"], var.output_format)
    error_message = "output_format is parquet or iceberg."
  }
}

variable "iceberg_table_name" {
  description = "Name of the Iceberg table in the deployment's Glue database (output_format = iceberg)."
  type        = string
  default     = "events"
}

variable "pyiceberg_requirement" {
  description = "pip requirement for pyiceberg installed on the Glue workers (output_format = iceberg); the converter's iceberg extra."
  type        = string
  default     = "pyiceberg>=0.12.0"
}

variable "glue_extra_arguments" {
  description = "Further converter job arguments (e.g. --PARTITION_BY, --MAX_ERROR_RATE)."
  type        = map(string)
  default     = {}
}

# Workflow
variable "state_machine_log_level" {
  description = "Execution history level sent to CloudWatch Logs (ALL or ERROR; FATAL, OFF)."
  type        = string
  default     = "ERROR"
}

# Storage and retention
variable "log_retention_days" {
  description = "Retention of every log group."
  type        = number
  default     = 30
}

variable "input_expiration_days" {
  description = "Delete input objects after this many days (0 keeps them)."
  type        = number
  default     = 0
}

variable "manifest_expiration_days" {
  description = "Delete manifest documents after this many days (0 keeps them)."
  type        = number
  default     = 365
}

variable "quarantine_expiration_days" {
  description = "Delete quarantined lines after this many days (0 keeps them)."
  type        = number
  default     = 90
}

variable "noncurrent_version_expiration_days" {
  description = "Keep replaced or deleted object versions this many days."
  type        = number
  default     = 30
}

variable "force_destroy_buckets" {
  description = "Let terraform destroy delete non-empty buckets (throwaway environments only)."
  type        = bool
  default     = false
}

variable "table_deletion_protection" {
  description = "Refuse to delete the tracking table."
  type        = bool
  default     = true
}

# Alerts
variable "alert_email_addresses" {
  description = "E-mail addresses subscribed to the alerts topic."
  type        = list(string)
  default     = []
}

variable "max_message_age_seconds" {
  description = "Alarm when an S3 event waits in the queue longer than this."
  type        = number
  default     = 1800
}

variable "lambda_conversion" {
  description = "Convert small manifests in a Lambda function (needs dist/converter_lambda.zip); false: every manifest in Glue."
  type        = bool
  default     = false
}

variable "lambda_max_bytes" {
  description = "Manifests of at most this many bytes (and lambda_max_files files) convert in Lambda."
  type        = number
  default     = 1073741824
}

variable "lambda_max_files" {
  description = "Manifests of at most this many files (and lambda_max_bytes bytes) convert in Lambda."
  type        = number
  default     = 5000
}

variable "converter_lambda_package_path" {
  description = "Converter function zip (default <repo>/dist/converter_lambda.zip)."
  type        = string
  default     = ""
}

variable "converter_lambda_layer_arns" {
  description = "Layers of the converter function: the AWS SDK for pandas layer of its region, runtime and architecture (it ships pyarrow)."
  type        = list(string)
  default     = []
}

variable "converter_lambda_runtime" {
  description = "Runtime of the converter function (the layer's)."
  type        = string
  default     = "python3.11"
}

variable "converter_lambda_memory_mb" {
  description = "Memory of the converter function (1769 MB is one vCPU)."
  type        = number
  default     = 2048
}

variable "converter_lambda_timeout_seconds" {
  description = "Timeout of the converter function; past it the manifest converts in Glue."
  type        = number
  default     = 900
}

variable "converter_lambda_ephemeral_storage_mb" {
  description = "/tmp of the converter function, in MB."
  type        = number
  default     = 2048
}
