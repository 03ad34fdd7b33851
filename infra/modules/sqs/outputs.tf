output "queue_arn" {
  description = "ARN of the event queue; available once its policy lets the bucket send (S3 checks that when the notification is saved)."
  value       = aws_sqs_queue.events.arn
  depends_on  = [aws_sqs_queue_policy.events]
}

output "queue_url" {
  description = "URL of the event queue."
  value       = aws_sqs_queue.events.id
}

output "queue_name" {
  description = "Name of the event queue."
  value       = aws_sqs_queue.events.name
}

output "dead_letter_queue_arn" {
  description = "ARN of the dead-letter queue."
  value       = aws_sqs_queue.dead_letter.arn
}

output "dead_letter_queue_url" {
  description = "URL of the dead-letter queue."
  value       = aws_sqs_queue.dead_letter.id
}

output "dead_letter_queue_name" {
  description = "Name of the dead-letter queue."
  value       = aws_sqs_queue.dead_letter.name
}
