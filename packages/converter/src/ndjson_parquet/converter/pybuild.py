"""The exact, slow path: lines parsed in Python and turned into Arrow with the same rules.

Used only for the small pieces that pyarrow's reader cannot take (type conflicts inside a piece,
duplicate keys) or may have rounded (integral doubles beyond ±2^53), and for values that do not
fit a declared schema. Numbers are kept exactly: integers beyond int64 and floats beyond
float64's range (1e400) become the JSON text of the literal.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import pyarrow as pa

from ndjson_parquet.converter.conform import RawJson, _dump
from ndjson_parquet.converter.field_markers import (
    MAX_EXACT_FLOAT_INT,
    WIDE_INT_KEY,
    is_json_text,
    json_text_field,
    with_flag,
)
from ndjson_parquet.converter.nesting import MAX_COLUMN_DEPTH, MAX_LINE_DEPTH, nesting_depth
from ndjson_parquet.converter.parsed import BadLine, ParsedChunk, Piece
from ndjson_parquet.converter.schema import Drift, Origin, _Unifier

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class LineError(ValueError):
    """Why a line goes to quarantine."""


def quarantine_reason(exc: BaseException) -> str:
    """The quarantine record's error for whatever handling one line raised."""
    if isinstance(exc, LineError):
        return str(exc)
    if isinstance(exc, RecursionError):
        return f"nested too deeply to parse (more than {MAX_LINE_DEPTH} levels)"
    if isinstance(exc, UnicodeError):
        return f"not valid text: {exc}"
    return f"cannot convert this line: {type(exc).__name__}: {exc}"


def per_line(
    lines: Sequence[tuple[int, bytes]],
    handle: Callable[[int, bytes], None],
    reject: Callable[[int, bytes, str], None],
) -> None:
    """`handle` each (line number, raw) line; any failure sends that line alone to quarantine.

    The one place where a line's failure becomes a quarantine record: whatever a single line
    holds (deep nesting, invalid text, a value no rule foresaw), the run goes on without it.
    """
    for number, raw in lines:
        try:
            handle(number, raw)
        except Exception as exc:  # any failure of this line is this line's, never the run's
            reject(number, raw, quarantine_reason(exc))


class ExactNumber(RawJson):
    """A number literal that no Arrow number type holds exactly; kept as its JSON text."""

    __slots__ = ()


def _parse_int(text: str) -> int | ExactNumber:
    value = int(text)
    return value if INT64_MIN <= value <= INT64_MAX else ExactNumber(text)


def _parse_float(text: str) -> float | ExactNumber:
    value = float(text)
    return value if math.isfinite(value) else ExactNumber(text)


def _reject_constant(text: str) -> Any:
    raise LineError(f"not valid JSON: {text} is not a JSON value")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    for key, _ in pairs:
        if not key.isascii():
            try:
                key.encode("utf-8")
            except UnicodeEncodeError:
                raise LineError(
                    "not valid JSON text: a key holds a lone surrogate escape"
                ) from None
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        dup = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise LineError(f"duplicate key {dup!r} in one object")
    return obj


_DECODER = json.JSONDecoder(
    parse_int=_parse_int,
    parse_float=_parse_float,
    parse_constant=_reject_constant,
    object_pairs_hook=_object,
)


