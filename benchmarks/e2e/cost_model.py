"""The conversion cost model of docs/cost.md, per run: what a Glue run or a Lambda conversion of
a manifest would be billed on AWS (us-east-1 list prices; see the doc for how each figure was
measured or assumed)."""

from __future__ import annotations

from typing import Final

# Glue: 2 x G.1X = 2 DPU at $0.44 per DPU-hour, about 60 s of start-up, a 60 s minimum, and the
# data at 50 MB/s.
GLUE_DPU: Final = 2
GLUE_PRICE_PER_DPU_SECOND: Final = 0.44 / 3600
GLUE_STARTUP_SECONDS: Final = 60.0
GLUE_MIN_SECONDS: Final = 60.0
# Lambda at 2,048 MB: $0.0000166667 per GB-second, $0.20 per million requests; 1 s per
# invocation, 20 ms per file and 50 MB/s of data (64-73 MB per CPU-second measured locally).
LAMBDA_GB: Final = 2.0
LAMBDA_PRICE_PER_GB_SECOND: Final = 0.0000166667
LAMBDA_PRICE_PER_REQUEST: Final = 0.20 / 1_000_000
LAMBDA_OVERHEAD_SECONDS: Final = 1.0
LAMBDA_SECONDS_PER_FILE: Final = 0.02
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
