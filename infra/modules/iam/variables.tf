variable "builder_function_name" {
  description = "Manifest builder function (its role has the same name)."
  type        = string
}

variable "flush_function_name" {
  description = "Flush function (its role has the same name)."
  type        = string
}

variable "glue_job_name" {
  description = "Converter job (its role has the same name; the workflow may run only this job)."
  type        = string
}

variable "state_machine_name" {
  description = "State machine (its role has the same name; the functions may start only this one)."
  type        = string
}

variable "tracking_table_arn" {
  description = "ARN of the tracking table."
  type        = string
}

variable "queue_arn" {
  description = "ARN of the event queue the manifest builder consumes."
  type        = string
}

variable "bucket_arns" {
  description = "Bucket ARN per role: input, manifests, output, quarantine, artifacts."
  type        = map(string)
}

variable "input_prefix" {
  description = "Key prefix of the input objects (the job reads only these)."
  type        = string
  default     = ""
}

variable "manifest_prefix" {
  description = "Key prefix of the manifest documents."
  type        = string
  default     = "manifests"
}

variable "artifacts_prefix" {
  description = "Key prefix of the Glue script and wheels in the artifacts bucket."
  type        = string
  default     = "glue"
}

variable "glue_temp_prefix" {
  description = "Key prefix of the Glue temporary directory in the artifacts bucket."
  type        = string
  default     = "glue-temp/"
}

variable "iceberg_database_name" {
  description = "Glue database of the Iceberg output; empty when the output is Parquet folders (no Glue Data Catalog access then)."
  type        = string
  default     = ""
}

variable "iceberg_table_name" {
  description = "Iceberg table the converter may create, read and commit to."
  type        = string
  default     = "events"
}

variable "alerts_topic_arn" {
  description = "ARN of the alerts topic."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key of the table, topic, logs and Glue security configuration."
  type        = string
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}

variable "converter_function_name" {
  description = "Converter Lambda function the state machine may invoke (small manifests)."
  type        = string
  default     = ""
}
