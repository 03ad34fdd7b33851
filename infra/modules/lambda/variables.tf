variable "builder_function_name" {
  description = "Name of the manifest builder function (consumes the event queue)."
  type        = string
}

variable "flush_function_name" {
  description = "Name of the scheduled flush function (cuts manifests of batches older than max_wait_seconds)."
  type        = string
}

variable "builder_role_arn" {
  description = "Execution role of the manifest builder."
  type        = string
}

variable "flush_role_arn" {
  description = "Execution role of the flush function."
  type        = string
}

variable "package_path" {
  description = "Path of the deployment zip built by the manifest builder's package command."
  type        = string
}

variable "builder_handler" {
  description = "Handler of the manifest builder."
  type        = string
  default     = "ndjson_parquet.manifest_builder.handler.lambda_handler"
}

variable "flush_handler" {
  description = "Handler of the flush function."
  type        = string
  default     = "ndjson_parquet.manifest_builder.handler.flush_handler"
}

variable "runtime" {
  description = "Lambda Python runtime (the zip's compiled dependencies must match it)."
  type        = string
  default     = "python3.11"

  validation {
    condition     = contains(["python3.11", "python3.12"], var.runtime)
    error_message = "runtime must be python3.11 or python3.12."
  }
}

variable "architecture" {
  description = "Instruction set of the functions (the zip's compiled dependencies must match it)."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "timeout_seconds" {
  description = "Timeout of each function; the queue's visibility timeout is derived from it."
  type        = number
  default     = 60
}

variable "memory_mb" {
  description = "Memory of each function."
  type        = number
  default     = 512
}

variable "builder_reserved_concurrency" {
  description = "Reserved concurrency of the manifest builder (-1: unreserved)."
  type        = number
  default     = -1
}

variable "flush_reserved_concurrency" {
  description = "Reserved concurrency of the flush function; 1 is enough for one scheduled run at a time."
  type        = number
  default     = 1
}

variable "queue_arn" {
  description = "Event queue consumed by the manifest builder."
  type        = string
}

variable "batch_size" {
  description = "Maximum S3 events per invocation."
  type        = number
  default     = 100
}

variable "batching_window_seconds" {
  description = "How long Lambda gathers events before invoking (fewer, fuller invocations)."
  type        = number
  default     = 10
}

variable "max_concurrency" {
  description = "Maximum concurrent invocations the event source mapping starts (2-1000)."
  type        = number
  default     = 10
}

variable "flush_schedule_expression" {
  description = "EventBridge schedule of the flush function."
  type        = string
  default     = "rate(5 minutes)"
}

variable "log_retention_days" {
  description = "Retention of the functions' log groups."
  type        = number
  default     = 30
}

variable "log_level" {
  description = "Powertools log level."
  type        = string
  default     = "INFO"
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the log groups."
  type        = string
}

# Settings read by the handler (names in ndjson_parquet.common.settings.Env).
variable "tracking_table_name" {
  description = "TRACKING_TABLE."
  type        = string
}

variable "manifest_bucket_name" {
  description = "MANIFEST_BUCKET."
  type        = string
}

variable "manifest_prefix" {
  description = "MANIFEST_PREFIX: key prefix of the manifest documents."
  type        = string
  default     = "manifests"
}

variable "step_function_arn" {
  description = "STEP_FUNCTION_ARN: the workflow started per manifest; empty disables starting (rollback)."
  type        = string
  default     = ""
}

variable "input_prefix" {
  description = "INPUT_PREFIX: only keys under this prefix are input."
  type        = string
  default     = ""
}

variable "input_suffixes" {
  description = "INPUT_SUFFIXES: accepted key endings (empty: the handler's defaults)."
  type        = list(string)
  default     = []
}

variable "date_prefix_pattern" {
  description = "DATE_PREFIX_PATTERN: regex with (?P<year>)(?P<month>)(?P<day>) or (?P<date>) groups (empty: the handler's default)."
  type        = string
  default     = ""
}

variable "max_files_per_manifest" {
  description = "MAX_FILES_PER_MANIFEST."
  type        = number
  default     = 2000
}

variable "max_bytes_per_manifest" {
  description = "MAX_BYTES_PER_MANIFEST."
  type        = number
  default     = 700000000
}

variable "max_wait_seconds" {
  description = "MAX_WAIT_SECONDS: a batch older than this is flushed even if small."
  type        = number
  default     = 900
}

variable "lock_ttl_seconds" {
  description = "LOCK_TTL_SECONDS: lease of the per-date-prefix manifest lock."
  type        = number
  default     = 120
}

variable "service_name" {
  description = "POWERTOOLS_SERVICE_NAME."
  type        = string
  default     = "ndjson-parquet-manifest-builder"
}

variable "metrics_namespace" {
  description = "POWERTOOLS_METRICS_NAMESPACE."
  type        = string
  default     = "NdjsonParquet"
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}

variable "max_concurrent_runs" {
  description = "MAX_CONCURRENT_RUNS: conversion slots; must be the Glue job's max_concurrent_runs."
  type        = number
  default     = 10
}

variable "admit_on_execution_end" {
  description = "Invoke the flush function on the state machine's execution status changes (set when step_function_arn is)."
  type        = bool
  default     = false
}
