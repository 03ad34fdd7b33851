"""Parsing one chunk of NDJSON lines into Arrow tables, with quarantine for bad lines.

Fast path: pyarrow's C++ JSON reader over the whole chunk, with the schema known so far made
explicit (timestamps forced to strings: the reader would otherwise turn ISO-8601 text into
timestamps and change the text). Only if that fails are lines looked at one by one.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from ndjson_parquet.converter.nesting import (
    MAX_COLUMN_DEPTH,
    SCAN_LINE_BYTES,
    deep_lines,
    type_depth,
)
from ndjson_parquet.converter.pybuild import (
    LineError,
    _json_kind,
    build_exact,
    parse_line,
    per_line,
)
from ndjson_parquet.converter.schema import (
    MAX_EXACT_FLOAT_INT,
    NULL_ONLY_KEY,
    TRUE,
    WIDE_INT_KEY,
    Drift,
    is_json_text,
    with_flag,
)

_WS = b" \t\r"
_PROBE_BYTES = 1 << 20


@dataclass(slots=True)
class Piece:
    """Rows parsed from some lines of one chunk."""

    table: pa.Table
    # The table's schema plus markers (wide integers) that the arrays do not carry.
    schema: pa.Schema
    # 1-based line number of each row.
    lines: np.ndarray


@dataclass(slots=True)
class BadLine:
    line: int
    raw: bytes
    error: str


@dataclass(slots=True)
class ParsedChunk:
    pieces: list[Piece] = field(default_factory=list)
    bad: list[BadLine] = field(default_factory=list)
    lines: int = 0
    blank: int = 0
    drift: list[Drift] = field(default_factory=list)
    # (column path, line, literal) of numbers kept as JSON text
    exact: list[tuple[str, int, str]] = field(default_factory=list)
    # Rows by the route that read them (`ROUTES`), and the parsing thread's CPU seconds.
    rows_by_route: dict[str, int] = field(default_factory=dict)
    cpu_by_route: dict[str, float] = field(default_factory=dict)

    def add_route(self, route: str, rows: int, cpu: float = 0.0) -> None:
        self.rows_by_route[route] = self.rows_by_route.get(route, 0) + rows
        self.cpu_by_route[route] = self.cpu_by_route.get(route, 0.0) + cpu


# The whole chunk in one read; groups of lines (mixed kinds, or pieces around bad lines) read
# apart and put back in line order; Python's exact builder, line by line.
ROUTES = ("fast", "regrouped", "exact")


def count_lines(data: bytes | bytearray) -> int:
    if not data:
        return 0
    return data.count(b"\n") + (0 if data.endswith(b"\n") else 1)


def _is_unreadable_hint(f: pa.Field) -> bool:
    meta = f.metadata or {}
    return (
        pa.types.is_null(f.type)
        or is_json_text(f)
        or meta.get(NULL_ONLY_KEY) == TRUE
        or (pa.types.is_struct(f.type) and f.type.num_fields == 0)
    )


def _explicit_field(f: pa.Field) -> pa.Field | None:
    """The field as an explicit reader type, or None to let the reader infer it."""
    if _is_unreadable_hint(f):
        return None
    t = f.type
    if pa.types.is_struct(t):
        kids = [k for k in (_explicit_field(c) for c in t) if k is not None]
        if not kids:
            return None
        return pa.field(f.name, pa.struct(kids))
    if pa.types.is_list(t):
        item = _explicit_field(t.value_field)
        return None if item is None else pa.field(f.name, pa.list_(item))
    return pa.field(f.name, t)


def _explicit_schema(hint: pa.Schema | None) -> pa.Schema | None:
    if hint is None:
        return None
    fields = [k for k in (_explicit_field(f) for f in hint) if k is not None]
    return pa.schema(fields) if fields else None


def _has_timestamp(t: pa.DataType) -> bool:
    if pa.types.is_timestamp(t) or pa.types.is_date(t) or pa.types.is_time(t):
        return True
    if pa.types.is_struct(t):
        return any(_has_timestamp(c.type) for c in t)
    if pa.types.is_list(t):
        return _has_timestamp(t.value_type)
    return False


def _untimestamp(f: pa.Field, keep: pa.Field | None) -> pa.Field | None:
    """Inferred timestamps back to strings, except where `keep` (declared) says timestamp."""
    t = f.type
    if pa.types.is_null(t):
        return None
    if keep is not None and keep.type.equals(t):
        return pa.field(f.name, t)
    if pa.types.is_timestamp(t) or pa.types.is_date(t) or pa.types.is_time(t):
        return pa.field(f.name, pa.string())
    if pa.types.is_struct(t):
        keep_kids = (
            {c.name: c for c in keep.type}
            if keep is not None and pa.types.is_struct(keep.type)
            else {}
        )
        kids = [k for k in (_untimestamp(c, keep_kids.get(c.name)) for c in t) if k is not None]
        return pa.field(f.name, pa.struct(kids)) if kids else None
    if pa.types.is_list(t):
        keep_item = (
            keep.type.value_field if keep is not None and pa.types.is_list(keep.type) else None
        )
        item = _untimestamp(t.value_field, keep_item)
        return None if item is None else pa.field(f.name, pa.list_(item))
    return pa.field(f.name, t)


def read_arrow(
    data: bytes | bytearray,
    hint: pa.Schema | None,
    block_size: int,
    fallback: pa.Schema | None = None,
) -> pa.Table:
    """pyarrow's reader with `hint` explicit and ISO-8601 text kept as text; raises ArrowInvalid.

    When a column's kind differs from `hint` ("Column(/a) changed from number to string"),
    the data is read again with the rest of `hint`, until the error is a conflict inside the
    data itself. When the data does not fit `hint` otherwise (or a `fallback`, the declared
    schema, is given), it is read again with only `fallback` explicit, so that a type conflict
    is reported with its column.
    """
    dropped: set[str] = set()
    while True:
        try:
            return _read_arrow(data, hint, block_size)
        except pa.ArrowInvalid as exc:
            if hint is None or hint is fallback:
                raise
            conflict = _CONFLICT.search(str(exc)) if fallback is None else None
            if conflict is None:
                break
            path = conflict.group(1)
            if path in dropped:
                raise  # the data conflicts with itself there, not with the hint
            # Only this column's hint is wrong (its kind changed): the rest still holds, and
            # reading without it at all would infer (and read twice for) timestamps.
            dropped.add(path)
            hint = without_path(hint, path)
    return _read_arrow(data, fallback, block_size)


def without_path(schema: pa.Schema, path: str) -> pa.Schema:
    """`schema` without the field at a reader column path ("/a/b", "/a/[]/b")."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in path.strip("/").split("/")]

    def drop(f: pa.Field, rest: list[str]) -> pa.Field | None:
        if not rest:
            return None
        t = f.type
        if rest[0] == "[]" and pa.types.is_list(t):
            item = drop(t.value_field, rest[1:])
            return None if item is None else f.with_type(pa.list_(item))
        if pa.types.is_struct(t):
            picked = (drop(c, rest[1:]) if c.name == rest[0] else c for c in t)
            kids = [k for k in picked if k is not None]
            return f.with_type(pa.struct(kids)) if kids else None
        return f

    fields = [drop(f, parts[1:]) if f.name == parts[0] else f for f in schema]
    return pa.schema([f for f in fields if f is not None], schema.metadata)


