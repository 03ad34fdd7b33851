output "step_function_arn" {
  description = "ARN of the workflow state machine."
  value       = module.pipeline.step_function_arn
}

output "step_function_name" {
  description = "Name of the workflow state machine."
  value       = module.pipeline.step_function_name
}

output "bucket_names" {
  description = "Bucket name per role."
  value       = module.pipeline.bucket_names
}

output "tracking_table_name" {
  description = "Name of the tracking table."
  value       = module.pipeline.tracking_table_name
}

output "queue_url" {
  description = "URL of the event queue."
  value       = module.pipeline.queue_url
}

output "dead_letter_queue_url" {
  description = "URL of the dead-letter queue."
  value       = module.pipeline.dead_letter_queue_url
}

output "glue_job_name" {
  description = "Name of the converter job."
  value       = module.pipeline.glue_job_name
}

output "manifest_builder_function_name" {
  description = "Name of the manifest builder function."
  value       = module.pipeline.manifest_builder_function_name
}

output "alerts_topic_arn" {
  description = "ARN of the alerts topic."
  value       = module.pipeline.alerts_topic_arn
}

output "kms_key_arn" {
  description = "ARN of the environment's KMS key (table, logs, alerts topic)."
  value       = module.pipeline.kms_key_arn
}

output "flush_function_name" {
  description = "Name of the flush function."
  value       = module.pipeline.flush_function_name
}
