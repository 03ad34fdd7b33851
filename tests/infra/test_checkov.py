"""checkov's Terraform checks pass; every skipped check says why, beside the resource."""

from __future__ import annotations

import re
import subprocess

from tests.conftest import require_tool
from tests.infra.terraform_config import INFRA, REPO_ROOT, tf_files

SKIP = re.compile(r"#\s*checkov:skip=(?P<id>[A-Z0-9_]+)(?::(?P<reason>.*))?")


def test_every_skip_has_a_reason() -> None:
    skips = []
    for path in tf_files():
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            match = SKIP.search(line)
            if match:
                skips.append((path, number, match))
    assert skips, "expected the documented skips"
    unexplained = [
        f"{path.relative_to(INFRA)}:{number} {match['id']}"
        for path, number, match in skips
        if len((match["reason"] or "").strip()) < 20
    ]
    assert not unexplained, "\n".join(unexplained)


def test_checkov_passes() -> None:
    checkov = require_tool("checkov")
    result = subprocess.run(
        [
            checkov,
            "-d",
            "infra",
            "--framework",
            "terraform",
            "--skip-download",
            "--quiet",
            "--compact",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
