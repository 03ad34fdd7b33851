"""Benchmarks: each compares ndjson-parquet with the tools a user would otherwise reach for."""
