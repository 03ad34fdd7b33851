"""pyarrow's JSON reader, made exact: explicit types from what is known so far, ISO-8601 text
kept as text, and the rows it may have changed (rounded integers, NaN/±Infinity, values nested
too deeply) found so that they are read again by the exact path.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from ndjson_parquet.converter.field_markers import (
    MAX_EXACT_FLOAT_INT,
    NULL_ONLY_KEY,
    TRUE,
    WIDE_INT_KEY,
    is_json_text,
    with_flag,
)
from ndjson_parquet.converter.nesting import MAX_COLUMN_DEPTH, type_depth

# pyarrow's error for a column whose values change kind ("/a/b": a reader column path).
CONFLICT = re.compile(r"Column\((/[^)]*)\) changed from")


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
            conflict = CONFLICT.search(str(exc)) if fallback is None else None
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


# The first lines' types are read first when a chunk of more than twice this comes without a hint.
_PROBE_BYTES = 1 << 20


def probe_schema(data: bytes | bytearray, block_size: int) -> pa.Schema | None:
    """Types of the first lines of a large chunk read without a hint, so that it is read once,
    not twice (the reader would otherwise infer timestamps that must then be read again as
    text); None for a small chunk or when the first lines cannot be read."""
    cut = data.rfind(b"\n", 0, _PROBE_BYTES) if len(data) > 2 * _PROBE_BYTES else -1
    if cut < 0:
        return None
    try:
        return read_arrow(data[: cut + 1], None, block_size).schema
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


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


def checked_utf8(table: pa.Table, data: bytes | bytearray | None = None) -> pa.Table:
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
