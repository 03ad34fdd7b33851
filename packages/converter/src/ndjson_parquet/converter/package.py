"""Build the converter's Lambda deployment zip: the converter, `common`, pyarrow and numpy.

    python -m ndjson_parquet.converter.package \
        [--output dist/converter_lambda.zip] [--arch x86_64|arm64] [--python-version 3.11] \
        [--sdk-pandas-layer]

By default the zip is self-contained and trimmed: pyarrow's Flight and Substrait libraries,
its C++ headers, Cython sources and tests are removed (the converter imports none of them), and
rich (used by the command line only) is left out. It stays under Lambda's 250 MB unzipped limit
(a test builds it and checks). With `--sdk-pandas-layer` pyarrow and numpy are left out as
well, for a function that uses the AWS-managed AWS SDK for pandas layer, which ships both (set
the layer's ARN in Terraform's `converter_lambda_layer_arns`).

How the zip is built (platform wheels, no runtime-provided libraries, reproducible) is
`ndjson_parquet.common.lambda_zip`.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from ndjson_parquet.common import lambda_zip
from ndjson_parquet.common.lambda_zip import PLATFORMS, Installer

DISTRIBUTION = "ndjson-parquet-converter"
LOCAL_PACKAGES = {"ndjson-parquet-converter": "converter", "ndjson-parquet-common": "common"}
# The command line's terminal output; the Lambda entrypoint never imports it.
CLI_ONLY = frozenset({"rich"})
# What the AWS SDK for pandas layer ships of our requirements.
SDK_PANDAS_LAYER = frozenset({"pyarrow", "numpy"})
# Parts of the pyarrow wheel the converter never loads (it uses the core, compute, JSON,
# Parquet and S3 file system libraries).
PYARROW_TRIM = (
    "pyarrow/include/*",
    "pyarrow/src/*",
    "pyarrow/tests/*",
    "pyarrow/*.pyx",
    "pyarrow/*.pxd",
    "pyarrow/*.pxi",
    "pyarrow/libarrow_flight.so*",
    "pyarrow/libarrow_python_flight.so*",
    "pyarrow/_flight.*",
    "pyarrow/flight.py",
    "pyarrow/libarrow_substrait.so*",
    "pyarrow/_substrait.*",
    "pyarrow/substrait.py",
)
DEFAULT_OUTPUT = Path("dist/converter_lambda.zip")


def spec(sdk_pandas_layer: bool = False) -> lambda_zip.ZipSpec:
    """What the zip holds: everything but the CLI's extras, or also without the layer's."""
    left_out = CLI_ONLY | (SDK_PANDAS_LAYER if sdk_pandas_layer else frozenset())
    return lambda_zip.ZipSpec(DISTRIBUTION, LOCAL_PACKAGES, left_out, PYARROW_TRIM)


def build(
    output: Path = DEFAULT_OUTPUT,
    arch: str = "x86_64",
    python_version: str = "3.11",
    installer: Installer = lambda_zip.pip_install,
    sdk_pandas_layer: bool = False,
) -> Path:
    """Build the zip and return its path."""
    return lambda_zip.build(spec(sdk_pandas_layer), output, arch, python_version, installer)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="zip to write")
    parser.add_argument("--arch", choices=sorted(PLATFORMS), default="x86_64")
    parser.add_argument("--python-version", default="3.11")
    parser.add_argument(
        "--sdk-pandas-layer",
        action="store_true",
        help="leave out pyarrow and numpy: the function uses the AWS SDK for pandas layer",
    )
    args = parser.parse_args(argv)
    output = build(
        args.output, args.arch, args.python_version, sdk_pandas_layer=args.sdk_pandas_layer
    )
    print(lambda_zip.describe(output))
    if lambda_zip.unzipped_bytes(output) > lambda_zip.UNZIPPED_LIMIT_BYTES:
        print("over Lambda's 250 MB unzipped limit: use --sdk-pandas-layer")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
