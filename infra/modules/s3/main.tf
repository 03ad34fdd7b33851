# The pipeline's five buckets share one hardened configuration; they differ only in lifecycle.
#
# Encryption is SSE-S3 (AES256), not SSE-KMS, on purpose: producers in other accounts or services
# can write to the input bucket without grants on a key, S3 event notifications need no key policy,
# and at millions of small objects per day SSE-KMS would add a KMS request (or a Bucket Key
# dependency) to every PUT and GET made by producers, Glue and query engines. The tracking table,
# logs and the alerts topic, which carry operational metadata, use the deployment's KMS key.

locals {
  expiration_days = {
    input      = var.input_expiration_days
    manifests  = var.manifest_expiration_days
    output     = 0
    quarantine = var.quarantine_expiration_days
    artifacts  = 0
  }
}

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_18:Server access logs would need a sixth bucket per environment; object-level auditing is done with CloudTrail data events, configured account-wide.
  #checkov:skip=CKV_AWS_144:Cross-region replication is a disaster-recovery decision per deployment; the output can be rebuilt from the input and the tracking table.
  #checkov:skip=CKV_AWS_145:SSE-S3 is used deliberately (see the comment at the top of this file): no per-request KMS cost and no key grants for producers.
  #checkov:skip=CKV2_AWS_62:Only the input bucket needs event notifications (aws_s3_bucket_notification.input); the other buckets are written by the pipeline itself.
  for_each = var.bucket_names

  bucket        = each.value
  force_destroy = var.force_destroy
  tags          = merge(var.tags, { Role = each.key })
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each = aws_s3_bucket.this

  bucket                  = each.value.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

# Versioning everywhere: the input keeps the exact bytes a manifest referenced (by ETag) if a
# producer overwrites a key, the output and quarantine survive an accidental delete, and the
# artifacts bucket keeps the previous wheels for a rollback. Old versions expire (lifecycle below).
resource "aws_s3_bucket_versioning" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id

  rule {
    id     = "housekeeping"
    status = "Enabled"
    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }
    dynamic "expiration" {
      for_each = local.expiration_days[each.key] > 0 ? [local.expiration_days[each.key]] : []
      content {
        days = expiration.value
      }
    }
  }

  dynamic "rule" {
    for_each = each.key == "artifacts" ? [var.glue_temp_prefix] : []
    content {
      id     = "glue-temp"
      status = "Enabled"
      filter {
        prefix = rule.value
      }
      expiration {
        days = 7
      }
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

data "aws_iam_policy_document" "tls_only" {
  for_each = aws_s3_bucket.this

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [each.value.arn, "${each.value.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id
  policy = data.aws_iam_policy_document.tls_only[each.key].json

  depends_on = [aws_s3_bucket_public_access_block.this]
}

# Every new object under the input prefix is announced; the manifest builder filters suffixes
# itself (INPUT_SUFFIXES), because S3 allows one suffix per rule and overlapping rules are rejected.
resource "aws_s3_bucket_notification" "input" {
  bucket = aws_s3_bucket.this["input"].id

  queue {
    id            = "new-input-objects"
    queue_arn     = var.notification_queue_arn
    events        = ["s3:ObjectCreated:*"]
    filter_prefix = var.input_prefix == "" ? null : var.input_prefix
  }
}
