#!/usr/bin/env python3
"""Bootstrap and run the ndjson-parquet development environment.

Needs only Python 3.11+ and git. The first call installs hatch into `.tools/` and lets hatch
build the workspace environment in `.venv/` (every package under packages/ installed editable).

    python3 dev.py demo     run the whole pipeline on the local emulated AWS
    python3 dev.py test     run the test suite (extra arguments go to pytest)
    python3 dev.py lint     ruff and mypy
    python3 dev.py shell    a shell inside the environment
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
TOOLS = ROOT / ".tools"
HATCH_REQUIREMENT = "hatch>=1.16,<2"
# Checkers the tests call as programs. Each lives in its own environment so that its pins never
# meet the project's: checkov in .tools/checkov, asl-validator and dynalite (npm) in .tools/node.
CHECKOV_REQUIREMENT = "checkov>=3.2,<4"
ASL_VALIDATOR_REQUIREMENT = "asl-validator@^4"
# A DynamoDB whose conditional writes are atomic, for the manifest builder's race tests.
DYNALITE_REQUIREMENT = "dynalite@^4"
COMMANDS = {"demo", "test", "lint", "shell"}


def _tool(name: str) -> Path:
    return TOOLS / ("Scripts" if os.name == "nt" else "bin") / name


def ensure_hatch() -> Path:
    """Install hatch into .tools/ once; hatch then owns the project environment."""
    hatch = _tool("hatch")
    if not hatch.exists():
        print(f"dev.py: installing {HATCH_REQUIREMENT} into {TOOLS.name}/", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(TOOLS)
        subprocess.run(
            [str(_tool("python")), "-m", "pip", "install", "-qq", HATCH_REQUIREMENT],
            check=True,
        )
    return hatch


def ensure_test_tools() -> dict[str, str]:
    """Install the offline infrastructure checkers; return the environment that finds them."""
    env = dict(os.environ)
    paths: list[str] = []
    checkov_env = TOOLS / "checkov"
    checkov = checkov_env / "bin" / "checkov"
    if not checkov.exists():
        print(f"dev.py: installing {CHECKOV_REQUIREMENT} into {TOOLS.name}/checkov/", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(checkov_env)
        subprocess.run(
            [
                str(checkov_env / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "-qq",
                CHECKOV_REQUIREMENT,
            ],
            check=False,
        )
    if checkov.exists():
        paths.append(str(checkov.parent))
    node_dir = TOOLS / "node"
    validator = node_dir / "node_modules" / ".bin" / "asl-validator"
    dynalite = validator.with_name("dynalite")
    if not (validator.exists() and dynalite.exists()) and shutil.which("npm"):
        wanted = f"{ASL_VALIDATOR_REQUIREMENT} {DYNALITE_REQUIREMENT}"
        print(f"dev.py: installing {wanted} into {TOOLS.name}/node/", flush=True)
        node_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "npm",
                "install",
                "--silent",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(node_dir),
                ASL_VALIDATOR_REQUIREMENT,
                DYNALITE_REQUIREMENT,
            ],
            check=False,
        )
    if validator.exists() or dynalite.exists():
        paths.append(str(validator.parent))
    env["PATH"] = os.pathsep.join([*paths, env.get("PATH", "")])
    return env


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    hatch = ensure_hatch()
    if command == "shell":
        return subprocess.call([str(hatch), "shell"], cwd=ROOT)
    env = ensure_test_tools() if command == "test" else None
    return subprocess.call([str(hatch), "run", command, *rest], cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
