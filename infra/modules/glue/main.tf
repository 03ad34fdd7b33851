# The converter as a Glue 5 Spark (glueetl) job: the entrypoint script plus the converter and
# common wheels, installed by Glue with --additional-python-modules at the start of each run.

locals {
  script_key           = "${var.artifacts_prefix}/glue_script.py"
  converter_wheel_key  = "${var.artifacts_prefix}/${basename(var.converter_wheel_path)}"
  common_wheel_key     = "${var.artifacts_prefix}/${basename(var.common_wheel_path)}"
  log_group_prefix     = "/aws-glue/jobs/${var.job_name}"
  artifacts_bucket_uri = "s3://${var.artifacts_bucket_name}"
  iceberg              = var.output_format == "iceberg"
  iceberg_table        = "${var.glue_database_name}.${var.iceberg_table_name}"

  default_arguments = merge(
    {
      "--job-language"        = "python"
      "--job-bookmark-option" = "job-bookmark-disable" # each run is driven by its manifest
      "--TempDir"             = "${local.artifacts_bucket_uri}/${var.temp_dir_prefix}"
      "--enable-metrics"      = "true"
      # Glue 5 writes driver and executor logs to <prefix>/output and <prefix>/error.
      "--custom-logGroup-prefix" = local.log_group_prefix
      "--additional-python-modules" = join(",", concat(
        [
          "${local.artifacts_bucket_uri}/${aws_s3_object.common_wheel.key}",
          "${local.artifacts_bucket_uri}/${aws_s3_object.converter_wheel.key}",
        ],
        local.iceberg ? [var.pyiceberg_requirement] : [],
      ))
    },
    local.converter_arguments,
  )
  # The converter's own arguments: the Lambda converter gets the same (converter_arguments).
  converter_arguments = merge(
    {
      "--OUTPUT_URI"     = var.output_uri
      "--QUARANTINE_URI" = var.quarantine_uri
      "--COMPRESSION"    = var.compression
      "--OUTPUT_FORMAT"  = var.output_format
    },
    local.iceberg ? { "--ICEBERG_TABLE" = local.iceberg_table } : {},
    var.extra_arguments,
  )
}

resource "aws_s3_object" "script" {
  bucket = var.artifacts_bucket_name
  key    = local.script_key
  source = var.script_path
  etag   = filemd5(var.script_path)
  tags   = var.tags
}

resource "aws_s3_object" "converter_wheel" {
  bucket = var.artifacts_bucket_name
  key    = local.converter_wheel_key
  source = var.converter_wheel_path
  etag   = filemd5(var.converter_wheel_path)
  tags   = var.tags
}

resource "aws_s3_object" "common_wheel" {
  bucket = var.artifacts_bucket_name
  key    = local.common_wheel_key
  source = var.common_wheel_path
  etag   = filemd5(var.common_wheel_path)
  tags   = var.tags
}

# The job's log groups, with retention and the key. AWS documents that a job whose security
# configuration encrypts CloudWatch Logs writes to /aws-glue/jobs-<role>-<security configuration>/…
# instead; how that combines with Glue 5's --custom-logGroup-prefix is not documented, so the role
# may also create (encrypted) groups under /aws-glue/ (see the iam module). Check the groups after
# the first run and set their retention if Glue created them.
resource "aws_cloudwatch_log_group" "job" {
  for_each = toset(["output", "error"])

  name              = "${local.log_group_prefix}/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_glue_security_configuration" "this" {
  name = var.job_name

  encryption_configuration {
    cloudwatch_encryption {
      cloudwatch_encryption_mode = "SSE-KMS"
      kms_key_arn                = var.kms_key_arn
    }

    job_bookmarks_encryption {
      job_bookmarks_encryption_mode = "CSE-KMS"
      kms_key_arn                   = var.kms_key_arn
    }

    # Matches the buckets' default encryption (SSE-S3; see the s3 module).
    s3_encryption {
      s3_encryption_mode = "SSE-S3"
    }
  }
}

resource "aws_glue_job" "converter" {
  name                   = var.job_name
  description            = "Converts the NDJSON files of one manifest to Parquet"
  role_arn               = var.role_arn
  glue_version           = var.glue_version
  worker_type            = var.worker_type
  number_of_workers      = var.number_of_workers
  timeout                = var.timeout_minutes
  max_retries            = 0 # the workflow retries, with backoff, and records every attempt
  security_configuration = aws_glue_security_configuration.this.name
  default_arguments      = local.default_arguments

  command {
    name            = "glueetl"
    python_version  = "3"
    script_location = "${local.artifacts_bucket_uri}/${aws_s3_object.script.key}"
  }

  execution_property {
    max_concurrent_runs = var.max_concurrent_runs
  }

  tags = var.tags

  depends_on = [aws_cloudwatch_log_group.job]
}

# The Iceberg output's database; its location is the warehouse (the output prefix). The table
# itself is created by the first run, in the same commit as its first rows: its columns are the
# data's (which Terraform cannot know), and a Terraform-declared schema would be reverted by the
# next apply after every evolution.
resource "aws_glue_catalog_database" "iceberg" {
  count = local.iceberg ? 1 : 0

  name         = var.glue_database_name
  description  = "Iceberg tables written by the ${var.job_name} job, one snapshot per manifest"
  location_uri = var.output_uri
  tags         = var.tags
}
