variable "bucket_names" {
  description = "Bucket name per role: input, manifests, output, quarantine, artifacts."
  type        = map(string)

  validation {
    condition     = toset(keys(var.bucket_names)) == toset(["input", "manifests", "output", "quarantine", "artifacts"])
    error_message = "bucket_names needs exactly the keys input, manifests, output, quarantine, artifacts."
  }
}

variable "input_prefix" {
  description = "Key prefix under which new input objects are announced to the queue (empty: the whole bucket)."
  type        = string
  default     = ""
}

variable "notification_queue_arn" {
  description = "SQS queue that receives the input bucket's ObjectCreated notifications."
  type        = string
}

variable "input_expiration_days" {
  description = "Delete input objects this many days after upload (0 keeps them)."
  type        = number
  default     = 0
}

variable "manifest_expiration_days" {
  description = "Delete manifest documents this many days after creation (0 keeps them)."
  type        = number
  default     = 365
}

variable "quarantine_expiration_days" {
  description = "Delete quarantined lines this many days after they were written (0 keeps them)."
  type        = number
  default     = 90
}

variable "noncurrent_version_expiration_days" {
  description = "Days a replaced or deleted object version is kept before S3 removes it."
  type        = number
  default     = 30
}

variable "glue_temp_prefix" {
  description = "Prefix in the artifacts bucket used as the Glue job's temporary directory (expired after a week)."
  type        = string
  default     = "glue-temp/"
}

variable "force_destroy" {
  description = "Allow terraform destroy to delete non-empty buckets (dev only)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
