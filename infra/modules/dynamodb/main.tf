# The single tracking table (see ndjson_parquet.common.keys): files, manifests, batches and locks.
# gsi1 lists pending files per date prefix and the batches; gsi2 lists manifests by status.
# On-demand billing: the load follows file arrivals, which are bursty and unknown in advance.
resource "aws_dynamodb_table" "tracking" {
  name                        = var.table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  range_key                   = "sk"
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = "pk"
    type = "S"
  }
  attribute {
    name = "sk"
    type = "S"
  }
  attribute {
    name = "gsi1pk"
    type = "S"
  }
  attribute {
    name = "gsi1sk"
    type = "S"
  }
  attribute {
    name = "gsi2pk"
    type = "S"
  }
  attribute {
    name = "gsi2sk"
    type = "S"
  }

  # Each index carries what the queries on it read (common.keys.index_projections): an entry
  # costs a write unit per KB it carries, and a change of an attribute it does not carry costs
  # no index write at all.
  global_secondary_index {
    name            = "gsi1"
    hash_key        = "gsi1pk"
    range_key       = "gsi1sk"
    projection_type = "INCLUDE"
    non_key_attributes = [
      "bucket", "key", "etag", "size", "version_id", "registered_at", "date_prefix",
      "inflight_manifest_id",
    ]
  }

  global_secondary_index {
    name            = "gsi2"
    hash_key        = "gsi2pk"
    range_key       = "gsi2sk"
    projection_type = "INCLUDE"
    non_key_attributes = [
      "manifest_id", "date_prefix", "file_count", "total_bytes", "manifest_path", "created_at",
      "updated_at", "execution_arn", "next_execution",
    ]
  }

  # Lock leases (and any item the components give an expiry) are removed by DynamoDB itself.
  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  tags = var.tags
}
