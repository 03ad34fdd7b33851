"""S3 sources, destination and quarantine through moto."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

from ndjson_parquet.common import Manifest, ManifestFile
from ndjson_parquet.converter import (
    ConvertOptions,
    MaxErrorRateExceeded,
    conform_file,
    convert,
)


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        for bucket in ("in-bkt", "out-bkt", "q-bkt"):
            client.create_bucket(Bucket=bucket)
        yield client


def _put(s3: Any, key: str, body: bytes) -> ManifestFile:
    s3.put_object(Bucket="in-bkt", Key=key, Body=body)
    head = s3.head_object(Bucket="in-bkt", Key=key)
    return ManifestFile(bucket="in-bkt", key=key, size=len(body), etag=head["ETag"].strip('"'))


def _keys(s3: Any, bucket: str) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def _rows(s3: Any, uri: str) -> list[dict[str, Any]]:
    bucket, key = uri[5:].split("/", 1)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return pq.read_table(io.BytesIO(body)).to_pylist()


def test_manifest_from_s3_to_s3_with_quarantine(s3: Any) -> None:
    files = [
        _put(s3, "2024-03-01/a.ndjson", b'{"i":1}\nbroken\n{"i":2}\n'),
        _put(s3, "2024-03-01/b.ndjson.gz", gzip.compress(b'{"i":3,"s":"x"}\n')),
    ]
    manifest = Manifest.build(
        "m-1", "2024-03-01", files, created_at=datetime(2024, 3, 1, tzinfo=UTC)
    )
    summary = convert(
        manifest, "s3://out-bkt/events", ConvertOptions(quarantine="s3://q-bkt/bad", lineage=True)
    )
    assert summary.output_files == ["s3://out-bkt/events/dt=2024-03-01/m-1-00000.parquet"]
    assert _keys(s3, "out-bkt") == [
        "events/_summary/m-1.json",
        "events/dt=2024-03-01/m-1-00000.parquet",
    ]
    rows = _rows(s3, summary.output_files[0])
    assert sorted((r["i"], r["_source_line"]) for r in rows) == [(1, 1), (2, 3), (3, 1)]
    assert {r["_source_file"] for r in rows} == {f.uri for f in files}
    bad = s3.get_object(Bucket="q-bkt", Key="bad/m-1.ndjson")["Body"].read().decode()
    record = json.loads(bad)
    assert (record["source"], record["line"], record["raw"]) == (files[0].uri, 2, "broken")
    marker = json.loads(
        s3.get_object(Bucket="out-bkt", Key="events/_summary/m-1.json")["Body"].read()
    )
    assert marker["rows_written"] == 3
    assert marker["lines_quarantined"] == 1


def test_replay_to_s3_removes_stale_parts_and_quarantine(s3: Any) -> None:
    body = b"".join(b'{"i":%d}\n' % i for i in range(500)) + b"bad\n"
    _put(s3, "x.ndjson", body)
    many = ConvertOptions(run_id="r", chunk_bytes=500, row_group_rows=50, target_file_bytes=1)
    first = convert(["s3://in-bkt/x.ndjson"], "s3://out-bkt/o", many)
    assert len(first.output_files) > 2
    assert "o/_quarantine/r.ndjson" in _keys(s3, "out-bkt")
    _put(s3, "x.ndjson", body[:-4])  # the bad line fixed upstream
    again = convert(["s3://in-bkt/x.ndjson"], "s3://out-bkt/o", ConvertOptions(run_id="r"))
    assert _keys(s3, "out-bkt") == ["o/_summary/r.json", "o/r-00000.parquet"]
    assert sorted(r["i"] for r in _rows(s3, again.output_files[0])) == list(range(500))


def test_failed_run_leaves_s3_untouched(s3: Any) -> None:
    _put(s3, "x.ndjson", b"bad\n{}\n")
    with pytest.raises(MaxErrorRateExceeded):
        convert(["s3://in-bkt/x.ndjson"], "s3://out-bkt/o", ConvertOptions(max_error_rate=0.1))
    assert _keys(s3, "out-bkt") == []


def test_conform_file_on_s3(s3: Any) -> None:
    _put(s3, "a.ndjson", b'{"a":1}\n')
    _put(s3, "b.ndjson", b'{"a":"x"}\n')
    one = convert(["s3://in-bkt/a.ndjson"], "s3://out-bkt/o", ConvertOptions(run_id="one"))
    two = convert(["s3://in-bkt/b.ndjson"], "s3://out-bkt/o", ConvertOptions(run_id="two"))
    from ndjson_parquet.converter import unify_schemas

    unified, drift = unify_schemas([one.schema, two.schema])
    assert [d.to_type for d in drift] == ["json"]
    assert conform_file(one.output_files[0], unified) is True
    assert [r["a"] for r in _rows(s3, one.output_files[0])] == ["1"]


def _versioned_put(s3: Any, key: str, body: bytes) -> ManifestFile:
    s3.put_bucket_versioning(Bucket="in-bkt", VersioningConfiguration={"Status": "Enabled"})
    put = s3.put_object(Bucket="in-bkt", Key=key, Body=body)
    return ManifestFile(
        bucket="in-bkt",
        key=key,
        size=len(body),
        etag=put["ETag"].strip('"'),
        version_id=put["VersionId"],
    )


def _manifest(manifest_id: str, *files: ManifestFile) -> Manifest:
    return Manifest.build(manifest_id, "2024-03-01", list(files), datetime(2024, 3, 1, tzinfo=UTC))


def test_each_manifest_reads_the_version_it_names(s3: Any) -> None:
    first = _versioned_put(s3, "2024-03-01/a.ndjson", b'{"v":1}\n{"v":2}\n')
    second = _versioned_put(s3, "2024-03-01/a.ndjson", b'{"v":3}\n')
    # Both manifests are converted after the overwrite.
    old = convert(_manifest("m-old", first), "s3://out-bkt/o")
    new = convert(_manifest("m-new", second), "s3://out-bkt/o")

    assert [r["v"] for r in _rows(s3, old.output_files[0])] == [1, 2]
    assert [r["v"] for r in _rows(s3, new.output_files[0])] == [3]


def test_an_unversioned_object_overwritten_after_its_manifest_is_superseded(s3: Any) -> None:
    recorded = _put(s3, "2024-03-01/a.ndjson", b'{"v":1}\n')
    _put(s3, "2024-03-01/a.ndjson", b'{"v":2}\n')

    superseded = convert(_manifest("m-1", recorded), "s3://out-bkt/o")
    assert [(s["uri"], s["etag"]) for s in superseded.superseded_files] == [
        (recorded.uri, recorded.etag)
    ]
    assert superseded.output_files == []
    assert superseded.rows_written == 0
    # The manifest of the new version reads it.
    current = _put(s3, "2024-03-01/a.ndjson", b'{"v":2}\n')
    done = convert(_manifest("m-2", current), "s3://out-bkt/o")
    assert [r["v"] for r in _rows(s3, done.output_files[0])] == [2]
