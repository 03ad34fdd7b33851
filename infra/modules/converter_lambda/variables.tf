variable "function_name" {
  description = "Name of the converter function."
  type        = string
}

variable "package_path" {
  description = "Deployment zip (python -m ndjson_parquet.converter.package)."
  type        = string
}

variable "layer_arns" {
  description = "Layers the zip relies on (the AWS SDK for pandas layer, which ships pyarrow)."
  type        = list(string)
  default     = []
}

variable "converter_arguments" {
  description = "The converter's default arguments (--OUTPUT_URI, ...), the Glue job's."
  type        = map(string)
}

variable "runtime" {
  description = "Python runtime (the layer's and the zip's)."
  type        = string
  default     = "python3.11"
}

variable "architecture" {
  description = "x86_64 or arm64 (the layer's and the zip's)."
  type        = string
  default     = "x86_64"
}

variable "memory_mb" {
  description = "Memory; 1769 MB is one vCPU. The converter peaks at about 0.6 GB."
  type        = number
  default     = 2048
}

variable "timeout_seconds" {
  description = "Timeout (at most 900); past it the workflow converts the manifest in Glue."
  type        = number
  default     = 900

  validation {
    condition     = var.timeout_seconds >= 1 && var.timeout_seconds <= 900
    error_message = "timeout_seconds must be 1..900 (Lambda's limit)."
  }
}

variable "ephemeral_storage_mb" {
  description = "/tmp size (512-10240 MB): the converter's work folder."
  type        = number
  default     = 2048
}

variable "reserved_concurrency" {
  description = "Concurrent conversions at most (the admission control's slots bound them too)."
  type        = number
  default     = -1
}

variable "bucket_arns" {
  description = "ARNs of the input, manifests, output and quarantine buckets."
  type        = map(string)
}

variable "input_prefix" {
  description = "Prefix of the input objects."
  type        = string
  default     = ""
}

variable "manifest_prefix" {
  description = "Prefix of the manifests."
  type        = string
  default     = "manifests/"
}

variable "iceberg_database_name" {
  description = "Glue database of the Iceberg output; empty with Parquet output."
  type        = string
  default     = ""
}

variable "iceberg_table_name" {
  description = "Iceberg table name."
  type        = string
  default     = ""
}

variable "kms_key_arn" {
  description = "Key that encrypts the log group."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the function's log group."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
