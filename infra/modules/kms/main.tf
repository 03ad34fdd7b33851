# One customer managed key per deployment for operational metadata: the tracking table, the log
# groups, the Glue security configuration and the alerts topic. A customer managed key (not the
# AWS managed aws/sns key) is required for the topic, because CloudWatch alarms can only publish
# to an encrypted topic whose key policy names cloudwatch.amazonaws.com.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
}

data "aws_iam_policy_document" "key" {
  # Key policies always name the key as "*" (the key they are attached to). This statement hands
  # access control to IAM in this account, as AWS's default key policy does; the roles of the
  # pipeline then get key use through their own policies, scoped to this key's ARN.
  statement {
    sid       = "EnableIAMPolicies"
    effect    = "Allow"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid    = "CloudWatchLogsEncryption"
    effect = "Allow"
    actions = [
      "kms:Encrypt*",
      "kms:Decrypt*",
      "kms:ReEncrypt*",
      "kms:GenerateDataKey*",
      "kms:Describe*",
    ]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values = [
        for pattern in var.log_group_name_patterns :
        "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${pattern}"
      ]
    }
  }

  # The statement AWS documents for alarms publishing to an encrypted topic (no condition: it is
  # not documented which request-context keys CloudWatch passes to KMS here). Which alarms may
  # publish is decided by the topic's policy.
  statement {
    sid       = "CloudWatchAlarmsPublishToEncryptedTopic"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "ndjson-parquet ${var.alias_name}: tracking table, logs, Glue security configuration, alerts"
  enable_key_rotation     = true
  deletion_window_in_days = var.deletion_window_in_days
  policy                  = data.aws_iam_policy_document.key.json
  tags                    = var.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.alias_name}"
  target_key_id = aws_kms_key.this.key_id
}
