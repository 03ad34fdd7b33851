"""The Iceberg table destination on a SQLite catalog: one snapshot per run, evolution, replays."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ndjson_parquet.converter import ConvertOptions, Summary, schema_from_json
from ndjson_parquet.converter.table import (
    RUN_ID_PROPERTY,
    CommitRetriesExhausted,
    TableDestination,
    convert_to_table,
    open_catalog,
    replay_quarantine,
)
from ndjson_parquet.converter.table import run as table_run

pytest.importorskip("pyiceberg")

from pyiceberg.table import Table
from pyiceberg.types import FloatType, IntegerType, LongType, NestedField


def _write(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(r if isinstance(r, str) else json.dumps(r) + "\n" for r in rows))
    return path


def _table(destination: TableDestination) -> Table:
    return open_catalog(destination).load_table(destination.identifier)


def _data_files(table: Table) -> list[str]:
    return [task.file.file_path for task in table.scan().plan_files()]


def _read_back(table: Table) -> list[dict[str, Any]]:
    """The table's rows by pyiceberg's scan; the snapshot's data files read by DuckDB agree."""
    rows = table.scan().to_arrow().to_pylist()
    files = [f.removeprefix("file://") for f in _data_files(table)]
    counted = duckdb.sql(f"SELECT count(*) FROM read_parquet({files!r}, union_by_name=true)")
    assert counted.fetchall() == [(len(rows),)]
    return rows


