"""Reading and writing local paths and s3:// locations with the same calls.

boto3 clients honour ``AWS_ENDPOINT_URL``, so the same code runs against AWS and an emulator.
"""

from __future__ import annotations

import os
import shutil
from functools import lru_cache
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ndjson_parquet.converter.errors import ConversionError

if TYPE_CHECKING:
    from ndjson_parquet.common import S3Uri


@lru_cache(maxsize=1)
def s3_client() -> Any:
    """A shared S3 client (thread-safe; created on first use)."""
    import boto3

    return boto3.client("s3")


def reset_clients() -> None:
    """Forget cached clients (after the environment changed, e.g. in tests)."""
    s3_client.cache_clear()


def _s3_uri(location: str) -> S3Uri:
    # Imported on first use: the common package loads pydantic, which local runs never need.
    from ndjson_parquet.common import S3Uri

    return S3Uri.parse(location)


def is_s3(location: str) -> bool:
    # The rule of `S3Uri.is_s3`, without importing it for local paths.
    return location.startswith("s3://")


def join(location: str, *parts: str) -> str:
    """`location` with path parts appended, for local paths and s3:// URIs alike."""
    if is_s3(location):
        return str(_s3_uri(location).join(*parts))
    return str(Path(location).joinpath(*parts))


def read_bytes(location: str) -> bytes:
    if is_s3(location):
        uri = _s3_uri(location)
        body: bytes = s3_client().get_object(Bucket=uri.bucket, Key=uri.key)["Body"].read()
        return body
    return Path(location).read_bytes()


class ObjectChangedError(ConversionError):
    """An S3 object no longer holds the version a manifest recorded: overwritten or deleted
    since the manifest was made, so those bytes can never be read again.

    A run sets such an input aside as superseded (`Summary.superseded_files`, `record()`)
    instead of failing: its new version, if any, has its own S3 event and manifest.
    """

    def __init__(
        self, location: str, *, etag: str | None, version_id: str | None, code: str, said: str
    ) -> None:
        self.location = location
        self.etag = etag
        self.version_id = version_id
        self.s3_error = f"{code}: {said}" if said else code
        if code == "NoSuchVersion":
            what = f"its version {version_id} no longer exists"
        elif code == "NoSuchKey":
            what = "it was deleted"
        else:
            what = f"its ETag is no longer {etag}"
        super().__init__(
            f"{location} changed after its manifest was made ({what}; S3: {self.s3_error}): "
            "its new version, if any, is converted with its own manifest; version the input "
            "bucket to convert every version"
        )

    def record(self) -> dict[str, str]:
        """The summary's entry: the file, the version or ETag it expected, what S3 said."""
        entry = {"uri": self.location}
        if self.version_id:
            entry["version_id"] = self.version_id
        if self.etag:
            entry["etag"] = self.etag
        entry["s3_error"] = self.s3_error
        return entry


# What S3 answers a read pinned to a version (VersionId, or If-Match on the ETag) when that
# version is gone: overwritten (412), the version deleted, or the object deleted. Other errors
# (access denied, throttling, the network) say nothing about the version and fail the run.
_VERSION_GONE = frozenset({"PreconditionFailed", "412", "NoSuchVersion", "NoSuchKey"})


def open_input(
    location: str, *, version_id: str | None = None, etag: str | None = None
) -> tuple[IO[bytes], int | None]:
    """A raw (still compressed) byte stream and its size if known.

    For S3, `version_id` reads exactly that version; without one, `etag` makes the read
    conditional (If-Match). When that version is gone (overwritten or deleted since its
    manifest was made) the GET raises ObjectChangedError instead of converting other bytes in
    its place. The check is part of the one GET: a stream, once open, is that version's bytes.
    """
    if is_s3(location):
        resp = _pinned_get(location, version_id, etag)
        return resp["Body"], int(resp.get("ContentLength", 0))
    path = Path(location)
    return path.open("rb"), path.stat().st_size


