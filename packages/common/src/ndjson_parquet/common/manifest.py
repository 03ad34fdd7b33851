"""The manifest: the versioned JSON document that names the files of one conversion."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

MANIFEST_SCHEMA_VERSION: Literal[1] = 1

DATE_PREFIX_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Step Functions execution names: 1-80 characters, no whitespace or delimiters; the manifest id
# is used as the execution name so that a retried start is idempotent.
MANIFEST_ID_RE = re.compile(r"^[A-Za-z0-9_.-]{1,80}$")


class ManifestError(ValueError):
    """A manifest document that cannot be read or does not follow the schema."""


class ManifestFile(BaseModel):
    """One input object version.

    `version_id` is the S3 version the event announced (versioned buckets); readers fetch
    exactly that version. Without it they read the key on the condition that its ETag is
    still `etag`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    bucket: Annotated[str, Field(min_length=3, max_length=63)]
    key: Annotated[str, Field(min_length=1, max_length=1024)]
    size: Annotated[int, Field(ge=0)]
    etag: Annotated[str, Field(min_length=1)]
    version_id: Annotated[str | None, Field(min_length=1, max_length=1024)] = None

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


class Manifest(BaseModel):
    """A group of files converted together by one workflow execution."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    manifest_id: Annotated[str, Field(pattern=MANIFEST_ID_RE.pattern)]
    date_prefix: Annotated[str, Field(pattern=DATE_PREFIX_RE.pattern)]
    created_at: datetime
    files: Annotated[list[ManifestFile], Field(min_length=1)]
    file_count: Annotated[int, Field(ge=1)]
    total_bytes: Annotated[int, Field(ge=0)]

    @model_validator(mode="after")
    def _totals_match(self) -> Self:
        if self.file_count != len(self.files):
            raise ValueError(
                f"file_count is {self.file_count} but {len(self.files)} files are listed"
            )
        total = sum(f.size for f in self.files)
        if self.total_bytes != total:
            raise ValueError(f"total_bytes is {self.total_bytes} but the files add up to {total}")
        seen: set[tuple[str, str]] = set()
        for f in self.files:
            if (f.bucket, f.key) in seen:
                raise ValueError(f"file listed twice: {f.uri}")
            seen.add((f.bucket, f.key))
        return self

    @classmethod
    def build(
        cls,
        manifest_id: str,
        date_prefix: str,
        files: list[ManifestFile],
        created_at: datetime | None = None,
    ) -> Manifest:
        """A manifest over `files`, with the totals computed."""
        return cls(
            manifest_id=manifest_id,
            date_prefix=date_prefix,
            created_at=created_at or datetime.now(UTC),
            files=files,
            file_count=len(files),
            total_bytes=sum(f.size for f in files),
        )

    @classmethod
    def from_json(cls, data: str | bytes, source: str = "manifest") -> Manifest:
        """Parse and validate; every problem is reported in one ManifestError naming `source`."""
        try:
            return cls.model_validate_json(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '(document)'}: {err['msg']}"
                for err in exc.errors()
            )
            raise ManifestError(f"invalid manifest {source}: {problems}") from None

    def to_json(self) -> str:
        # Without versions the document is the one readers of the first layout know.
        return self.model_dump_json(indent=None, exclude_none=True)

    def s3_key(self, prefix: str = "manifests") -> str:
        """Where the manifest document is stored in the manifest bucket."""
        return manifest_s3_key(self.manifest_id, self.date_prefix, prefix)


def manifest_s3_key(manifest_id: str, date_prefix: str, prefix: str = "manifests") -> str:
    prefix = prefix.strip("/")
    name = f"dt={date_prefix}/{manifest_id}.json"
    return f"{prefix}/{name}" if prefix else name


def new_manifest_id(date_prefix: str, now: datetime | None = None) -> str:
    """A unique, sortable id usable as a Step Functions execution name.

    Example: `2024-03-05-20240306T010203Z-9f1c2ab4`.
    """
    if not DATE_PREFIX_RE.match(date_prefix):
        raise ValueError(f"date prefix must be YYYY-MM-DD, got {date_prefix!r}")
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{date_prefix}-{stamp}-{secrets.token_hex(4)}"


def manifest_json_schema() -> dict[str, Any]:
    """The manifest's JSON Schema (draft 2020-12), for readers outside Python."""
    schema = Manifest.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://ndjson-parquet.dev/schemas/manifest-v{MANIFEST_SCHEMA_VERSION}.json"
    return schema
