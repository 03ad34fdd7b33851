# The whole pipeline for one environment. infra/envs/<env> call this module with their settings;
# no environment has logic of its own.

locals {
  # Same pattern as ndjson_parquet.common.ResourceNames: <project>-<part>-<environment>, buckets
  # with an optional -<suffix>.
  bucket_suffix = var.bucket_suffix == "" ? "" : "-${var.bucket_suffix}"
  names = {
    input_bucket      = "${var.project}-input-${var.environment}${local.bucket_suffix}"
    manifest_bucket   = "${var.project}-manifests-${var.environment}${local.bucket_suffix}"
    output_bucket     = "${var.project}-output-${var.environment}${local.bucket_suffix}"
    quarantine_bucket = "${var.project}-quarantine-${var.environment}${local.bucket_suffix}"
    artifacts_bucket  = "${var.project}-artifacts-${var.environment}${local.bucket_suffix}"
    tracking_table    = "${var.project}-tracking-${var.environment}"
    queue             = "${var.project}-events-${var.environment}"
    dead_letter_queue = "${var.project}-events-dlq-${var.environment}"
    builder_function  = "${var.project}-manifest-builder-${var.environment}"
    flush_function    = "${var.project}-manifest-flush-${var.environment}"
    glue_job          = "${var.project}-converter-${var.environment}"
    converter_lambda  = "${var.project}-converter-fn-${var.environment}"
    state_machine     = "${var.project}-processor-${var.environment}"
    alerts_topic      = "${var.project}-alerts-${var.environment}"
    kms_alias         = "${var.project}-${var.environment}"
    # Glue names: lowercase, no hyphens (ndjson_parquet.common.ResourceNames.glue_database).
    glue_database = replace(lower("${var.project}_${var.environment}"), "-", "_")
  }
  iceberg = var.output_format == "iceberg"

  tags = merge(
    {
      Project     = var.project
      Environment = var.environment
      ManagedBy   = "terraform"
    },
    var.tags,
  )

  repo_root                     = abspath("${path.module}/../../..")
  dist_dir                      = "${local.repo_root}/dist"
  converter_wheels              = sort(fileset(local.dist_dir, "ndjson_parquet_converter-*.whl"))
  common_wheels                 = sort(fileset(local.dist_dir, "ndjson_parquet_common-*.whl"))
  lambda_package_path           = var.lambda_package_path != "" ? var.lambda_package_path : "${local.dist_dir}/manifest_builder_lambda.zip"
  converter_lambda_package_path = var.converter_lambda_package_path != "" ? var.converter_lambda_package_path : "${local.dist_dir}/converter_lambda.zip"
  glue_script_path              = var.glue_script_path != "" ? var.glue_script_path : "${local.repo_root}/packages/converter/src/ndjson_parquet/converter/glue_script.py"
  converter_wheel_path          = var.converter_wheel_path != "" ? var.converter_wheel_path : "${local.dist_dir}/${one(local.converter_wheels)}"
  common_wheel_path             = var.common_wheel_path != "" ? var.common_wheel_path : "${local.dist_dir}/${one(local.common_wheels)}"

  glue_temp_prefix = "glue-temp/"
  artifacts_prefix = "glue"
}

module "kms" {
  source = "../kms"

  alias_name = local.names.kms_alias
  log_group_name_patterns = [
    "/aws/lambda/${local.names.builder_function}",
    "/aws/lambda/${local.names.flush_function}",
    "/aws/lambda/${local.names.converter_lambda}",
    "/aws/vendedlogs/states/${local.names.state_machine}",
    "/aws-glue/*",
  ]
  tags = local.tags
}

module "s3" {
  source = "../s3"

