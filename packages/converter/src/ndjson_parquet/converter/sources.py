"""Input files: what to read, and reading them as chunks of whole lines."""

from __future__ import annotations

import contextlib
import io
import os
import queue
import sys
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, TypeGuard, TypeVar, cast

import numpy as np
import pyarrow as pa
import xxhash

from ndjson_parquet.converter import storage
from ndjson_parquet.converter.errors import ConversionError

if TYPE_CHECKING:
    from ndjson_parquet.common import Manifest

BOM = b"\xef\xbb\xbf"
# The source name of standard input.
STDIN = "-"
T = TypeVar("T")
_COMPRESSION = {".gz": "gzip", ".zst": "zstd", ".zstd": "zstd"}


@dataclass(frozen=True, slots=True)
class Source:
    """One input file: a local path or an s3:// URI."""

    location: str
    size: int | None = None
    # An identity that changes when the content changes (S3 ETag) if known without reading.
    etag: str | None = None
    # The S3 version a manifest names: exactly that version is read.
    version_id: str | None = None
    # Fetches the manifest's next small objects while this one is read (see _ReadAhead).
    ahead: _ReadAhead | None = field(default=None, compare=False, repr=False)

    @property
    def compression(self) -> str | None:
        lower = self.location.lower()
        for ext, codec in _COMPRESSION.items():
            if lower.endswith(ext):
                return codec
        return None


def is_manifest(sources: object) -> TypeGuard[Manifest]:
    """Whether `sources` is a manifest.

    The common package (it loads pydantic) is imported only where needed: a Manifest exists
    only once it is loaded, so local runs never import it.
    """
    common = sys.modules.get("ndjson_parquet.common")
    return common is not None and isinstance(sources, common.Manifest)


def resolve_sources(sources: Manifest | Sequence[str | os.PathLike[str]]) -> list[Source]:
    """The input files of a manifest or of a list of locations, in order."""
    if is_manifest(sources):
        ahead = _ReadAhead()
        return ahead.add(
            [Source(f.uri, f.size, f.etag, f.version_id, ahead) for f in sources.files]
        )
    out = []
    for s in cast("Sequence[str | os.PathLike[str]]", sources):
        loc = os.fspath(s)
        if loc == STDIN:
            out.append(Source(STDIN))
            continue
        try:
            size = storage.size_of(loc)
        except Exception as exc:  # missing file, no such key, no access
            raise ConversionError(f"cannot read {loc}: {exc}") from exc
        out.append(Source(loc, size))
    return out


class _Hashing(io.RawIOBase):
    """A byte stream wrapper that counts what is read and feeds it into a hash."""

    def __init__(self, raw: IO[bytes], digest: xxhash.xxh3_128 | None) -> None:
        super().__init__()
        self.raw = raw
        self.digest = digest
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def read(self, n: int | None = -1) -> bytes:
        data = self.raw.read(-1 if n is None else n)
        self.bytes_read += len(data)
        if self.digest is not None:
            self.digest.update(data)
        return data

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if isinstance(self.raw, io.BufferedReader | io.FileIO):
            n = self.raw.readinto(view) or 0  # straight into the buffer: no copy
        else:
            data = self.raw.read(len(view))
            n = len(data)
            view[:n] = data
        self.bytes_read += n
        if self.digest is not None:
            self.digest.update(view[:n])
        return n

    def close(self) -> None:
        if not self.closed and self.raw is not sys.stdin.buffer:
            self.raw.close()
        super().close()


@dataclass(slots=True)
class Chunk:
    """Whole lines of one source; `first_line` is the 1-based number of its first line."""

    # Filled by reading straight into it (no copies of the chunk's bytes); never modified.
    data: bytearray
    first_line: int
    # Number of lines (the last one may lack its newline).
    lines: int
    # Compressed bytes consumed from the source so far (for progress).
    source_bytes: int
    # Bytes of the longest line (with its newline): whether nesting must be measured first.
    longest_line: int = 0


