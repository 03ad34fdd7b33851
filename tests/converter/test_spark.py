"""Spreading a manifest over Spark executors: planning, and a real local[2] Spark run."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from ndjson_parquet.common import Manifest, ManifestFile
from ndjson_parquet.converter import ConvertOptions
from ndjson_parquet.converter.spark_plan import (
    MAX_SHARES,
    SHARE_TARGET_BYTES,
    plan_shares,
    share_count,
    should_distribute,
)

MANIFEST_ID = "2024-03-05-20240306T010203Z-5ca1ab1e"


def _manifest(sizes: list[int]) -> Manifest:
    files = [
        ManifestFile(bucket="input-bucket", key=f"2024-03-05/f{i:02d}.ndjson", size=s, etag=f"e{i}")
        for i, s in enumerate(sizes)
    ]
    return Manifest.build(
        MANIFEST_ID, "2024-03-05", files, created_at=datetime(2024, 3, 6, tzinfo=UTC)
    )


# --- planning (no Spark) ------------------------------------------------------------------------


def test_share_count_depends_on_the_manifest_only() -> None:
    assert share_count(1, 10**12) == 1
    assert share_count(2, 10) == 2
    assert share_count(5, 10) == 2
    assert share_count(50, 10 * SHARE_TARGET_BYTES) == 10
    assert share_count(3, 10 * SHARE_TARGET_BYTES) == 3
    assert share_count(10_000, 10**6 * SHARE_TARGET_BYTES) == MAX_SHARES


def test_every_file_in_exactly_one_share_balanced_by_bytes() -> None:
    sizes = [900, 100, 500, 400, 300, 300, 200, 100, 50, 50]
    manifest = _manifest(sizes)
    shares = plan_shares(manifest, 3)
    assert len(shares) == 3
    keys = [f.key for s in shares for f in (s.manifest.files if s.manifest else [])]
    assert sorted(keys) == sorted(f.key for f in manifest.files)
    loads = [s.bytes for s in shares]
    assert sum(loads) == sum(sizes)
    # Greedy largest-first: no share exceeds the ideal by more than the largest file.
    assert max(loads) - min(loads) <= max(sizes)
    for share in shares:
        assert share.manifest is not None
        # A share is the manifest (same id: lineage and folders) with only its files.
        assert share.manifest.manifest_id == MANIFEST_ID
        assert share.run_id == f"{MANIFEST_ID}-s{share.index:03d}"
        assert share.manifest.total_bytes == share.bytes
        # Files keep their manifest order inside a share.
        order = [manifest.files.index(f) for f in share.manifest.files]
        assert order == sorted(order)


def test_plan_is_deterministic_and_names_are_unique() -> None:
    manifest = _manifest([7, 7, 7, 7, 0, 0, 3])
    first = plan_shares(manifest, 4)
    assert first == plan_shares(Manifest.from_json(manifest.to_json()), 4)
    assert len({s.run_id for s in first}) == 4
    assert all(s.sources for s in first)  # zero-byte files still spread, no empty share


def test_more_shares_than_files_is_capped() -> None:
    assert len(plan_shares(_manifest([1, 2]), 8)) == 2


class _FakeContext:
    def __init__(self, parallelism: int) -> None:
        self.defaultParallelism = parallelism


def test_distribute_only_with_several_cores_and_files() -> None:
    assert should_distribute(_FakeContext(2), _manifest([1, 2]))
    assert not should_distribute(_FakeContext(1), _manifest([1, 2]))
    assert not should_distribute(_FakeContext(8), _manifest([1]))


# --- a real Spark run ---------------------------------------------------------------------------

FILES = {
    # `v` is an integer here, a float in b, a string in c: unified to JSON text across shares.
    "a.ndjson": [{"id": 1, "v": 1, "tags": ["x"]}, {"id": 2, "v": 2, "tags": []}],
    "b.ndjson": [{"id": 3, "v": 2.5, "obj": {"k": 1}}, {"id": 4, "v": None}],
    "c.ndjson": [{"id": 5, "v": "five", "obj": {"k": 2, "j": "new"}}],
    "d.ndjson": [{"id": 6, "late": True}, {"id": 7, "v": 7, "tags": ["y", "z"]}],
}


@pytest.fixture
def spark_context(spark: Any) -> Any:
    """The shared session's context (see conftest)."""
    return spark.sparkContext


