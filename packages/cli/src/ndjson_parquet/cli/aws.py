"""boto3 clients for AWS or an emulator: only the endpoint differs.

Where an operator command's target comes from, first found wins:

| setting | option | variable | `--config` file key | otherwise |
|---|---|---|---|---|
| environment | `--env` | `NDJSON_PARQUET_ENV` | `env` | `local` at a loopback endpoint, else `dev` |
| table | `--table` | `NDJSON_PARQUET_TABLE` | `table` | the environment's |
| endpoint | `--endpoint-url` | `NDJSON_PARQUET_ENDPOINT_URL` | `endpoint_url` | `AWS_ENDPOINT_URL`, else AWS |
| region | `--region` | `NDJSON_PARQUET_REGION` | `region` | boto3's; the emulator's at loopback |
| profile | `--profile` | `NDJSON_PARQUET_PROFILE` | `profile` | boto3's |

At a loopback endpoint (the local emulator) the emulator's fake credentials are used unless a
profile is named: the emulator accepts any, and an account's keys have no business there.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config

from ndjson_parquet.cli.errors import UsageError
from ndjson_parquet.common import Env, ResourceNames

DEFAULT_ENVIRONMENT = "dev"
# What `ndjson-parquet local run` deploys and serves with.
EMULATOR_ENVIRONMENT = "local"
EMULATOR_REGION = "us-east-1"
EMULATOR_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
}

AWS_ATTEMPTS = 5
LOCAL_ATTEMPTS = 2
CONFIG_VARIABLE = "NDJSON_PARQUET_CONFIG"
# Setting name (the `--config` key) → its NDJSON_PARQUET_* variable.
SETTING_VARIABLES = {
    "env": "NDJSON_PARQUET_ENV",
    "table": "NDJSON_PARQUET_TABLE",
    "endpoint_url": "NDJSON_PARQUET_ENDPOINT_URL",
    "region": "NDJSON_PARQUET_REGION",
    "profile": "NDJSON_PARQUET_PROFILE",
}


def is_loopback(endpoint_url: str | None) -> bool:
    """Whether the endpoint is on this machine (the local emulator), not AWS."""
    if not endpoint_url:
        return False
    host = urlsplit(endpoint_url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class AwsTarget:
    """Where the AWS calls go: default credentials and endpoint, or an emulator's endpoint."""

    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None
    # Attempts per request (boto3's standard retry mode: backoff between them).
    max_attempts: int = AWS_ATTEMPTS

    @property
    def local(self) -> bool:
        return is_loopback(self.endpoint_url or os.environ.get(Env.AWS_ENDPOINT_URL))

    def session(self) -> Any:
        """A boto3 session; at the local emulator, with its region and fake credentials."""
        session = boto3.session.Session(region_name=self.region, profile_name=self.profile)
        if not self.local or self.profile:
            return session
        return boto3.session.Session(
            region_name=session.region_name or EMULATOR_REGION,
            aws_access_key_id=EMULATOR_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=EMULATOR_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def client(self, service: str) -> Any:
        """A boto3 client; `endpoint_url=None` lets boto3 honour AWS_ENDPOINT_URL itself."""
        return self.session().client(
            service,
            endpoint_url=self.endpoint_url,
            config=Config(retries={"max_attempts": self.max_attempts, "mode": "standard"}),
        )


@dataclass(frozen=True, slots=True)
class Target:
    """An operator command's target: the AWS endpoint and the deployment's table."""

    aws: AwsTarget
    table: str
    names: ResourceNames

    def describe(self) -> str:
        """Where the commands looked, for error messages."""
        endpoint = self.aws.endpoint_url or os.environ.get(Env.AWS_ENDPOINT_URL)
        region = self.aws.session().region_name or "no region"
        at = f" at {endpoint}" if endpoint else ""
        return f"for --env {self.names.environment} (table {self.table}) in {region}{at}"


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every operator command shares; defaults are resolved by `target_from_args`."""
    group = parser.add_argument_group(
        "target",
        "Each option falls back to its NDJSON_PARQUET_* variable, then to the --config file.",
    )
    group.add_argument(
        "--env",
        help="deployment environment, used to derive resource names "
        f"(default: {EMULATOR_ENVIRONMENT} at a loopback endpoint, else {DEFAULT_ENVIRONMENT})",
    )
    group.add_argument(
        "--table",
        help="tracking table name (default: the environment's, e.g. "
        f"{ResourceNames(DEFAULT_ENVIRONMENT).tracking_table})",
    )
    group.add_argument(
        "--endpoint-url",
        help="AWS endpoint, e.g. the local emulator's http://127.0.0.1:PORT "
        "(default: $AWS_ENDPOINT_URL, else AWS)",
    )
    group.add_argument("--region", help="AWS region (default: boto3's)")
    group.add_argument("--profile", help="AWS profile (default: boto3's)")
    group.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help=f"TOML file with env, table, endpoint_url, region, profile (default: ${CONFIG_VARIABLE})",
    )


def target_from_args(args: argparse.Namespace) -> Target:
    """The target from the options, the NDJSON_PARQUET_* variables and the config file."""
    config = _read_config(getattr(args, "config", None) or os.environ.get(CONFIG_VARIABLE))

    def setting(name: str) -> str | None:
        value = getattr(args, name, None) or os.environ.get(SETTING_VARIABLES[name])
        return value or config.get(name)

    endpoint_url = setting("endpoint_url")
    local = is_loopback(endpoint_url or os.environ.get(Env.AWS_ENDPOINT_URL))
    env = setting("env") or (EMULATOR_ENVIRONMENT if local else DEFAULT_ENVIRONMENT)
    names = ResourceNames(env)
    return Target(
        aws=AwsTarget(
            endpoint_url=endpoint_url,
            region=setting("region"),
            profile=setting("profile"),
            # The emulator on this machine answers at once or is not running: a person waiting
            # for the command should not sit through seconds of backoff on a refused connection.
            max_attempts=LOCAL_ATTEMPTS if local else AWS_ATTEMPTS,
        ),
        table=setting("table") or names.tracking_table,
        names=names,
    )


def _read_config(path: str | Path | None) -> dict[str, str]:
    if not path:
        return {}
    try:
        with open(path, "rb") as stream:
            data = tomllib.load(stream)
    except FileNotFoundError:
        raise UsageError(f"config file {path} does not exist") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"config file {path} cannot be read: {exc}") from None
    unknown = sorted(set(data) - set(SETTING_VARIABLES))
    if unknown:
        raise UsageError(
            f"config file {path}: unknown key(s) {', '.join(unknown)}; "
            f"known: {', '.join(SETTING_VARIABLES)}"
        )
    return {k: str(v) for k, v in data.items()}


def deployed_environments(aws: AwsTarget) -> list[str]:
    """The environments whose tracking table exists at `aws` (for "did you mean" hints)."""
    prefix, _, suffix = ResourceNames("\0").tracking_table.partition("\0")
    found: list[str] = []
    for page in aws.client("dynamodb").get_paginator("list_tables").paginate():
        for name in page.get("TableNames", []):
            if name.startswith(prefix) and name.endswith(suffix):
                found.append(name[len(prefix) : len(name) - len(suffix)])
    return found
