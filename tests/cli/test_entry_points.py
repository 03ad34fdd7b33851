"""The distribution as installed: what a production install holds, versions, completion."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from ndjson_parquet.cli import __version__
from ndjson_parquet.cli.errors import ExitCode
from ndjson_parquet.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / "packages" / "cli"
# What only the emulator (`local run`) runs on.
EMULATOR_ONLY = ("moto", "flask", "werkzeug", "aws_lambda_powertools")
OPERATOR_COMMANDS = ("status", "orphans", "stuck", "redrive", "inspect", "workflow", "completion")


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
    )


def test_a_production_install_leaves_the_emulator_out() -> None:
    project = tomllib.loads((CLI / "pyproject.toml").read_text())["project"]
    required = " ".join(project["dependencies"]).lower()
    extra = " ".join(project["optional-dependencies"]["local"]).lower()

    assert "moto" not in required
    assert "manifest-builder" not in required
    assert "moto[server" in extra
    assert "ndjson-parquet-manifest-builder" in extra


def test_operator_commands_do_not_import_the_emulator() -> None:
    done = _python(
        "import sys\n"
        "from ndjson_parquet.cli.main import build_parser\n"
        f"for command in {OPERATOR_COMMANDS!r}:\n"
        "    build_parser([command])\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({EMULATOR_ONLY!r})))"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_local_run_without_the_extra_says_how_to_get_it() -> None:
    done = _python(
        "import sys\n"
        "sys.modules['moto'] = None  # as if not installed\n"
        "from ndjson_parquet.cli.main import main\n"
        "sys.exit(main(['local', 'run']))"
    )
    assert done.returncode == ExitCode.USAGE
    assert "Traceback" not in done.stderr
    assert "pip install 'ndjson-parquet[local]'" in done.stderr


@pytest.mark.slow
def test_a_real_install_without_the_extra(tmp_path: Path) -> None:
    """`pip install ./packages/cli` (with uv, which hatch brings): the operator command works,
    moto is absent and `local run` explains the extra."""
    uv = shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    if not Path(uv).exists():
        pytest.skip("uv not found (dev.py installs it with hatch)")
    venv = tmp_path / "venv"
    subprocess.run([uv, "venv", "--quiet", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run(
        [
            uv,
            "pip",
            "install",
            "--quiet",
            "--python",
            str(python),
            # uv keys its cache of a local folder's build on pyproject.toml alone: without a
            # refresh, a component built earlier with the same version would be reused.
            *[
                arg
                for dist in ("common", "converter", "workflow", "manifest-builder")
                for arg in ("--refresh-package", f"ndjson-parquet-{dist}")
            ],
            "--refresh-package",
            "ndjson-parquet",
            str(CLI),
        ],
        check=True,
        timeout=600,
    )
    command = venv / "bin" / "ndjson-parquet"
    version = subprocess.run([command, "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.strip() == f"ndjson-parquet {__version__}"
    found = subprocess.run(
        [
            python,
            "-c",
            f"import importlib.util as u; print([m for m in {EMULATOR_ONLY!r} if u.find_spec(m)])",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert found.stdout.strip() == "[]"
    local = subprocess.run([command, "local", "run"], capture_output=True, text=True)
    assert local.returncode == ExitCode.USAGE
    assert "ndjson-parquet[local]" in local.stderr


@pytest.mark.parametrize(
    ("entry_point", "name"),
    [
        ("ndjson_parquet.cli.main", "ndjson-parquet"),
        ("ndjson_parquet.converter.cli", "ndjson-parquet-convert"),
        ("ndjson_parquet.workflow.cli", "python -m ndjson_parquet.workflow"),
    ],
)
def test_every_entry_point_has_version(
    entry_point: str, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib

    module = importlib.import_module(entry_point)
    try:
        code = module.main(["--version"])
    except SystemExit as exited:  # argparse's version action exits
        code = exited.code
    assert code == 0
    assert capsys.readouterr().out.strip() == f"{name} 0.1.0"


def _complete(tmp_path: Path, line: str) -> list[str]:
    """What Tab offers after `line`, through argcomplete's protocol as its shell code runs it."""
    out = tmp_path / "completions"
    done = subprocess.run(
        [sys.executable, "-m", "ndjson_parquet.cli"],
        env={
            **os.environ,
            "_ARGCOMPLETE": "1",
            "COMP_LINE": line,
            "COMP_POINT": str(len(line)),
            "_ARGCOMPLETE_STDOUT_FILENAME": str(out),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return sorted(w.strip() for w in out.read_text().split("\013"))


def test_completion_offers_commands_and_their_options(tmp_path: Path) -> None:
    assert _complete(tmp_path, "ndjson-parquet sta") == ["status"]
    assert _complete(tmp_path, "ndjson-parquet status --e") == ["--endpoint-url", "--env"]
    assert _complete(tmp_path, "ndjson-parquet local run --fail") == [
        "--fail-always",
        "--fail-first",
    ]


def test_completion_prints_the_shell_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["completion", "bash"]) == 0
    code = capsys.readouterr().out
    assert "complete " in code
    assert "ndjson-parquet" in code
