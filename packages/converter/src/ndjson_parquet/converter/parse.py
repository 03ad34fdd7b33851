"""Parsing one chunk of NDJSON lines into Arrow tables, with quarantine for bad lines.

Fast path: pyarrow's C++ JSON reader over the whole chunk, with the schema known so far made
explicit (timestamps forced to strings: the reader would otherwise turn ISO-8601 text into
timestamps and change the text). Only if that fails are lines looked at one by one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
import orjson
import pyarrow as pa

from ndjson_parquet.converter.conflicts import Conflicts
from ndjson_parquet.converter.grouping import (
    LazyLines,
    group_by_kind,
    group_chunk,
    group_lines,
)
from ndjson_parquet.converter.lines import (
    WHITE_SPACE,
    count_lines,
    non_blank,
    row_lines,
    split_lines,
)
from ndjson_parquet.converter.nesting import (
    MAX_COLUMN_DEPTH,
    SCAN_LINE_BYTES,
    deep_lines,
    type_depth,
)
from ndjson_parquet.converter.parsed import BadLine, ParsedChunk, Piece
from ndjson_parquet.converter.pybuild import (
    LineError,
    _json_kind,
    add_exact,
    parse_line,
    per_line,
)
from ndjson_parquet.converter.reader import (
    CONFLICT,
    checked_utf8,
    exact_path_rows,
    marked_schema,
    probe_schema,
    read_arrow,
    without_path,
)
from ndjson_parquet.converter.renaming import merge, rename_by_kind, verify

# --- the chunk parser ---------------------------------------------------------------------------


class ChunkParser:
    """Turns chunks of NDJSON into pieces of Arrow data; never loses a line."""

    def __init__(
        self, *, declared: pa.Schema | None, block_size: int, exact_piece_lines: int = 64
    ) -> None:
        self.declared = declared
        self.block_size = block_size
        self.exact_piece_lines = exact_piece_lines
        # Columns seen with values of different kinds: later chunks are read with them in mind.
        self.conflicts = Conflicts()

    def parse(
        self,
        data: bytes | bytearray,
        first_line: int,
        source: str,
        hint: pa.Schema | None,
        line_count: int | None = None,
        longest_line: int | None = None,
        order: int | None = None,
    ) -> ParsedChunk:
        """The chunk's lines as pieces of Arrow data, bad lines and drift; never raises for
        what the lines hold: if handling the chunk fails (a line nested deep enough to exhaust
        Python's recursion in schema code, or anything unforeseen), it is handled again with
        every line nested deeper than `MAX_COLUMN_DEPTH` on the exact path, and failing that
        with every line on it (where each line has its own guard).

        `order` is the chunk's place in the run (chunks may be parsed out of order): a chunk
        after one where values of a column were seen to change kind reads that column as
        JSON text whatever the hint, which may be from before that chunk."""
        started = time.thread_time()
        out = self._guarded(data, first_line, source, hint, line_count, longest_line, order)
        # The exact path timed itself; the rest of the chunk's time is its reader route's.
        spent = time.thread_time() - started - out.cpu_by_route.get("exact", 0.0)
        route = next((r for r in ("renamed", "regrouped") if out.rows_by_route.get(r)), "fast")
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
        order: int | None,
    ) -> ParsedChunk:
        lines = count_lines(data) if line_count is None else line_count
        try:
            return self._parse(data, first_line, source, hint, lines, longest_line, order)
        except Exception:
            pass
        out = ParsedChunk(lines=lines, order=order)
        try:
            deep = deep_lines(data, first_line, MAX_COLUMN_DEPTH)
            self._slow(out, data, first_line, source, hint, deep)
        except Exception:
            out = ParsedChunk(lines=lines, order=order)
            every = self._non_blank(out, data, first_line)
            for start in range(0, len(every), 1024):
                add_exact(out, self.declared, every[start : start + 1024], source)
        return out

    def _parse(
        self,
        data: bytes | bytearray,
        first_line: int,
        source: str,
        hint: pa.Schema | None,
        line_count: int,
        longest_line: int | None,
        order: int | None,
    ) -> ParsedChunk:
        out = ParsedChunk(lines=line_count, order=order)
        if not out.lines:
            return out
        if longest_line is None or longest_line > SCAN_LINE_BYTES:
            deep = deep_lines(data, first_line)
            if deep:  # never given to pyarrow's reader as they are: parsed line by line
                self._slow(out, data, first_line, source, hint, deep)
                return out
        if hint is None:
            hint = probe_schema(data, self.block_size)
        if self.conflicts and (
            self._renamed(out, data, first_line, source, hint)
            or self._by_groups(out, data, first_line, source, hint)
        ):
            return out
        table, error = self._try_fast(data, hint)
        conflict = CONFLICT.search(error) if error is not None else None
        if conflict is not None:
            # Valid lines whose types differ: group them by the kind of the conflicting value
            # instead of looking at each line; later chunks are grouped up front.
            self.conflicts.note(conflict.group(1), order)
            if self._by_groups(out, data, first_line, source, hint):
                return out
            self._pieces(out, self._non_blank(out, data, first_line), source, hint, error)
            return out
        out.blank = 0
        found = (
            row_lines(data, first_line, out.lines, table.num_rows) if table is not None else None
        )
        if table is not None and found is not None:
            lines, out.blank = found
            self._add_checked(out, table, lines, data, first_line, source)
            return out
        self._slow(out, data, first_line, source, hint)
        return out

    def _renamed(
        self,
        out: ParsedChunk,
        data: bytes | bytearray,
        first_line: int,
        source: str,
        hint: pa.Schema | None,
    ) -> bool:
        """Read the chunk once with the keys at the conflict paths renamed by the kind of their
        value (`renaming`), when every conflict path is a top-level column that holds JSON text
        before this chunk; False (nothing added) otherwise."""
        fields = self.conflicts.json_text_fields(hint, out.order)
        if fields is None:
            return False
        renamed = rename_by_kind(data, list(fields))
        if renamed is None:
            return False
        read_hint = pa.schema([fields.get(f.name, f) for f in hint or ()]) if hint else None
        try:
            table = checked_utf8(
                read_arrow(renamed.data, read_hint, self.block_size, self.declared), data
            )
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return False
        found = row_lines(data, first_line, out.lines, table.num_rows)
        if found is None or not verify(table, renamed, found[0] - first_line):
            return False
        numbers, out.blank = found
        self._add_checked(
            out,
            table,
            numbers,
            data,
            first_line,
            source,
            route="renamed",
            then=lambda t: merge(t, renamed, fields),
        )
        return True

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
        grouped = group_chunk(data, self.conflicts.paths)
        if grouped is None:
            line_groups = group_lines(self._non_blank(out, data, first_line), self.conflicts.paths)
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
        for path in self.conflicts.paths if hint is not None and self.declared is None else ():
            group_hint = without_path(group_hint, path)
        for group_data, rows in groups:
            numbers = rows + first_line
            table: pa.Table | None
            try:
                table = checked_utf8(
                    read_arrow(group_data, group_hint, self.block_size, self.declared), group_data
                )
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                table = None
            if table is not None and table.num_rows == len(numbers):
                self._add_checked(out, table, numbers, None, 0, source, LazyLines(group_data))
                continue
            parts = split_lines(group_data)
            kept = [
                (int(n), raw)
                for n, raw in zip(numbers, parts, strict=True)
                if raw.strip(WHITE_SPACE)
            ]
            out.blank += len(parts) - len(kept)
            self._pieces(out, kept, source, hint)
        return True

    def _try_fast(
        self, data: bytes | bytearray, hint: pa.Schema | None
    ) -> tuple[pa.Table | None, str | None]:
        try:
            return checked_utf8(read_arrow(data, hint, self.block_size, self.declared), data), None
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            return None, str(exc)

    @staticmethod
    def _non_blank(
        out: ParsedChunk, data: bytes | bytearray, first_line: int
    ) -> list[tuple[int, bytes]]:
        lines, out.blank = non_blank(data, first_line)
        return lines

    def _add_checked(
        self,
        out: ParsedChunk,
        table: pa.Table,
        lines: np.ndarray,
        data: bytes | bytearray | None,
        first_line: int,
        source: str,
        raw_lines: Sequence[bytes] | None = None,
        route: str | None = None,
        then: Callable[[pa.Table], pa.Table] | None = None,
    ) -> None:
        """Add a piece read by pyarrow after moving possibly rounded rows to the exact path
        (and then applying `then` to it)."""
        suspicious = exact_path_rows(table)
        if suspicious is not None:
            if raw_lines is None:
                assert data is not None
                parts = split_lines(data)
                picked = [(int(n), parts[int(n) - first_line]) for n in lines[suspicious]]
            else:
                picked = [(int(n), raw_lines[i]) for i, n in enumerate(lines) if suspicious[i]]
            add_exact(out, self.declared, picked, source)
            keep = ~suspicious
            table = table.filter(pa.array(keep))
            lines = lines[keep]
            # Columns nested too deeply had all their values moved: none reaches the schema.
            deep = [f.name for f in table.schema if type_depth(f.type) > MAX_COLUMN_DEPTH]
            if deep:
                table = table.drop_columns(deep)
        if table.num_rows:
            if then is not None:
                table = then(table)
            out.pieces.append(Piece(table, marked_schema(table), lines))
            out.add_route(route or ("fast" if data is not None else "regrouped"), table.num_rows)

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
        add_exact(out, self.declared, exact, source)
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
            add_exact(out, self.declared, lines, source)
            return
        raws = [raw for _, raw in lines]
        error = known_error
        if error is None:
            try:
                table = checked_utf8(
                    read_arrow(b"\n".join(raws), hint, self.block_size, self.declared)
                )
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                error = str(exc)
            else:
                if table.num_rows == len(lines):
                    numbers = np.array([n for n, _ in lines], dtype=np.int64)
                    self._add_checked(out, table, numbers, None, 0, source, raws)
                    return
                error = "row count differs"
        conflict = CONFLICT.search(error)
        if conflict is not None:
            self.conflicts.note(conflict.group(1), out.order)
            groups = group_by_kind(lines, conflict.group(1))
            if len(groups) > 1:
                for group in groups:
                    self._pieces(out, group, source, hint)
                return
        mid = len(lines) // 2
        self._pieces(out, lines[:mid], source, hint)
        self._pieces(out, lines[mid:], source, hint)


__all__ = ["ChunkParser", "LineError"]