  bucket_names = {
    input      = local.names.input_bucket
    manifests  = local.names.manifest_bucket
    output     = local.names.output_bucket
    quarantine = local.names.quarantine_bucket
    artifacts  = local.names.artifacts_bucket
  }
  input_prefix                       = var.input_prefix
  notification_queue_arn             = module.sqs.queue_arn
  input_expiration_days              = var.input_expiration_days
  manifest_expiration_days           = var.manifest_expiration_days
  quarantine_expiration_days         = var.quarantine_expiration_days
  noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
  glue_temp_prefix                   = local.glue_temp_prefix
  force_destroy                      = var.force_destroy_buckets
  tags                               = local.tags
}

module "sqs" {
  source = "../sqs"

  queue_name                       = local.names.queue
  dead_letter_queue_name           = local.names.dead_letter_queue
  source_bucket_arn                = module.s3.input_bucket_arn
  consumer_timeout_seconds         = var.lambda_timeout_seconds
  consumer_batching_window_seconds = var.lambda_batching_window_seconds
  max_receive_count                = var.max_receive_count
  tags                             = local.tags
}

module "dynamodb" {
  source = "../dynamodb"

  table_name          = local.names.tracking_table
  kms_key_arn         = module.kms.key_arn
  deletion_protection = var.table_deletion_protection
  tags                = local.tags
}

module "iam" {
  source = "../iam"

  builder_function_name   = local.names.builder_function
  flush_function_name     = local.names.flush_function
  glue_job_name           = local.names.glue_job
  converter_function_name = local.names.converter_lambda
  state_machine_name      = local.names.state_machine
  tracking_table_arn      = module.dynamodb.table_arn
  queue_arn               = module.sqs.queue_arn
  bucket_arns             = module.s3.bucket_arns
  input_prefix            = var.input_prefix
  manifest_prefix         = var.manifest_prefix
  artifacts_prefix        = local.artifacts_prefix
  glue_temp_prefix        = local.glue_temp_prefix
  iceberg_database_name   = local.iceberg ? local.names.glue_database : ""
  iceberg_table_name      = var.iceberg_table_name
  alerts_topic_arn        = module.monitoring.alerts_topic_arn
  kms_key_arn             = module.kms.key_arn
  tags                    = local.tags
}

module "glue" {
  source = "../glue"

  job_name              = local.names.glue_job
  role_arn              = module.iam.glue_role_arn
  artifacts_bucket_name = module.s3.bucket_names["artifacts"]
  artifacts_prefix      = local.artifacts_prefix
  temp_dir_prefix       = local.glue_temp_prefix
  script_path           = local.glue_script_path
  converter_wheel_path  = local.converter_wheel_path
  common_wheel_path     = local.common_wheel_path
  output_uri            = "s3://${module.s3.bucket_names["output"]}/${var.output_prefix}"
  quarantine_uri        = "s3://${module.s3.bucket_names["quarantine"]}/${var.quarantine_prefix}"
  compression           = var.parquet_compression
  output_format         = var.output_format
  glue_database_name    = local.names.glue_database
  iceberg_table_name    = var.iceberg_table_name
  pyiceberg_requirement = var.pyiceberg_requirement
  extra_arguments       = var.glue_extra_arguments
  worker_type           = var.glue_worker_type
  number_of_workers     = var.glue_number_of_workers
  max_concurrent_runs   = var.glue_max_concurrent_runs
  timeout_minutes       = var.glue_timeout_minutes
  kms_key_arn           = module.kms.key_arn
  log_retention_days    = var.log_retention_days
  tags                  = local.tags
}

module "step_functions" {
  source = "../step_functions"

  state_machine_name      = local.names.state_machine
  role_arn                = module.iam.state_machine_role_arn
  tracking_table_name     = module.dynamodb.table_name
  glue_job_name           = module.glue.job_name
  alerts_topic_arn        = module.monitoring.alerts_topic_arn
  converter_function_name = var.lambda_conversion ? module.converter_lambda[0].function_name : ""
  lambda_max_bytes        = var.lambda_max_bytes
  lambda_max_files        = var.lambda_max_files
  log_level               = var.state_machine_log_level
  log_retention_days      = var.log_retention_days
  kms_key_arn             = module.kms.key_arn
  tags                    = local.tags

