"""boto3 clients for AWS or an emulator: only the endpoint differs."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from ndjson_parquet.common import Env, ResourceNames

DEFAULT_ENVIRONMENT = "dev"


@dataclass(frozen=True, slots=True)
class AwsTarget:
    """Where the AWS calls go: default credentials and endpoint, or an emulator's endpoint."""

    endpoint_url: str | None = None
    region: str | None = None

    def client(self, service: str) -> Any:
        """A boto3 client; `endpoint_url=None` lets boto3 honour AWS_ENDPOINT_URL itself."""
        session = boto3.session.Session(region_name=self.region)
        return session.client(
            service,
            endpoint_url=self.endpoint_url,
            config=Config(retries={"max_attempts": 5, "mode": "standard"}),
        )


@dataclass(frozen=True, slots=True)
class Target:
    """An operator command's target: the AWS endpoint and the deployment's table."""

    aws: AwsTarget
    table: str
    names: ResourceNames


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every operator command shares."""
    group = parser.add_argument_group("target")
    group.add_argument(
        "--env",
        default=os.environ.get("NDJSON_PARQUET_ENV", DEFAULT_ENVIRONMENT),
        help="deployment environment, used to derive resource names "
        "(default: $NDJSON_PARQUET_ENV or %(default)s)",
    )
    group.add_argument(
        "--table",
        help="tracking table name (default: the environment's, e.g. "
        f"{ResourceNames(DEFAULT_ENVIRONMENT).tracking_table})",
    )
    group.add_argument(
        "--endpoint-url",
        default=os.environ.get(Env.AWS_ENDPOINT_URL),
        help="AWS endpoint, e.g. the local emulator's (default: $AWS_ENDPOINT_URL)",
    )
    group.add_argument("--region", default=None, help="AWS region (default: boto3's)")


def target_from_args(args: argparse.Namespace) -> Target:
    names = ResourceNames(args.env)
    return Target(
        aws=AwsTarget(endpoint_url=args.endpoint_url, region=args.region),
        table=args.table or names.tracking_table,
        names=names,
    )
