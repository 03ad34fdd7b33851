"""An input overwritten or deleted after its manifest was made is superseded, not a failure."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pyarrow.parquet as pq
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from ndjson_parquet.common import Manifest, ManifestFile
from ndjson_parquet.converter import ConversionError, convert, storage
from ndjson_parquet.converter import run_inputs as run_inputs_module
from ndjson_parquet.converter.run_inputs import RunInputs
from ndjson_parquet.converter.sources import Chunk, resolve_sources
from ndjson_parquet.converter.storage import ObjectChangedError

BUCKET = "in-bkt"
OUT = "s3://out-bkt/o"
KEYS = [f"2024-03-01/{name}.ndjson" for name in "abcd"]


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        storage.reset_clients()
        client = boto3.client("s3", region_name="us-east-1")
        for bucket in (BUCKET, "out-bkt"):
            client.create_bucket(Bucket=bucket)
        yield client
        storage.reset_clients()


def _body(key: str, version: int) -> bytes:
    name = key.rsplit("/", 1)[1][0]
    return b"".join(b'{"f":"%s","v":%d,"n":%d}\n' % (name.encode(), version, n) for n in range(3))


def _put(s3: Any, key: str, version: int = 1) -> ManifestFile:
    body = _body(key, version)
    put = s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    return ManifestFile(
        bucket=BUCKET,
        key=key,
        size=len(body),
        etag=put["ETag"].strip('"'),
        version_id=put.get("VersionId"),
    )


def _manifest(manifest_id: str, files: list[ManifestFile]) -> Manifest:
    return Manifest.build(manifest_id, "2024-03-01", files, datetime(2024, 3, 1, tzinfo=UTC))


def _rows(s3: Any, uris: list[str]) -> list[tuple[str, int]]:
    rows = []
    for uri in uris:
        body = s3.get_object(Bucket="out-bkt", Key=uri.removeprefix("s3://out-bkt/"))["Body"]
        rows += [(r["f"], r["v"]) for r in pq.read_table(io.BytesIO(body.read())).to_pylist()]
    return sorted(rows)


def _written_summary(s3: Any, run_id: str) -> dict[str, Any]:
    body = s3.get_object(Bucket="out-bkt", Key=f"o/_summary/{run_id}.json")["Body"].read()
    doc: dict[str, Any] = json.loads(body)
    return doc


# The first input is opened when its turn comes; later ones are fetched by the read-ahead.
@pytest.mark.parametrize("changed", [0, 2], ids=["opened-at-its-turn", "fetched-ahead"])
def test_an_overwritten_input_is_superseded_and_the_others_are_converted(
    s3: Any, changed: int
) -> None:
    files = [_put(s3, key) for key in KEYS]
    _put(s3, KEYS[changed], version=2)  # overwritten before the conversion

    summary = convert(_manifest("m-1", files), OUT)

    others = [k.rsplit("/", 1)[1][0] for i, k in enumerate(KEYS) if i != changed]
    assert _rows(s3, summary.output_files) == sorted((f, 1) for f in others for _ in range(3))
    uri = f"s3://{BUCKET}/{KEYS[changed]}"
    [entry] = summary.superseded_files
    assert entry["uri"] == uri
    assert entry["etag"] == files[changed].etag
    assert entry["s3_error"].startswith("PreconditionFailed")
    assert summary.files == len(KEYS)
    assert (summary.lines_read, summary.rows_written) == (9, 9)
    assert summary.counts_add_up
    [warning] = summary.warnings
    assert f"1 of {len(KEYS)} input files superseded" in warning
    assert uri in warning
    # The summary object, the completion marker, lists it too.
    written = _written_summary(s3, "m-1")
    assert written["superseded_files"] == [entry]
    assert written["warnings"] == [warning]


def test_the_readme_example_has_the_fields_of_an_entry(s3: Any) -> None:
    readme = Path(__file__).parents[2] / "packages" / "converter" / "README.md"
    block = readme.read_text().split("### Superseded files", 1)[1]
    example = json.loads(block.split("```json", 1)[1].split("```", 1)[0])
    [entry] = example["superseded_files"]
    files = [_put(s3, KEYS[0])]
    _put(s3, KEYS[0], version=2)
    [real] = convert(_manifest("m-1", files), OUT).superseded_files
    assert list(entry) == list(real)
    assert entry["s3_error"] == real["s3_error"]


def test_the_new_version_is_converted_by_its_own_manifest_once(s3: Any) -> None:
    old = [_put(s3, key) for key in KEYS[:2]]
    new = _put(s3, KEYS[0], version=2)

    first = convert(_manifest("m-old", old), OUT)
    second = convert(_manifest("m-new", [new]), OUT)

    assert [s["uri"] for s in first.superseded_files] == [new.uri]
    assert second.superseded_files == []
    assert second.warnings == []
    rows = _rows(s3, [*first.output_files, *second.output_files])
    assert rows == sorted([("a", 2)] * 3 + [("b", 1)] * 3)


def test_a_deleted_version_in_a_versioned_bucket_is_superseded(s3: Any) -> None:
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    files = [_put(s3, key) for key in KEYS[:3]]
    _put(s3, KEYS[1], version=2)  # a new version: the recorded one is still readable
    s3.delete_object(Bucket=BUCKET, Key=KEYS[2], VersionId=files[2].version_id)

    summary = convert(_manifest("m-1", files), OUT)

    assert _rows(s3, summary.output_files) == sorted([("a", 1)] * 3 + [("b", 1)] * 3)
    [entry] = summary.superseded_files
    assert entry["uri"] == files[2].uri
    assert entry["version_id"] == files[2].version_id
    assert entry["s3_error"].startswith("NoSuchVersion")
    assert summary.counts_add_up


def test_a_deleted_object_is_superseded_and_a_manifest_of_nothing_else_completes(
    s3: Any,
) -> None:
    [only] = [_put(s3, KEYS[0])]
    s3.delete_object(Bucket=BUCKET, Key=KEYS[0])

    summary = convert(_manifest("m-1", [only]), OUT)

    assert summary.output_files == []
    assert (summary.files, summary.lines_read, summary.rows_written) == (1, 0, 0)
    assert [(s["uri"], s["s3_error"].split(":")[0]) for s in summary.superseded_files] == [
        (only.uri, "NoSuchKey")
    ]
    assert _written_summary(s3, "m-1")["superseded_files"] == summary.superseded_files


def test_any_other_read_error_still_fails_the_run(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    files = [_put(s3, key) for key in KEYS]
    client = storage.s3_client()
    get_object = client.get_object

    def denied(**kwargs: Any) -> Any:
        if kwargs["Key"] == KEYS[2]:
            error = {"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}
            raise ClientError(error, "GetObject")  # type: ignore[arg-type]
        return get_object(**kwargs)

    monkeypatch.setattr(client, "get_object", denied)

    with pytest.raises(
        ConversionError, match=rf"cannot read s3://{BUCKET}/{KEYS[2]}.*AccessDenied"
    ):
        convert(_manifest("m-1", files), OUT)
    assert "Contents" not in s3.list_objects_v2(Bucket="out-bkt")


def test_a_version_error_after_a_chunk_was_read_fails_the_run(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One conditional GET cannot produce this; if it ever happened, half of the file would
    # be converted already, so the run must fail rather than set the file aside.
    files = [_put(s3, key) for key in KEYS[:2]]
    changed = ObjectChangedError(
        files[1].uri, etag=files[1].etag, version_id=None, code="PreconditionFailed", said=""
    )

    def one_chunk_then_changed(source: Any, *args: Any) -> Iterator[Chunk]:
        yield Chunk(bytearray(b'{"x":1}\n'), 1, 1, 8)
        if source.location == files[1].uri:
            raise changed

    monkeypatch.setattr(run_inputs_module, "iter_chunks", one_chunk_then_changed)
    inputs = RunInputs(resolve_sources(_manifest("m-1", files)), 1 << 20, None)
    with pytest.raises(ConversionError, match=r"cannot read .*b\.ndjson changed") as failed:
        list(inputs.chunks())
    assert failed.value.__cause__ is changed
    assert inputs.superseded == []
