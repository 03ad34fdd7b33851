"""Columns whose values were seen to change kind: where pyarrow's reader failed, and the first
chunk where each was found. Later chunks are read with them in mind (renamed or grouped up
front) instead of failing first."""

from __future__ import annotations

import pyarrow as pa

from ndjson_parquet.converter.field_markers import is_json_text, json_text_field
from ndjson_parquet.converter.renaming import top_level_key

# Past this many, a chunk is not split further by kind (each path doubles the groups).
_MAX_PATHS = 8


class Conflicts:
    """Reader column paths ("/a/b") seen with values of different kinds, in the order found."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        # The first chunk (by its place in the run) where each path was found.
        self._found_in: dict[str, int] = {}

    def __bool__(self) -> bool:
        return bool(self.paths)

    def note(self, path: str, order: int | None) -> None:
        """Record a conflict found by the chunk at place `order` of the run (None: unknown)."""
        if path not in self.paths and len(self.paths) < _MAX_PATHS:
            self.paths.append(path)
        if order is not None:
            self._found_in[path] = min(order, self._found_in.get(path, order))

    def json_text_fields(
        self, hint: pa.Schema | None, order: int | None
    ) -> dict[str, pa.Field] | None:
        """The JSON-text field of each conflict key, when every conflict is a top-level key
        whose column holds JSON text before the chunk at place `order`: in the hint, or found
        in an earlier chunk (whose rows are added first; the hint may be from before it). None
        otherwise."""
        held = {f.name: f for f in hint or () if is_json_text(f)}
        fields: dict[str, pa.Field] = {}
        for path in self.paths:
            key = top_level_key(path)
            if key is None:
                return None
            if key in held:
                fields[key] = held[key]
                continue
            found_in = self._found_in.get(path)
            if order is None or found_in is None or found_in >= order:
                return None
            fields[key] = json_text_field(key)
        return fields or None


__all__ = ["Conflicts"]
