# The converter as a Lambda function, for manifests up to the workflow's Lambda limits: the
# same converter code and arguments as the Glue job (ndjson_parquet.converter.lambda_function
# runs the Glue entrypoint's main), billed per millisecond instead of Glue's one-minute minimum.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id       = data.aws_caller_identity.current.account_id
  partition        = data.aws_partition.current.partition
  region           = data.aws_region.current.name
  log_group_name   = "/aws/lambda/${var.function_name}"
  manifest_objects = "${var.bucket_arns["manifests"]}/${trim(var.manifest_prefix, "/") == "" ? "" : "${trim(var.manifest_prefix, "/")}/"}*"
  input_objects    = "${var.bucket_arns["input"]}/${var.input_prefix}*"
  glue_catalog_arns = [
    "arn:${local.partition}:glue:${local.region}:${local.account_id}:catalog",
    "arn:${local.partition}:glue:${local.region}:${local.account_id}:database/${var.iceberg_database_name}",
    "arn:${local.partition}:glue:${local.region}:${local.account_id}:table/${var.iceberg_database_name}/${var.iceberg_table_name}",
  ]
}

data "aws_iam_policy_document" "trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

# What the converter calls, on the named resources only (the Glue job's role, minus Glue's own).
data "aws_iam_policy_document" "converter" {
  statement {
    sid       = "ReadInputAndManifests"
    actions   = ["s3:GetObject"]
    resources = [local.input_objects, local.manifest_objects]
  }

  # The converter reads exactly the input version a manifest names (GetObject with VersionId).
  statement {
    sid       = "ReadInputVersions"
    actions   = ["s3:GetObjectVersion"]
    resources = [local.input_objects]
  }

  # Without ListBucket a missing object reads as 403 instead of 404.
  statement {
    sid     = "ListPipelineBuckets"
    actions = ["s3:ListBucket"]
    resources = [
      var.bucket_arns["input"],
      var.bucket_arns["manifests"],
      var.bucket_arns["output"],
      var.bucket_arns["quarantine"],
    ]
  }

  statement {
    sid = "WriteOutputAndQuarantine"
    actions = [
      "s3:GetObject",
      "s3:PutObject",
      "s3:DeleteObject",
      "s3:AbortMultipartUpload",
    ]
    resources = ["${var.bucket_arns["output"]}/*", "${var.bucket_arns["quarantine"]}/*"]
  }

  dynamic "statement" {
    for_each = var.iceberg_database_name == "" ? [] : [1]
    content {
      sid       = "IcebergTable"
      actions   = ["glue:GetDatabase", "glue:GetTable", "glue:CreateTable", "glue:UpdateTable"]
      resources = local.glue_catalog_arns
    }
  }

  # The group exists (created below, with its retention and the deployment's key): no
  # logs:CreateLogGroup.
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.converter.arn}:*"]
  }

  statement {
    sid       = "XRay"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"] # X-Ray has no resource-level permissions
  }
}

resource "aws_iam_role" "converter" {
  name               = var.function_name
  description        = "Converter Lambda: reads input and manifests, writes Parquet and quarantine"
  assume_role_policy = data.aws_iam_policy_document.trust.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "converter" {
  name   = "converter"
  role   = aws_iam_role.converter.id
  policy = data.aws_iam_policy_document.converter.json
}

resource "aws_cloudwatch_log_group" "converter" {
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_lambda_function" "converter" {
  #checkov:skip=CKV_AWS_116:Invoked synchronously by the state machine, which retries and alerts; a DLQ applies only to asynchronous invocations.
  #checkov:skip=CKV_AWS_117:The function calls only AWS APIs (S3, the Glue Data Catalog); a VPC would add NAT or endpoint cost and no protection.
  #checkov:skip=CKV_AWS_173:The environment holds the converter's arguments (bucket URIs), no secrets; Lambda encrypts it at rest with its AWS managed key.
  #checkov:skip=CKV_AWS_272:The zip is built and deployed by the same pipeline; code signing needs a signing profile outside this project's scope.
  function_name                  = var.function_name
  description                    = "Converts a small manifest of NDJSON files to Parquet"
  role                           = aws_iam_role.converter.arn
  filename                       = var.package_path
  source_code_hash               = filebase64sha256(var.package_path)
  handler                        = "ndjson_parquet.converter.lambda_function.handler"
  runtime                        = var.runtime
  architectures                  = [var.architecture]
  timeout                        = var.timeout_seconds
  memory_size                    = var.memory_mb
  layers                         = var.layer_arns
  reserved_concurrent_executions = var.reserved_concurrency

  ephemeral_storage {
    size = var.ephemeral_storage_mb
  }

  environment {
    variables = {
      CONVERTER_ARGUMENTS = jsonencode(var.converter_arguments)
    }
  }

  tracing_config {
    mode = "Active"
  }

  tags = var.tags

  depends_on = [aws_cloudwatch_log_group.converter, aws_iam_role_policy.converter]
}
