"""A manifest's small S3 objects are fetched a few at a time ahead of the reader."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO, Any

import boto3
import pytest
from moto import mock_aws

from ndjson_parquet.common import Manifest, ManifestFile
from ndjson_parquet.converter import convert, sources, storage
from ndjson_parquet.converter.sources import iter_chunks, resolve_sources
from ndjson_parquet.converter.storage import ObjectChangedError

FILES = 12


@pytest.fixture
def manifest() -> Iterator[Manifest]:
    with mock_aws():
        storage.reset_clients()
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="in-bkt")
        files = []
        for i in range(FILES):
            body = b"".join(b'{"file":%d,"line":%d}\n' % (i, n) for n in range(3))
            etag = s3.put_object(Bucket="in-bkt", Key=f"d/{i:02}.ndjson", Body=body)["ETag"]
            files.append(
                ManifestFile(
                    bucket="in-bkt", key=f"d/{i:02}.ndjson", size=len(body), etag=etag.strip('"')
                )
            )
        yield Manifest.build("m", "2024-03-05", files, created_at=datetime(2024, 3, 5, tzinfo=UTC))
        storage.reset_clients()


class Gets:
    """storage.open_input, counting the GETs in flight; the first two wait for each other."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self._open = storage.open_input
        self._lock = threading.Lock()
        self._first_two = threading.Barrier(2, timeout=5)
        self.calls = 0
        self.in_flight = 0
        self.most_in_flight = 0
        monkeypatch.setattr(storage, "open_input", self)

    def __call__(self, location: str, **kwargs: Any) -> tuple[IO[bytes], int | None]:
        with self._lock:
            self.calls += 1
            call = self.calls
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if call <= 2:
                self._first_two.wait()  # breaks (fails the read) unless two GETs overlap
            return self._open(location, **kwargs)
        finally:
            with self._lock:
                self.in_flight -= 1


def _read_all(manifest: Manifest) -> list[bytes]:
    return [
        b"".join(bytes(c.data) for c in iter_chunks(s, 1 << 20)) for s in resolve_sources(manifest)
    ]


def test_the_gets_of_a_manifest_overlap_within_a_bound(
    manifest: Manifest, monkeypatch: pytest.MonkeyPatch
) -> None:
    gets = Gets(monkeypatch)

    read = _read_all(manifest)

    assert [r.count(b"\n") for r in read] == [3] * FILES
    assert [r.split(b",")[0] for r in read] == [b'{"file":%d' % i for i in range(FILES)]
    assert gets.calls == FILES  # each object once
    assert 2 <= gets.most_in_flight <= sources.READ_AHEAD_FILES + 1


def test_read_ahead_holds_at_most_its_byte_budget(
    manifest: Manifest, monkeypatch: pytest.MonkeyPatch
) -> None:
    size = manifest.files[0].size
    monkeypatch.setattr(sources, "READ_AHEAD_BYTES", 2 * size)
    gets = Gets(monkeypatch)

    assert len(_read_all(manifest)) == FILES
    assert gets.most_in_flight <= 3  # the one being read and two ahead


def test_a_changed_object_fails_at_its_turn_with_its_own_error(
    manifest: Manifest, monkeypatch: pytest.MonkeyPatch
) -> None:
    boto3.client("s3", region_name="us-east-1").put_object(
        Bucket="in-bkt", Key="d/05.ndjson", Body=b'{"changed":1}\n'
    )
    read: list[str] = []

    def read_in_order() -> None:
        for source in resolve_sources(manifest):
            list(iter_chunks(source, 1 << 20))
            read.append(source.location)

    with pytest.raises(ObjectChangedError, match=r"d/05\.ndjson"):
        read_in_order()
    assert len(read) == 5


def test_a_manifest_converts_the_same_with_read_ahead(manifest: Manifest, tmp_path: Any) -> None:
    summary = convert(manifest, str(tmp_path / "out"))
    assert summary.rows_written == 3 * FILES


def test_the_sample_read_before_converting_leaves_the_read_ahead_to_the_conversion(
    manifest: Manifest, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    # The sample reads the last object's start first; the conversion still fetches ahead.
    fetched: list[str] = []
    fetch = sources._fetch

    def counting(source: sources.Source) -> bytes:
        fetched.append(source.location)
        return fetch(source)

    monkeypatch.setattr(sources, "_fetch", counting)
    summary = convert(manifest, str(tmp_path / "out"))
    assert summary.rows_written == 3 * FILES
    assert sorted(fetched) == [f.uri for f in manifest.files[1:]]  # all but the first, once
