# Development: small, cheap, disposable. Everything else comes from modules/pipeline.

provider "aws" {
  region = var.region
}

module "pipeline" {
  source = "../../modules/pipeline"

  environment   = "dev"
  bucket_suffix = var.bucket_suffix

  lambda_package_path  = var.lambda_package_path
  converter_wheel_path = var.converter_wheel_path
  common_wheel_path    = var.common_wheel_path
  start_workflow       = var.start_workflow
  output_format        = var.output_format

  # Small manifests convert in Lambda (build dist/converter_lambda.zip; see packages/converter).
  lambda_conversion = true

  # Small manifests and a short wait, so a test upload is converted within minutes.
  max_files_per_manifest = 50
  max_wait_seconds       = 300
  lambda_max_concurrency = 2

  glue_number_of_workers   = 2
  glue_max_concurrent_runs = 3
  state_machine_log_level  = "ALL"
  log_level                = "DEBUG"

  log_retention_days         = 14
  input_expiration_days      = 30
  manifest_expiration_days   = 30
  quarantine_expiration_days = 30
  force_destroy_buckets      = true
  table_deletion_protection  = false

  alert_email_addresses = var.alert_email_addresses
}
