variable "endpoint_url" {
  description = "The emulator's HTTPS endpoint, e.g. https://127.0.0.1:4566 (ndjson-parquet local run sets it)."
  type        = string
}

variable "ca_bundle" {
  description = "PEM file of the emulator's certificate (ndjson-parquet local run writes it)."
  type        = string
}

variable "region" {
  description = "Region the emulator answers for."
  type        = string
  default     = "us-east-1"
}

variable "environment" {
  description = "Last part of every resource name."
  type        = string
  default     = "local"
}

variable "max_files_per_manifest" {
  description = "A manifest is cut when a date prefix has this many pending files."
  type        = number
  default     = 10
}

variable "max_bytes_per_manifest" {
  description = "A manifest is cut when a date prefix's pending files add up to this many bytes."
  type        = number
  default     = 700000000
}

variable "max_wait_seconds" {
  description = "A date prefix's pending files are flushed after waiting this long."
  type        = number
  default     = 3
}

variable "lambda_package_path" {
  description = "Manifest builder zip (ndjson-parquet local run builds it)."
  type        = string
}

variable "converter_wheel_path" {
  description = "Converter wheel (ndjson-parquet local run builds it)."
  type        = string
}

variable "common_wheel_path" {
  description = "Common wheel (ndjson-parquet local run builds it)."
  type        = string
}

variable "glue_script_path" {
  description = "Glue entrypoint (ndjson-parquet local run passes the installed converter's)."
  type        = string
}
