variable "state_machine_name" {
  description = "Name of the state machine."
  type        = string
}

variable "role_arn" {
  description = "Role the state machine runs as."
  type        = string
}

variable "tracking_table_name" {
  description = "Tracking table whose manifest items the workflow updates."
  type        = string
}

variable "glue_job_name" {
  description = "Converter job the workflow runs (glue:startJobRun.sync)."
  type        = string
}

variable "alerts_topic_arn" {
  description = "Topic the workflow publishes a failure to."
  type        = string
}

variable "log_level" {
  description = "Execution history sent to CloudWatch Logs: ALL, ERROR, FATAL or OFF."
  type        = string
  default     = "ERROR"

  validation {
    condition     = contains(["ALL", "ERROR", "FATAL", "OFF"], var.log_level)
    error_message = "log_level must be ALL, ERROR, FATAL or OFF."
  }
}

variable "include_execution_data" {
  description = "Log the input and output of each state (manifest paths and ids; no file content)."
  type        = bool
  default     = true
}

variable "log_retention_days" {
  description = "Retention of the execution log group."
  type        = number
  default     = 30
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the log group."
  type        = string
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}

variable "converter_function_name" {
  description = "Converter Lambda function for small manifests; empty converts every manifest in Glue."
  type        = string
  default     = ""
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
