output "builder_role_arn" {
  description = "Role of the manifest builder function."
  value       = aws_iam_role.builder.arn
}

output "flush_role_arn" {
  description = "Role of the flush function."
  value       = aws_iam_role.flush.arn
}

output "glue_role_arn" {
  description = "Role of the converter job."
  value       = aws_iam_role.glue.arn
}

output "state_machine_role_arn" {
  description = "Role of the state machine."
  value       = aws_iam_role.state_machine.arn
}
