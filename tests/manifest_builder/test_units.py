"""Pure parts: date prefixes, manifest selection, settings."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ndjson_parquet.common.settings import Defaults
from ndjson_parquet.manifest_builder.date_prefix import date_prefix
from ndjson_parquet.manifest_builder.events import parse_body
from ndjson_parquet.manifest_builder.selection import PendingFile, select
from ndjson_parquet.manifest_builder.settings import Settings, SettingsError
from tests.manifest_builder.harness import s3_body, s3_record

EVENT_TIME = datetime(2030, 1, 2, 23, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("2024-03-05/a.ndjson", "2024-03-05"),
        ("logs/2024/03/05/a.ndjson", "2024-03-05"),
        ("logs/dt=2024-03-05/hour=01/a.ndjson", "2024-03-05"),
        ("logs/year=2024/month=3/day=5/a.ndjson", "2024-03-05"),
        ("logs/20240305/a.ndjson", "2024-03-05"),
        ("logs/date=20240305/a.ndjson", "2024-03-05"),
        # The first date-like segment wins.
        ("2024-03-05/2023-01-01/a.ndjson", "2024-03-05"),
        ("ingest/2024-03-06/2024/03/05/a.ndjson", "2024-03-06"),
        # Not dates: impossible days, dates inside a name, too many digits.
        ("2024-02-30/a.ndjson", "2030-01-02"),
        ("logs/events-2024-03-05.ndjson", "2030-01-02"),
        ("logs/202403051/a.ndjson", "2030-01-02"),
        ("a.ndjson", "2030-01-02"),
    ],
)
def test_date_prefix_from_the_key_or_the_event(key: str, expected: str) -> None:
    assert date_prefix(key, EVENT_TIME) == expected


def test_event_time_is_taken_in_utc() -> None:
    from datetime import timedelta, timezone

    late_evening_in_new_york = datetime(2024, 3, 5, 21, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert date_prefix("a.ndjson", late_evening_in_new_york) == "2024-03-06"


def test_a_configured_pattern_replaces_the_builtin_rules() -> None:
    pattern = re.compile(r"events-(?P<date>\d{4}-\d{2}-\d{2})\.ndjson$")
    assert date_prefix("2024-01-01/events-2024-03-05.ndjson", EVENT_TIME, pattern) == "2024-03-05"
    assert date_prefix("2024-01-01/other.ndjson", EVENT_TIME, pattern) == "2030-01-02"


def pending(*sizes: int) -> list[PendingFile]:
    return [PendingFile("b", f"k{i}", f"e{i}", size) for i, size in enumerate(sizes)]


def test_selection_stops_at_the_file_count() -> None:
    selection = select(pending(1, 1, 1, 1), max_files=3, max_bytes=100)
    assert [f.key for f in selection.files] == ["k0", "k1", "k2"]
    assert selection.full


def test_selection_below_both_limits_is_not_full() -> None:
    selection = select(pending(1, 1), max_files=3, max_bytes=100)
    assert len(selection.files) == 2
    assert not selection.full


def test_selection_reaching_the_byte_limit_exactly_is_full() -> None:
    selection = select(pending(60, 40, 1), max_files=10, max_bytes=100)
    assert [f.size for f in selection.files] == [60, 40]
    assert selection.full


def test_selection_takes_one_version_of_an_object() -> None:
    files = [PendingFile("b", "k", "v1", 1), PendingFile("b", "k", "v2", 1)]
    selection = select(files, max_files=10, max_bytes=100)
    assert [f.etag for f in selection.files] == ["v1"]


@given(
    sizes=st.lists(st.integers(min_value=0, max_value=300), max_size=40),
    max_files=st.integers(min_value=1, max_value=10),
    max_bytes=st.integers(min_value=1, max_value=500),
)
def test_selection_respects_the_limits(sizes: list[int], max_files: int, max_bytes: int) -> None:
    files = pending(*sizes)
    selection = select(files, max_files, max_bytes)
    chosen = selection.files
    assert chosen == files[: len(chosen)]  # arrival order, no gaps
    assert len(chosen) <= max_files
    assert selection.total_bytes <= max_bytes or len(chosen) == 1
    if files:
        assert chosen, "at least one file is always taken"
    if len(chosen) < len(files):
        assert selection.full


def test_settings_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "TRACKING_TABLE": "t",
            "MANIFEST_BUCKET": "m",
            "INPUT_SUFFIXES": ".ndjson, .log",
            "MAX_FILES_PER_MANIFEST": "10",
            "MAX_BYTES_PER_MANIFEST": "1_000",
            "DATE_PREFIX_PATTERN": r"d=(?P<date>[\d-]+)",
        }
    )
    assert settings.input_suffixes == (".ndjson", ".log")
    assert (settings.max_files, settings.max_bytes) == (10, 1000)
    assert settings.max_wait_seconds == Defaults.MAX_WAIT_SECONDS
    assert settings.step_function_arn == ""
    assert settings.wants("x/a.LOG")
    assert not settings.wants("x/a.csv")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MAX_FILES_PER_MANIFEST", "ten"),
        ("MAX_FILES_PER_MANIFEST", "0"),
        ("DATE_PREFIX_PATTERN", "("),
        ("DATE_PREFIX_PATTERN", r"\d+"),
        ("TRACKING_TABLE", ""),
    ],
)
def test_bad_settings_are_named(name: str, value: str) -> None:
    environ = {"TRACKING_TABLE": "t", "MANIFEST_BUCKET": "m", name: value}
    with pytest.raises(SettingsError, match=name):
        Settings.from_env(environ)


def _notification_with_version(version: object) -> str:
    record = s3_record("2024-03-05/a.ndjson", 3, etag="e1")
    if version is not _ABSENT:
        record["s3"]["object"]["versionId"] = version
    return s3_body(record)


_ABSENT = object()


@pytest.mark.parametrize(
    ("version", "recorded"),
    [("3HL4kqtJlcpXroDTDmJ", "3HL4kqtJlcpXroDTDmJ"), (_ABSENT, None), (None, None), ("null", None)],
)
def test_the_version_id_of_a_notification(version: object, recorded: str | None) -> None:
    [created] = parse_body(_notification_with_version(version)).created
    assert created.version_id == recorded
    assert created.etag == "e1"


def test_the_version_id_of_an_eventbridge_event() -> None:
    event = {
        "version": "0",
        "id": "1",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "123456789012",
        "time": "2024-03-05T11:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "version": "0",
            "bucket": {"name": "input-bucket"},
            "object": {"key": "a.ndjson", "size": 5, "etag": "abc", "version-id": "v7"},
            "request-id": "R",
            "requester": "123456789012",
            "source-ip-address": "1.2.3.4",
            "reason": "PutObject",
        },
    }
    [created] = parse_body(json.dumps(event)).created
    assert created.version_id == "v7"
