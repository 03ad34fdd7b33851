"""Build a Lambda deployment zip of our packages and their dependencies, reproducibly.

Each function's `package` module says what goes in (a `ZipSpec`). Dependencies are installed for the Lambda platform (manylinux
wheels only, never built here), without boto3/botocore/s3transfer, which the Lambda runtime
provides, and without the paths the spec trims. The zip is reproducible: entries are sorted and
carry a fixed timestamp, so an unchanged build has an unchanged hash (and Terraform's
`source_code_hash` does not change).
"""

from __future__ import annotations

import fnmatch
import hashlib
import importlib.metadata as metadata
import importlib.util
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

# Provided by every Lambda Python runtime (boto3 and what it depends on). Bundling them would
# only grow the zip, and a bundled urllib3 would shadow the one the runtime's botocore expects.
RUNTIME_PROVIDED = frozenset(
    {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"}
)
# Installer leftovers that are not importable code (console scripts, uv's lock file).
_NOT_SHIPPED = ("bin", ".lock")
PLATFORMS = {
    # glibc 2.17 wheels run on every Lambda Python runtime (Amazon Linux 2 and 2023).
    "x86_64": ("manylinux2014_x86_64", "x86_64-manylinux2014"),
    "arm64": ("manylinux2014_aarch64", "aarch64-manylinux2014"),
}
# Lambda's limit for a function's code and layers, unzipped.
UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)

Installer = Callable[[list[str], Path, str, str], None]

_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass(frozen=True, slots=True)
class ZipSpec:
    """What one function's zip holds."""

    # The distribution whose requirements are installed (with our local ones' requirements).
    distribution: str
    # Our distributions, copied from source: distribution name -> module under ndjson_parquet.
    local_packages: Mapping[str, str]
    # Requirements the function gets from a layer or never imports, besides the runtime's.
    left_out: frozenset[str] = frozenset()
    # Glob patterns (relative to the zip's root) of installed files the function never loads.
    trim: tuple[str, ...] = ()


def name_of(requirement: str) -> str:
    """The normalised distribution name of a requirement string."""
    match = _NAME.match(requirement)
    if match is None:
        raise ValueError(f"not a requirement: {requirement!r}")
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def third_party_requirements(spec: ZipSpec) -> list[str]:
    """Runtime requirements of the spec's distributions, minus local and provided packages."""
    found: list[str] = []
    pending = [spec.distribution]
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
            name = name_of(requirement)
            if name in spec.local_packages:
                pending.append(name)
            elif name not in RUNTIME_PROVIDED and name not in spec.left_out:
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


def prune_provided(target: Path, provided: Iterable[str] = RUNTIME_PROVIDED) -> list[str]:
    """Remove distributions provided elsewhere (pulled in transitively) using their RECORD."""
    names = set(provided)
    removed: list[str] = []
    for dist_info in sorted(target.glob("*.dist-info")):
        name = name_of(dist_info.name.split("-")[0])
        if name not in names:
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
    _drop_empty_directories(target)
    return removed


def trim(target: Path, patterns: Iterable[str]) -> int:
    """Delete the files under `target` matching any pattern; return the bytes removed."""
    wanted = tuple(patterns)
    removed = 0
    for path in sorted(target.rglob("*")):
        relative = path.relative_to(target).as_posix()
        if path.is_file() and any(fnmatch.fnmatch(relative, p) for p in wanted):
            removed += path.stat().st_size
            path.unlink()
    _drop_empty_directories(target)
    return removed


def _drop_empty_directories(target: Path) -> None:
    for directory in sorted(target.rglob("*"), reverse=True):
        if directory.is_dir() and not any(directory.iterdir()):
            directory.rmdir()


def copy_sources(target: Path, modules: Iterable[str]) -> None:
    """Copy our modules of the `ndjson_parquet` namespace package into `target`."""
    for module in modules:
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


def unzipped_bytes(zip_path: Path) -> int:
    """What the zip takes once Lambda unpacks it (what the 250 MB limit counts)."""
    with zipfile.ZipFile(zip_path) as archive:
        return sum(info.file_size for info in archive.infolist())


def stage(
    spec: ZipSpec,
    target: Path,
    arch: str = "x86_64",
    python_version: str = "3.11",
    installer: Installer = pip_install,
    extra_requirements: Iterable[str] = (),
) -> Path:
    """Put what the zip holds into the folder `target` (installed, pruned, trimmed, sources)."""
    requirements = [*third_party_requirements(spec), *extra_requirements]
    if requirements:
        installer(requirements, target, arch, python_version)
    prune_provided(target, RUNTIME_PROVIDED | spec.left_out)
    trim(target, spec.trim)
    copy_sources(target, spec.local_packages.values())
    return target


def folder_bytes(folder: Path) -> int:
    """The size of every file under `folder` (what the zip holds unzipped)."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def build(
    spec: ZipSpec,
    output: Path,
    arch: str = "x86_64",
    python_version: str = "3.11",
    installer: Installer = pip_install,
    extra_requirements: Iterable[str] = (),
) -> Path:
    """Build the zip for `spec` and return its path."""
    with tempfile.TemporaryDirectory(prefix="lambda-zip-") as tmp:
        staging = stage(spec, Path(tmp), arch, python_version, installer, extra_requirements)
        write_zip(staging, output)
    return output


def describe(output: Path) -> str:
    """`path (size, unzipped size, sha256)`, as the build commands print it."""
    digest = hashlib.sha256(output.read_bytes()).hexdigest()
    return (
        f"{output} ({output.stat().st_size} bytes, {unzipped_bytes(output)} unzipped, "
        f"sha256 {digest})"
    )
