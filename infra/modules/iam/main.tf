# One role per component, each allowed only what its code calls, on the named resources.
# "*" appears only for actions that AWS does not scope to a resource (X-Ray segments, CloudWatch
# Logs vended-log delivery, cloudwatch:PutMetricData), each marked where it is used.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  # Built from names so that no role depends on the resource it is used by.
  state_machine_arn      = "arn:${local.partition}:states:${local.region}:${local.account_id}:stateMachine:${var.state_machine_name}"
  executions_arn         = "arn:${local.partition}:states:${local.region}:${local.account_id}:execution:${var.state_machine_name}:*"
  glue_job_arn           = "arn:${local.partition}:glue:${local.region}:${local.account_id}:job/${var.glue_job_name}"
  converter_function_arn = "arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${var.converter_function_name}"
  table_arns             = [var.tracking_table_arn, "${var.tracking_table_arn}/index/*"]
  manifest_objects       = "${var.bucket_arns["manifests"]}/${trim(var.manifest_prefix, "/") == "" ? "" : "${trim(var.manifest_prefix, "/")}/"}*"
  input_objects          = "${var.bucket_arns["input"]}/${var.input_prefix}*"

  lambda_log_group_arns = {
    builder = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/lambda/${var.builder_function_name}:*"
    flush   = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/lambda/${var.flush_function_name}:*"
  }
  # The job's own groups (<prefix>/output, <prefix>/error) and the ones Glue writes to before
  # the job's arguments are read.
  # The Iceberg output: the catalog, the database and the one table (pyiceberg's Glue catalog
  # reads the table and commits with UpdateTable under its VersionId; the first run creates it).
  glue_catalog_arns = [
    "arn:${local.partition}:glue:${local.region}:${local.account_id}:catalog",
    "arn:${local.partition}:glue:${local.region}:${local.account_id}:database/${var.iceberg_database_name}",
    "arn:${local.partition}:glue:${local.region}:${local.account_id}:table/${var.iceberg_database_name}/${var.iceberg_table_name}",
  ]
  glue_log_group_arns = [
    "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws-glue/*",
  ]
}

# ---------------------------------------------------------------------------------------------
# Trust policies
# ---------------------------------------------------------------------------------------------

data "aws_iam_policy_document" "lambda_trust" {
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

data "aws_iam_policy_document" "glue_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["glue.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

data "aws_iam_policy_document" "state_machine_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [local.state_machine_arn]
    }
  }
}

# ---------------------------------------------------------------------------------------------
# Manifest builder and flush. Separate roles: only the builder consumes the queue.
# ---------------------------------------------------------------------------------------------

data "aws_iam_policy_document" "manifest_cutting" {
  statement {
    sid = "TrackingTable"
    actions = [
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
      "dynamodb:DeleteItem",
      "dynamodb:Query",
    ]
    resources = local.table_arns
  }

  # DynamoDB encrypts and decrypts with data keys; the functions themselves never encrypt.
  statement {
    sid       = "TrackingTableKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["dynamodb.${local.region}.amazonaws.com"]
    }
  }

  # A cut stages its list, publishes the document and deletes the staged list; a resumed cut
  # re-reads what was staged.
  statement {
    sid       = "ManifestDocuments"
    actions   = ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"]
    resources = [local.manifest_objects]
  }

  # A resumed cut treats a missing manifest document (NoSuchKey) as "not written yet"; without
  # ListBucket, S3 answers 403 instead of 404 for a missing key.
  statement {
    sid       = "ManifestBucketListing"
    actions   = ["s3:ListBucket"]
    resources = [var.bucket_arns["manifests"]]
  }

  statement {
    sid       = "StartWorkflow"
    actions   = ["states:StartExecution"]
    resources = [local.state_machine_arn]
  }

  # Admission control: a conversion slot whose execution is no longer RUNNING is recovered.
  statement {
    sid       = "ReconcileConversionSlots"
    actions   = ["states:DescribeExecution"]
    resources = [local.executions_arn]
  }

  statement {
    sid       = "XRay"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"] # X-Ray has no resource-level permissions
  }
}

data "aws_iam_policy_document" "queue_consumer" {
  statement {
    sid = "ConsumeEventQueue"
    actions = [
      "sqs:ReceiveMessage",
      "sqs:DeleteMessage",
      "sqs:ChangeMessageVisibility",
      "sqs:GetQueueAttributes",
    ]
    resources = [var.queue_arn]
  }
}

data "aws_iam_policy_document" "builder_logs" {
  statement {
    sid       = "OwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [local.lambda_log_group_arns.builder]
  }
}

data "aws_iam_policy_document" "flush_logs" {
  statement {
    sid       = "OwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [local.lambda_log_group_arns.flush]
  }
}

