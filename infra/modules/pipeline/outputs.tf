output "step_function_arn" {
  description = "ARN of the workflow state machine."
  value       = module.step_functions.state_machine_arn
}

output "step_function_name" {
  description = "Name of the workflow state machine."
  value       = module.step_functions.state_machine_name
}

output "bucket_names" {
  description = "Bucket name per role (input, manifests, output, quarantine, artifacts)."
  value       = module.s3.bucket_names
}

output "input_bucket" {
  description = "Bucket that producers write NDJSON to."
  value       = module.s3.bucket_names["input"]
}

output "output_bucket" {
  description = "Bucket holding the Parquet output."
  value       = module.s3.bucket_names["output"]
}

output "tracking_table_name" {
  description = "Name of the tracking table."
  value       = module.dynamodb.table_name
}

output "queue_url" {
  description = "URL of the event queue."
  value       = module.sqs.queue_url
}

output "dead_letter_queue_url" {
  description = "URL of the dead-letter queue."
  value       = module.sqs.dead_letter_queue_url
}

output "glue_job_name" {
  description = "Name of the converter job."
  value       = module.glue.job_name
}

output "manifest_builder_function_name" {
  description = "Name of the manifest builder function."
  value       = module.lambda.builder_function_name
}

output "flush_function_name" {
  description = "Name of the flush function."
  value       = module.lambda.flush_function_name
}

output "alerts_topic_arn" {
  description = "ARN of the alerts topic."
  value       = module.monitoring.alerts_topic_arn
}

output "kms_key_arn" {
  description = "ARN of the deployment's KMS key."
  value       = module.kms.key_arn
}

output "iceberg_table" {
  description = "database.table of the Iceberg output in the Glue Data Catalog (null with output_format = parquet)."
  value       = module.glue.iceberg_table
}
