"""Build the Lambda deployment zip: this package, `common`, and their dependencies.

    python -m ndjson_parquet.manifest_builder.package \
        [--output dist/manifest_builder_lambda.zip] [--arch x86_64|arm64] [--python-version 3.11]

Dependencies are installed for the Lambda platform (manylinux wheels only, never built here),
without boto3/botocore/s3transfer, which the Lambda runtime provides. The zip is reproducible:
entries are sorted and carry a fixed timestamp, so an unchanged build has an unchanged hash
(and Terraform's `source_code_hash` does not change).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata as metadata
import importlib.util
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

DISTRIBUTION = "ndjson-parquet-manifest-builder"
# Our own distributions: copied from source, not installed from an index.
LOCAL_PACKAGES = {
    "ndjson-parquet-manifest-builder": "manifest_builder",
    "ndjson-parquet-common": "common",
}
# Provided by every Lambda Python runtime (boto3 and what it depends on). Bundling them would
# only grow the zip, and a bundled urllib3 would shadow the one the runtime's botocore expects.
RUNTIME_PROVIDED = frozenset(
    {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"}
)
# Installer leftovers that are not importable code (console scripts, uv's lock file).
_NOT_SHIPPED = ("bin", ".lock")
DEFAULT_OUTPUT = Path("dist/manifest_builder_lambda.zip")
PLATFORMS = {
    # Lambda's Python 3.11 runs on Amazon Linux 2 (glibc 2.26): manylinux2014 (glibc 2.17).
    "x86_64": ("manylinux2014_x86_64", "x86_64-manylinux2014"),
    "arm64": ("manylinux2014_aarch64", "aarch64-manylinux2014"),
}
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)

Installer = Callable[[list[str], Path, str, str], None]


_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _name(requirement: str) -> str:
    """The normalised distribution name of a requirement string."""
    match = _NAME.match(requirement)
    if match is None:
        raise ValueError(f"not a requirement: {requirement!r}")
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def third_party_requirements(distribution: str = DISTRIBUTION) -> list[str]:
    """Runtime requirements of this package and `common`, minus local and runtime packages."""
    found: list[str] = []
    pending = [distribution]
    seen: set[str] = set()
    while pending:
        dist = pending.pop()
        if dist in seen:
            continue
        seen.add(dist)
        for text in metadata.requires(dist) or []:
            requirement, _, marker = text.partition(";")
            if "extra" in marker:
                continue  # optional extras of ours are not part of the Lambda
            name = _name(requirement)
            if name in LOCAL_PACKAGES:
                pending.append(name)
            elif name not in RUNTIME_PROVIDED:
                found.append(text.strip())
    return sorted(set(found))


def pip_install(requirements: list[str], target: Path, arch: str, python_version: str) -> None:
    """Install wheels for the Lambda platform into `target` with pip, or uv if pip is absent."""
    pip_platform, uv_platform = PLATFORMS[arch]
    if importlib.util.find_spec("pip") is not None:
        command = [
            sys.executable, "-m", "pip", "install", "--quiet", "--no-compile",
            "--target", str(target), "--platform", pip_platform, "--implementation", "cp",
            "--python-version", python_version, "--only-binary=:all:", *requirements,
        ]  # fmt: skip
    elif uv := shutil.which("uv"):
        command = [
            uv, "pip", "install", "--quiet", "--no-compile", "--target", str(target),
            "--python-platform", uv_platform, "--python-version", python_version,
            "--only-binary", ":all:", *requirements,
        ]  # fmt: skip
    else:
        raise SystemExit("neither pip nor uv is available to install the dependencies")
    subprocess.run(command, check=True)


def prune_runtime_provided(target: Path) -> list[str]:
    """Remove distributions the runtime provides (pulled in transitively) using their RECORD."""
    removed: list[str] = []
    for dist_info in sorted(target.glob("*.dist-info")):
        name = _name(dist_info.name.split("-")[0])
        if name not in RUNTIME_PROVIDED:
            continue
        record = dist_info / "RECORD"
        for line in record.read_text().splitlines() if record.exists() else []:
            path = target / line.split(",")[0]
            if path.is_file():
                path.unlink()
        shutil.rmtree(dist_info, ignore_errors=True)
        removed.append(name)
    for leftover in _NOT_SHIPPED:
        path = target / leftover
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    for directory in sorted(target.rglob("*"), reverse=True):  # drop emptied directories
        if directory.is_dir() and not any(directory.iterdir()):
            directory.rmdir()
    return removed


def copy_sources(target: Path) -> None:
    """Copy `ndjson_parquet.common` and `ndjson_parquet.manifest_builder` (namespace package)."""
    for module in LOCAL_PACKAGES.values():
        spec = importlib.util.find_spec(f"ndjson_parquet.{module}")
        if spec is None or spec.origin is None:
            raise SystemExit(f"ndjson_parquet.{module} is not importable")
        shutil.copytree(
            Path(spec.origin).parent,
            target / "ndjson_parquet" / module,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            dirs_exist_ok=True,
        )


def write_zip(source: Path, output: Path) -> None:
    """Zip `source` reproducibly (sorted entries, fixed times, no byte-code caches)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in source.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(source).as_posix(), _FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())


def build(
    output: Path = DEFAULT_OUTPUT,
    arch: str = "x86_64",
    python_version: str = "3.11",
    installer: Installer = pip_install,
    extra_requirements: Iterable[str] = (),
) -> Path:
    """Build the zip and return its path."""
    with tempfile.TemporaryDirectory(prefix="manifest-builder-lambda-") as tmp:
        staging = Path(tmp)
        requirements = [*third_party_requirements(), *extra_requirements]
        installer(requirements, staging, arch, python_version)
        prune_runtime_provided(staging)
        copy_sources(staging)
        write_zip(staging, output)
    return output


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="zip to write")
    parser.add_argument("--arch", choices=sorted(PLATFORMS), default="x86_64")
    parser.add_argument(
        "--platform",
        choices=[pip for pip, _ in PLATFORMS.values()],
        help="the pip platform tag instead of --arch",
    )
    parser.add_argument("--python-version", default="3.11")
    args = parser.parse_args(argv)
    arch = args.arch
    if args.platform:
        arch = next(a for a, (pip, _) in PLATFORMS.items() if pip == args.platform)
    output = build(args.output, arch, args.python_version)
    digest = hashlib.sha256(output.read_bytes()).hexdigest()
    print(f"{output} ({output.stat().st_size} bytes, sha256 {digest})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