def _read_arrow(data: bytes | bytearray, hint: pa.Schema | None, block_size: int) -> pa.Table:
    explicit = _explicit_schema(hint)
    # One thread per read: the engine parses two chunks at once, and pyarrow's own threads
    # on top of that cost more CPU (measured) for no gain on two cores.
    read_options = pj.ReadOptions(block_size=block_size, use_threads=False)
    for _ in range(4):
        parse = pj.ParseOptions(explicit_schema=explicit, unexpected_field_behavior="infer")
        table = pj.read_json(pa.BufferReader(data), read_options=read_options, parse_options=parse)
        # Columns nested deeper than the limit are read again exactly (`exact_path_rows`).
        if not any(
            _has_timestamp(t) for t in table.schema.types if type_depth(t) <= MAX_COLUMN_DEPTH
        ):
            return table
        keep = {f.name: f for f in (explicit or [])}
        fields = [
            _untimestamp(f, keep.get(f.name))
            for f in table.schema
            if type_depth(f.type) <= MAX_COLUMN_DEPTH
        ]
        new = pa.schema([f for f in fields if f is not None])
        if explicit is not None and new.equals(explicit):
            return table  # only declared timestamps left
        explicit = new
    raise pa.ArrowInvalid("timestamp inference did not settle")  # pragma: no cover


