"""Lines whose values change kind at a column path (a number, then a string): grouped by kind,
so that each group is read by pyarrow's reader on its own."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import orjson

from ndjson_parquet.converter.lines import split_lines


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


def group_by_kind(lines: list[tuple[int, bytes]], path: str) -> list[list[tuple[int, bytes]]]:
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


KIND_CODE = np.zeros(256, dtype=np.int64)  # 0: no value (absent or null)
for _byte, _kind_name in _KIND_OF_FIRST_BYTE.items():
    KIND_CODE[_byte] = {"": 0, "string": 1, "number": 2, "boolean": 3, "object": 4, "array": 5}[
        _kind_name
    ]


class LazyLines(Sequence[bytes]):
    """The lines of some data, split only if a line is asked for."""

    def __init__(self, data: bytes | bytearray) -> None:
        self.data = data
        self._parts: list[bytes] | None = None

    def _split(self) -> list[bytes]:
        if self._parts is None:
            self._parts = split_lines(self.data)
        return self._parts

    def __len__(self) -> int:
        return len(self._split())

    def __getitem__(self, i: int) -> bytes:  # type: ignore[override]
        return self._split()[i]


IS_SPACE = np.zeros(256, dtype=bool)
IS_SPACE[list(b" \t\r")] = True


def value_starts(data: bytes | bytearray, key: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where each `"key":` starts, where the value after it starts, and its first byte.

    Splitting at the key is one pass in C (see `values_after`).
    """
    parts = data.split(key)
    if len(parts) == 1:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, np.empty(0, dtype=np.uint8)
    lengths = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))
    return values_after(data, np.cumsum(lengths[:-1] + len(key)) - len(key), len(key))


def values_after(
    data: bytes | bytearray, key_at: np.ndarray, key_length: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For keys found at `key_at`: those followed by ':' (the others are string values), where
    their values start, and the values' first bytes.

    The bytes after each key are looked at with numpy, and in Python only where there is
    white space around the ':'.
    """
    after_key = key_at + key_length
    buf = np.frombuffer(data, dtype=np.uint8)
    last = len(buf) - 1
    colon = buf[np.minimum(after_key, last)]
    first = buf[np.minimum(after_key + 1, last)]
    # The common, compact form `"key":v`.
    simple = (after_key + 1 <= last) & (colon == ord(":")) & ~IS_SPACE[first]
    firsts = np.where(simple, first, 0).astype(np.uint8)
    starts = after_key + 1
    for i in np.flatnonzero(~simple & ((colon == ord(":")) | IS_SPACE[colon])).tolist():
        at = int(after_key[i])
        window = bytes(data[at : at + 8])
        head = window.lstrip(b" \t\r")
        if head[:1] == b":":
            value = head[1:].lstrip(b" \t\r")
            if value:
                firsts[i] = value[0]
                starts[i] = at + len(window) - len(value)
    keep = firsts != 0
    return key_at[keep], starts[keep], firsts[keep]


def path_key(path: str) -> bytes | None:
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
    keys = [path_key(p) for p in paths]
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
        _, positions, firsts = value_starts(data, key)
        code = np.zeros(n, dtype=np.int64)
        if len(positions):
            line_of = np.searchsorted(ends, positions)
            first_lines, first = np.unique(line_of, return_index=True)
            code[first_lines] = KIND_CODE[firsts[first]]
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
            nxt.extend(group_by_kind(g, path))
        if len(nxt) > 16:
            break
        groups = nxt
    return groups
