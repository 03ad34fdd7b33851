output "function_name" {
  description = "Name of the converter function."
  value       = aws_lambda_function.converter.function_name
}

output "function_arn" {
  description = "ARN of the converter function."
  value       = aws_lambda_function.converter.arn
}

output "role_arn" {
  description = "Role of the converter function."
  value       = aws_iam_role.converter.arn
}
