"""Durations and points in time as operators type them: `90s`, `15m`, `2h`, `3d`, ISO 8601."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """`15m` → 15 minutes; a bare number is seconds. Raise ValueError otherwise."""
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([smhdw]?)", text.strip(), re.IGNORECASE)
    joined = "".join(f"{n}{u}" for n, u in parts)
    if not parts or joined.lower() != re.sub(r"\s+", "", text).lower():
        raise ValueError(f"not a duration: {text!r} (examples: 90s, 15m, 2h, 1d, 1h30m)")
    seconds = sum(float(n) * _UNITS[(u or "s").lower()] for n, u in parts)
    return timedelta(seconds=seconds)


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """A point in time: a duration ago (`2h`) or an ISO 8601 timestamp (UTC if naive)."""
    try:
        return (now or datetime.now(UTC)) - parse_duration(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not a duration or ISO 8601 time: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_timestamp(value: object) -> datetime | None:
    """A stored timestamp (ISO 8601 text or epoch seconds) as an aware datetime, else None."""
    if value is None:
        return None
    if isinstance(value, int | float | Decimal):
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except (TypeError, ValueError, OverflowError):
            return None
    text = str(value)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def format_age(delta: timedelta) -> str:
    """`3h12m` style, for tables."""
    seconds = int(delta.total_seconds())
    if seconds < 0:
        return "0s"
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    if days:
        return f"{days}d{hours}h"
    if hours:
        return f"{hours}h{minutes}m"
    if minutes:
        return f"{minutes}m{seconds}s"
    return f"{seconds}s"
