"""S3 locations: s3:// URIs and the keys S3 puts in event notifications."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote_plus


@dataclass(frozen=True, slots=True)
class S3Uri:
    """A bucket and a key (the key may be empty, or a prefix ending in '/')."""

    bucket: str
    key: str = ""

    @classmethod
    def parse(cls, uri: str) -> S3Uri:
        """Parse `s3://bucket/key`; raise ValueError with the offending text otherwise."""
        if not uri.startswith("s3://"):
            raise ValueError(f"not an s3:// URI: {uri!r}")
        bucket, _, key = uri[5:].partition("/")
        if not bucket:
            raise ValueError(f"s3 URI without a bucket: {uri!r}")
        return cls(bucket, key)

    @staticmethod
    def is_s3(location: str) -> bool:
        """Whether a location string names S3 rather than the local file system."""
        return location.startswith("s3://")

    def join(self, *parts: str) -> S3Uri:
        """A key below this one: `S3Uri('b', 'out').join('x.parquet')` is `s3://b/out/x.parquet`."""
        key = self.key
        for part in parts:
            part = part.strip("/")
            if not part:
                continue
            key = f"{key.rstrip('/')}/{part}" if key else part
        return S3Uri(self.bucket, key)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def decode_event_key(key: str) -> str:
    """Decode an object key as S3 event notifications send it (URL-encoded, '+' for space)."""
    return unquote_plus(key)
