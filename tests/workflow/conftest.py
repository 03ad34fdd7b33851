"""Fixtures: in-process moto that executes state machines, and the workflow's resources."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from ndjson_parquet.cli.emulator import moto_fixes
from tests.workflow.harness import Stack


@pytest.fixture
def aws() -> Iterator[boto3.session.Session]:
    """In-process moto that executes state machines, with the project's workarounds."""
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        moto_fixes.apply()
        try:
            yield boto3.session.Session(region_name="us-east-1")
        finally:
            moto_fixes.set_glue_job_runner(None)
            moto_fixes.set_lambda_function_runner(None)


@pytest.fixture
def stack(aws: boto3.session.Session) -> Stack:
    return Stack(aws).create()