# --- exactness ----------------------------------------------------------------------------------


def _rounded_rows(array: pa.Array) -> np.ndarray | None:
    """Rows holding an integral double beyond ±2^53 (maybe a rounded integer literal), or
    NaN/±Infinity (pyarrow's reader accepts them; they are not JSON)."""
    t = array.type
    if pa.types.is_floating(t):
        if len(array) == array.null_count:
            return None
        mm = pc.min_max(array).as_py()
        # min_max skips NaN; a sum is NaN if any value is (or ±inf).
        total = pc.sum(array).as_py()
        if max(abs(mm["min"]), abs(mm["max"])) < MAX_EXACT_FLOAT_INT and np.isfinite(total):
            return None
        values = array.to_numpy(zero_copy_only=False)
        finite = np.isfinite(values)
        big = np.abs(values) >= MAX_EXACT_FLOAT_INT
        if not big.any() and finite.all():
            return None
        with np.errstate(invalid="ignore"):
            mask = (big & finite & (np.floor(values) == values)) | ~finite
        if array.null_count:
            mask &= array.is_valid().to_numpy(zero_copy_only=False)
        return mask if mask.any() else None
    if pa.types.is_struct(t):
        out: np.ndarray | None = None
        for child in array.flatten():
            m = _rounded_rows(child)
            if m is not None:
                out = m if out is None else out | m
        return out
    if pa.types.is_list(t):
        m = _rounded_rows(array.flatten())
        if m is None:
            return None
        parents = pc.list_parent_indices(array).to_numpy()
        rows = np.zeros(len(array), dtype=bool)
        rows[parents[m]] = True
        return rows
    return None


def exact_path_rows(table: pa.Table) -> np.ndarray | None:
    """Rows the reader may have changed (rounded integers, NaN/±Infinity) or that hold values
    nested deeper than `MAX_COLUMN_DEPTH`: they are read again by the exact path."""
    out: np.ndarray | None = None
    for f, col in zip(table.schema, table.columns, strict=True):
        if type_depth(f.type) > MAX_COLUMN_DEPTH:
            m = col.is_valid().to_numpy(zero_copy_only=False)
        else:
            m = (
                _rounded_rows(col.combine_chunks())
                if col.num_chunks != 1
                else _rounded_rows(col.chunk(0))
            )
        if m is not None:
            out = m if out is None else out | m
    return out


def _mark_wide(array: pa.Array, f: pa.Field) -> pa.Field:
    """`f` flagged where int64 values go beyond ±2^53 (nested too)."""
    t = f.type
    if pa.types.is_integer(t):
        if len(array) and array.null_count < len(array):
            mm = pc.min_max(array).as_py()
            if max(abs(mm["min"]), abs(mm["max"])) > MAX_EXACT_FLOAT_INT:
                return with_flag(f, WIDE_INT_KEY)
        return f
    if pa.types.is_struct(t):
        kids = [_mark_wide(c, k) for c, k in zip(array.flatten(), t, strict=True)]
        return (
            f
            if all(a is b for a, b in zip(kids, t, strict=True))
            else pa.field(f.name, pa.struct(kids), f.nullable, f.metadata)
        )
    if pa.types.is_list(t):
        item = _mark_wide(array.flatten(), t.value_field)
        return (
            f if item is t.value_field else pa.field(f.name, pa.list_(item), f.nullable, f.metadata)
        )
    return f


def _has_int(t: pa.DataType) -> bool:
    if pa.types.is_integer(t):
        return True
    if pa.types.is_struct(t):
        return any(_has_int(c.type) for c in t)
    if pa.types.is_list(t):
        return _has_int(t.value_type)
    return False


def marked_schema(table: pa.Table) -> pa.Schema:
    fields = []
    for f, col in zip(table.schema, table.columns, strict=True):
        if _has_int(f.type):
            for chunk in col.chunks:
                f = _mark_wide(chunk, f)
        fields.append(f)
    return pa.schema(fields)


