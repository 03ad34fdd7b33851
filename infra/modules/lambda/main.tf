# The manifest builder and its scheduled flush: one deployment zip, two handlers, same settings.

locals {
  # Every setting the handler reads (ndjson_parquet.common.settings.Env), set explicitly so that a
  # deployment never depends on the code's defaults silently changing.
  environment = {
    TRACKING_TABLE               = var.tracking_table_name
    MANIFEST_BUCKET              = var.manifest_bucket_name
    MANIFEST_PREFIX              = var.manifest_prefix
    STEP_FUNCTION_ARN            = var.step_function_arn
    INPUT_PREFIX                 = var.input_prefix
    INPUT_SUFFIXES               = join(",", var.input_suffixes)
    DATE_PREFIX_PATTERN          = var.date_prefix_pattern
    MAX_FILES_PER_MANIFEST       = tostring(var.max_files_per_manifest)
    MAX_BYTES_PER_MANIFEST       = tostring(var.max_bytes_per_manifest)
    MAX_WAIT_SECONDS             = tostring(var.max_wait_seconds)
    LOCK_TTL_SECONDS             = tostring(var.lock_ttl_seconds)
    MAX_CONCURRENT_RUNS          = tostring(var.max_concurrent_runs)
    POWERTOOLS_SERVICE_NAME      = var.service_name
    POWERTOOLS_METRICS_NAMESPACE = var.metrics_namespace
    POWERTOOLS_LOG_LEVEL         = var.log_level
  }
  package_hash = filebase64sha256(var.package_path)
}

# Log groups are created here (not by Lambda on first use) so that they have a retention and a key,
# and the functions' roles need no logs:CreateLogGroup.
resource "aws_cloudwatch_log_group" "builder" {
  name              = "/aws/lambda/${var.builder_function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_cloudwatch_log_group" "flush" {
  name              = "/aws/lambda/${var.flush_function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_lambda_function" "builder" {
  #checkov:skip=CKV_AWS_116:Failed S3 events go to the event queue's dead-letter queue (redrive policy); a function DLQ applies only to asynchronous invocations.
  #checkov:skip=CKV_AWS_117:The function calls only AWS APIs (DynamoDB, S3, Step Functions); a VPC would add NAT or endpoint cost and no protection.
  #checkov:skip=CKV_AWS_173:The environment holds names and limits, no secrets; Lambda encrypts it at rest with its AWS managed key.
  #checkov:skip=CKV_AWS_272:The zip is built and deployed by the same pipeline; code signing needs a signing profile outside this project's scope.
  function_name                  = var.builder_function_name
  description                    = "Records S3 events in the tracking table and cuts manifests"
  role                           = var.builder_role_arn
  filename                       = var.package_path
  source_code_hash               = local.package_hash
  handler                        = var.builder_handler
  runtime                        = var.runtime
  architectures                  = [var.architecture]
  timeout                        = var.timeout_seconds
  memory_size                    = var.memory_mb
  reserved_concurrent_executions = var.builder_reserved_concurrency

  environment {
    variables = local.environment
  }

  tracing_config {
    mode = "Active"
  }

  tags = var.tags

  # Lambda writes to /aws/lambda/<name>: the group must exist (with its retention and key) first.
  depends_on = [aws_cloudwatch_log_group.builder]
}

resource "aws_lambda_function" "flush" {
  #checkov:skip=CKV_AWS_116:A failed scheduled run is retried by the next run (the flush is idempotent) and raises the Lambda errors alarm.
  #checkov:skip=CKV_AWS_117:The function calls only AWS APIs (DynamoDB, S3, Step Functions); a VPC would add NAT or endpoint cost and no protection.
  #checkov:skip=CKV_AWS_173:The environment holds names and limits, no secrets; Lambda encrypts it at rest with its AWS managed key.
  #checkov:skip=CKV_AWS_272:The zip is built and deployed by the same pipeline; code signing needs a signing profile outside this project's scope.
  function_name                  = var.flush_function_name
  description                    = "Cuts manifests of batches that waited longer than MAX_WAIT_SECONDS"
  role                           = var.flush_role_arn
  filename                       = var.package_path
  source_code_hash               = local.package_hash
  handler                        = var.flush_handler
  runtime                        = var.runtime
  architectures                  = [var.architecture]
  timeout                        = var.timeout_seconds
  memory_size                    = var.memory_mb
  reserved_concurrent_executions = var.flush_reserved_concurrency

  environment {
    variables = local.environment
  }

  tracing_config {
    mode = "Active"
  }

  tags = var.tags

  # Lambda writes to /aws/lambda/<name>: the group must exist (with its retention and key) first.
  depends_on = [aws_cloudwatch_log_group.flush]
}

resource "aws_lambda_event_source_mapping" "queue" {
  event_source_arn                   = var.queue_arn
  function_name                      = aws_lambda_function.builder.arn
  batch_size                         = var.batch_size
  maximum_batching_window_in_seconds = var.batching_window_seconds
  # The handler reports the messages it could not record; only those return to the queue.
  function_response_types = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.max_concurrency
  }
}

resource "aws_cloudwatch_event_rule" "flush" {
  name                = var.flush_function_name
  description         = "Runs ${var.flush_function_name} on a schedule"
  schedule_expression = var.flush_schedule_expression
  tags                = var.tags
}

resource "aws_cloudwatch_event_target" "flush" {
  rule = aws_cloudwatch_event_rule.flush.name
  arn  = aws_lambda_function.flush.arn

  retry_policy {
    maximum_retry_attempts       = 0 # the next scheduled run is the retry
    maximum_event_age_in_seconds = 60
  }
}

resource "aws_lambda_permission" "flush_schedule" {
  statement_id  = "AllowEventBridgeSchedule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.flush.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.flush.arn
}

# Admission control: when an execution ends, its conversion slot is free; the flush function then
# starts the oldest queued manifest at once instead of at its next scheduled run. A boolean, not
# the ARN, decides whether the rule exists: the ARN is unknown until the state machine is created.
resource "aws_cloudwatch_event_rule" "execution_ended" {
  count       = var.admit_on_execution_end ? 1 : 0
  name        = "${var.flush_function_name}-execution-ended"
  description = "Starts queued manifests when an execution of the workflow ends"
  event_pattern = jsonencode({
    source        = ["aws.states"]
    "detail-type" = ["Step Functions Execution Status Change"]
    detail = {
      stateMachineArn = [var.step_function_arn]
      status          = ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]
    }
  })
  tags = var.tags
}

resource "aws_cloudwatch_event_target" "execution_ended" {
  count = var.admit_on_execution_end ? 1 : 0
  rule  = aws_cloudwatch_event_rule.execution_ended[0].name
  arn   = aws_lambda_function.flush.arn

  retry_policy {
    maximum_retry_attempts       = 2 # the scheduled flush admits too, at worst a schedule later
    maximum_event_age_in_seconds = 300
  }
}

resource "aws_lambda_permission" "execution_ended" {
  count         = var.admit_on_execution_end ? 1 : 0
  statement_id  = "AllowExecutionStatusChange"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.flush.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.execution_ended[0].arn
}
