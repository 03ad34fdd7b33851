"""NDJSON → Parquet benchmark: ndjson-parquet against DuckDB, polars and pyarrow."""