def _inputs(tmp_path: Path) -> list[str]:
    paths = []
    for name, rows in FILES.items():
        path = tmp_path / "in" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        paths.append(str(path))
    return paths


@pytest.mark.slow
def test_spark_run_unifies_schema_and_is_deterministic(spark_context: Any, tmp_path: Path) -> None:
    from ndjson_parquet.converter.spark import convert_distributed

    assert spark_context.defaultParallelism == 2
    sources = _inputs(tmp_path)
    out = tmp_path / "out"
    summary = convert_distributed(spark_context, sources, out, shares=2)

    expected_rows = sum(len(rows) for rows in FILES.values())
    assert summary.lines_read == expected_rows
    assert summary.rows_written == expected_rows
    assert summary.lines_quarantined == 0
    parquet = sorted(str(p) for p in out.rglob("*.parquet"))
    assert sorted(summary.output_files) == parquet
    assert len(parquet) >= 2  # both shares wrote files

    schemas = [pq.read_schema(p) for p in parquet]
    assert all(s.equals(schemas[0], check_metadata=True) for s in schemas)
    assert schemas[0].equals(summary.arrow_schema, check_metadata=False)

    rows = {r["id"]: r for p in parquet for r in pq.read_table(p).to_pylist()}
    assert sorted(rows) == [1, 2, 3, 4, 5, 6, 7]
    # Values survive, as their JSON text where the column became JSON text.
    assert [rows[i]["v"] for i in (1, 3, 4, 5, 6, 7)] == ["1", "2.5", None, '"five"', None, "7"]
    assert rows[6]["late"] is True
    assert rows[1]["late"] is None
    assert rows[5]["obj"] == {"k": 2, "j": "new"}
    assert rows[3]["obj"] == {"k": 1, "j": None}
    assert rows[7]["tags"] == ["y", "z"]
    assert any(d["column"] == "v" for d in summary.to_dict()["drift"])

    # Run again: the same files are overwritten, none added, rows not duplicated.
    again = convert_distributed(spark_context, sources, out, shares=2)
    assert sorted(str(p) for p in out.rglob("*.parquet")) == parquet
    assert sorted(again.output_files) == parquet
    total = sum(pq.read_metadata(p).num_rows for p in parquet)
    assert total == expected_rows


@pytest.mark.slow
def test_spark_error_rate_applies_to_all_shares_together(
    spark_context: Any, tmp_path: Path
) -> None:
    from ndjson_parquet.converter import MaxErrorRateExceeded
    from ndjson_parquet.converter.spark import convert_distributed

    sources = _inputs(tmp_path)
    bad = tmp_path / "in" / "bad.ndjson"
    bad.write_text('{"id": 8}\nnot json\n')
    sources.append(str(bad))
    # One share alone is 1 bad line in 2; all shares together 1 in 9 (11%).
    shares = plan_shares(sources, 2)
    assert any(str(bad) in [f.location for f in s.sources] for s in shares)

    out = tmp_path / "out"
    summary = convert_distributed(
        spark_context, sources, out, ConvertOptions(max_error_rate=0.2), shares=2
    )
    assert (summary.rows_written, summary.lines_quarantined) == (8, 1)
    marker = out / "_summary" / f"{summary.run_id}.json"
    assert marker.exists()

    with pytest.raises(MaxErrorRateExceeded, match="1 of 9"):
        convert_distributed(
            spark_context, sources, out, ConvertOptions(max_error_rate=0.1), shares=2
        )
    # Nothing of the failed run is left, and no completion marker names missing files.
    assert not list(out.rglob("*.parquet"))
    assert not marker.exists()
    assert not [p for p in (out / "_summary").glob("*") if p.is_file()]


