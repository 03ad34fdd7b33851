variable "table_name" {
  description = "Name of the tracking table."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the table."
  type        = string
}

variable "deletion_protection" {
  description = "Refuse to delete the table (turn off only for throwaway environments)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
