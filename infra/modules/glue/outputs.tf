output "job_name" {
  description = "Name of the converter job."
  value       = aws_glue_job.converter.name
}

output "job_arn" {
  description = "ARN of the converter job."
  value       = aws_glue_job.converter.arn
}

output "log_group_prefix" {
  description = "Prefix of the job's log groups (<prefix>/output, <prefix>/error)."
  value       = local.log_group_prefix
}

output "default_arguments" {
  description = "Default arguments of every run."
  value       = aws_glue_job.converter.default_arguments
}

output "iceberg_table" {
  description = "database.table of the Iceberg output (null with output_format = parquet)."
  value       = local.iceberg ? local.iceberg_table : null
}

output "converter_arguments" {
  description = "The converter's own default arguments (--OUTPUT_URI, ...), without Glue's."
  value       = local.converter_arguments
}
