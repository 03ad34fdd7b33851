# Production: retention, protection and capacity. Everything else comes from modules/pipeline.

provider "aws" {
  region = var.region
}

module "pipeline" {
  source = "../../modules/pipeline"

  environment   = "prod"
  bucket_suffix = var.bucket_suffix

  lambda_package_path  = var.lambda_package_path
  converter_wheel_path = var.converter_wheel_path
  common_wheel_path    = var.common_wheel_path
  start_workflow       = var.start_workflow
  output_format        = var.output_format

  # Small manifests convert in Lambda (build dist/converter_lambda.zip; see packages/converter).
  lambda_conversion = true

  max_files_per_manifest = 2000
  max_bytes_per_manifest = 700000000
  max_wait_seconds       = 900
  lambda_max_concurrency = 10

  glue_number_of_workers   = 2
  glue_max_concurrent_runs = 10
  state_machine_log_level  = "ERROR"
  log_level                = "INFO"

  log_retention_days         = 365
  input_expiration_days      = 0
  manifest_expiration_days   = 400
  quarantine_expiration_days = 400
  force_destroy_buckets      = false
  table_deletion_protection  = true

  alert_email_addresses = var.alert_email_addresses
}
