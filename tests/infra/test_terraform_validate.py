"""`terraform validate` of every environment, where a local provider mirror makes it possible.

The Terraform registry is out of reach in CI, so validate runs only when a filesystem mirror of
the AWS provider is present (`NDJSON_PARQUET_TF_PLUGIN_DIR`, default /opt/tf-plugins); the other
infra tests check the configuration without providers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.infra.terraform_config import INFRA

PLUGIN_DIR = Path(os.environ.get("NDJSON_PARQUET_TF_PLUGIN_DIR", "/opt/tf-plugins"))


def _terraform() -> str:
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("terraform not on PATH")
    if not (PLUGIN_DIR / "registry.terraform.io" / "hashicorp" / "aws").is_dir():
        pytest.skip(f"no AWS provider mirror at {PLUGIN_DIR}")
    return terraform


def _run(terraform: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}
    return subprocess.run(
        [terraform, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
@pytest.mark.parametrize("environment", ["dev", "prod", "local"])
def test_environment_validates_with_the_real_provider(environment: str, tmp_path: Path) -> None:
    terraform = _terraform()
    # A copy, so that init's .terraform folder and lock file never land in the work tree.
    copy = tmp_path / "infra"
    shutil.copytree(INFRA, copy, ignore=shutil.ignore_patterns(".terraform*"))
    env_dir = copy / "envs" / environment
    init = _run(
        terraform, env_dir, "init", "-backend=false", "-input=false", f"-plugin-dir={PLUGIN_DIR}"
    )
    assert init.returncode == 0, init.stdout + init.stderr
    validate = _run(terraform, env_dir, "validate", "-no-color")
    assert validate.returncode == 0, validate.stdout + validate.stderr
    assert "The configuration is valid" in validate.stdout
