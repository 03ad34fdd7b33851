"""Which pending files go into the next manifest (pure logic, no I/O)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ndjson_parquet.common.keys import FileAttr, FileKey
from ndjson_parquet.common.manifest import ManifestFile


@dataclass(frozen=True, slots=True)
class PendingFile:
    """One pending object version, as listed on the pending index or in a journal."""

    bucket: str
    key: str
    etag: str
    size: int
    registered_at: str = ""
    version_id: str | None = None

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> PendingFile:
        return cls(
            bucket=str(item[FileAttr.BUCKET]),
            key=str(item[FileAttr.KEY]),
            etag=str(item[FileAttr.ETAG]),
            size=int(item[FileAttr.SIZE]),
            registered_at=str(item.get(FileAttr.REGISTERED_AT, "")),
            version_id=item.get(FileAttr.VERSION_ID),
        )

    @property
    def file_key(self) -> FileKey:
        return FileKey(self.bucket, self.key, self.etag)

    def to_manifest_file(self) -> ManifestFile:
        return ManifestFile(
            bucket=self.bucket,
            key=self.key,
            size=self.size,
            etag=self.etag,
            version_id=self.version_id,
        )

    @classmethod
    def from_manifest_file(cls, f: ManifestFile) -> PendingFile:
        return cls(f.bucket, f.key, f.etag, f.size, version_id=f.version_id)


@dataclass(frozen=True, slots=True)
class Selection:
    files: list[PendingFile]
    # True when a limit stopped the selection: the manifest is as large as it may be.
    full: bool

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


def select(pending: Iterable[PendingFile], max_files: int, max_bytes: int) -> Selection:
    """Take files in arrival order while both limits hold.

    A manifest never exceeds either limit, except that a single file larger than `max_bytes`
    gets a manifest of its own. A second version of an object already taken waits for the next
    manifest (one manifest names each object once). Reads `pending` lazily, at most one file
    past the limit.
    """
    files: list[PendingFile] = []
    taken: set[tuple[str, str]] = set()
    total = 0
    for candidate in pending:
        if (candidate.bucket, candidate.key) in taken:
            continue
        if len(files) >= max_files or (files and total + candidate.size > max_bytes):
            return Selection(files, True)
        files.append(candidate)
        taken.add((candidate.bucket, candidate.key))
        total += candidate.size
        if total >= max_bytes:
            return Selection(files, True)
    return Selection(files, len(files) >= max_files)