@pytest.mark.slow
def test_spark_share_failure_fails_the_run_and_leaves_nothing(
    spark_context: Any, tmp_path: Path
) -> None:
    from ndjson_parquet.converter import ConversionError
    from ndjson_parquet.converter.spark import convert_distributed

    sources = _inputs(tmp_path)
    # Sized on the driver like any file, unreadable as NDJSON when its task opens it.
    unreadable = tmp_path / "in" / "folder.ndjson"
    unreadable.mkdir()
    sources.append(str(unreadable))
    out = tmp_path / "out"
    with pytest.raises(ConversionError, match=r"1 of 2 shares failed: share \d: .*folder\.ndjson"):
        convert_distributed(spark_context, sources, out, shares=2)
    assert not list(out.rglob("*.parquet"))
    assert not [p for p in out.rglob("_summary/*") if p.is_file()]


# --- the Glue entrypoint on Spark, with S3 on a moto server ---------------------------------------


@pytest.fixture
def moto_s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A moto server on a free loopback port: Spark's Python workers reach it over HTTP."""
    import boto3
    from moto.server import ThreadedMotoServer

    from ndjson_parquet.converter import storage

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{host}:{port}")
    storage.reset_clients()
    try:
        client = boto3.client("s3")
        for bucket in ("input-bucket", "manifest-bucket", "output-bucket"):
            client.create_bucket(Bucket=bucket)
        yield client
    finally:
        server.stop()
        storage.reset_clients()


@pytest.mark.slow
def test_glue_main_spreads_a_manifest_over_spark(spark_context: Any, moto_s3: Any) -> None:
    from ndjson_parquet.converter import glue

    files = []
    for name, rows in FILES.items():
        key = f"incoming/2024-03-05/{name}"
        body = "".join(json.dumps(r) + "\n" for r in rows).encode()
        etag = moto_s3.put_object(Bucket="input-bucket", Key=key, Body=body)["ETag"].strip('"')
        files.append(ManifestFile(bucket="input-bucket", key=key, size=len(body), etag=etag))
    manifest = Manifest.build(
        MANIFEST_ID, "2024-03-05", files, created_at=datetime(2024, 3, 6, tzinfo=UTC)
    )
    moto_s3.put_object(Bucket="manifest-bucket", Key=manifest.s3_key(), Body=manifest.to_json())
    # A part left by an earlier, in-process attempt of the same manifest.
    stale = f"events/dt=2024-03-05/{MANIFEST_ID}-00000.parquet"
    moto_s3.put_object(Bucket="output-bucket", Key=stale, Body=b"old")
    argv = [
        "glue_script.py",
        "--JOB_NAME",
        "converter",
        "--MANIFEST_PATH",
        f"s3://manifest-bucket/{manifest.s3_key()}",
        "--OUTPUT_URI",
        "s3://output-bucket/events/",
        "--LINEAGE",
        "true",
    ]

    summary = glue.main(argv, spark_context=spark_context)

    def keys() -> list[str]:
        listing = moto_s3.list_objects_v2(Bucket="output-bucket").get("Contents", [])
        return sorted(o["Key"] for o in listing)

    parquet = [k for k in keys() if k.endswith(".parquet")]
    assert stale not in parquet
    assert [k for k in keys() if "/_summary/" in k] == [f"events/_summary/{MANIFEST_ID}.json"]
    # Two shares (4 small files), each named from the manifest id and its index.
    assert {k.rsplit("/", 1)[1].rsplit("-", 1)[0] for k in parquet} == {
        f"{MANIFEST_ID}-s000",
        f"{MANIFEST_ID}-s001",
    }
    assert sorted(summary.output_files) == [f"s3://output-bucket/{k}" for k in parquet]
    tables = [
        pq.read_table(io.BytesIO(moto_s3.get_object(Bucket="output-bucket", Key=k)["Body"].read()))
        for k in parquet
    ]
    assert all(t.schema.equals(tables[0].schema, check_metadata=True) for t in tables)
    rows = [r for t in tables for r in t.to_pylist()]
    assert sorted(r["id"] for r in rows) == [1, 2, 3, 4, 5, 6, 7]
    assert {r["_manifest_id"] for r in rows} == {MANIFEST_ID}
    assert tables[0].schema.names[-3:] == ["_source_file", "_source_line", "_manifest_id"]
    assert summary.rows_written == 7
    assert summary.manifest_id == MANIFEST_ID

    written = moto_s3.get_object(Bucket="output-bucket", Key=f"events/_summary/{MANIFEST_ID}.json")[
        "Body"
    ].read()
    assert json.loads(written)["rows_written"] == 7

    glue.main(argv, spark_context=spark_context)
    assert [k for k in keys() if k.endswith(".parquet")] == parquet

    # The same manifest converted in-process afterwards (a single-core run, or the CLI):
    # the shares' parts and markers go, so no row is there twice.
    again = glue.main(argv)
    parquet_now = [k for k in keys() if k.endswith(".parquet")]
    assert sorted(again.output_files) == [f"s3://output-bucket/{k}" for k in parquet_now]
    assert not any("-s00" in k for k in parquet_now)
    assert [k for k in keys() if "/_summary/" in k] == [f"events/_summary/{MANIFEST_ID}.json"]


