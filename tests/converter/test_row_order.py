"""Rows keep their input order, also where a chunk is read by several routes."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.converter.conftest import Run


def _lines(values: list[object]) -> bytes:
    return b"".join(json.dumps({"i": i, "v": v}).encode() + b"\n" for i, v in enumerate(values))


def test_mixed_types_and_exact_numbers_do_not_reorder_rows(run: Run) -> None:
    values: list[object] = [1, "x", 2**70, 2.5, {"k": 1}, 3, None, "y", 10**30, 4]
    summary, rows = run(_lines(values))
    assert summary.rows_written == len(values)
    assert [r["i"] for r in rows] == list(range(len(values)))
    # The column holds JSON text; each row still holds its own line's value.
    assert [json.loads(r["v"]) if r["v"] is not None else None for r in rows] == values


# `run` writes each example to a file of its own, so sharing the fixture is safe.
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.one_of(
            st.integers(min_value=-(2**80), max_value=2**80),
            st.text(max_size=5),
            st.booleans(),
            st.none(),
        ),
        min_size=2,
        max_size=60,
    )
)
def test_any_mix_of_types_keeps_input_order(run: Run, values: list[object]) -> None:
    summary, rows = run(_lines(values))
    assert summary.counts_add_up
    assert [r["i"] for r in rows] == list(range(len(values)))