def parse_line(raw: bytes) -> dict[str, Any]:
    """A line as a Python object with exact numbers, or LineError."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LineError(f"not valid UTF-8: {exc.reason} at byte {exc.start}") from None
    try:
        value = _DECODER.decode(text.strip(" \t\r\n"))  # JSON white space only
    except json.JSONDecodeError as exc:
        raise LineError(f"not valid JSON: {exc.msg} at column {exc.colno}") from None
    except RecursionError:
        raise LineError(f"nested more than {MAX_LINE_DEPTH} levels deep") from None
    if not isinstance(value, dict):
        raise LineError(f"not a JSON object (a JSON {_json_kind(value)})")
    if nesting_depth(value) > MAX_LINE_DEPTH:
        raise LineError(f"nested more than {MAX_LINE_DEPTH} levels deep")
    return value


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"


_NULL = pa.field("v", pa.null())
_BOOL = pa.field("v", pa.bool_())
_INT = pa.field("v", pa.int64())
_WIDE = with_flag(_INT, WIDE_INT_KEY)
_FLOAT = pa.field("v", pa.float64())
_STR = pa.field("v", pa.string())
_JSON = json_text_field("v")


def _infer(value: Any, unifier: _Unifier, path: str, depth: int = 0) -> pa.Field:
    if isinstance(value, dict | list) and depth >= MAX_COLUMN_DEPTH:
        # Deeper levels would exceed what Parquet readers accept: the value's exact JSON text.
        kind = _json_kind(value) if isinstance(value, list) else "object"
        o = unifier.origin
        why = f"nested deeper than {MAX_COLUMN_DEPTH} levels, kept as JSON text"
        unifier.drift.append(Drift(path, kind, kind, "json", why, o.file, o.line))
        return _JSON
    if value is None:
        return _NULL
    if isinstance(value, bool):
        return _BOOL
    if isinstance(value, ExactNumber):
        unifier.exact.append((path, str(value)))
        return _JSON
    if isinstance(value, int):
        return _WIDE if abs(value) > MAX_EXACT_FLOAT_INT else _INT
    if isinstance(value, float):
        return _FLOAT
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise LineError("not valid JSON text: a string holds a lone surrogate escape") from None
        return _STR
    if isinstance(value, list):
        item: pa.Field = _NULL
        for v in value:
            kid = _infer(v, unifier, f"{path}[]", depth + 1)
            item = unifier.field(item, kid, f"{path}[]", unifier.origin)
        return pa.field("v", pa.list_(item.with_name("item")))
    assert isinstance(value, dict)
    kids = [_infer(v, unifier, f"{path}.{k}", depth + 1).with_name(k) for k, v in value.items()]
    return pa.field("v", pa.struct(kids))


def _convert(value: Any, f: pa.Field, path: str | None = None) -> Any:
    """A Python value ready for `pa.array` of `f`'s type; LineError if it does not fit, naming
    the column (`path`: its place in the row, `a.b[]`), the value's kind and the column's type."""
    path = path or f.name
    if value is None:
        return None
    t = f.type
    if is_json_text(f):
        return _dump(value)
    if pa.types.is_struct(t):
        if not isinstance(value, dict):
            raise LineError(f"{path}: {_kind(value)} does not fit the column's type {t}")
        names = {c.name for c in t}
        extra = set(value) - names
        if extra:
            raise LineError(f"{path}: fields {sorted(extra)} not in the schema")
        return {c.name: _convert(value.get(c.name), c, f"{path}.{c.name}") for c in t}
    if pa.types.is_list(t):
        if not isinstance(value, list):
            raise LineError(f"{path}: {_kind(value)} does not fit the column's type {t}")
        return [_convert(v, t.value_field, f"{path}[]") for v in value]
    if pa.types.is_boolean(t):
        if isinstance(value, bool):
            return value
    elif pa.types.is_integer(t):
        if isinstance(value, int) and not isinstance(value, bool | RawJson):
            info_bits = t.bit_width - 1
            if -(2**info_bits) <= value < 2**info_bits:
                return value
    elif pa.types.is_floating(t):
        if isinstance(value, float):
            return value
        if (
            isinstance(value, int)
            and not isinstance(value, bool)
            and abs(value) <= MAX_EXACT_FLOAT_INT
        ):
            return float(value)
    elif pa.types.is_string(t):
        if isinstance(value, str) and not isinstance(value, RawJson):
            return value
    elif pa.types.is_timestamp(t):
        if isinstance(value, str) and not isinstance(value, RawJson):
            try:
                return datetime.fromisoformat(value)
            except ValueError:
                pass
    elif pa.types.is_date(t) and isinstance(value, str) and not isinstance(value, RawJson):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    shown = _dump(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    raise LineError(f"{path}: {_kind(value)} {shown} does not fit the column's type {t}")


def _kind(value: Any) -> str:
    """The JSON kind of a value as an error names it: an integer and a float differ here."""
    if isinstance(value, int) and not isinstance(value, bool | RawJson):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, ExactNumber):
        return "number beyond int64 and float64"
    return "object" if isinstance(value, dict) else _json_kind(value)


def fieldless(rows: int) -> pa.Table:
    """A table of `rows` rows and no columns (lines that are `{}`)."""
    empty = pa.array([{}] * rows, pa.struct([]))
    return pa.Table.from_batches([pa.RecordBatch.from_struct_array(empty)])


@dataclass
class Built:
    """The outcome of the exact path for some lines."""

    table: pa.Table | None
    schema: pa.Schema | None
    lines: list[int]
    bad: list[tuple[int, bytes, str]] = field(default_factory=list)
    # (column path, line, literal) of each number kept as JSON text
    exact: list[tuple[str, int, str]] = field(default_factory=list)
    drift: list[Drift] = field(default_factory=list)


def build_exact(
    lines: Sequence[tuple[int, bytes]], declared: pa.Schema | None, source: str
) -> Built:
    """Parse `lines` ((line number, raw bytes)) exactly and build one Arrow table."""
    unifier = _Unifier(record_additions=False)
    rows: list[dict[str, Any]] = []
    raws: list[bytes] = []
    out = Built(None, None, [])
    declared_names = set(declared.names) if declared is not None else set()
    fields: list[pa.Field] = []

    def add(number: int, raw: bytes) -> None:
        nonlocal fields
        unifier.origin = Origin(source, number)
        obj = parse_line(raw)
        unifier.exact = []
        row_fields = []
        for k, v in obj.items():
            if k in declared_names:
                assert declared is not None
                obj[k] = _convert(v, declared.field(k))
            else:
                row_fields.append(_infer(v, unifier, k).with_name(k))
        fields = unifier.fields(fields, row_fields, "", unifier.origin)
        out.exact.extend((p, number, text) for p, text in unifier.exact)
        rows.append(obj)
        raws.append(raw)
        out.lines.append(number)

    per_line(lines, add, lambda n, raw, why: out.bad.append((n, raw, why)))
    out.drift = unifier.drift
    if not rows:
        return out
    schema_fields = list(declared) if declared is not None else []
    schema_fields += [f for f in fields if f.name not in declared_names]
    schema = pa.schema(schema_fields)
    try:
        out.table = _table(rows, schema, declared_names)
    except Exception:  # some row does not build: find it, quarantine it, build the others
        keep = []
        for i, row in enumerate(rows):
            try:
                _table([row], schema, declared_names)
            except Exception as exc:
                out.bad.append((out.lines[i], raws[i], quarantine_reason(exc)))
            else:
                keep.append(i)
        out.lines = [out.lines[i] for i in keep]
        out.table = _table([rows[i] for i in keep], schema, declared_names) if keep else None
    out.schema = schema
    return out


def _table(rows: list[dict[str, Any]], schema: pa.Schema, declared_names: set[str]) -> pa.Table:
    columns = []
    for f in schema:
        if f.name in declared_names:
            values = [r.get(f.name) for r in rows]
        else:
            values = [_convert(r.get(f.name), f) for r in rows]
        columns.append(pa.array(values, type=f.type))
    return pa.Table.from_arrays(columns, schema=schema) if columns else fieldless(len(rows))


def add_exact(
    out: ParsedChunk, declared: pa.Schema | None, lines: Sequence[tuple[int, bytes]], source: str
) -> None:
    """Build `lines` on the exact path and add what they give to `out` (timed as its route)."""
    started = time.thread_time()
    built = build_exact(lines, declared, source)
    out.add_route("exact", len(built.lines), time.thread_time() - started)
    out.bad.extend(BadLine(n, raw, err) for n, raw, err in built.bad)
    out.exact.extend(built.exact)
    out.drift.extend(built.drift)
    if built.table is not None and built.schema is not None and built.table.num_rows:
        out.pieces.append(Piece(built.table, built.schema, np.array(built.lines, dtype=np.int64)))
