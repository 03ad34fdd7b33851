"""Every .tf file parses, is formatted, and pins Terraform and the AWS provider."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.infra.terraform_config import (
    INFRA,
    REPO_ROOT,
    load_module,
    module_dirs,
    parse_file,
    tf_files,
)


def _version_floor(constraint: str) -> tuple[int, ...]:
    """The version of a `>= X.Y` constraint."""
    assert constraint.startswith(">="), f"expected a lower bound, got {constraint!r}"
    return tuple(int(part) for part in constraint[2:].strip().split("."))


def test_there_is_terraform_to_check() -> None:
    dirs = {p.relative_to(INFRA).as_posix() for p in module_dirs()}
    for expected in (
        "modules/s3",
        "modules/sqs",
        "modules/lambda",
        "modules/dynamodb",
        "modules/glue",
        "modules/step_functions",
        "modules/iam",
        "modules/monitoring",
        "modules/pipeline",
        "envs/dev",
        "envs/prod",
        "envs/local",
    ):
        assert expected in dirs


@pytest.mark.parametrize("path", tf_files(), ids=lambda p: p.relative_to(INFRA).as_posix())
def test_every_file_parses(path: Path) -> None:
    parsed = parse_file(path)
    assert parsed, f"{path} parsed to nothing"


def test_the_parser_rejects_broken_hcl(tmp_path: Path) -> None:
    broken = tmp_path / "broken.tf"
    broken.write_text('resource "aws_s3_bucket" "x" {\n  bucket = \n}\n')
    with pytest.raises(Exception):  # noqa: B017, PT011 - python-hcl2 raises lark errors
        parse_file(broken)


@pytest.mark.parametrize("path", module_dirs(), ids=lambda p: p.relative_to(INFRA).as_posix())
def test_every_module_pins_terraform_and_the_aws_provider(path: Path) -> None:
    blocks = load_module(path).terraform
    assert blocks, f"{path} has no terraform block"
    required_version = next(b["required_version"] for b in blocks if "required_version" in b)
    assert _version_floor(required_version) >= (1, 6)
    providers = next(b["required_providers"] for b in blocks if "required_providers" in b)
    aws = providers[0]["aws"] if isinstance(providers, list) else providers["aws"]
    assert aws["source"] == "hashicorp/aws"
    assert _version_floor(aws["version"]) >= (5, 0)


def test_terraform_fmt() -> None:
    if shutil.which("terraform") is None and os.environ.get("NDJSON_PARQUET_REQUIRE_TOOLS") != "1":
        pytest.skip("terraform not on PATH")
    terraform = require_tool("terraform")
    result = subprocess.run(
        [terraform, "fmt", "-check", "-recursive", "-diff", "infra"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"terraform fmt would change:\n{result.stdout}{result.stderr}"
