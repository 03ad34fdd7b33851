"""The lines of a chunk: counted, split, and the non-blank ones with their line numbers."""

from __future__ import annotations

import numpy as np

# White space a line may hold and still be blank (the newline ends it).
WHITE_SPACE = b" \t\r"


def count_lines(data: bytes | bytearray) -> int:
    if not data:
        return 0
    return data.count(b"\n") + (0 if data.endswith(b"\n") else 1)


def split_lines(data: bytes | bytearray) -> list[bytes]:
    """Lines as bytes (a chunk read from a source is a bytearray: copied once, only here)."""
    parts = bytes(data).split(b"\n")
    if data.endswith(b"\n"):
        parts.pop()
    return parts


def non_blank(data: bytes | bytearray, first_line: int) -> tuple[list[tuple[int, bytes]], int]:
    """(line number, bytes) of each non-blank line, and how many lines are blank."""
    parts = split_lines(data)
    lines = [(first_line + i, raw) for i, raw in enumerate(parts) if raw.strip(WHITE_SPACE)]
    return lines, len(parts) - len(lines)


def non_blank_numbers(data: bytes | bytearray, first_line: int) -> tuple[np.ndarray, int]:
    """The numbers of the non-blank lines, and how many lines are blank."""
    parts = split_lines(data)
    numbers = [first_line + i for i, p in enumerate(parts) if p.strip(WHITE_SPACE)]
    return np.array(numbers, dtype=np.int64), len(parts) - len(numbers)


def row_lines(
    data: bytes | bytearray, first_line: int, line_count: int, rows: int
) -> tuple[np.ndarray, int] | None:
    """The line number of each of `rows` rows read from the chunk, and how many lines are
    blank: every line when there are as many rows as lines, else the non-blank ones; None when
    the rows match neither."""
    if rows == line_count:
        return np.arange(first_line, first_line + line_count, dtype=np.int64), 0
    numbers, blank = non_blank_numbers(data, first_line)
    return (numbers, blank) if len(numbers) == rows else None


__all__ = [
    "WHITE_SPACE",
    "count_lines",
    "non_blank",
    "non_blank_numbers",
    "row_lines",
    "split_lines",
]
