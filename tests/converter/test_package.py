"""The converter's Lambda zip: what it holds, that it is reproducible, and that it fits Lambda.

The size is measured on the wheels installed in this environment (the same manylinux pyarrow
and numpy a build for Lambda installs), so the check runs offline.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as metadata
import shutil
import zipfile
from pathlib import Path

from ndjson_parquet.common import lambda_zip
from ndjson_parquet.converter import package


def installed_copy(calls: list[list[str]]) -> lambda_zip.Installer:
    """An installer that copies the installed distributions of the requirements (and theirs)."""

    def install(requirements: list[str], target: Path, arch: str, python_version: str) -> None:
        calls.append(requirements)
        for requirement in requirements:
            dist = metadata.distribution(lambda_zip.name_of(requirement))
            for file in dist.files or []:
                source = Path(str(dist.locate_file(file)))
                if source.is_file() and "__pycache__" not in file.parts:
                    destination = target / file
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(source, destination)

    return install


def test_the_zip_leaves_out_the_command_line_and_what_the_layer_ships() -> None:
    names = {lambda_zip.name_of(r) for r in lambda_zip.third_party_requirements(package.spec())}
    assert {"pyarrow", "numpy", "orjson"} <= names
    assert "rich" not in names
    assert not names & lambda_zip.RUNTIME_PROVIDED
    layered = package.spec(sdk_pandas_layer=True)
    assert {"pyarrow", "numpy"}.isdisjoint(
        lambda_zip.name_of(r) for r in lambda_zip.third_party_requirements(layered)
    )


def test_the_trimmed_zip_fits_in_lambda_and_keeps_what_the_converter_loads(
    tmp_path: Path,
) -> None:
    calls: list[list[str]] = []
    staged = lambda_zip.stage(package.spec(), tmp_path, installer=installed_copy(calls))

    size = lambda_zip.folder_bytes(staged)
    assert size < lambda_zip.UNZIPPED_LIMIT_BYTES, f"{size / 2**20:.0f} MiB unzipped"
    assert (staged / "ndjson_parquet/converter/lambda_function.py").is_file()
    assert (staged / "ndjson_parquet/common/manifest.py").is_file()
    assert list(staged.glob("pyarrow/libparquet.so*"))
    assert not list(staged.glob("pyarrow/libarrow_flight.so*"))
    assert not (staged / "pyarrow/include").exists()
    assert not (staged / "rich").exists()


def test_the_zip_is_reproducible(tmp_path: Path) -> None:
    def small(requirements: list[str], target: Path, arch: str, version: str) -> None:
        installed_copy([])(["orjson"], target, arch, version)

    first = package.build(tmp_path / "a.zip", installer=small)
    second = package.build(tmp_path / "b.zip", installer=small)

    assert (
        hashlib.sha256(first.read_bytes()).digest() == hashlib.sha256(second.read_bytes()).digest()
    )
    assert "ndjson_parquet/converter/glue.py" in zipfile.ZipFile(first).namelist()


def test_the_default_output_is_where_terraform_looks() -> None:
    assert Path("dist/converter_lambda.zip") == package.DEFAULT_OUTPUT