def _checked_utf8(table: pa.Table, data: bytes | bytearray | None = None) -> pa.Table:
    """The table, or ArrowInvalid: pyarrow's reader does not validate UTF-8 in names or strings,
    and can build malformed arrays (list offsets beyond their values) from valid JSON.

    When the bytes read (`data`) are all ASCII without a backslash, every text came from them
    as is (no escapes to decode): no text can be invalid, so only the cheap structural checks
    run, not the scan of every string.
    """
    full = data is None or not data.isascii() or data.find(b"\\") >= 0
    try:
        table.validate(full=full)
        if full:
            for f in table.schema:
                str(f.type)  # decodes nested field names
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise pa.ArrowInvalid(f"invalid UTF-8: {exc}") from None
    return table


# --- type conflicts inside a chunk ---------------------------------------------------------------

_CONFLICT = re.compile(r"Column\((/[^)]*)\) changed from")


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _kinds_at(value: object, parts: list[str]) -> set[str]:
    if not parts:
        return {_kind(value)} - {"null"}
    head, rest = parts[0], parts[1:]
    if head == "[]":
        if not isinstance(value, list):
            return set()
        out: set[str] = set()
        for v in value:
            out |= _kinds_at(v, rest)
        return out
    if not isinstance(value, dict):
        return set()
    return _kinds_at(value.get(head), rest)


_KIND_OF_FIRST_BYTE = {
    ord('"'): "string",
    ord("{"): "object",
    ord("["): "array",
    ord("t"): "boolean",
    ord("f"): "boolean",
    ord("n"): "",
    **{c: "number" for c in b"-0123456789"},
}


def _key_pattern(path: str) -> re.Pattern[bytes] | None:
    """A pattern finding the value's first byte after the path's last key (None for lists)."""
    parts = path.strip("/").split("/")
    if "[]" in parts or not parts[-1]:
        return None
    key = parts[-1].replace("~1", "/").replace("~0", "~")
    return re.compile(re.escape(orjson.dumps(key)) + rb"\s*:\s*(.)")


def _group_by_kind(lines: list[tuple[int, bytes]], path: str) -> list[list[tuple[int, bytes]]]:
    """Lines grouped by the JSON kind of the value at a reader column path ("/a/b", "/a/[]/b").

    For object paths the kind is read from the bytes after the key (a heuristic: the same key
    elsewhere in a line can mislead it, and a wrong group simply fails to read and is split
    again). For paths into lists each line is parsed; lines mixing kinds inside one list form
    a group of their own. Lines without a value join the first group.
    """
    pattern = _key_pattern(path)
    parts = [p.replace("~1", "/").replace("~0", "~") for p in path.strip("/").split("/")]
    groups: dict[str, list[tuple[int, bytes]]] = {}
    empty: list[tuple[int, bytes]] = []
    for item in lines:
        if pattern is not None:
            m = pattern.search(item[1])
            key = _KIND_OF_FIRST_BYTE.get(m.group(1)[0], "?") if m else ""
        else:
            try:
                kinds = _kinds_at(orjson.loads(item[1]), parts)
            except orjson.JSONDecodeError:
                kinds = {"?", "!"}
            key = "" if not kinds else next(iter(kinds)) if len(kinds) == 1 else "mixed"
        if not key:
            empty.append(item)
        else:
            groups.setdefault(key, []).append(item)
    out = list(groups.values())
    if not out:
        return [empty]
    if empty:
        out[0] = sorted(out[0] + empty)
    return out


_KIND_CODE = np.zeros(256, dtype=np.int64)  # 0: no value (absent or null)
for _byte, _kind_name in _KIND_OF_FIRST_BYTE.items():
    _KIND_CODE[_byte] = {"": 0, "string": 1, "number": 2, "boolean": 3, "object": 4, "array": 5}[
        _kind_name
    ]


class _Lazy(Sequence[bytes]):
    """The lines of some data, split only if a line is asked for."""

    def __init__(self, data: bytes | bytearray) -> None:
        self.data = data
        self._parts: list[bytes] | None = None

    def _split(self) -> list[bytes]:
        if self._parts is None:
            self._parts = bytes(self.data).split(b"\n")
            if self.data.endswith(b"\n"):
                self._parts.pop()
        return self._parts

    def __len__(self) -> int:
        return len(self._split())

    def __getitem__(self, i: int) -> bytes:  # type: ignore[override]
        return self._split()[i]


