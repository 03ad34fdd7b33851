output "bucket_names" {
  description = "Bucket name per role (input, manifests, output, quarantine, artifacts)."
  value       = { for role, bucket in aws_s3_bucket.this : role => bucket.id }
}

output "bucket_arns" {
  description = "Bucket ARN per role."
  value       = { for role, bucket in aws_s3_bucket.this : role => bucket.arn }
}

output "input_bucket_arn" {
  description = "ARN of the input bucket (the queue policy allows it to send)."
  value       = aws_s3_bucket.this["input"].arn
}