resource "aws_iam_role" "builder" {
  name               = var.builder_function_name
  description        = "Manifest builder: records S3 events, cuts manifests, starts the workflow"
  assume_role_policy = data.aws_iam_policy_document.lambda_trust.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "builder_manifest_cutting" {
  name   = "manifest-cutting"
  role   = aws_iam_role.builder.id
  policy = data.aws_iam_policy_document.manifest_cutting.json
}

resource "aws_iam_role_policy" "builder_queue" {
  name   = "event-queue"
  role   = aws_iam_role.builder.id
  policy = data.aws_iam_policy_document.queue_consumer.json
}

resource "aws_iam_role_policy" "builder_logs" {
  name   = "logs"
  role   = aws_iam_role.builder.id
  policy = data.aws_iam_policy_document.builder_logs.json
}

resource "aws_iam_role" "flush" {
  name               = var.flush_function_name
  description        = "Manifest flush: cuts manifests of aged batches, starts the workflow"
  assume_role_policy = data.aws_iam_policy_document.lambda_trust.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "flush_manifest_cutting" {
  name   = "manifest-cutting"
  role   = aws_iam_role.flush.id
  policy = data.aws_iam_policy_document.manifest_cutting.json
}

resource "aws_iam_role_policy" "flush_logs" {
  name   = "logs"
  role   = aws_iam_role.flush.id
  policy = data.aws_iam_policy_document.flush_logs.json
}

# ---------------------------------------------------------------------------------------------
# Glue converter job
# ---------------------------------------------------------------------------------------------

data "aws_iam_policy_document" "glue" {
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

  statement {
    sid       = "ReadArtifacts"
    actions   = ["s3:GetObject"]
    resources = ["${var.bucket_arns["artifacts"]}/${var.artifacts_prefix}/*"]
  }

  statement {
    sid       = "TempDir"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${var.bucket_arns["artifacts"]}/${var.glue_temp_prefix}*"]
  }

  statement {
    sid       = "ListTempDir"
    actions   = ["s3:ListBucket"]
    resources = [var.bucket_arns["artifacts"]]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.glue_temp_prefix}*", "${var.artifacts_prefix}/*"]
    }
  }

  statement {
    sid = "Logs"
    actions = [
      "logs:CreateLogGroup",
      "logs:CreateLogStream",
      "logs:PutLogEvents",
      "logs:AssociateKmsKey",
    ]
    resources = local.glue_log_group_arns
  }

  # The security configuration encrypts the job's logs (and bookmarks, which the job does not
  # use) with the deployment's key: only CloudWatch Logs and Glue use it on the role's behalf.
  statement {
    sid       = "SecurityConfigurationKey"
    actions   = ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["logs.${local.region}.amazonaws.com", "glue.${local.region}.amazonaws.com"]
    }
  }

  statement {
    sid       = "Metrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"] # PutMetricData has no resource-level permissions
    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = ["Glue"]
    }
  }
}

resource "aws_iam_role" "glue" {
  name               = var.glue_job_name
  description        = "Converter Glue job: reads input and manifests, writes Parquet and quarantine"
  assume_role_policy = data.aws_iam_policy_document.glue_trust.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "glue" {
  name   = "converter"
  role   = aws_iam_role.glue.id
  policy = data.aws_iam_policy_document.glue.json
}

# ---------------------------------------------------------------------------------------------
# State machine: exactly the service integrations its definition uses, plus log delivery and
# X-Ray. tests/infra checks these actions against the rendered definition.
# ---------------------------------------------------------------------------------------------

data "aws_iam_policy_document" "state_machine" {
  statement {
    sid       = "TrackingTable"
    actions   = ["dynamodb:UpdateItem"]
    resources = [var.tracking_table_arn]
  }

  statement {
    sid = "ConverterJob"
    actions = [
      "glue:StartJobRun",
      "glue:GetJobRun",
      "glue:GetJobRuns",
      "glue:BatchStopJobRun",
    ]
    resources = [local.glue_job_arn]
  }

  # lambda:invoke of the converter function (unqualified: $LATEST).
  statement {
    sid       = "ConverterFunction"
    actions   = ["lambda:InvokeFunction"]
    resources = [local.converter_function_arn]
  }

  statement {
    sid       = "Alerts"
    actions   = ["sns:Publish"]
    resources = [var.alerts_topic_arn]
  }

  # The table and the topic are encrypted with the deployment's key.
  statement {
    sid       = "EncryptionKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["dynamodb.${local.region}.amazonaws.com", "sns.${local.region}.amazonaws.com"]
    }
  }

  statement {
    sid = "LogDelivery"
    actions = [
      "logs:CreateLogDelivery",
      "logs:GetLogDelivery",
      "logs:UpdateLogDelivery",
      "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries",
      "logs:PutResourcePolicy",
      "logs:DescribeResourcePolicies",
      "logs:DescribeLogGroups",
    ]
    resources = ["*"] # AWS requires "*" for vended-log delivery
  }

  statement {
    sid = "XRay"
    actions = [
      "xray:PutTraceSegments",
      "xray:PutTelemetryRecords",
      "xray:GetSamplingRules",
      "xray:GetSamplingTargets",
    ]
    resources = ["*"] # X-Ray has no resource-level permissions
  }
}

resource "aws_iam_role" "state_machine" {
  name               = var.state_machine_name
  description        = "Workflow: manifest status updates, the converter job, failure alerts"
  assume_role_policy = data.aws_iam_policy_document.state_machine_trust.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "state_machine" {
  name   = "workflow"
  role   = aws_iam_role.state_machine.id
  policy = data.aws_iam_policy_document.state_machine.json
}
