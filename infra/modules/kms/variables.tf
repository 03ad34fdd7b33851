variable "alias_name" {
  description = "Alias of the key, without the alias/ prefix (e.g. ndjson-parquet-dev)."
  type        = string
}

variable "log_group_name_patterns" {
  description = "Log group name patterns (may end in *) whose events CloudWatch Logs may encrypt with the key."
  type        = list(string)
}

variable "deletion_window_in_days" {
  description = "Waiting period before a deleted key is destroyed."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
