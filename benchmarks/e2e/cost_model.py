"""The cost model of docs/cost.md: what a Glue run or a Lambda conversion of a manifest would be
billed on AWS, and the whole pipeline per million files (us-east-1 list prices; see the doc for
how each figure was measured or assumed).

    python -m benchmarks.e2e.cost_model      # the doc's tables, per million files and per TB
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from ndjson_parquet.common.settings import Defaults

# Glue: 2 x G.1X = 2 DPU at $0.44 per DPU-hour, about 60 s of start-up, a 60 s minimum, and the
# data at 50 MB/s.
GLUE_DPU: Final = 2
GLUE_PRICE_PER_DPU_SECOND: Final = 0.44 / 3600
GLUE_STARTUP_SECONDS: Final = 60.0
GLUE_MIN_SECONDS: Final = 60.0
# Lambda at 2,048 MB: $0.0000166667 per GB-second, $0.20 per million requests; 1 s per
# invocation, 50 MB/s of data (about 120 MB per CPU-second measured locally), and 2.5 ms per file:
# a GET's 20 ms of latency with 8 GETs in flight (the converter reads small objects ahead).
LAMBDA_GB: Final = 2.0
LAMBDA_PRICE_PER_GB_SECOND: Final = 0.0000166667
LAMBDA_PRICE_PER_REQUEST: Final = 0.20 / 1_000_000
LAMBDA_OVERHEAD_SECONDS: Final = 1.0
LAMBDA_SECONDS_PER_FILE: Final = 0.0025
BYTES_PER_SECOND: Final = 50_000_000


def glue_run_cost(bytes_read: int) -> float:
    seconds = max(GLUE_MIN_SECONDS, GLUE_STARTUP_SECONDS + bytes_read / BYTES_PER_SECOND)
    return GLUE_DPU * seconds * GLUE_PRICE_PER_DPU_SECOND


def lambda_run_cost(bytes_read: int, files: int) -> float:
    seconds = (
        LAMBDA_OVERHEAD_SECONDS + files * LAMBDA_SECONDS_PER_FILE + bytes_read / BYTES_PER_SECOND
    )
    return seconds * LAMBDA_GB * LAMBDA_PRICE_PER_GB_SECOND + LAMBDA_PRICE_PER_REQUEST


def run_cost(compute: str, bytes_read: int, files: int) -> float:
    """The modelled bill of one successful conversion run on `compute` ("glue" or "lambda")."""
    if compute == "lambda":
        return lambda_run_cost(bytes_read, files)
    return glue_run_cost(bytes_read)


# Per million files, besides the conversion.
STEP_FUNCTIONS_PER_TRANSITION: Final = 0.025 / 1000
TRANSITIONS: Final = {"lambda": 7, "glue": 6}  # success path; "glue": a Glue-only deployment
# DynamoDB on demand; units measured by bench-manifest-builder (table and indexes, the builder
# and the workflow's tasks): per file, and per manifest whatever its size.
WRITE_UNIT: Final = 0.625 / 1_000_000
READ_UNIT: Final = 0.125 / 1_000_000
WRITE_UNITS_PER_FILE: Final = 4.02
WRITE_UNITS_PER_MANIFEST: Final = 21.0
READ_UNITS_PER_FILE: Final = 0.035
READ_UNITS_PER_MANIFEST: Final = 8.0
# The manifest builder and the flush function: 512 MB, about 25 ms a file.
BUILDER_LAMBDA_PER_FILE: Final = 0.21 / 1_000_000
# SQS: the S3 event, and receives and deletes in batches: 1.2 requests a file.
SQS_PER_FILE: Final = 1.2 * 0.40 / 1_000_000
S3_GET: Final = 0.0004 / 1000
S3_PUT: Final = 0.005 / 1000
# Per manifest: the staged list, the document and the run summary (PUTs), the document read by
# the converter (GET), one Parquet PUT per 64 MiB; a Glue run also GETs its script and wheels.
S3_PUTS_PER_MANIFEST: Final = 3
PARQUET_BYTES_PER_PUT: Final = 64 * 1024 * 1024
GLUE_GETS_PER_RUN: Final = 3
FIREHOSE_PER_GB: Final = 0.029 + 0.018


@dataclass(frozen=True, slots=True)
class MillionFiles:
    """The bill of a million files of one size, every manifest converted on `compute`."""

    file_bytes: int
    compute: str
    files_per_manifest: int = Defaults.MAX_FILES_PER_MANIFEST
    bytes_per_manifest: int = Defaults.MAX_BYTES_PER_MANIFEST

    @property
    def manifest_files(self) -> int:
        """Files in a manifest: the defaults' count or bytes limit, whichever comes first."""
        return max(1, min(self.files_per_manifest, self.bytes_per_manifest // self.file_bytes))

    @property
    def manifests(self) -> float:
        return 1_000_000 / self.manifest_files

    def lines(self) -> dict[str, float]:
        files, manifests = 1_000_000, self.manifests
        manifest_bytes = self.manifest_files * self.file_bytes
        conversion = run_cost(self.compute, manifest_bytes, self.manifest_files)
        parquet_puts = math.ceil(manifest_bytes / PARQUET_BYTES_PER_PUT)
        s3_per_manifest = (S3_PUTS_PER_MANIFEST + parquet_puts) * S3_PUT + S3_GET * (
            1 + (GLUE_GETS_PER_RUN if self.compute == "glue" else 0)
        )
        return {
            "conversion": conversion * manifests,
            "step functions": TRANSITIONS[self.compute] * STEP_FUNCTIONS_PER_TRANSITION * manifests,
            "dynamodb": (WRITE_UNITS_PER_FILE * files + WRITE_UNITS_PER_MANIFEST * manifests)
            * WRITE_UNIT
            + (READ_UNITS_PER_FILE * files + READ_UNITS_PER_MANIFEST * manifests) * READ_UNIT,
            "lambda (builder, flush)": BUILDER_LAMBDA_PER_FILE * files,
            "sqs": SQS_PER_FILE * files,
            "s3 requests": S3_GET * files + s3_per_manifest * manifests,
        }

    def total(self) -> float:
        return sum(self.lines().values())

    def per_tb(self) -> float:
        return self.total() * 1e12 / (self.file_bytes * 1_000_000)


def per_file_floor() -> float:
    """What tracking any file costs at least: its SQS requests, its GET and one conditional
    write (the duplicate check)."""
    return SQS_PER_FILE + S3_GET + WRITE_UNIT


def break_even_bytes(per_file: float, per_byte: float = 0.0) -> float:
    """The file size above which a cost of `per_file` plus `per_byte` beats Firehose."""
    return per_file / (FIREHOSE_PER_GB / 1e9 - per_byte)


def main() -> None:
    sizes = {"100 KB": 100_000, "1 MB": 1_000_000, "5 MB": 5_000_000}
    for compute in ("lambda", "glue"):
        models = {name: MillionFiles(size, compute) for name, size in sizes.items()}
        print(
            f"\n{compute}: "
            + "  ".join(f"{n}: {m.manifest_files} files/manifest" for n, m in models.items())
        )
        for line in next(iter(models.values())).lines():
            print(f"  {line:<24}" + "".join(f"{m.lines()[line]:>10.2f}" for m in models.values()))
        print(
            f"  {'total per million files':<24}"
            + "".join(f"{m.total():>10.2f}" for m in models.values())
        )
        print(f"  {'total per TB':<24}" + "".join(f"{m.per_tb():>10.2f}" for m in models.values()))
    small = MillionFiles(100_000, "lambda")
    per_file = small.total() / 1_000_000 - small.lines()["conversion"] / 1_000_000
    print(f"\nfirehose per TB: {FIREHOSE_PER_GB * 1000:.2f}")
    print(
        f"per-file floor: ${per_file_floor() * 1e6:.3f} per million files, beats Firehose above "
        f"{break_even_bytes(per_file_floor()) / 1000:.0f} KB"
    )
    per_byte = small.lines()["conversion"] / (1_000_000 * 100_000)
    print(
        f"this pipeline (lambda, defaults): ${per_file * 1e6:.2f} per million files besides the "
        f"conversion, beats Firehose above {break_even_bytes(per_file, per_byte) / 1000:.0f} KB"
    )


if __name__ == "__main__":
    main()
