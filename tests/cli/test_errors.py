"""Operator commands as a new user meets them: one line and an exit status per kind of error.

Against the real emulator (a moto server on loopback, the deployment `local run` makes), run as
a separate process with a clean environment, the way a person runs them from another shell.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ndjson_parquet.cli.aws import AwsTarget, target_from_args
from ndjson_parquet.cli.errors import ExitCode
from ndjson_parquet.cli.main import build_parser, main
from ndjson_parquet.common import ResourceNames


@pytest.fixture
def no_aws_setup(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A machine with no AWS configuration at all: no variables, no files, no instance role."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "NDJSON_PARQUET_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def _clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "COLUMNS": "200",
        **extra,
    }


def _command(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ndjson_parquet.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def emulator_endpoint() -> Iterator[str]:
    """An emulator with the `local` deployment, as `local run --keep-running` leaves it."""
    from ndjson_parquet.cli.local.resources import create_deployment
    from ndjson_parquet.cli.local.server import Emulator

    with Emulator() as emulator:
        create_deployment(
            AwsTarget(endpoint_url=emulator.endpoint_url, region=emulator.region),
            ResourceNames("local"),
        )
        yield emulator.endpoint_url


def test_status_against_the_emulator_needs_only_the_endpoint(
    emulator_endpoint: str, tmp_path: Path
) -> None:
    """As the README shows: no region, no credentials, no --env."""
    done = _command(_clean_env(tmp_path), "status", "--endpoint-url", emulator_endpoint, "--json")

    assert done.returncode == 0, done.stderr
    assert '"table": "ndjson-parquet-tracking-local"' in done.stdout


def test_a_wrong_env_is_not_found_and_names_the_deployed_one(
    emulator_endpoint: str, tmp_path: Path
) -> None:
    env = _clean_env(tmp_path, NDJSON_PARQUET_ENDPOINT_URL=emulator_endpoint)
    done = _command(env, "status", "--env", "dev")

    assert done.returncode == ExitCode.NOT_FOUND
    line = _one_line(done.stderr)
    assert "ndjson-parquet-tracking-dev" in line
    assert "deployed there: --env local" in line


def test_a_stopped_emulator_is_unreachable(tmp_path: Path) -> None:
    endpoint = f"http://127.0.0.1:{_free_port()}"
    done = _command(_clean_env(tmp_path), "stuck", "--endpoint-url", endpoint)

    assert done.returncode == ExitCode.UNREACHABLE
    line = _one_line(done.stderr)
    assert endpoint in line
    assert "local run --keep-running" in line


def test_local_run_on_a_busy_port_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        code = main(["local", "run", "--port", port, "--output", str(tmp_path)])

    assert code == ExitCode.USAGE
    assert f"port {port} on 127.0.0.1 is not free" in _one_line(capsys.readouterr().err)


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    endpoint = f"http://127.0.0.1:{_free_port()}"
    done = _command(_clean_env(tmp_path), "status", "--endpoint-url", endpoint, "--debug")

    assert done.returncode == ExitCode.UNREACHABLE
    assert "Traceback" in done.stderr
    assert "EndpointConnectionError" in done.stderr


@pytest.mark.usefixtures("no_aws_setup")
def test_missing_region_says_how_to_set_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--env", "prod"]) == ExitCode.USAGE
    line = _one_line(capsys.readouterr().err)
    assert "--region" in line
    assert "NDJSON_PARQUET_REGION" in line


@pytest.mark.usefixtures("no_aws_setup")
def test_missing_credentials_say_how_to_get_them(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["orphans", "--env", "prod", "--region", "eu-west-1"]) == ExitCode.USAGE
    line = _one_line(capsys.readouterr().err)
    assert "no AWS credentials" in line
    assert "AWS_PROFILE" in line


@pytest.mark.usefixtures("no_aws_setup")
def test_a_missing_config_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", "--config", str(tmp_path / "nope.toml")]) == ExitCode.USAGE
    assert "nope.toml does not exist" in _one_line(capsys.readouterr().err)


def test_an_unexpected_error_is_one_line_asking_for_debug(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ndjson_parquet.cli.operator import status

    def broken(_tracking: object) -> None:
        raise KeyError("gsi9")

    monkeypatch.setattr(status, "collect_status", broken)
    assert main(["status", "--region", "us-east-1"]) == ExitCode.INTERNAL
    line = _one_line(capsys.readouterr().err)
    assert "KeyError" in line
    assert "--debug" in line


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """`ndjson-parquet … | head`: the reader goes away before the output is written."""
    process = subprocess.Popen(
        [sys.executable, "-m", "ndjson_parquet.cli", "workflow", "render", "--terraform"],
        env=_clean_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) == ExitCode.BROKEN_PIPE
    assert stderr == ""


def _target(argv: list[str]) -> tuple[str, str | None, str | None, str]:
    args = build_parser(argv).parse_args(argv)
    target = target_from_args(args)
    return target.names.environment, target.aws.endpoint_url, target.aws.region, target.table


@pytest.mark.usefixtures("no_aws_setup")
def test_target_comes_from_options_then_variables_then_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "ops.toml"
    config.write_text('env = "prod"\nregion = "eu-west-1"\ntable = "custom"\n')
    monkeypatch.setenv("NDJSON_PARQUET_CONFIG", str(config))

    assert _target(["status"]) == ("prod", None, "eu-west-1", "custom")
    monkeypatch.setenv("NDJSON_PARQUET_REGION", "eu-central-1")
    assert _target(["status"])[2] == "eu-central-1"
    assert _target(["status", "--region", "us-west-2"])[2] == "us-west-2"

    monkeypatch.delenv("NDJSON_PARQUET_CONFIG")
    # Talking to the emulator on this machine, the environment is the emulator's.
    monkeypatch.setenv("NDJSON_PARQUET_ENDPOINT_URL", "http://127.0.0.1:5000")
    assert _target(["stuck"])[:2] == ("local", "http://127.0.0.1:5000")
    assert _target(["stuck", "--env", "dev"])[0] == "dev"
    monkeypatch.delenv("NDJSON_PARQUET_ENDPOINT_URL")
    assert _target(["stuck"])[0] == "dev"


@pytest.mark.usefixtures("no_aws_setup")
def test_a_config_file_with_an_unknown_key_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "ops.toml"
    config.write_text('environment = "prod"\n')
    assert main(["status", "--config", str(config)]) == ExitCode.USAGE
    assert "unknown key(s) environment" in _one_line(capsys.readouterr().err)


@pytest.mark.usefixtures("no_aws_setup")
def test_the_emulator_gets_its_own_credentials_and_region() -> None:
    session = AwsTarget(endpoint_url="http://localhost:5000").session()
    assert session.region_name == "us-east-1"
    assert session.get_credentials().access_key == "local"
    assert AwsTarget(endpoint_url="https://dynamodb.eu-west-1.amazonaws.com").local is False


@pytest.mark.usefixtures("no_aws_setup")
def test_an_unknown_profile_says_where_profiles_come_from(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["status", "--profile", "nope", "--region", "eu-west-1"]) == ExitCode.USAGE
    line = _one_line(capsys.readouterr().err)
    assert "nope" in line
    assert "--profile" in line
