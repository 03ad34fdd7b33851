"""`terraform apply` of infra/envs/local into the emulator, and `terraform destroy` afterwards.

The environment is the same root module as dev and prod (`infra/modules/pipeline`) with the
provider's endpoints on the emulator. Terraform runs in a copy of infra/ under a work folder,
so that its state, lock file and `.terraform` never land in the repository, with a CLI
configuration this module writes: the AWS provider comes from a local filesystem mirror
(`NDJSON_PARQUET_TF_PLUGIN_DIR`, default /opt/tf-plugins) when there is one, else from the
registry. `find_terraform()` says in one sentence what is missing when neither is possible.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ndjson_parquet.cli.local.artifacts import Artifacts
from ndjson_parquet.cli.local.resources import LocalSettings

PLUGIN_DIR_ENV = "NDJSON_PARQUET_TF_PLUGIN_DIR"
DEFAULT_PLUGIN_DIR = Path("/opt/tf-plugins")
INFRA_DIR_ENV = "NDJSON_PARQUET_INFRA_DIR"
LOCAL_ENV = Path("envs") / "local"
REGISTRY = ("registry.terraform.io", 443)
PROVIDER = "registry.terraform.io/hashicorp/aws"
DESTROY_TIMEOUT_SECONDS = 300.0
# Terraform's progress lines: `<address>: Still destroying... [id=…]`, `<address>: Destruction
# complete after 1s`.
_PROGRESS = re.compile(r"^(\S+): (Still destroying|Destruction complete)", re.MULTILINE)


class TerraformUnavailable(RuntimeError):
    """Terraform cannot run here (no binary, no infra/ folder, or no provider to install)."""


class TerraformFailed(RuntimeError):
    """A terraform command failed; the message ends with its output."""

    def __init__(self, command: str, output: str) -> None:
        super().__init__(f"terraform {command} failed:\n{output[-4000:]}")


class TerraformTimedOut(TerraformFailed):
    """A terraform command did not finish in time; `pending` are the resources it was still on."""

    def __init__(self, command: str, seconds: float, output: str) -> None:
        self.pending = still_in_progress(output)
        RuntimeError.__init__(
            self,
            f"terraform {command} did not finish within {seconds:.0f} s; still on: "
            + (", ".join(self.pending) or "no resource reported (see its output above)"),
        )
        self.output = output


def still_in_progress(output: str) -> list[str]:
    """Addresses terraform reported as being destroyed and never as destroyed, in order."""
    pending: dict[str, None] = {}
    for address, progress in _PROGRESS.findall(output):
        if progress == "Destruction complete":
            pending.pop(address, None)
        else:
            pending[address] = None
    return list(pending)


@dataclass(frozen=True, slots=True)
class TerraformSetup:
    """What running Terraform needs: the binary, the infra/ folder, the provider's source."""

    binary: str
    infra: Path
    plugin_dir: Path | None  # None: install from the registry


def plugin_dir() -> Path:
    return Path(os.environ.get(PLUGIN_DIR_ENV) or DEFAULT_PLUGIN_DIR)


def find_infra(start: Path | None = None) -> Path | None:
    """infra/ of this repository: $NDJSON_PARQUET_INFRA_DIR, or above `start` or this file."""
    if configured := os.environ.get(INFRA_DIR_ENV):
        path = Path(configured)
        return path if (path / LOCAL_ENV / "main.tf").is_file() else None
    for base in (start or Path.cwd(), Path(__file__).resolve()):
        for folder in (base, *base.parents):
            if (folder / "infra" / LOCAL_ENV / "main.tf").is_file():
                return folder / "infra"
    return None


def _registry_reachable(timeout: float = 2.0) -> bool:
    try:
        with socket.create_connection(REGISTRY, timeout=timeout):
            return True
    except OSError:
        return False


def find_terraform() -> TerraformSetup:
    """What is needed to apply the local environment, or TerraformUnavailable saying what lacks."""
    binary = shutil.which("terraform")
    if binary is None:
        raise TerraformUnavailable("terraform is not on PATH")
    infra = find_infra()
    if infra is None:
        raise TerraformUnavailable(
            f"no infra/{LOCAL_ENV.as_posix()} found above {Path.cwd()} (set {INFRA_DIR_ENV})"
        )
    mirror = plugin_dir()
    if (mirror / PROVIDER).is_dir():
        return TerraformSetup(binary, infra, mirror)
    if _registry_reachable():
        return TerraformSetup(binary, infra, None)
    raise TerraformUnavailable(
        f"no AWS provider mirror at {mirror} (set {PLUGIN_DIR_ENV}) and no access to {REGISTRY[0]}"
    )


