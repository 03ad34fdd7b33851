variable "alerts_topic_name" {
  description = "Name of the SNS topic that receives workflow failures and alarms."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the topic (its policy must let CloudWatch alarms use it)."
  type        = string
}

variable "alarm_name_prefix" {
  description = "Prefix of every alarm name (e.g. ndjson-parquet-dev)."
  type        = string
}

variable "alert_email_addresses" {
  description = "E-mail addresses subscribed to the alerts topic (each must confirm)."
  type        = list(string)
  default     = []
}

variable "queue_name" {
  description = "Name of the event queue (age of its oldest message is watched)."
  type        = string
}

variable "dead_letter_queue_name" {
  description = "Name of the dead-letter queue (any message in it raises an alarm)."
  type        = string
}

variable "state_machine_arn" {
  description = "ARN of the state machine whose failed executions raise an alarm."
  type        = string
}

variable "lambda_function_names" {
  description = "Functions whose errors raise an alarm, by short label (e.g. builder, flush)."
  type        = map(string)
}

variable "max_message_age_seconds" {
  description = "Alarm when the oldest message in the event queue is older than this."
  type        = number
  default     = 1800
}

variable "alarm_period_seconds" {
  description = "Period over which each alarm metric is aggregated."
  type        = number
  default     = 300
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
