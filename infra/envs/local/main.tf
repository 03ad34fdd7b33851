# Local: the same pipeline on the emulated AWS that `ndjson-parquet local run --terraform` starts.
# Only the provider's endpoints and the settings below differ from dev and prod.

provider "aws" {
  region = var.region

  # The emulator accepts any credentials (the command sets them in the environment) and has no
  # account or metadata service to ask.
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  skip_requesting_account_id  = true

  # The emulator serves HTTPS (the buckets' policies deny plain HTTP) with a certificate made
  # for the run; ca_bundle is its path.
  custom_ca_bundle  = var.ca_bundle
  s3_use_path_style = true

  endpoints {
    cloudwatch     = var.endpoint_url
    cloudwatchlogs = var.endpoint_url
    dynamodb       = var.endpoint_url
    events         = var.endpoint_url
    glue           = var.endpoint_url
    iam            = var.endpoint_url
    kms            = var.endpoint_url
    lambda         = var.endpoint_url
    s3             = var.endpoint_url
    sfn            = var.endpoint_url
    sns            = var.endpoint_url
    sqs            = var.endpoint_url
    # aws_caller_identity asks STS even with the skip flags above.
    sts = var.endpoint_url
  }
}

module "pipeline" {
  source = "../../modules/pipeline"

  environment   = var.environment
  bucket_suffix = ""

  lambda_package_path  = var.lambda_package_path
  converter_wheel_path = var.converter_wheel_path
  common_wheel_path    = var.common_wheel_path
  glue_script_path     = var.glue_script_path
  start_workflow       = true

  # Small manifests and short waits, so that a sample is converted within seconds.
  max_files_per_manifest         = var.max_files_per_manifest
  max_bytes_per_manifest         = var.max_bytes_per_manifest
  max_wait_seconds               = var.max_wait_seconds
  lock_ttl_seconds               = 30
  max_receive_count              = 3
  lambda_batch_size              = 10
  lambda_batching_window_seconds = 1
  lambda_max_concurrency         = 2
  flush_schedule_expression      = "rate(1 minute)"

  glue_number_of_workers   = 2
  glue_max_concurrent_runs = 10
  state_machine_log_level  = "ALL"
  log_level                = "INFO"

  log_retention_days         = 1
  input_expiration_days      = 1
  manifest_expiration_days   = 1
  quarantine_expiration_days = 1
  force_destroy_buckets      = true
  table_deletion_protection  = false
}
