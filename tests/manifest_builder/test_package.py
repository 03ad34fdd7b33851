"""The Lambda zip build, offline: the installer is replaced by one that writes fake wheels."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

from ndjson_parquet.manifest_builder import package


def fake_installer(calls: list[tuple[list[str], str, str]]) -> package.Installer:
    def install(requirements: list[str], target: Path, arch: str, python_version: str) -> None:
        calls.append((requirements, arch, python_version))
        # What pip leaves behind: a wanted dependency, botocore pulled in transitively, a script.
        for name, module in (("pydantic", "pydantic"), ("botocore", "botocore")):
            (target / module).mkdir()
            (target / module / "__init__.py").write_text(f"NAME = {name!r}\n")
            dist_info = target / f"{name}-1.0.dist-info"
            dist_info.mkdir()
            (dist_info / "RECORD").write_text(
                f"{module}/__init__.py,,\n{name}-1.0.dist-info/RECORD,,\n"
            )
        (target / "bin").mkdir()
        (target / "bin" / "tool").write_text("#!/bin/sh\n")

    return install


def test_requirements_come_from_the_package_metadata() -> None:
    requirements = package.third_party_requirements()
    names = {package._name(r) for r in requirements}
    assert {"aws-lambda-powertools", "pydantic"} <= names
    assert not names & package.RUNTIME_PROVIDED
    assert not names & set(package.LOCAL_PACKAGES)


def test_the_zip_holds_both_packages_and_no_runtime_libraries(tmp_path: Path) -> None:
    calls: list[tuple[list[str], str, str]] = []
    output = package.build(tmp_path / "lambda.zip", "arm64", "3.12", fake_installer(calls))

    [(requirements, arch, version)] = calls
    assert (arch, version) == ("arm64", "3.12")
    assert requirements == package.third_party_requirements()
    names = set(zipfile.ZipFile(output).namelist())
    assert "ndjson_parquet/manifest_builder/handler.py" in names
    assert "ndjson_parquet/common/keys.py" in names
    assert "pydantic/__init__.py" in names
    # A namespace package: no ndjson_parquet/__init__.py; nothing the runtime already has.
    assert "ndjson_parquet/__init__.py" not in names
    assert not any(n.startswith(("botocore", "bin/")) for n in names)
    assert not any("__pycache__" in n for n in names)


def test_the_zip_is_reproducible(tmp_path: Path) -> None:
    first = package.build(tmp_path / "a.zip", installer=fake_installer([]))
    second = package.build(tmp_path / "b.zip", installer=fake_installer([]))

    digest = [hashlib.sha256(p.read_bytes()).hexdigest() for p in (first, second)]
    assert digest[0] == digest[1]


def test_the_default_output_is_where_terraform_looks() -> None:
    assert Path("dist/manifest_builder_lambda.zip") == package.DEFAULT_OUTPUT
