#!/usr/bin/env python3
"""Bootstrap and run the ndjson-parquet development environment.

Needs only Python 3.11+ and git; tools go to `.tools/` on first use (uv for the demo; hatch,
which brings uv too, for the rest).

    python3 dev.py demo     run the whole pipeline on the local emulated AWS
    python3 dev.py test     run the test suite (extra arguments go to pytest)
    python3 dev.py lint     ruff and mypy
    python3 dev.py shell    a shell inside the development environment

`demo` installs only what the pipeline runs on into `.venv-demo/` (the components, editable,
and the `ndjson-parquet[local]` extra: boto3, pyarrow, Powertools, moto); `test`, `lint` and
`shell` use the development environment in `.venv/` (hatch's workspace: every package, the
test tools, Spark, DuckDB, polars, the linters), built on their first call.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
TOOLS = ROOT / ".tools"
HATCH_REQUIREMENT = "hatch>=1.16,<2"
# The installer hatch uses; the demo's environment is built with it directly.
UV_REQUIREMENT = "uv>=0.5.23"
# Checkers the tests call as programs. Each lives in its own environment so that its pins never
# meet the project's: checkov in .tools/checkov, asl-validator and dynalite (npm) in .tools/node.
CHECKOV_REQUIREMENT = "checkov>=3.2,<4"
ASL_VALIDATOR_REQUIREMENT = "asl-validator@^4"
# A DynamoDB whose conditional writes are atomic, for the manifest builder's race tests.
DYNALITE_REQUIREMENT = "dynalite@^4"
COMMANDS = {"demo", "test", "lint", "shell"}
DEMO_ENV = ROOT / ".venv-demo"
# The demo's environment: the components, editable, with the command's `local` extra.
DEMO_PACKAGES = (
    "packages/common",
    "packages/converter",
    "packages/workflow",
    "packages/manifest_builder",
    "packages/cli[local]",
)


def _tool(name: str, env: Path = TOOLS) -> Path:
    return env / ("Scripts" if os.name == "nt" else "bin") / name


def _tools_pip_install(requirement: str) -> None:
    """Install into the .tools/ environment (created on first use)."""
    if not _tool("python").exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(TOOLS)
    subprocess.run(
        [str(_tool("python")), "-m", "pip", "install", "-qq", requirement],
        check=True,
    )


def ensure_hatch() -> Path:
    """Install hatch into .tools/ once; hatch then owns the development environment."""
    hatch = _tool("hatch")
    if not hatch.exists():
        print(f"dev.py: installing {HATCH_REQUIREMENT} into {TOOLS.name}/", flush=True)
        _tools_pip_install(HATCH_REQUIREMENT)
    return hatch


def ensure_uv() -> Path:
    """uv alone (hatch brings it too): all the demo needs to build its environment."""
    uv = _tool("uv")
    if not uv.exists():
        print(f"dev.py: installing {UV_REQUIREMENT} into {TOOLS.name}/", flush=True)
        _tools_pip_install(UV_REQUIREMENT)
    return uv


def ensure_demo_env() -> Path:
    """Install the demo's environment once (again when a package's pyproject changes);
    return its Python. uv shows what it resolves, downloads and installs."""
    python = _tool("python", DEMO_ENV)
    stamp = DEMO_ENV / ".dev-py-installed"
    fingerprint = hashlib.sha256(
        b"".join((ROOT / p.split("[")[0] / "pyproject.toml").read_bytes() for p in DEMO_PACKAGES)
    ).hexdigest()
    if python.exists() and stamp.exists() and stamp.read_text() == fingerprint:
        return python
    print(
        f"dev.py: installing the demo's environment into {DEMO_ENV.name}/: the components with "
        "boto3, pyarrow, Powertools and moto (about 100 MB to download, 420 MB installed)",
        flush=True,
    )
    editable = [arg for package in DEMO_PACKAGES for arg in ("-e", str(ROOT / package))]
    uv = str(ensure_uv())
    subprocess.run([uv, "venv", "--quiet", "--allow-existing", str(DEMO_ENV)], check=True)
    subprocess.run([uv, "pip", "install", "--python", str(python), *editable], check=True)
    stamp.write_text(fingerprint)
    return python


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
    if command == "demo":
        python = ensure_demo_env()
        return subprocess.call([str(python), "-m", "ndjson_parquet.cli", "local", "run", *rest])
    hatch = ensure_hatch()
    if command == "shell":
        return subprocess.call([str(hatch), "shell"], cwd=ROOT)
    env = ensure_test_tools() if command == "test" else None
    return subprocess.call([str(hatch), "run", command, *rest], cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
