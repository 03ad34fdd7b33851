"""Test-wide safety: no test may reach a real AWS account."""

from __future__ import annotations

import os
import shutil

import pytest

_FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


@pytest.fixture(autouse=True)
def _fake_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and region for every test; a stray call can never hit an account."""
    for name, value in _FAKE_AWS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def require_tool(name: str) -> str:
    """Path of an external checker, or skip; in CI (NDJSON_PARQUET_REQUIRE_TOOLS=1) fail instead."""
    path = shutil.which(name)
    if path:
        return path
    if os.environ.get("NDJSON_PARQUET_REQUIRE_TOOLS") == "1":
        pytest.fail(f"{name} is required here but not on PATH (dev.py installs it)")
    pytest.skip(f"{name} not on PATH")