def cli_config(mirror: Path | None) -> str:
    """A CLI configuration installing the AWS provider from `mirror` (None: the registry)."""
    if mirror is None:
        return ""
    return (
        "provider_installation {\n"
        f"  filesystem_mirror {{\n    path    = {json.dumps(str(mirror))}\n"
        f'    include = ["{PROVIDER}"]\n  }}\n'
        f'  direct {{\n    exclude = ["{PROVIDER}"]\n  }}\n}}\n'
    )


@dataclass
class Timings:
    """Seconds per terraform command of this run."""

    seconds: dict[str, float] = field(default_factory=dict)


class LocalTerraform:
    """The local environment applied into one emulator, from a copy of infra/ in `work_dir`."""

    def __init__(self, setup: TerraformSetup, work_dir: Path) -> None:
        self.setup = setup
        self.work_dir = work_dir
        self.root = work_dir / "infra"
        self.env_dir = self.root / LOCAL_ENV
        self.timings = Timings()
        self.applied = False
        work_dir.mkdir(parents=True, exist_ok=True)
        if self.root.exists():
            shutil.rmtree(self.root)
        shutil.copytree(
            setup.infra, self.root, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*")
        )
        self.config_file = work_dir / "terraform.rc"
        self.config_file.write_text(cli_config(setup.plugin_dir), encoding="utf-8")

    def _environment(self) -> dict[str, str]:
        from ndjson_parquet.cli.aws import EMULATOR_CREDENTIALS

        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_VAR_"))}
        return {
            **env,
            **EMULATOR_CREDENTIALS,
            "TF_CLI_CONFIG_FILE": str(self.config_file),
            "TF_IN_AUTOMATION": "1",
            "CHECKPOINT_DISABLE": "1",
        }

    def run(self, *args: str, timeout: float = 900) -> str:
        """Run `terraform <args>` in the environment's folder; raise TerraformFailed on failure,
        TerraformTimedOut when it is still running after `timeout` seconds."""
        started = time.monotonic()
        # Its own process group: on timeout the provider plugins go too, and with them the
        # output pipes they hold open.
        process = subprocess.Popen(
            [self.setup.binary, *args, "-no-color"],
            cwd=self.env_dir,
            env=self._environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
            raise TerraformTimedOut(args[0], timeout, stdout + stderr) from None
        finally:
            self.timings.seconds[args[0]] = time.monotonic() - started
        if process.returncode != 0:
            raise TerraformFailed(args[0], stdout + stderr)
        return stdout

    def apply(
        self,
        endpoint_url: str,
        ca_bundle: Path,
        artifacts: Artifacts,
        variables: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """init + apply; return the outputs as plain values."""
        values = {
            "endpoint_url": endpoint_url,
            "ca_bundle": str(ca_bundle),
            "lambda_package_path": str(artifacts.lambda_package),
            "converter_wheel_path": str(artifacts.converter_wheel),
            "common_wheel_path": str(artifacts.common_wheel),
            "glue_script_path": str(artifacts.glue_script),
            **(variables or {}),
        }
        (self.env_dir / "emulator.auto.tfvars.json").write_text(json.dumps(values, indent=2))
        self.run("init", "-input=false")
        self.applied = True  # from here on, destroy() has something to remove
        self.run("apply", "-auto-approve", "-input=false", "-parallelism=30")
        return self.outputs()

    def outputs(self) -> dict[str, Any]:
        raw: dict[str, dict[str, Any]] = json.loads(self.run("output", "-json"))
        return {name: entry["value"] for name, entry in raw.items()}

    def state(self) -> dict[str, Any]:
        """`terraform show -json`: every resource as Terraform recorded it."""
        shown: dict[str, Any] = json.loads(self.run("show", "-json"))
        return shown

    def resources(self) -> dict[str, dict[str, Any]]:
        """Managed resources by address, with their recorded values."""
        found: dict[str, dict[str, Any]] = {}
        pending = [self.state().get("values", {}).get("root_module", {})]
        while pending:
            module = pending.pop()
            for resource in module.get("resources", []):
                if resource.get("mode") == "managed":
                    found[resource["address"]] = resource.get("values", {})
            pending.extend(module.get("child_modules", []))
        return found

    def destroy(self, timeout: float = DESTROY_TIMEOUT_SECONDS) -> None:
        """Remove what apply created; TerraformTimedOut names what is left after `timeout` s."""
        # The state is this run's own and current: no refresh (reading every resource again).
        self.run(
            "destroy",
            "-auto-approve",
            "-input=false",
            "-refresh=false",
            "-parallelism=30",
            timeout=timeout,
        )
        self.applied = False


def remaining_resources(aws: Any) -> list[str]:
    """Every resource of the kinds the Terraform creates that is still in the emulator.

    `aws` is an AwsTarget. KMS keys count until they are pending deletion (AWS never deletes a
    key at once) and AWS-managed key aliases (alias/aws/...) never count.
    """
    left: list[str] = [f"s3 {b['Name']}" for b in aws.client("s3").list_buckets()["Buckets"]]
    left += [f"dynamodb {t}" for t in aws.client("dynamodb").list_tables()["TableNames"]]
    left += [f"sqs {u}" for u in aws.client("sqs").list_queues().get("QueueUrls", [])]
    lam = aws.client("lambda")
    left += [f"lambda {f['FunctionName']}" for f in lam.list_functions()["Functions"]]
    left += [
        f"lambda mapping {m['UUID']}"
        for m in lam.list_event_source_mappings()["EventSourceMappings"]
    ]
    sfn = aws.client("stepfunctions")
    left += [f"states {m['name']}" for m in sfn.list_state_machines()["stateMachines"]]
    glue = aws.client("glue")
    left += [f"glue job {n}" for n in glue.list_jobs()["JobNames"]]
    left += [
        f"glue security configuration {c['Name']}"
        for c in glue.get_security_configurations()["SecurityConfigurations"]
    ]
    sns = aws.client("sns")
    left += [f"sns {t['TopicArn']}" for t in sns.list_topics()["Topics"]]
    left += [f"events rule {r['Name']}" for r in aws.client("events").list_rules()["Rules"]]
    left += [
        f"logs {g['logGroupName']}" for g in aws.client("logs").describe_log_groups()["logGroups"]
    ]
    left += [
        f"alarm {a['AlarmName']}"
        for a in aws.client("cloudwatch").describe_alarms()["MetricAlarms"]
    ]
    iam = aws.client("iam")
    left += [f"iam role {r['RoleName']}" for r in iam.list_roles()["Roles"]]
    left += [f"iam policy {p['PolicyName']}" for p in iam.list_policies(Scope="Local")["Policies"]]
    kms = aws.client("kms")
    aliases = kms.list_aliases()["Aliases"]
    # Keys behind alias/aws/* stand for AWS-managed keys (moto creates DynamoDB's default key
    # as a customer key when a table asks for KMS encryption); they are not the deployment's.
    managed = {a.get("TargetKeyId") for a in aliases if a["AliasName"].startswith("alias/aws/")}
    left += [
        f"kms alias {a['AliasName']}"
        for a in aliases
        if not a["AliasName"].startswith("alias/aws/")
    ]
    for key in kms.list_keys()["Keys"]:
        metadata = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
        if key["KeyId"] in managed or metadata.get("KeyManager") != "CUSTOMER":
            continue
        if metadata["KeyState"] != "PendingDeletion":
            left.append(f"kms key {key['KeyId']}")
    return left


def terraform_variables(environment: str, settings: LocalSettings) -> dict[str, Any]:
    """The local environment's variables for these settings (the manifest thresholds)."""
    return {
        "environment": environment,
        "max_files_per_manifest": settings.max_files_per_manifest,
        "max_bytes_per_manifest": settings.max_bytes_per_manifest,
        "max_wait_seconds": settings.max_wait_seconds,
    }


@dataclass
class TerraformRun:
    """One apply of the local environment: its outputs, times, and what its destroy left."""

    outputs: dict[str, Any]
    terraform: LocalTerraform
    artifacts_seconds: float
    leftovers: list[str] = field(default_factory=list)


@contextlib.contextmanager
def deployed_by_terraform(
    setup: TerraformSetup,
    emulator: Any,
    work_dir: Path,
    say: Callable[[str], object],
    variables: dict[str, Any] | None = None,
) -> Iterator[TerraformRun]:
    """Build the artifacts, apply the local environment into `emulator` (an Emulator with TLS),
    yield the run; on exit destroy it and record in `leftovers` whatever is still there."""
    from ndjson_parquet.cli.aws import AwsTarget
    from ndjson_parquet.cli.local.artifacts import build_artifacts

    if emulator.ca_bundle is None:
        raise ValueError("the emulator must serve HTTPS (Emulator(tls=True))")
    started = time.monotonic()
    artifacts = build_artifacts()
    built = time.monotonic() - started
    terraform = LocalTerraform(setup, work_dir)
    source = setup.plugin_dir or REGISTRY[0]
    say(f"terraform apply of {LOCAL_ENV.as_posix()} (provider from {source})...")
    run = TerraformRun({}, terraform, built)
    try:
        run.outputs = terraform.apply(
            emulator.endpoint_url, emulator.ca_bundle, artifacts, variables
        )
        say(f"terraform apply: {terraform.timings.seconds['apply']:.0f} s")
        yield run
    finally:
        if terraform.applied:
            terraform.destroy()
            run.leftovers = remaining_resources(AwsTarget(emulator.endpoint_url, emulator.region))
            say(
                f"terraform destroy: {terraform.timings.seconds['destroy']:.0f} s, "
                + (f"left behind: {', '.join(run.leftovers)}" if run.leftovers else "nothing left")
            )
