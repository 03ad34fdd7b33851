"""The run's schema as pieces are added in line order: each piece's schema unified into it,
the drift each change causes (reported once, at the line that made it), and the schema parts
are written with (the schema as it would be final now, widened by what the sample expects)."""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa

from ndjson_parquet.converter.drift_lines import locate
from ndjson_parquet.converter.field_markers import same_schema
from ndjson_parquet.converter.parsed import Piece
from ndjson_parquet.converter.schema import Drift, Origin, finalize_schema, unify_into


class RunningSchema:
    """The schema so far (`schema`), the one to write with (`final`) and the drift so far."""

    def __init__(
        self, declared: pa.Schema | None, expected: Callable[[], pa.Schema | None]
    ) -> None:
        self.schema: pa.Schema | None = declared
        self.final: pa.Schema | None = None
        self.drift: list[Drift] = []
        self._expected = expected
        self._drift_seen: set[tuple[str, str, str, str]] = set()
        self._final_for: pa.Schema | None = None
        self._absorbed: bytes | None = None

    def add_drift(self, entries: list[Drift]) -> None:
        """Record drift entries, each change once (the first line that made it)."""
        for d in entries:
            key = (d.column, d.from_type, d.to_type, d.resolution)
            if key not in self._drift_seen:
                self._drift_seen.add(key)
                self.drift.append(d)

    def absorb(self, location: str, piece: Piece) -> None:
        """Unify a piece's schema into the run's, recording drift where the piece caused it."""
        # Most pieces have the schema of the one before: unifying it again changes nothing.
        # (Serialized, so that nested field metadata, which Arrow's equality ignores, counts.)
        key = piece.schema.serialize().to_pybytes()
        if key == self._absorbed and self.schema is not None:
            return
        self._absorbed = key
        first = self.schema is None
        origin = Origin(location, int(piece.lines[0]))
        schema, drift = unify_into(self.schema, piece.schema, origin, record_additions=not first)
        if drift:
            self.add_drift([locate(d, piece) for d in drift])
        if (
            self.schema is None
            or not schema.equals(self.schema)
            or not same_schema(schema, self.schema)
        ):
            self.schema = schema
        if schema is not self._final_for or self.final is None:
            # Parts are written with the schema as it would be final now, widened by what the
            # sample expects, so that in the common case no part needs rewriting.
            target = schema
            expected = self._expected()
            if expected is not None:
                target, _ = unify_into(schema, expected, origin, record_additions=False)
            self.final, _ = finalize_schema(target)
            self._final_for = schema


__all__ = ["RunningSchema"]
