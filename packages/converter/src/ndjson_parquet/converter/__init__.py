"""ndjson-parquet converter."""

__version__ = "0.1.0"
