from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ndjson_parquet.common import Manifest, ManifestError, ManifestFile, new_manifest_id
from ndjson_parquet.common.manifest import (
    MANIFEST_ID_RE,
    manifest_json_schema,
    manifest_s3_key,
)

SCHEMA_FILE = Path(__file__).parents[2] / "packages/common/manifest.schema.json"


def _file(key: str, size: int = 10) -> ManifestFile:
    return ManifestFile(bucket="input-bucket", key=key, size=size, etag="abc123")


def test_build_computes_totals_and_round_trips() -> None:
    files = [_file("2024-03-05/a.ndjson", 5), _file("2024-03-05/b c.ndjson.gz", 7)]
    manifest = Manifest.build(new_manifest_id("2024-03-05"), "2024-03-05", files)
    assert (manifest.file_count, manifest.total_bytes) == (2, 12)
    assert Manifest.from_json(manifest.to_json()) == manifest


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"file_count": 3}, "file_count is 3 but 2 files are listed"),
        ({"total_bytes": 1}, "total_bytes is 1 but the files add up to 20"),
        ({"date_prefix": "2024/03/05"}, "date_prefix"),
        ({"manifest_id": "has space"}, "manifest_id"),
        ({"files": []}, "files"),
        ({"schema_version": 2}, "schema_version"),
        ({"unexpected": True}, "unexpected"),
    ],
)
def test_invalid_documents_name_the_problem_and_the_source(
    change: dict[str, object], message: str
) -> None:
    doc = json.loads(
        Manifest.build("m-1", "2024-03-05", [_file("a.ndjson"), _file("b.ndjson")]).to_json()
    )
    doc.update(change)
    with pytest.raises(ManifestError) as info:
        Manifest.from_json(json.dumps(doc), source="s3://bucket/m.json")
    assert "s3://bucket/m.json" in str(info.value)
    assert message in str(info.value)


def test_a_file_listed_twice_is_rejected() -> None:
    with pytest.raises(ValueError, match="listed twice"):
        Manifest.build("m-1", "2024-03-05", [_file("a.ndjson"), _file("a.ndjson")])


def test_not_json_is_a_manifest_error() -> None:
    with pytest.raises(ManifestError, match=r"invalid manifest local\.json"):
        Manifest.from_json("{not json", source="local.json")


def test_manifest_id_is_a_valid_execution_name_and_sorts_by_time() -> None:
    early = new_manifest_id("2024-03-05", datetime(2024, 3, 6, 1, 2, 3, tzinfo=UTC))
    late = new_manifest_id("2024-03-05", datetime(2024, 3, 6, 1, 2, 4, tzinfo=UTC))
    assert early.startswith("2024-03-05-20240306T010203Z-")
    assert MANIFEST_ID_RE.match(early)
    assert early < late
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        new_manifest_id("2024/03/05")


def test_s3_key_is_hive_style_below_the_prefix() -> None:
    assert manifest_s3_key("m-1", "2024-03-05") == "manifests/dt=2024-03-05/m-1.json"
    assert manifest_s3_key("m-1", "2024-03-05", "/x/y/") == "x/y/dt=2024-03-05/m-1.json"
    assert manifest_s3_key("m-1", "2024-03-05", "") == "dt=2024-03-05/m-1.json"


def test_exported_json_schema_is_committed_and_current() -> None:
    """The schema file readers outside Python use must match the model."""
    assert json.loads(SCHEMA_FILE.read_text()) == manifest_json_schema()


def test_json_schema_accepts_a_real_manifest() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    manifest = Manifest.build("m-1", "2024-03-05", [_file("a.ndjson")])
    jsonschema.validate(json.loads(manifest.to_json()), manifest_json_schema())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"manifest_id": "m-1"}, manifest_json_schema())


@given(
    keys=st.lists(
        st.text(min_size=1, max_size=40).filter(lambda s: s.strip() != ""),
        min_size=1,
        max_size=20,
        unique=True,
    ),
    sizes=st.data(),
)
def test_any_unique_file_list_round_trips(keys: list[str], sizes: st.DataObject) -> None:
    files = [_file(k, sizes.draw(st.integers(0, 10**12))) for k in keys]
    manifest = Manifest.build("m-1", "2024-03-05", files)
    assert Manifest.from_json(manifest.to_json().encode()) == manifest
    assert manifest.total_bytes == sum(f.size for f in files)
