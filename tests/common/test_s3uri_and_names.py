from __future__ import annotations

import pytest

from ndjson_parquet.common import ResourceNames, S3Uri, decode_event_key


def test_parse_and_format_round_trip() -> None:
    uri = S3Uri.parse("s3://bucket/a/b c/d.ndjson")
    assert (uri.bucket, uri.key) == ("bucket", "a/b c/d.ndjson")
    assert str(uri) == "s3://bucket/a/b c/d.ndjson"
    assert S3Uri.parse("s3://bucket") == S3Uri("bucket", "")


@pytest.mark.parametrize("bad", ["bucket/key", "s3:/bucket/key", "s3:///key", "/tmp/x"])
def test_parse_rejects_non_s3_locations(bad: str) -> None:
    with pytest.raises(ValueError, match="s3"):
        S3Uri.parse(bad)


def test_join_handles_slashes_and_empty_keys() -> None:
    assert str(S3Uri("b").join("out", "x.parquet")) == "s3://b/out/x.parquet"
    assert str(S3Uri("b", "out/").join("/dt=1/", "x")) == "s3://b/out/dt=1/x"
    assert S3Uri("b", "k").join("") == S3Uri("b", "k")


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        ("2024-03-05/my+file.ndjson", "2024-03-05/my file.ndjson"),
        ("a%2Bb.ndjson", "a+b.ndjson"),
        ("caf%C3%A9/%E2%82%AC.jsonl", "café/€.jsonl"),
        ("plain/key.json", "plain/key.json"),
    ],
)
def test_event_keys_are_decoded_like_s3_encodes_them(raw: str, decoded: str) -> None:
    assert decode_event_key(raw) == decoded


def test_resource_names_follow_one_pattern() -> None:
    names = ResourceNames("prod", bucket_suffix="123456789012")
    assert names.input_bucket == "ndjson-parquet-input-prod-123456789012"
    assert names.tracking_table == "ndjson-parquet-tracking-prod"
    assert names.state_machine == "ndjson-parquet-processor-prod"
    assert ResourceNames("dev").output_bucket == "ndjson-parquet-output-dev"


def test_table_definition_declares_every_key_and_index_attribute() -> None:
    from ndjson_parquet.common.keys import TableAttr, TableIndex, table_definition

    definition = table_definition("tracking")
    declared = {a["AttributeName"] for a in definition["AttributeDefinitions"]}
    used = {k["AttributeName"] for k in definition["KeySchema"]} | {
        k["AttributeName"] for i in definition["GlobalSecondaryIndexes"] for k in i["KeySchema"]
    }
    # CreateTable rejects attributes declared but unused, and keys not declared.
    assert declared == used
    assert {i["IndexName"] for i in definition["GlobalSecondaryIndexes"]} == {
        TableIndex.PENDING,
        TableIndex.BY_STATUS,
    }
    assert TableAttr.TTL not in declared
