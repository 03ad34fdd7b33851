"""Errors a person can act on, and the exit status of each kind.

Every command runs inside `main`, which turns a `CliError` (or an AWS or configuration error
that `explain` recognises) into one line on stderr and its exit status; a traceback is shown
only with `--debug`. A new command gets this by raising or letting boto3 raise: it needs no
handling of its own.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any


class ExitCode(IntEnum):
    """Exit statuses of `ndjson-parquet` (documented in the command's README)."""

    OK = 0
    # The command worked and found a problem: orphans, stuck manifests, a failed local run.
    PROBLEM_FOUND = 1
    # Bad arguments or missing configuration (region, credentials, profile, an optional extra).
    USAGE = 2
    # 3 is `convert`'s: more bad lines than --max-error-rate allows.
    # The table, state machine, bucket, manifest or file is not there: wrong --env/--table/--region.
    NOT_FOUND = 4
    # The AWS endpoint did not answer: network, or the local emulator is not running.
    UNREACHABLE = 5
    # AWS answered with a refusal or an error: credentials, permissions, throttling.
    AWS_ERROR = 6
    # A bug: the one-line message asks for --debug and a report.
    INTERNAL = 70
    INTERRUPTED = 130
    # The reader of our output went away (`... | head`): as a process killed by SIGPIPE.
    BROKEN_PIPE = 141


class CliError(Exception):
    """An error with a message that says what to do, and its exit status."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(CliError):
    """Bad arguments or missing configuration."""

    exit_code = ExitCode.USAGE


class MissingExtra(UsageError):
    """A command needs an optional extra of the distribution that is not installed."""

    def __init__(self, command: str, extra: str, module: str | None) -> None:
        missing = f" ({module} is not installed)" if module else ""
        super().__init__(
            f"`{command}` needs the optional `{extra}` extra{missing}: "
            f"pip install 'ndjson-parquet[{extra}]' (from a clone of the repository: "
            f"pip install './packages/cli[{extra}]')"
        )


class NotFound(CliError):
    """What the command looked for does not exist where it looked."""

    exit_code = ExitCode.NOT_FOUND


class Unreachable(CliError):
    """The AWS endpoint did not answer."""

    exit_code = ExitCode.UNREACHABLE


class AwsError(CliError):
    """AWS refused the request or failed."""

    exit_code = ExitCode.AWS_ERROR


# Error codes of a missing resource, per service, as the services spell them.
_NOT_FOUND_CODES = frozenset(
    {
        "ResourceNotFoundException",  # DynamoDB table, Glue job
        "StateMachineDoesNotExist",
        "ExecutionDoesNotExist",
        "NoSuchBucket",
        "NoSuchKey",
        "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist",
        "EntityNotFoundException",
        "NotFound",
    }
)
_CREDENTIAL_CODES = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
        "RequestExpired",
    }
)


def explain(exc: BaseException, where: str, local: bool) -> CliError | None:
    """The `CliError` for a botocore error, or None when `exc` is not one we know.

    `where` describes the target (environment, table, region, endpoint) for the message;
    `local` says whether the endpoint is this machine's emulator.
    """
    if isinstance(exc, CliError):
        return exc
    from botocore import exceptions as bx

    if isinstance(exc, bx.NoRegionError):
        return UsageError(
            "no AWS region is set: pass --region, or set NDJSON_PARQUET_REGION or AWS_REGION "
            "(or `region` in the --config file)"
        )
    if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError):
        return UsageError(
            "no AWS credentials found: use a profile (--profile or AWS_PROFILE) or set "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )
    if isinstance(exc, bx.ProfileNotFound):
        return UsageError(f"{exc}: check --profile, AWS_PROFILE or `profile` in the --config file")
    if isinstance(exc, bx.EndpointConnectionError | bx.ConnectTimeoutError | bx.ConnectionError):
        url = _kwarg(exc, "endpoint_url") or "the AWS endpoint"
        hint = (
            "is the emulator still running? Start it with `ndjson-parquet local run "
            "--keep-running` and use the endpoint it prints"
            if local
            else "check the network, --region and --endpoint-url"
        )
        return Unreachable(f"cannot reach {url}: {hint}")
    if isinstance(exc, bx.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        message = str(error.get("Message", "")) or code
        operation = getattr(exc, "operation_name", "the request")
        if code in _NOT_FOUND_CODES:
            return NotFound(f"{message} ({operation}) {where}: check --env, --table and --region")
        if code in _CREDENTIAL_CODES:
            return AwsError(f"AWS did not accept the credentials ({code}: {message}) {where}")
        return AwsError(f"AWS refused {operation} ({code}: {message}) {where}")
    if isinstance(exc, bx.BotoCoreError):
        return AwsError(f"{exc} {where}")
    return None


def _kwarg(exc: BaseException, name: str) -> Any:
    kwargs = getattr(exc, "kwargs", None)
    return kwargs.get(name) if isinstance(kwargs, dict) else None