def test_warnings_of_a_distributed_run_are_those_of_the_whole() -> None:
    from ndjson_parquet.converter import Summary
    from ndjson_parquet.converter.spark import _warnings

    def share(rows: int, quarantined: int, warnings: list[str]) -> Summary:
        return Summary(
            "r", 1, rows + quarantined, 0, rows, quarantined, 1, [], [], {}, [], 0.0,
            warnings=warnings,
        )  # fmt: skip

    no_date = (
        "partition_by: no row has the field 'ts'; every row is in dt=__HIVE_DEFAULT_PARTITION__/"
    )
    only_bad = share(0, 2, ["no row was written: all 2 non-blank lines went to quarantine"])
    mixed = [share(3, 0, [no_date]), only_bad]
    assert _warnings(mixed, share(3, 2, [])) == [no_date]
    assert _warnings([share(3, 0, [no_date]), share(1, 0, [])], share(4, 0, [])) == []
    assert _warnings([only_bad, only_bad], share(0, 4, [])) == [
        "no row was written from 4 non-blank lines"
    ]


@pytest.mark.slow
def test_superseded_inputs_of_the_shares_reach_the_driver_summary(
    spark_context: Any, moto_s3: Any
) -> None:
    from ndjson_parquet.converter.spark import convert_distributed

    files = []
    for name, rows in FILES.items():
        key = f"incoming/2024-03-05/{name}"
        body = "".join(json.dumps(r) + "\n" for r in rows).encode()
        etag = moto_s3.put_object(Bucket="input-bucket", Key=key, Body=body)["ETag"].strip('"')
        files.append(ManifestFile(bucket="input-bucket", key=key, size=len(body), etag=etag))
    manifest = Manifest.build(
        MANIFEST_ID, "2024-03-05", files, created_at=datetime(2024, 3, 6, tzinfo=UTC)
    )
    # Overwritten after the manifest was made: a.ndjson (share 0) and d.ndjson (share 1).
    changed = [files[0], files[3]]
    for f in changed:
        moto_s3.put_object(Bucket="input-bucket", Key=f.key, Body=b'{"id":99}\n')

    summary = convert_distributed(spark_context, manifest, "s3://output-bucket/events/")

    assert sorted(s["uri"] for s in summary.superseded_files) == sorted(f.uri for f in changed)
    assert {s["etag"] for s in summary.superseded_files} == {f.etag for f in changed}
    assert summary.rows_written == 3  # b.ndjson and c.ndjson
    assert summary.counts_add_up
    assert [w for w in summary.warnings if "2 of 4 input files superseded" in w]
    key = f"events/_summary/{MANIFEST_ID}.json"
    written = json.loads(moto_s3.get_object(Bucket="output-bucket", Key=key)["Body"].read())
    assert written["superseded_files"] == summary.superseded_files


def test_a_distributed_run_warns_of_the_superseded_inputs_of_every_share() -> None:
    from ndjson_parquet.converter import Summary
    from ndjson_parquet.converter.spark import _warnings

    gone = {"uri": "s3://b/k", "etag": "e", "s3_error": "PreconditionFailed"}
    combined = Summary("r", 3, 1, 0, 1, 0, 1, [], [], {}, [], 0.0, superseded_files=[gone])
    [warning] = _warnings([combined], combined)
    assert warning.startswith("1 of 3 input files superseded")
    assert "s3://b/k" in warning
