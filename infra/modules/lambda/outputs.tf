output "builder_function_name" {
  description = "Name of the manifest builder function."
  value       = aws_lambda_function.builder.function_name
}

output "builder_function_arn" {
  description = "ARN of the manifest builder function."
  value       = aws_lambda_function.builder.arn
}

output "flush_function_name" {
  description = "Name of the flush function."
  value       = aws_lambda_function.flush.function_name
}

output "flush_function_arn" {
  description = "ARN of the flush function."
  value       = aws_lambda_function.flush.arn
}

output "environment" {
  description = "The settings both functions run with."
  value       = local.environment
}
