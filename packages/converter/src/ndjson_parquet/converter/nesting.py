"""Limits on nesting, and measuring it without recursion.

Readers refuse deep Parquet schemas (pyarrow's default limit is 100 levels; a list takes two),
Python's parsers are recursive, and pyarrow's JSON reader overflows its stack at about 15,000
levels. So a value nested deeper than `MAX_COLUMN_DEPTH` is stored as its exact JSON text, a
line nested deeper than `MAX_LINE_DEPTH` goes to quarantine, and a chunk that may hold such a
line has its bracket depth measured before pyarrow's reader sees it.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import pyarrow as pa

# Levels of objects and arrays kept as Parquet structs and lists; deeper values are JSON text.
# A list takes two Parquet levels, so a column is at most ~65 levels deep, below the 100 that
# pyarrow's reader (and others) accept by default.
MAX_COLUMN_DEPTH: Final = 32
# Lines nested deeper than this are quarantined: deep enough for any real document, shallow
# enough for every parser here (Python's is recursive; pyarrow's crashes at about 15,000).
MAX_LINE_DEPTH: Final = 256
# A chunk with a line longer than this may hold a line nested deeper than `MAX_LINE_DEPTH`
# (pyarrow's reader must never see one of 15,000 levels): its nesting is measured first.
SCAN_LINE_BYTES: Final = 8 * 1024


def type_depth(t: pa.DataType) -> int:
    """Levels of structs and lists in a type (a scalar is 0); not recursive."""
    deepest = 0
    stack = [(t, 0)]
    while stack:
        t, depth = stack.pop()
        if pa.types.is_struct(t):
            stack.extend((c.type, depth + 1) for c in t)
            deepest = max(deepest, depth + 1)
        elif pa.types.is_list(t):
            stack.append((t.value_type, depth + 1))
            deepest = max(deepest, depth + 1)
    return deepest


def nesting_depth(value: Any) -> int:
    """Levels of objects and arrays in a parsed value (not recursive: any depth is fine)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, dict):
            v = v.values()
        elif not isinstance(v, list):
            continue
        deepest = max(deepest, depth + 1)
        if deepest > MAX_LINE_DEPTH:
            return deepest
        stack.extend((child, depth + 1) for child in v if isinstance(child, dict | list))
    return deepest


_BRACKETS = b"[]{}\n"
_NOT_BRACKETS = bytes(b for b in range(256) if b not in _BRACKETS)
_STEP = np.zeros(256, dtype=np.int32)
_STEP[[ord("["), ord("{")]] = 1
_STEP[[ord("]"), ord("}")]] = -1


def deep_lines(
    data: bytes | bytearray, first_line: int = 1, limit: int = MAX_LINE_DEPTH
) -> frozenset[int]:
    """Numbers of the lines whose brackets nest deeper than `limit`.

    Brackets inside strings count too (an upper bound of the true depth: such a line is only
    looked at more closely). Vectorised over the brackets alone.
    """
    kept = np.frombuffer(bytes(data).translate(None, _NOT_BRACKETS), dtype=np.uint8)
    if not len(kept):
        return frozenset()
    depth = np.cumsum(_STEP[kept])
    if max(int(depth.max()), 0) - min(int(depth.min()), 0) <= limit:
        return frozenset()  # no line can go deeper than the whole chunk's range
    newline = kept == 10
    # Depth relative to the depth at the line's start (lines are independent).
    last_newline = np.maximum.accumulate(np.where(newline, np.arange(len(kept)), -1))
    base = np.where(last_newline >= 0, depth[np.maximum(last_newline, 0)], 0)
    too_deep = (depth - base) > limit
    if not too_deep.any():
        return frozenset()
    line_index = np.cumsum(newline) - newline
    return frozenset((np.unique(line_index[too_deep]) + first_line).tolist())