  # The role's policy must be in place before the first execution can use it.
  depends_on = [module.iam]
}

# Small manifests convert in this function, the others in the Glue job (the workflow chooses).
module "converter_lambda" {
  source = "../converter_lambda"
  count  = var.lambda_conversion ? 1 : 0

  function_name         = local.names.converter_lambda
  package_path          = local.converter_lambda_package_path
  layer_arns            = var.converter_lambda_layer_arns
  converter_arguments   = module.glue.converter_arguments
  runtime               = var.converter_lambda_runtime
  architecture          = var.lambda_architecture
  memory_mb             = var.converter_lambda_memory_mb
  timeout_seconds       = var.converter_lambda_timeout_seconds
  ephemeral_storage_mb  = var.converter_lambda_ephemeral_storage_mb
  reserved_concurrency  = var.glue_max_concurrent_runs
  bucket_arns           = module.s3.bucket_arns
  input_prefix          = var.input_prefix
  manifest_prefix       = var.manifest_prefix
  iceberg_database_name = local.iceberg ? local.names.glue_database : ""
  iceberg_table_name    = var.iceberg_table_name
  kms_key_arn           = module.kms.key_arn
  log_retention_days    = var.log_retention_days
  tags                  = local.tags
}

module "lambda" {
  source = "../lambda"

  builder_function_name        = local.names.builder_function
  flush_function_name          = local.names.flush_function
  builder_role_arn             = module.iam.builder_role_arn
  flush_role_arn               = module.iam.flush_role_arn
  package_path                 = local.lambda_package_path
  runtime                      = var.lambda_runtime
  architecture                 = var.lambda_architecture
  timeout_seconds              = var.lambda_timeout_seconds
  memory_mb                    = var.lambda_memory_mb
  builder_reserved_concurrency = var.builder_reserved_concurrency
  queue_arn                    = module.sqs.queue_arn
  batch_size                   = var.lambda_batch_size
  batching_window_seconds      = var.lambda_batching_window_seconds
  max_concurrency              = var.lambda_max_concurrency
  flush_schedule_expression    = var.flush_schedule_expression
  log_retention_days           = var.log_retention_days
  log_level                    = var.log_level
  kms_key_arn                  = module.kms.key_arn

  tracking_table_name    = module.dynamodb.table_name
  manifest_bucket_name   = module.s3.bucket_names["manifests"]
  manifest_prefix        = var.manifest_prefix
  step_function_arn      = var.start_workflow ? module.step_functions.state_machine_arn : ""
  input_prefix           = var.input_prefix
  input_suffixes         = var.input_suffixes
  date_prefix_pattern    = var.date_prefix_pattern
  max_files_per_manifest = var.max_files_per_manifest
  max_bytes_per_manifest = var.max_bytes_per_manifest
  max_wait_seconds       = var.max_wait_seconds
  lock_ttl_seconds       = var.lock_ttl_seconds
  # One source of truth: the Glue job allows as many runs as the admission control starts.
  max_concurrent_runs    = var.glue_max_concurrent_runs
  admit_on_execution_end = var.start_workflow
  service_name           = "${var.project}-manifest-builder"
  metrics_namespace      = "NdjsonParquet"
  tags                   = local.tags

  # The event source mapping checks the role's queue permissions when it is created.
  depends_on = [module.iam]
}

module "monitoring" {
  source = "../monitoring"

  alerts_topic_name      = local.names.alerts_topic
  kms_key_arn            = module.kms.key_arn
  alarm_name_prefix      = "${var.project}-${var.environment}"
  alert_email_addresses  = var.alert_email_addresses
  queue_name             = module.sqs.queue_name
  dead_letter_queue_name = module.sqs.dead_letter_queue_name
  state_machine_arn      = module.step_functions.state_machine_arn
  lambda_function_names = {
    "manifest-builder" = module.lambda.builder_function_name
    "manifest-flush"   = module.lambda.flush_function_name
  }
  max_message_age_seconds = var.max_message_age_seconds
  tags                    = local.tags
}
