"""Options, progress reports and the summary of a conversion."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal

import pyarrow as pa

MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ConvertOptions:
    """How to convert. Every field has a production default."""

    # Local folder or s3:// prefix for bad lines; default <destination>/_quarantine.
    quarantine: str | None = None
    # Declared schema (see `load_schema`): its fields keep their types; values that do not fit
    # go to quarantine. Fields it does not name are inferred.
    schema: pa.Schema | None = None
    # Top-level field whose date value (YYYY-MM-DD…) gives Hive folders dt=YYYY-MM-DD/.
    partition_by: str | None = None
    compression: Literal["zstd", "snappy"] = "zstd"
    # A Parquet file is closed once it reaches this size.
    target_file_bytes: int = 128 * MiB
    # A row group is written once this much Arrow data (or this many rows) is buffered.
    row_group_bytes: int = 64 * MiB
    row_group_rows: int = 1_000_000
    # Fraction of non-blank lines allowed in quarantine; exceeded: MaxErrorRateExceeded.
    max_error_rate: float | None = None
    # Add _source_file, _source_line and _manifest_id columns.
    lineage: bool = False
    # Output name stem; default the manifest id, else a hash of the sources' names and bytes.
    run_id: str | None = None
    # Tuning: bytes of NDJSON parsed at once, and the JSON reader's block size.
    chunk_bytes: int = 16 * MiB
    block_bytes: int = 4 * MiB
    # Tuning: bytes of each of up to 32 windows spread over the input, read up front so that
    # schema changes are known before rows are encoded (at most 3% of the input); 0: off.
    sample_bytes: int = 256 * 1024

    def __post_init__(self) -> None:
        if self.compression not in ("zstd", "snappy"):
            raise ValueError(f"compression must be zstd or snappy, not {self.compression!r}")
        if self.max_error_rate is not None and not 0 <= self.max_error_rate <= 1:
            raise ValueError("max_error_rate is a fraction between 0 and 1")
        if (
            min(
                self.target_file_bytes,
                self.row_group_bytes,
                self.row_group_rows,
                self.chunk_bytes,
                self.block_bytes,
            )
            <= 0
            or self.sample_bytes < 0
        ):
            raise ValueError("sizes must be positive")


@dataclass(slots=True)
class Progress:
    """Reported after each chunk."""

    files_total: int
    files_done: int
    bytes_total: int
    bytes_read: int
    lines_read: int
    rows_written: int


@dataclass(slots=True)
class Summary:
    """What a conversion did. `lines_read == rows_written + lines_quarantined + blank_lines`."""

    run_id: str
    files: int
    lines_read: int
    blank_lines: int
    rows_written: int
    lines_quarantined: int
    bytes_read: int
    output_files: list[str]
    quarantine_files: list[str]
    schema: dict[str, Any]
    drift: list[dict[str, Any]]
    seconds: float
    # Numbers kept exactly as JSON text (integers beyond int64, floats beyond float64's range).
    exact_values: int = 0
    manifest_id: str | None = None
    destination: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # What makes a run that did not fail look wrong: no row written, a partition field no
    # row has, superseded inputs. The command prints them on stderr.
    warnings: list[str] = field(default_factory=list)
    # Inputs overwritten or deleted after the manifest was made, so not converted (no lines
    # read from them): {"uri", "version_id" or "etag" it expected, "s3_error": what S3 said}.
    # `files` counts them too. An overwritten file's new version has its own manifest.
    superseded_files: list[dict[str, str]] = field(default_factory=list)

    @property
    def arrow_schema(self) -> pa.Schema:
        """`schema` as an Arrow schema (with the markers `unify_schemas` needs)."""
        from ndjson_parquet.converter.schema import schema_from_json

        return schema_from_json(self.schema)

    @property
    def counts_add_up(self) -> bool:
        return self.lines_read == self.rows_written + self.lines_quarantined + self.blank_lines

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict. Shallow: the schema is already JSON; nothing recurses into it."""
        doc = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in ("output_files", "quarantine_files", "drift", "warnings"):
            doc[name] = list(doc[name])
        doc["schema"] = dict(self.schema)
        doc["extra"] = dict(self.extra)
        doc["superseded_files"] = [dict(s) for s in self.superseded_files]
        doc["counts_add_up"] = self.counts_add_up
        return doc