def _by_id(rows: list[dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    return {r["id"]: r for r in rows}


@pytest.fixture
def dest(tmp_path: Path) -> TableDestination:
    return TableDestination("lake.events", str(tmp_path / "warehouse"), partition_by="ts")


def test_a_run_creates_a_day_partitioned_table_in_one_snapshot(
    tmp_path: Path, dest: TableDestination
) -> None:
    src = _write(
        tmp_path / "a.ndjson",
        [
            {"id": 1, "ts": "2024-03-05T10:00:00Z", "user": {"name": "ann"}, "tags": ["x"]},
            {"id": 2, "ts": "2024-03-06T23:00:00-02:00", "user": {"name": "bob"}, "tags": []},
            {"id": 3, "ts": None, "v": "mixed"},
            {"id": 4, "ts": "2024-03-05T11:00:00Z", "v": 5},
            "not json\n",
        ],
    )
    summary = convert_to_table([src], dest)

    table = _table(dest)
    assert summary.rows_written == 4
    assert summary.lines_quarantined == 1
    assert summary.extra["table"]["created"] is True
    (snapshot,) = table.metadata.snapshots
    assert snapshot.snapshot_id == summary.extra["table"]["snapshot_id"]
    assert snapshot.summary is not None
    assert snapshot.summary.additional_properties[RUN_ID_PROPERTY] == summary.run_id
    assert [(f.name, str(f.transform)) for f in table.spec().fields] == [("ts_day", "day")]
    rows = _by_id(_read_back(table))
    assert rows[2]["ts"].isoformat() == "2024-03-07T01:00:00+00:00"
    assert rows[1]["user"] == {"name": "ann"}
    assert rows[1]["tags"] == ["x"]
    assert json.loads(rows[3]["v"]) == "mixed"
    assert json.loads(rows[4]["v"]) == 5
    # a day filter prunes by the partition transform alone
    march_5 = table.scan(
        row_filter="ts >= '2024-03-05T00:00:00+00:00' and ts < '2024-03-06T00:00:00+00:00'"
    )
    assert len(list(march_5.plan_files())) == 1
    # the converter's summary marker is not left among the table's files
    assert not list((tmp_path / "warehouse").rglob("_summary/*.json"))


def test_schema_evolves_over_three_runs_and_an_incompatible_value_is_quarantined(
    tmp_path: Path, dest: TableDestination
) -> None:
    # A table made beforehand (by Terraform or an operator) with 32-bit types.
    catalog = open_catalog(dest)
    catalog.create_table(
        dest.identifier,
        pa.schema([pa.field("id", pa.int32()), pa.field("score", pa.float32())]),
    )
    one = _write(tmp_path / "1.ndjson", [{"id": 3_000_000_000, "score": 0.1, "user": {"a": 1}}])
    two = _write(tmp_path / "2.ndjson", [{"id": 2, "score": 1, "user": {"a": 2, "b": "new"}}])
    three = _write(
        tmp_path / "3.ndjson",
        [
            {"id": "x", "score": 2.5, "user": {"a": 3}},  # id is a long: quarantined
            {"id": 4, "score": 3.5, "user": {"a": "text"}},  # user.a is a long: quarantined
            {"id": 5, "score": 4.5, "user": {"a": 5, "c": [1]}},
        ],
    )

    convert_to_table([one], dest)
    types = {f.name: f.field_type for f in _table(dest).schema().fields}
    assert types["id"] == LongType()
    assert str(types["score"]) == "double"
    convert_to_table([two], dest)
    third = convert_to_table([three], dest)

    table = _table(dest)
    assert third.rows_written == 1
    assert third.lines_quarantined == 2
    quarantined = [json.loads(x) for x in Path(third.quarantine_files[0]).read_text().splitlines()]
    errors = {q["line"]: q["error"] for q in quarantined}
    assert "id" in errors[1]
    assert "int64" in errors[1]
    assert '"x"' in errors[1]
    assert "a" in errors[2]
    assert "int64" in errors[2]
    user = table.schema().find_field("user").field_type
    assert [f.name for f in user.fields] == ["a", "b", "c"]  # nested fields added
    assert len(table.metadata.snapshots) == 3
    rows = _by_id(_read_back(table))
    assert set(rows) == {3_000_000_000, 2, 5}
    assert rows[2]["user"] == {"a": 2, "b": "new", "c": None}
    assert rows[5]["user"] == {"a": 5, "b": None, "c": [1]}
    assert rows[5]["score"] == 4.5


def test_the_same_run_twice_adds_one_snapshot(tmp_path: Path, dest: TableDestination) -> None:
    src = _write(tmp_path / "a.ndjson", [{"id": i, "ts": "2024-03-05"} for i in range(10)])
    first = convert_to_table([src], dest)
    again = convert_to_table([src], dest)  # a replay: the run id is the hash of the input
    named = convert_to_table([src], dest, ConvertOptions(run_id="m-1"))
    named_again = convert_to_table([src], dest, ConvertOptions(run_id="m-1"))

    table = _table(dest)
    assert len(table.metadata.snapshots) == 2
    assert again.extra["table"] == {**first.extra["table"], "created": False}
    assert named_again.extra["table"]["snapshot_id"] == named.extra["table"]["snapshot_id"]
    assert named_again.rows_written == 10
    assert named_again.counts_add_up
    assert len(_read_back(table)) == 20
    assert len(list((tmp_path / "warehouse").rglob("*.parquet"))) == 2  # replays left nothing


def test_concurrent_runs_all_land_once(tmp_path: Path, dest: TableDestination) -> None:
    convert_to_table([_write(tmp_path / "seed.ndjson", [{"id": -1}])], dest)
    errors: list[BaseException] = []

    def commit(n: int) -> None:
        # four runs, two of them twice at once: six committers, four snapshots
        src = _write(
            tmp_path / f"c{n}.ndjson", [{"id": n * 100 + k, f"k{n % 4}": k} for k in range(20)]
        )
        try:
            convert_to_table([src], dest, ConvertOptions(run_id=f"m{n % 4}"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=commit, args=(n,)) for n in (0, 1, 2, 3, 4, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    table = _table(dest)
    assert len(table.metadata.snapshots) == 5
    rows = _read_back(table)
    assert len(rows) == 1 + 4 * 20
    assert {f"k{n}" for n in range(4)} <= set(table.schema().column_names)


def test_a_commit_that_failed_leaves_no_rows_and_its_retry_adds_them_once(
    tmp_path: Path, dest: TableDestination, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = _write(tmp_path / "a.ndjson", [{"id": i, "ts": "2024-03-05"} for i in range(5)])
    real = table_run.commit_files
    warehouse = tmp_path / "warehouse"

    def lost(*args: Any, **kwargs: Any) -> Any:
        raise CommitRetriesExhausted("other writers won every attempt")

    monkeypatch.setattr(table_run, "commit_files", lost)
    with pytest.raises(CommitRetriesExhausted):
        convert_to_table([src], dest, ConvertOptions(run_id="m-9"))
    assert not list(warehouse.rglob("*.parquet"))  # surely not committed: deleted

    def unknown(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("worker lost during the commit call")

    monkeypatch.setattr(table_run, "commit_files", unknown)
    with pytest.raises(ConnectionError):
        convert_to_table([src], dest, ConvertOptions(run_id="m-9"))
    (orphan,) = warehouse.rglob("*.parquet")  # outcome unknown: kept

    monkeypatch.setattr(table_run, "commit_files", real)
    convert_to_table([src], dest, ConvertOptions(run_id="m-9"))  # the retry
    table = _table(dest)
    assert len(table.metadata.snapshots) == 1
    assert sorted(r["id"] for r in _read_back(table)) == list(range(5))
    assert orphan.exists()
    assert f"file://{orphan}" not in _data_files(table)  # an orphan: never read


def test_manifests_are_partitioned_by_their_date_prefix(tmp_path: Path) -> None:
    import boto3
    from moto import mock_aws

    from ndjson_parquet.common import Manifest, ManifestFile

    def manifest(day: str, body: bytes) -> Manifest:
        key = f"{day}/a.ndjson"
        etag = boto3.client("s3").put_object(Bucket="input", Key=key, Body=body)["ETag"]
        files = [ManifestFile(bucket="input", key=key, size=len(body), etag=etag.strip('"'))]
        return Manifest.build(f"{day}-000000-abcd1234", day, files)

    dest = TableDestination("lake.by_prefix", str(tmp_path / "warehouse"))
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket="input")
        first = convert_to_table(manifest("2024-03-05", b'{"id": 1}\n{"id": 2}\n'), dest)
        # the table exists now: its _date_prefix column must not reach the converter's files
        convert_to_table(manifest("2024-03-06", b'{"id": 3}\n'), dest)

    table = _table(dest)
    assert first.run_id == "2024-03-05-000000-abcd1234"
    assert [str(f.transform) for f in table.spec().fields] == ["identity"]
    rows = _by_id(_read_back(table))
    assert {i: str(r["_date_prefix"]) for i, r in rows.items()} == {
        1: "2024-03-05",
        2: "2024-03-05",
        3: "2024-03-06",
    }
    for path in _data_files(table):
        assert "_date_prefix" not in pq.read_schema(path.removeprefix("file://")).names


def test_a_superseded_input_is_listed_in_the_snapshot_and_the_run_completes(
    tmp_path: Path,
) -> None:
    import boto3
    from moto import mock_aws

    from ndjson_parquet.common import Manifest, ManifestFile
    from ndjson_parquet.converter import storage

    dest = TableDestination("lake.superseded", str(tmp_path / "warehouse"))
    with mock_aws():
        storage.reset_clients()
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="input")
        files = []
        for name, body in (("a", b'{"id": 1}\n'), ("b", b'{"id": 2}\n')):
            etag = s3.put_object(Bucket="input", Key=f"d/{name}", Body=body)["ETag"]
            files.append(
                ManifestFile(bucket="input", key=f"d/{name}", size=len(body), etag=etag.strip('"'))
            )
        s3.put_object(Bucket="input", Key="d/b", Body=b'{"id": 3}\n')  # overwritten
        manifest = Manifest.build("2024-03-05-000000-abcd1234", "2024-03-05", files)
        summary = convert_to_table(manifest, dest)
        replayed = convert_to_table(manifest, dest)
        storage.reset_clients()

    assert [r["id"] for r in _read_back(_table(dest))] == [1]
    assert [s["uri"] for s in summary.superseded_files] == ["s3://input/d/b"]
    assert any("superseded" in w for w in summary.warnings)
    # A replay finds the run in the table and reports what its snapshot recorded.
    assert replayed.extra["table"]["created"] is False
    assert replayed.superseded_files == summary.superseded_files


def test_a_column_widened_by_an_operator_takes_the_replayed_lines(
    tmp_path: Path, dest: TableDestination
) -> None:
    declared = schema_from_json({"fields": [{"name": "code", "type": "int32"}]})
    src = _write(tmp_path / "a.ndjson", [{"id": 1, "code": 7}, {"id": 2, "code": 2**40}])
    first = convert_to_table([src], dest, ConvertOptions(schema=declared))
    assert first.lines_quarantined == 1
    assert _table(dest).schema().find_field("code").field_type == IntegerType()

    # the operator widens code (Athena: ALTER TABLE ... CHANGE COLUMN code code bigint)
    with _table(dest).update_schema() as update:
        update.update_column("code", LongType())
    replayed = replay_quarantine(first.quarantine_files, dest)
    replayed_twice = replay_quarantine(first.quarantine_files, dest)

    assert replayed.rows_written == 1
    assert replayed.lines_quarantined == 0
    assert replayed_twice.extra["table"]["created"] is False
    rows = _by_id(_read_back(_table(dest)))
    assert rows[2]["code"] == 2**40
    assert rows[1]["code"] == 7


def test_summary_counts_add_up_and_schema_types_map(tmp_path: Path, dest: TableDestination) -> None:
    src = _write(tmp_path / "a.ndjson", [{"id": 1, "f": 0.5, "ok": True, "d": "2024-01-01"}, "\n"])
    summary: Summary = convert_to_table([src], dest)
    assert summary.counts_add_up
    assert summary.blank_lines == 1
    fields = {f.name: f for f in _table(dest).schema().fields}
    assert isinstance(fields["id"], NestedField)
    assert str(fields["f"].field_type) == "double"
    assert str(fields["ok"].field_type) == "boolean"
    assert str(fields["d"].field_type) == "string"
    assert FloatType() != fields["f"].field_type


def test_appends_merge_small_manifests_and_keep_few_metadata_files(
    tmp_path: Path, dest: TableDestination
) -> None:
    src = _write(tmp_path / "a.ndjson", [{"id": 1, "ts": "2024-03-05"}])
    convert_to_table([src], dest, ConvertOptions(run_id="r0"))
    with _table(dest).transaction() as txn:  # merge from 3 manifests on, to see it happen
        txn.set_properties({"commit.manifest.min-count-to-merge": "3"})
    for n in range(1, 6):
        convert_to_table([src], dest, ConvertOptions(run_id=f"r{n}"))

    table = _table(dest)
    assert len(table.metadata.snapshots) == 6
    current = table.current_snapshot()
    assert current is not None
    assert len(current.manifests(table.io)) < 3
    assert len(_read_back(table)) == 6
    assert table.properties["write.metadata.delete-after-commit.enabled"] == "true"


def test_the_readme_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import glob
    import gzip
    import re
    import shlex

    from ndjson_parquet.converter.cli import EXIT_NO_ROWS, main

    readme = (Path(__file__).parents[2] / "packages/converter/README.md").read_text()
    section = readme.split("## Iceberg tables", 1)[1].split("\n## ", 1)[0]
    python = re.search(r"```python\n(.*?)```", section, re.S)
    bash = re.search(r"```bash\n(.*?)```", section, re.S)
    assert python is not None
    assert bash is not None
    monkeypatch.chdir(tmp_path)
    for name, lines in {
        "events-1.ndjson.gz": [{"id": 1, "ts": "2024-03-05T10:00:00Z"}, {"id": 2}],
        "events-2.ndjson.gz": [{"id": 3, "ts": "2024-03-06"}, {"id": "x", "ts": "2024-03-06"}],
    }.items():
        with gzip.open(name, "wt") as f:
            f.writelines(json.dumps(line) + "\n" for line in lines)

    exec(compile(python.group(1), "README.md", "exec"), {})
    for command in bash.group(1).strip().splitlines():
        if command.startswith("#"):
            continue
        argv = [a for arg in shlex.split(command)[1:] for a in (glob.glob(arg) or [arg])]
        # Here the replayed "x" still does not fit a long: no row written, exit status 4.
        assert main(argv) == (EXIT_NO_ROWS if "--replay" in argv else 0), command

    table = _table(TableDestination("lake.events", "warehouse"))
    assert len(table.metadata.snapshots) == 3  # two runs, and the replay ("x" is still no long)
    assert sorted(r["id"] for r in _read_back(table)) == [1, 2, 3]


def test_a_later_run_follows_the_tables_day_partitioning(
    tmp_path: Path, dest: TableDestination
) -> None:
    first = _write(tmp_path / "1.ndjson", [{"id": 1, "ts": "2024-03-05T10:00:00Z"}])
    later = _write(
        tmp_path / "2.ndjson",
        [{"id": 2, "ts": "2024-03-06T10:00:00Z"}, {"id": 3, "ts": "2024-03-07T10:00:00Z"}],
    )
    convert_to_table([first], dest)
    unpartitioned = TableDestination(dest.identifier, dest.warehouse)  # no partition_by given
    convert_to_table([later], unpartitioned)

    table = _table(dest)
    days = sorted(str(f.partition[0]) for f in (t.file for t in table.scan().plan_files()))
    assert len(days) == 3  # one file per day, as the table's day(ts) needs
    assert len(_read_back(table)) == 3
