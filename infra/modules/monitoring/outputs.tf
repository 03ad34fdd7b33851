output "alerts_topic_arn" {
  description = "ARN of the alerts topic."
  value       = aws_sns_topic.alerts.arn
}

output "alarm_names" {
  description = "Names of the alarms."
  value = concat(
    [
      aws_cloudwatch_metric_alarm.dead_letter_not_empty.alarm_name,
      aws_cloudwatch_metric_alarm.oldest_message_age.alarm_name,
      aws_cloudwatch_metric_alarm.executions_failed.alarm_name,
      aws_cloudwatch_metric_alarm.executions_timed_out.alarm_name,
    ],
    [for alarm in aws_cloudwatch_metric_alarm.lambda_errors : alarm.alarm_name],
  )
}
