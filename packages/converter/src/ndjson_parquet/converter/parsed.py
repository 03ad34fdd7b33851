"""What parsing a chunk gives: pieces of Arrow data, bad lines, drift, and per route the rows
it read and its CPU time."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from ndjson_parquet.converter.schema import Drift


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
    # The chunk's place in the run, if known (see `ChunkParser.parse`).
    order: int | None = None

    def add_route(self, route: str, rows: int, cpu: float = 0.0) -> None:
        self.rows_by_route[route] = self.rows_by_route.get(route, 0) + rows
        self.cpu_by_route[route] = self.cpu_by_route.get(route, 0.0) + cpu


# The whole chunk in one read; groups of lines (mixed kinds, or pieces around bad lines) read
# apart and put back in line order; Python's exact builder, line by line.
ROUTES = ("fast", "renamed", "regrouped", "exact")


__all__ = ["ROUTES", "BadLine", "ParsedChunk", "Piece"]
