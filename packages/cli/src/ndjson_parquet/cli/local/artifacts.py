"""The files `terraform apply` uploads, built from the installed components, cached by content.

The emulator never runs them (the local runtime calls the handlers and the converter in this
process), but Terraform uploads them as it would to AWS: the manifest builder's zip (its code and
`common`'s; the third-party dependencies the real zip carries come from an index, which the
emulator does not need) and the converter and common wheels (pure Python, built here from the
installed sources with the installed metadata). Every entry has a fixed time and order, so the
same sources give the same bytes, and a cache folder named by their hash makes a second run free.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata as metadata
import importlib.util
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
# Distribution name -> module under the ndjson_parquet namespace.
_WHEELS = {"ndjson-parquet-common": "common", "ndjson-parquet-converter": "converter"}
_LAMBDA_MODULES = ("common", "manifest_builder")
CACHE_ENV = "NDJSON_PARQUET_CACHE_DIR"


@dataclass(frozen=True, slots=True)
class Artifacts:
    """Paths of the four files the Terraform reads."""

    lambda_package: Path
    converter_wheel: Path
    common_wheel: Path
    glue_script: Path


def module_dir(module: str) -> Path:
    """Source folder of `ndjson_parquet.<module>`."""
    spec = importlib.util.find_spec(f"ndjson_parquet.{module}")
    if spec is None or spec.origin is None:
        raise RuntimeError(f"ndjson_parquet.{module} is not importable")
    return Path(spec.origin).parent


def _sources(module: str) -> list[tuple[str, Path]]:
    """(archive name, file) of every source file of `ndjson_parquet.<module>`, sorted."""
    root = module_dir(module)
    return sorted(
        (f"ndjson_parquet/{module}/{p.relative_to(root).as_posix()}", p)
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    )


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for dist in _WHEELS:
        digest.update(f"{dist}=={metadata.version(dist)}\n".encode())
    for module in sorted({*_WHEELS.values(), *_LAMBDA_MODULES}):
        for name, path in _sources(module):
            digest.update(name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:20]


def _write_archive(output: Path, entries: list[tuple[str, bytes]]) -> None:
    """A zip with sorted entries and fixed times, written next to `output` then renamed."""
    with (
        tempfile.NamedTemporaryFile(dir=output.parent, suffix=".part", delete=False) as tmp,
        zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive,
    ):
        for name, data in sorted(entries):
            info = zipfile.ZipInfo(name, _FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    os.replace(tmp.name, output)


def _wheel_entries(dist: str, module: str) -> tuple[str, list[tuple[str, bytes]]]:
    """File name and entries of a pure-Python wheel (PEP 427) of an installed component."""
    version = metadata.version(dist)
    stem = f"{dist.replace('-', '_')}-{version}"
    entries = [(name, path.read_bytes()) for name, path in _sources(module)]
    meta = metadata.distribution(dist).read_text("METADATA") or f"Name: {dist}\n"
    info = f"{stem}.dist-info"
    entries.append((f"{info}/METADATA", meta.encode()))
    wheel = (
        "Wheel-Version: 1.0\nGenerator: ndjson-parquet\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    entries.append((f"{info}/WHEEL", wheel.encode()))
    record = [
        f"{name},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}"
        for name, data in sorted(entries)
    ]
    record.append(f"{info}/RECORD,,")
    entries.append((f"{info}/RECORD", ("\n".join(record) + "\n").encode()))
    return f"{stem}-py3-none-any.whl", entries


def default_cache_dir() -> Path:
    base = os.environ.get(CACHE_ENV) or os.environ.get("XDG_CACHE_HOME") or "~/.cache"
    return Path(base).expanduser() / "ndjson-parquet" / "terraform-artifacts"


def build_artifacts(cache_dir: Path | None = None) -> Artifacts:
    """Build (or reuse from the cache) the Lambda zip and the two wheels."""
    folder = (cache_dir or default_cache_dir()) / _fingerprint()
    folder.mkdir(parents=True, exist_ok=True)
    wheels: dict[str, Path] = {}
    for dist, module in _WHEELS.items():
        name, entries = _wheel_entries(dist, module)
        wheels[module] = folder / name
        if not wheels[module].exists():
            _write_archive(wheels[module], entries)
    lambda_package = folder / "manifest_builder_lambda.zip"
    if not lambda_package.exists():
        entries = [(n, p.read_bytes()) for m in _LAMBDA_MODULES for n, p in _sources(m)]
        _write_archive(lambda_package, entries)
    return Artifacts(
        lambda_package=lambda_package,
        converter_wheel=wheels["converter"],
        common_wheel=wheels["common"],
        glue_script=module_dir("converter") / "glue_script.py",
    )
