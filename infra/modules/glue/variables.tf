variable "job_name" {
  description = "Name of the converter Glue job."
  type        = string
}

variable "role_arn" {
  description = "Role the job runs as."
  type        = string
}

variable "artifacts_bucket_name" {
  description = "Bucket receiving the script and the wheels."
  type        = string
}

variable "artifacts_prefix" {
  description = "Key prefix of the script and the wheels in the artifacts bucket."
  type        = string
  default     = "glue"
}

variable "temp_dir_prefix" {
  description = "Key prefix of the job's temporary directory in the artifacts bucket."
  type        = string
  default     = "glue-temp/"
}

variable "script_path" {
  description = "Local path of the Glue entrypoint script (packages/converter/src/ndjson_parquet/converter/glue_script.py)."
  type        = string
}

variable "converter_wheel_path" {
  description = "Local path of the converter wheel."
  type        = string
}

variable "common_wheel_path" {
  description = "Local path of the common wheel (a dependency of the converter)."
  type        = string
}

variable "output_uri" {
  description = "--OUTPUT_URI: where Parquet is written (s3://bucket/prefix)."
  type        = string
}

variable "quarantine_uri" {
  description = "--QUARANTINE_URI: where rejected lines are written with their file and line number."
  type        = string
}

variable "compression" {
  description = "--COMPRESSION: Parquet codec."
  type        = string
  default     = "zstd"
}

variable "output_format" {
  description = "--OUTPUT_FORMAT: parquet folders, or iceberg (one snapshot per manifest in the Glue Data Catalog)."
  type        = string
  default     = "parquet"
}

variable "glue_database_name" {
  description = "Glue database of the Iceberg table (created here with output_format = iceberg; its location is output_uri, the warehouse)."
  type        = string
}

variable "iceberg_table_name" {
  description = "Iceberg table in that database; the first run creates it from its data's schema."
  type        = string
  default     = "events"
}

variable "pyiceberg_requirement" {
  description = "pip requirement for pyiceberg, added to --additional-python-modules with output_format = iceberg."
  type        = string
  default     = "pyiceberg>=0.12.0"
}

variable "extra_arguments" {
  description = "Further default arguments (e.g. --PARTITION_BY, --MAX_ERROR_RATE), merged over the defaults."
  type        = map(string)
  default     = {}
}

variable "glue_version" {
  description = "Glue version (5.x runs Python 3.11 on Amazon Linux 2023, which the pyarrow wheels need)."
  type        = string
  default     = "5.0"

  validation {
    condition     = startswith(var.glue_version, "5.")
    error_message = "The converter needs Glue 5.x (Python 3.11, glibc 2.34)."
  }
}

variable "worker_type" {
  description = "Worker type (G.1X = 1 DPU)."
  type        = string
  default     = "G.1X"
}

variable "number_of_workers" {
  description = "Workers per run (Spark jobs need at least 2)."
  type        = number
  default     = 2
}

variable "max_concurrent_runs" {
  description = "Runs at the same time; beyond it StartJobRun fails with ConcurrentRunsExceededException, which the workflow retries."
  type        = number
  default     = 10
}

variable "timeout_minutes" {
  description = "A run taking longer is stopped (and fails its execution)."
  type        = number
  default     = 60
}

variable "kms_key_arn" {
  description = "Key of the security configuration (log and bookmark encryption)."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the job's log groups."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
