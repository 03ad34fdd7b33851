"""What every moto workaround shares: the mark on what it patched, and the error it raises when
the installed moto is not the one it was written for."""

from __future__ import annotations

from typing import Final

import moto

# Set on every function or class a workaround installed, so that apply and revert are idempotent.
MARK: Final = "_ndjson_parquet_fix"


class MotoShapeError(RuntimeError):
    """The installed moto is not shaped as these workarounds expect."""

    def __init__(self, what: str) -> None:
        super().__init__(
            f"moto {moto.__version__}: {what}. The workarounds in ndjson_parquet.cli.emulator "
            "were written for moto 5.1-5.2.5; review them against this version."
        )
