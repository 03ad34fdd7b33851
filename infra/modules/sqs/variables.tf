variable "queue_name" {
  description = "Name of the queue that receives the input bucket's notifications."
  type        = string
}

variable "dead_letter_queue_name" {
  description = "Name of the dead-letter queue."
  type        = string
}

variable "source_bucket_arn" {
  description = "ARN of the bucket allowed to send notifications to the queue."
  type        = string
}

variable "consumer_timeout_seconds" {
  description = "Timeout of the Lambda function that consumes the queue."
  type        = number
}

variable "consumer_batching_window_seconds" {
  description = "Maximum batching window of the consumer's event source mapping."
  type        = number
  default     = 0
}

variable "visibility_timeout_multiplier" {
  description = "Visibility timeout as a multiple of the consumer's timeout (AWS recommends at least 6)."
  type        = number
  default     = 6

  validation {
    condition     = var.visibility_timeout_multiplier >= 6
    error_message = "The visibility timeout must be at least 6 times the Lambda timeout."
  }
}

variable "max_receive_count" {
  description = "Receives before a message moves to the dead-letter queue."
  type        = number
  default     = 5
}

variable "message_retention_seconds" {
  description = "How long the queue keeps an unprocessed message."
  type        = number
  default     = 345600 # 4 days
}

variable "dead_letter_retention_seconds" {
  description = "How long the dead-letter queue keeps a message (the maximum, for investigation)."
  type        = number
  default     = 1209600 # 14 days
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
