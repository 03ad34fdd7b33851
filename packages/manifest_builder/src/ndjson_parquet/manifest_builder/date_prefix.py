"""The date prefix (YYYY-MM-DD) that groups a file: from its key, else from its event time."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

# Tried in order against the key; the earliest match in the key wins.
_BUILTIN = (
    # year=2024/month=03/day=05 (Hive style)
    re.compile(r"(?:^|/)year=(?P<year>\d{4})/month=(?P<month>\d{1,2})/day=(?P<day>\d{1,2})(?:/|$)"),
    # 2024/03/05
    re.compile(r"(?:^|/)(?P<year>\d{4})/(?P<month>\d{2})/(?P<day>\d{2})(?:/|$)"),
    # 2024-03-05 or dt=2024-03-05 (any name=)
    re.compile(
        r"(?:^|/)(?:[A-Za-z_][\w-]*=)?(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})(?:/|$)"
    ),
    # 20240305 or dt=20240305
    re.compile(r"(?:^|/)(?:[A-Za-z_][\w-]*=)?(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})(?:/|$)"),
)


def _as_date(match: re.Match[str]) -> date | None:
    groups = match.groupdict()
    try:
        if groups.get("date"):
            return date.fromisoformat(groups["date"])
        return date(int(groups["year"]), int(groups["month"]), int(groups["day"]))
    except (TypeError, ValueError):
        return None


def date_from_key(key: str, pattern: re.Pattern[str] | None = None) -> date | None:
    """The date a key names: by `pattern` if given, else the first path segment(s) like a date."""
    if pattern is not None:
        match = pattern.search(key)
        return _as_date(match) if match else None
    found: list[tuple[int, date]] = []
    for candidate in _BUILTIN:
        for match in candidate.finditer(key):
            day = _as_date(match)
            if day is not None:
                found.append((match.start(), day))
                break
    return min(found)[1] if found else None


def date_prefix(key: str, event_time: datetime, pattern: re.Pattern[str] | None = None) -> str:
    """The canonical `YYYY-MM-DD` group of a file."""
    day = date_from_key(key, pattern)
    if day is None:
        day = (event_time.astimezone(UTC) if event_time.tzinfo else event_time).date()
    return day.isoformat()
