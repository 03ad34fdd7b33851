"""Build the manifest builder's Lambda deployment zip: this package, `common`, dependencies.

    python -m ndjson_parquet.manifest_builder.package \
        [--output dist/manifest_builder_lambda.zip] [--arch x86_64|arm64] [--python-version 3.11]

How the zip is built (platform wheels, no runtime-provided libraries, reproducible) is
`ndjson_parquet.common.lambda_zip`.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Sequence
from pathlib import Path

from ndjson_parquet.common import lambda_zip
from ndjson_parquet.common.lambda_zip import PLATFORMS, RUNTIME_PROVIDED, Installer

DISTRIBUTION = "ndjson-parquet-manifest-builder"
# Our own distributions: copied from source, not installed from an index.
LOCAL_PACKAGES = {
    "ndjson-parquet-manifest-builder": "manifest_builder",
    "ndjson-parquet-common": "common",
}
SPEC = lambda_zip.ZipSpec(DISTRIBUTION, LOCAL_PACKAGES)
DEFAULT_OUTPUT = Path("dist/manifest_builder_lambda.zip")

__all__ = ["DEFAULT_OUTPUT", "LOCAL_PACKAGES", "RUNTIME_PROVIDED", "Installer", "build", "main"]

_name = lambda_zip.name_of


def third_party_requirements() -> list[str]:
    """Runtime requirements of this package and `common`, minus local and runtime packages."""
    return lambda_zip.third_party_requirements(SPEC)


def build(
    output: Path = DEFAULT_OUTPUT,
    arch: str = "x86_64",
    python_version: str = "3.11",
    installer: Installer = lambda_zip.pip_install,
    extra_requirements: Iterable[str] = (),
) -> Path:
    """Build the zip and return its path."""
    return lambda_zip.build(SPEC, output, arch, python_version, installer, extra_requirements)


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
    print(lambda_zip.describe(build(args.output, arch, args.python_version)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
