variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "us-east-1"
}

variable "bucket_suffix" {
  description = "Appended to bucket names, which are global (e.g. the account id)."
  type        = string
  default     = ""
}

variable "alert_email_addresses" {
  description = "E-mail addresses subscribed to the alerts topic."
  type        = list(string)
  default     = []
}

variable "start_workflow" {
  description = "false sets STEP_FUNCTION_ARN empty: manifests are still cut, no workflow starts (rollback)."
  type        = bool
  default     = true
}

variable "lambda_package_path" {
  description = "Manifest builder zip (empty: <repo>/dist/manifest_builder_lambda.zip)."
  type        = string
  default     = ""
}

variable "converter_wheel_path" {
  description = "Converter wheel (empty: the one in <repo>/dist)."
  type        = string
  default     = ""
}

variable "common_wheel_path" {
  description = "Common wheel (empty: the one in <repo>/dist)."
  type        = string
  default     = ""
}

variable "output_format" {
  description = "parquet (folders) or iceberg (a table in the Glue Data Catalog, one snapshot per manifest)."
  type        = string
  default     = "parquet"
}