_IS_SPACE = np.zeros(256, dtype=bool)
_IS_SPACE[list(b" \t\r")] = True


def _value_starts(data: bytes | bytearray, key: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Positions of `"key":` and the first byte of the value after it.

    Splitting at the key is one pass in C; the bytes after each occurrence are looked at with
    numpy, and in Python only where there is white space around the ':'. An occurrence not
    followed by ':' is not a key (a string value).
    """
    parts = data.split(key)
    if len(parts) == 1:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.uint8)
    lengths = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))
    positions = np.cumsum(lengths[:-1] + len(key)) - len(key)
    buf = np.frombuffer(data, dtype=np.uint8)
    last = len(buf) - 1
    after_key = positions + len(key)
    colon = buf[np.minimum(after_key, last)]
    first = buf[np.minimum(after_key + 1, last)]
    # The common, compact form `"key":v`.
    simple = (after_key + 1 <= last) & (colon == ord(":")) & ~_IS_SPACE[first]
    firsts = np.where(simple, first, 0).astype(np.uint8)
    for i in np.flatnonzero(~simple & ((colon == ord(":")) | _IS_SPACE[colon])).tolist():
        at = int(after_key[i])
        head = bytes(data[at : at + 8]).lstrip(b" \t\r")
        if head[:1] == b":":
            value = head[1:].lstrip(b" \t\r")
            if value:
                firsts[i] = value[0]
    keep = firsts != 0
    return positions[keep], firsts[keep]


def _path_key(path: str) -> bytes | None:
    parts = path.strip("/").split("/")
    if "[]" in parts or not parts[-1]:
        return None
    return orjson.dumps(parts[-1].replace("~1", "/").replace("~0", "~"))


def group_chunk(
    data: bytes | bytearray, paths: Sequence[str]
) -> tuple[list[tuple[bytes | bytearray, np.ndarray]], int] | None:
    """A chunk's lines grouped by the kinds of the values at object paths, vectorised.

    Returns ([(group bytes, 0-based line indexes)], empty line count), or None when a path goes
    through a list. The kind is read from the bytes after the path's last key (a heuristic:
    a group that still conflicts fails to read and is handled line by line). Lines with no
    value there join the largest group. Empty lines belong to no group.
    """
    keys = [_path_key(p) for p in paths]
    if any(k is None for k in keys) or not data:
        return None
    buf = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(buf == 10)
    ends = newlines if data.endswith(b"\n") else np.append(newlines, len(data))
    starts = np.concatenate(([0], ends[:-1] + 1))
    n = len(ends)
    label = np.zeros(n, dtype=np.int64)
    for key in keys:
        assert key is not None
        positions, firsts = _value_starts(data, key)
        code = np.zeros(n, dtype=np.int64)
        if len(positions):
            line_of = np.searchsorted(ends, positions)
            first_lines, first = np.unique(line_of, return_index=True)
            code[first_lines] = _KIND_CODE[firsts[first]]
        label = label * 8 + code
    lengths = ends - starts
    empty = (lengths == 0) | ((lengths == 1) & (buf[np.minimum(starts, len(buf) - 1)] == 13))
    empty_count = int(empty.sum())
    valued = label[~empty & (label != 0)]
    if valued.size == 0:
        return [], empty_count
    kinds, counts = np.unique(valued, return_counts=True)
    if len(kinds) < 2:
        return [(data, np.flatnonzero(~empty))], empty_count
    label[(label == 0) & ~empty] = kinds[np.argmax(counts)]
    label[empty] = -1
    # Runs of neighbouring lines with the same label are copied as one slice.
    change = np.flatnonzero(np.diff(label)) + 1
    run_first = np.concatenate(([0], change))
    run_last = np.append(change, n) - 1
    run_label = label[run_first]
    byte_start = starts[run_first]
    byte_end = np.append(starts[1:], len(data))[run_last]
    groups: list[tuple[bytes | bytearray, np.ndarray]] = []
    for k in kinds:
        runs = np.flatnonzero(run_label == k)
        chunks = [
            data[s:e]
            for s, e in zip(byte_start[runs].tolist(), byte_end[runs].tolist(), strict=True)
        ]
        groups.append((b"".join(chunks), np.flatnonzero(label == k)))
    return groups, empty_count


def group_lines(
    lines: list[tuple[int, bytes]], paths: Sequence[str]
) -> list[list[tuple[int, bytes]]]:
    """Lines grouped by the kinds of the values at several paths, at most 16 groups."""
    groups = [lines]
    for path in paths:
        nxt: list[list[tuple[int, bytes]]] = []
        for g in groups:
            nxt.extend(_group_by_kind(g, path))
        if len(nxt) > 16:
            break
        groups = nxt
    return groups


# --- the chunk parser ---------------------------------------------------------------------------


class ChunkParser:
    """Turns chunks of NDJSON into pieces of Arrow data; never loses a line."""

    def __init__(
        self, *, declared: pa.Schema | None, block_size: int, exact_piece_lines: int = 64
    ) -> None:
        self.declared = declared
        self.block_size = block_size
        self.exact_piece_lines = exact_piece_lines
        # Reader column paths seen with values of different kinds: later chunks are grouped
        # by them up front instead of failing first.
        self.conflicts: list[str] = []

    def _note_conflict(self, path: str) -> None:
        if path not in self.conflicts and len(self.conflicts) < 8:
            self.conflicts.append(path)

    def parse(
        self,
        data: bytes | bytearray,
        first_line: int,
        source: str,
        hint: pa.Schema | None,
        line_count: int | None = None,
        longest_line: int | None = None,
    ) -> ParsedChunk:
        """The chunk's lines as pieces of Arrow data, bad lines and drift; never raises for
        what the lines hold: if handling the chunk fails (a line nested deep enough to exhaust
        Python's recursion in schema code, or anything unforeseen), it is handled again with
        every line nested deeper than `MAX_COLUMN_DEPTH` on the exact path, and failing that
        with every line on it (where each line has its own guard)."""
        started = time.thread_time()
        out = self._guarded(data, first_line, source, hint, line_count, longest_line)
        # The exact path timed itself; the rest of the chunk's time is its reader route's.
        spent = time.thread_time() - started - out.cpu_by_route.get("exact", 0.0)
        route = "regrouped" if out.rows_by_route.get("regrouped") else "fast"
        out.add_route(route, 0, spent)
        return out

    def _guarded(
        self,
        data: bytes | bytearray,
        first_line: int,
        source: str,
        hint: pa.Schema | None,
        line_count: int | None,
        longest_line: int | None,
    ) -> ParsedChunk:
        lines = count_lines(data) if line_count is None else line_count
        try:
            return self._parse(data, first_line, source, hint, lines, longest_line)
        except Exception:
            pass
        out = ParsedChunk(lines=lines)
        try:
            deep = deep_lines(data, first_line, MAX_COLUMN_DEPTH)
            self._slow(out, data, first_line, source, hint, deep)
        except Exception:
            out = ParsedChunk(lines=lines)
            every = self._non_blank(out, data, first_line)
            for start in range(0, len(every), 1024):
                self._exact(out, every[start : start + 1024], source)
        return out

    def _parse(
        self,
        data: bytes | bytearray,
        first_line: int,
        source: str,
        hint: pa.Schema | None,
        line_count: int,
        longest_line: int | None,
    ) -> ParsedChunk:
        out = ParsedChunk(lines=line_count)
        if not out.lines:
            return out
        if longest_line is None or longest_line > SCAN_LINE_BYTES:
            deep = deep_lines(data, first_line)
            if deep:  # never given to pyarrow's reader as they are: parsed line by line
                self._slow(out, data, first_line, source, hint, deep)
                return out
        if hint is None and len(data) > 2 * _PROBE_BYTES:
            hint = self._probe(data)
        if self.conflicts and self._by_groups(out, data, first_line, source, hint):
            return out
        table, error = self._try_fast(data, hint)
        conflict = _CONFLICT.search(error) if error is not None else None
        if conflict is not None:
            # Valid lines whose types differ: group them by the kind of the conflicting value
            # instead of looking at each line; later chunks are grouped up front.
            self._note_conflict(conflict.group(1))
            if self._by_groups(out, data, first_line, source, hint):
                return out
            self._pieces(out, self._non_blank(out, data, first_line), source, hint, error)
            return out
        out.blank = 0
        lines: np.ndarray | None = None
        if table is not None:
            if table.num_rows == out.lines:
                lines = np.arange(first_line, first_line + out.lines, dtype=np.int64)
            else:
                numbers, blank = self._non_blank_lines(data, first_line)
                if len(numbers) == table.num_rows:
                    lines, out.blank = numbers, blank
        if table is not None and lines is not None:
            self._add_checked(out, table, lines, data, first_line, source, hint)
            return out
        self._slow(out, data, first_line, source, hint)
        return out

    def _by_groups(
        self,
        out: ParsedChunk,
        data: bytes | bytearray,
        first_line: int,
        source: str,
        hint: pa.Schema | None,
    ) -> bool:
        """Read the chunk as groups of lines with the same kinds at the known conflict paths;
        False when that does not split the chunk (nothing added then)."""
        grouped = group_chunk(data, self.conflicts)
        if grouped is None:
            line_groups = group_lines(self._non_blank(out, data, first_line), self.conflicts)
            if len(line_groups) < 2:
                out.blank = 0
                return False
            for group in line_groups:
                self._pieces(out, group, source, hint)
            return True
        groups, blank = grouped
        if len(groups) < 2:
            return False
        out.blank = blank
        # Each group has one kind at the conflict paths, maybe not the kind the hint has.
        group_hint = hint
        for path in self.conflicts if hint is not None and self.declared is None else ():
            group_hint = without_path(group_hint, path)
        for group_data, rows in groups:
            numbers = rows + first_line
            table: pa.Table | None
            try:
                table = _checked_utf8(
                    read_arrow(group_data, group_hint, self.block_size, self.declared), group_data
                )
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                table = None
            if table is not None and table.num_rows == len(numbers):
                self._add_checked(out, table, numbers, None, 0, source, hint, _Lazy(group_data))
                continue
            parts = self._split(group_data)
            kept = [(int(n), raw) for n, raw in zip(numbers, parts, strict=True) if raw.strip(_WS)]
            out.blank += len(parts) - len(kept)
            self._pieces(out, kept, source, hint)
        return True

    def _probe(self, data: bytes | bytearray) -> pa.Schema | None:
        """Types of the first lines, so that the first chunk is read once, not twice (the
        reader would otherwise infer timestamps that must then be read again as text)."""
        cut = data.rfind(b"\n", 0, _PROBE_BYTES)
        if cut < 0:
            return None
        try:
            return read_arrow(data[: cut + 1], None, self.block_size).schema
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None

    def _try_fast(
        self, data: bytes | bytearray, hint: pa.Schema | None
    ) -> tuple[pa.Table | None, str | None]:
        try:
            return _checked_utf8(read_arrow(data, hint, self.block_size, self.declared), data), None
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            return None, str(exc)

    def _non_blank(
        self, out: ParsedChunk, data: bytes | bytearray, first_line: int
    ) -> list[tuple[int, bytes]]:
        parts = self._split(data)
        lines = [(first_line + i, raw) for i, raw in enumerate(parts) if raw.strip(_WS)]
        out.blank = len(parts) - len(lines)
        return lines

    @staticmethod
    def _split(data: bytes | bytearray) -> list[bytes]:
        # Lines as bytes (a chunk read from a source is a bytearray: copied once, only here).
        parts = bytes(data).split(b"\n")
        if data.endswith(b"\n"):
            parts.pop()
        return parts

    def _non_blank_lines(self, data: bytes | bytearray, first_line: int) -> tuple[np.ndarray, int]:
        parts = self._split(data)
        numbers = [first_line + i for i, p in enumerate(parts) if p.strip(_WS)]
        return np.array(numbers, dtype=np.int64), len(parts) - len(numbers)

    def _add_checked(
        self,
        out: ParsedChunk,
        table: pa.Table,
        lines: np.ndarray,
        data: bytes | bytearray | None,
        first_line: int,
        source: str,
        hint: pa.Schema | None,
        raw_lines: Sequence[bytes] | None = None,
    ) -> None:
        """Add a piece read by pyarrow after moving possibly rounded rows to the exact path."""
        suspicious = exact_path_rows(table)
        if suspicious is not None:
            if raw_lines is None:
                assert data is not None
                parts = self._split(data)
                picked = [(int(n), parts[int(n) - first_line]) for n in lines[suspicious]]
            else:
                picked = [(int(n), raw_lines[i]) for i, n in enumerate(lines) if suspicious[i]]
            self._exact(out, picked, source)
            keep = ~suspicious
            table = table.filter(pa.array(keep))
            lines = lines[keep]
            # Columns nested too deeply had all their values moved: none reaches the schema.
            deep = [f.name for f in table.schema if type_depth(f.type) > MAX_COLUMN_DEPTH]
            if deep:
                table = table.drop_columns(deep)
        if table.num_rows:
            out.pieces.append(Piece(table, marked_schema(table), lines))
            out.add_route("fast" if data is not None else "regrouped", table.num_rows)

    def _exact(self, out: ParsedChunk, lines: Sequence[tuple[int, bytes]], source: str) -> None:
        started = time.thread_time()
        built = build_exact(lines, self.declared, source)
        out.add_route("exact", len(built.lines), time.thread_time() - started)
        out.bad.extend(BadLine(n, raw, err) for n, raw, err in built.bad)
        out.exact.extend(built.exact)
        out.drift.extend(built.drift)
        if built.table is not None and built.schema is not None and built.table.num_rows:
            out.pieces.append(
                Piece(built.table, built.schema, np.array(built.lines, dtype=np.int64))
            )

    def _slow(
        self,
        out: ParsedChunk,
        data: bytes | bytearray,
        first_line: int,
        source: str,
        hint: pa.Schema | None,
        deep: frozenset[int] = frozenset(),
    ) -> None:
        """Look at each line: bad ones to quarantine, the others read in pieces.

        `deep` (line numbers) are lines that may be nested too deeply for pyarrow's reader or
        for the schema code: they go to the exact path, which measures their depth.
        """
        good: list[tuple[int, bytes]] = []
        exact: list[tuple[int, bytes]] = []

        def check(number: int, raw: bytes) -> None:
            if number in deep:
                exact.append((number, raw))
                return
            try:
                value = orjson.loads(raw)
            except orjson.JSONDecodeError:
                # orjson also refuses valid JSON it cannot hold (1e400): ask the exact parser.
                value = parse_line(raw)
            if not isinstance(value, dict):
                raise LineError(f"not a JSON object (a JSON {_json_kind(value)})")
            good.append((number, raw))

        lines = self._non_blank(out, data, first_line)
        per_line(lines, check, lambda n, raw, why: out.bad.append(BadLine(n, raw, why)))
        self._exact(out, exact, source)
        self._pieces(out, good, source, hint)

    def _pieces(
        self,
        out: ParsedChunk,
        lines: list[tuple[int, bytes]],
        source: str,
        hint: pa.Schema | None,
        known_error: str | None = None,
    ) -> None:
        """Read non-blank lines; on a type conflict group the lines by the conflicting value's
        kind, on other failures halve, down to the exact path for small pieces."""
        if not lines:
            return
        if len(lines) <= self.exact_piece_lines:
            self._exact(out, lines, source)
            return
        raws = [raw for _, raw in lines]
        error = known_error
        if error is None:
            try:
                table = _checked_utf8(
                    read_arrow(b"\n".join(raws), hint, self.block_size, self.declared)
                )
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                error = str(exc)
            else:
                if table.num_rows == len(lines):
                    numbers = np.array([n for n, _ in lines], dtype=np.int64)
                    self._add_checked(out, table, numbers, None, 0, source, hint, raws)
                    return
                error = "row count differs"
        conflict = _CONFLICT.search(error)
        if conflict is not None:
            self._note_conflict(conflict.group(1))
            groups = _group_by_kind(lines, conflict.group(1))
            if len(groups) > 1:
                for group in groups:
                    self._pieces(out, group, source, hint)
                return
        mid = len(lines) // 2
        self._pieces(out, lines[:mid], source, hint)
        self._pieces(out, lines[mid:], source, hint)


__all__ = ["ROUTES", "BadLine", "ChunkParser", "LineError", "ParsedChunk", "Piece", "count_lines"]
