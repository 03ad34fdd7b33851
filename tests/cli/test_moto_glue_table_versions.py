"""moto's Glue UpdateTable ignores VersionId; the emulator's fix makes it refuse stale updates as
AWS does (the optimistic lock of Iceberg commits through the Glue catalog)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from ndjson_parquet.cli.emulator import glue_table_versions, moto_fixes


@pytest.fixture
def glue() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("glue")
        client.create_database(DatabaseInput={"Name": "db"})
        client.create_table(DatabaseName="db", TableInput={"Name": "t", "Parameters": {"v": "0"}})
        yield client


def _update_from(glue: Any, version: str, value: str) -> None:
    glue.update_table(
        DatabaseName="db", TableInput={"Name": "t", "Parameters": {"v": value}}, VersionId=version
    )


def test_moto_applies_an_update_based_on_a_stale_version(glue: Any) -> None:
    glue_table_versions.revert()
    try:
        version = glue.get_table(DatabaseName="db", Name="t")["Table"]["VersionId"]
        _update_from(glue, version, "1")
        _update_from(glue, version, "2")  # AWS: ConcurrentModificationException
    finally:
        moto_fixes.apply()
    assert glue_table_versions.glue_version_check_missing(), "moto checks VersionId now: drop fix 3"
    assert glue.get_table(DatabaseName="db", Name="t")["Table"]["Parameters"] == {"v": "2"}


def test_with_the_fix_a_stale_update_is_refused_and_a_current_one_applies(glue: Any) -> None:
    moto_fixes.apply()
    version = glue.get_table(DatabaseName="db", Name="t")["Table"]["VersionId"]
    _update_from(glue, version, "1")
    with pytest.raises(ClientError) as refused:
        _update_from(glue, version, "2")
    assert refused.value.response["Error"]["Code"] == "ConcurrentModificationException"
    current = glue.get_table(DatabaseName="db", Name="t")["Table"]
    assert current["Parameters"] == {"v": "1"}
    _update_from(glue, current["VersionId"], "3")
    assert glue.get_table(DatabaseName="db", Name="t")["Table"]["Parameters"] == {"v": "3"}