def prefetch(chunks: Iterator[T], depth: int = 1) -> Iterator[T]:
    """The same items (chunks), read ahead on a thread (file and network reads release the
    GIL)."""
    q: queue.Queue[T | BaseException | None] = queue.Queue(depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for chunk in chunks:
                if stop.is_set():
                    return
                q.put(chunk)
            q.put(None)
        except BaseException as exc:  # handed to the consumer
            q.put(exc)

    thread = threading.Thread(target=produce, name="ndjson-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            with contextlib.suppress(queue.Empty):
                q.get(timeout=0.05)
        thread.join()


# A manifest of many small S3 objects spends most of its time waiting for each GET: up to
# this many objects of at most READ_AHEAD_FILE_BYTES each, and READ_AHEAD_BYTES in all, are
# fetched on threads while the reader works on the current one. Larger objects stream as they
# are read, when their turn comes.
READ_AHEAD_FILES = 8
READ_AHEAD_BYTES = 64 * 1024 * 1024
READ_AHEAD_FILE_BYTES = 8 * 1024 * 1024


class _ReadAhead:
    """The GETs of one manifest's next small objects, in flight while the reader works.

    `open` is called for each source in order (iter_chunks); it hands over the object fetched
    ahead, or opens it now, and starts the GETs of the objects after it within the bounds. A
    GET that failed raises when its object's turn comes, as opening it then would have.
    """

    def __init__(self) -> None:
        self._sources: list[Source] = []
        self._index: dict[str, int] = {}
        self._fetching: dict[int, Future[bytes]] = {}
        self._next = 0
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def add(self, sources: list[Source]) -> list[Source]:
        self._sources = sources
        self._index = {s.location: i for i, s in enumerate(sources)}
        return sources

    def open(self, source: Source) -> IO[bytes]:
        index = self._index.get(source.location)
        if index is None:
            return _open(source)
        with self._lock:
            fetched = self._fetching.pop(index, None)
            self._next = max(self._next, index + 1)
            self._schedule(index)
        if fetched is None:
            return _open(source)
        return io.BytesIO(fetched.result())

    def _eligible(self, source: Source) -> bool:
        return storage.is_s3(source.location) and (
            source.size is not None and source.size <= READ_AHEAD_FILE_BYTES
        )

    def _schedule(self, current: int) -> None:
        """Start GETs after `current` while the bounds allow (called under the lock)."""
        held = sum(self._sources[i].size or 0 for i in self._fetching)
        while self._next < len(self._sources) and self._next <= current + READ_AHEAD_FILES:
            source = self._sources[self._next]
            if self._eligible(source):
                size = source.size or 0
                if len(self._fetching) >= READ_AHEAD_FILES or held + size > READ_AHEAD_BYTES:
                    return
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(READ_AHEAD_FILES, "ndjson-get")
                self._fetching[self._next] = self._pool.submit(_fetch, source)
                held += size
            self._next += 1
        if self._next >= len(self._sources) and self._pool is not None:
            self._pool.shutdown(wait=False)  # its last GETs finish; no new ones


def _open(source: Source) -> IO[bytes]:
    raw, _ = storage.open_input(source.location, version_id=source.version_id, etag=source.etag)
    return raw


def _fetch(source: Source) -> bytes:
    with contextlib.closing(_open(source)) as raw:
        return raw.read()


def iter_chunks(
    source: Source, chunk_bytes: int, digest: xxhash.xxh3_128 | None = None
) -> Iterator[Chunk]:
    """Read a source as chunks of about `chunk_bytes`, cut after a newline.

    A leading UTF-8 BOM is removed; the last line may lack its newline.
    """
    raw: IO[bytes]
    if source.location == STDIN:
        raw = sys.stdin.buffer
    elif source.ahead is not None:
        raw = source.ahead.open(source)
    else:
        raw = _open(source)
    counted = _Hashing(raw, digest)
    stream: Any = counted
    if source.compression:
        stream = pa.CompressedInputStream(pa.PythonFile(counted, mode="r"), source.compression)
    try:
        line = 1
        carry = b""
        first = True
        while True:
            # Each chunk is read straight into its own buffer, behind the carried partial line:
            # the chunk's bytes are never copied again.
            buf = bytearray(len(carry) + chunk_bytes)
            buf[: len(carry)] = carry
            size = len(carry) + _fill(stream, memoryview(buf)[len(carry) :])
            if first:
                first = False
                if buf.startswith(BOM):
                    del buf[: len(BOM)]
                    size -= len(BOM)
            if size == len(carry):  # end of input
                break
            cut = buf.rfind(b"\n", 0, size)
            if cut < 0:
                carry = bytes(buf[:size])
                continue
            carry = bytes(buf[cut + 1 : size])
            del buf[cut + 1 :]
            n, longest = _newlines(buf)
            yield Chunk(buf, line, n, counted.bytes_read, longest)
            line += n
        if carry:
            n, longest = _newlines(bytearray(carry + b"\n"))
            yield Chunk(bytearray(carry), line, n, counted.bytes_read, longest)
    finally:
        stream.close()
        counted.close()


def _newlines(data: bytearray) -> tuple[int, int]:
    """The number of newlines in data that ends with one, and the longest line's length."""
    # numpy finds them about three times faster than bytes.count counts them
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
    if not len(ends):
        return 0, len(data)
    longest = max(int(ends[0]) + 1, int(np.diff(ends).max()) if len(ends) > 1 else 0)
    return len(ends), longest


def _fill(stream: Any, view: memoryview) -> int:
    """Read into `view` until it is full or the stream ends; the number of bytes read."""
    done = 0
    while done < len(view):
        n = stream.readinto(view[done:])
        if not n:
            break
        done += n
    return done
