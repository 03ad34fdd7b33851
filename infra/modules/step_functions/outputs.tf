output "state_machine_arn" {
  description = "ARN of the state machine."
  value       = aws_sfn_state_machine.processor.arn
}

output "state_machine_name" {
  description = "Name of the state machine."
  value       = aws_sfn_state_machine.processor.name
}

output "log_group_name" {
  description = "Log group of the execution history."
  value       = aws_cloudwatch_log_group.executions.name
}