def _pinned_get(
    location: str, version_id: str | None, etag: str | None, **extra: str
) -> dict[str, Any]:
    """GetObject of the recorded version (`version_id`, else If-Match on `etag`); raises
    ObjectChangedError when that version is gone."""
    uri = _s3_uri(location)
    exact: dict[str, str] = {}
    if version_id:
        exact["VersionId"] = version_id
    elif etag:
        exact["IfMatch"] = etag if etag.startswith('"') else f'"{etag}"'
    try:
        resp: dict[str, Any] = s3_client().get_object(
            Bucket=uri.bucket, Key=uri.key, **exact, **extra
        )
    except Exception as exc:
        code, said = _error_of(exc)
        if exact and code in _VERSION_GONE:
            raise ObjectChangedError(
                location, etag=etag, version_id=version_id, code=code, said=said
            ) from exc
        raise
    return resp


def _error_of(exc: Exception) -> tuple[str, str]:
    """An S3 client error's code and message ("" for other exceptions)."""
    response = getattr(exc, "response", None) or {}
    error = response.get("Error", {})
    return str(error.get("Code", "")), str(error.get("Message", ""))


def size_of(location: str) -> int:
    if is_s3(location):
        uri = _s3_uri(location)
        return int(s3_client().head_object(Bucket=uri.bucket, Key=uri.key)["ContentLength"])
    return Path(location).stat().st_size


def put_file(local: Path, location: str) -> None:
    """Publish a finished local file at its final location (rename, or upload to S3)."""
    if is_s3(location):
        uri = _s3_uri(location)
        s3_client().upload_file(str(local), uri.bucket, uri.key)
        return
    target = Path(location)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(local, target)
    except OSError:  # another file system: copy then rename in place
        tmp = target.with_name(f".{target.name}.tmp")
        shutil.copyfile(local, tmp)
        os.replace(tmp, target)


def put_bytes(data: bytes, location: str) -> None:
    if is_s3(location):
        uri = _s3_uri(location)
        s3_client().put_object(Bucket=uri.bucket, Key=uri.key, Body=data)
        return
    target = Path(location)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)


def list_files(location: str, *, recursive: bool = True) -> list[str]:
    """The files below a folder or prefix (all levels, or only the top one), as locations."""
    if is_s3(location):
        uri = _s3_uri(location)
        prefix = uri.key.rstrip("/") + "/" if uri.key else ""
        out: list[str] = []
        args = {"Bucket": uri.bucket, "Prefix": prefix}
        if not recursive:
            args["Delimiter"] = "/"
        for page in s3_client().get_paginator("list_objects_v2").paginate(**args):
            out.extend(f"s3://{uri.bucket}/{o['Key']}" for o in page.get("Contents", []))
        return out
    root = Path(location)
    if not root.is_dir():
        return []
    found = root.rglob("*") if recursive else root.iterdir()
    return [str(p) for p in found if p.is_file()]


def delete(locations: list[str]) -> None:
    s3: dict[str, list[str]] = {}
    for loc in locations:
        if is_s3(loc):
            uri = _s3_uri(loc)
            s3.setdefault(uri.bucket, []).append(uri.key)
        else:
            Path(loc).unlink(missing_ok=True)
    for bucket, keys in s3.items():
        for i in range(0, len(keys), 1000):
            objects = [{"Key": k} for k in keys[i : i + 1000]]
            s3_client().delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})


def read_range(
    location: str,
    start: int,
    length: int,
    *,
    version_id: str | None = None,
    etag: str | None = None,
) -> bytes:
    """Up to `length` bytes of an uncompressed input from `start` (the same version as
    `open_input` reads: an S3 ranged GET pinned to `version_id`, or If-Match on `etag`)."""
    if is_s3(location):
        range_ = f"bytes={start}-{start + length - 1}"
        with _pinned_get(location, version_id, etag, Range=range_)["Body"] as body:
            data: bytes = body.read()
        return data
    with Path(location).open("rb") as f:
        f.seek(start)
        return f.read(length)
