"""A seeded sample of realistic event NDJSON, spread over date prefixes, with a few bad lines."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

EVENT_TYPES = ("page_view", "click", "add_to_cart", "purchase", "signup", "search", "logout")
COUNTRIES = ("US", "DE", "FR", "BR", "IN", "JP", "GB", "NG", "CA", "AU")
PLANS = ("free", "pro", "team", None)
OSES = (("iOS", "17.4"), ("Android", "14"), ("Windows", "11"), ("macOS", "14.3"), ("Linux", "6.6"))
PAGES = ("/", "/pricing", "/docs", "/blog/launch", "/cart", "/checkout", "/search")
TAGS = ("beta", "mobile", "returning", "campaign", "newsletter", "vip")
# The kinds of bad line the pipeline must quarantine (with their file and line number).
MALFORMED_LINES = (
    '{"event_id": "truncated", "event_type": "click", "ts": "2024-03-05T10:1',
    "[1, 2, 3]",
    "not json at all",
    '{"event_id": "bad-escape", "note": "\\x"}',
)


@dataclass(frozen=True, slots=True)
class SampleFile:
    key: str
    body: bytes
    lines: int
    date_prefix: str


@dataclass
class SampleSpec:
    """What to generate: `files` files of about `total_bytes` in all, over `dates` dates."""

    files: int = 24
    total_bytes: int = 2_000_000
    dates: int = 3
    malformed: int = 2
    seed: int = 7
    start: date = date(2024, 3, 5)
    prefix: str = "events"
    # Share of files per date, uneven on purpose: some dates reach the manifest threshold,
    # others only get flushed by age.
    weights: tuple[float, ...] = field(default=(0.5, 0.33, 0.17))


@dataclass
class SampleInfo:
    """Totals of a generated sample, for the report and the tests."""

    files: int = 0
    bytes: int = 0
    lines: int = 0
    malformed: list[tuple[str, int]] = field(default_factory=list)
    per_date: dict[str, int] = field(default_factory=dict)

    @property
    def valid_lines(self) -> int:
        return self.lines - len(self.malformed)


def generate(spec: SampleSpec, info: SampleInfo | None = None) -> Iterator[SampleFile]:
    """Yield the sample's files one at a time (memory stays at one file)."""
    rng = random.Random(spec.seed)
    info = info if info is not None else SampleInfo()
    dates = [spec.start + timedelta(days=i) for i in range(max(1, spec.dates))]
    assignment = _spread(spec.files, len(dates), spec.weights)
    per_file = max(200, spec.total_bytes // max(1, spec.files))
    malformed_files = set(rng.sample(range(spec.files), min(spec.malformed, spec.files)))
    index = 0
    for day, count in zip(dates, assignment, strict=True):
        for n in range(count):
            key = f"{spec.prefix}/{day.isoformat()}/part-{n:05d}.ndjson"
            lines: list[str] = []
            size = 0
            # Drift between files: some write `amount` as integers, others as floats.
            integer_amounts = rng.random() < 0.3
            while size < per_file:
                line = json.dumps(_event(rng, day, integer_amounts), separators=(",", ":"))
                lines.append(line)
                size += len(line) + 1
            if index in malformed_files:
                bad = MALFORMED_LINES[len(info.malformed) % len(MALFORMED_LINES)]
                position = rng.randrange(len(lines) + 1)
                lines.insert(position, bad)
                info.malformed.append((key, position + 1))
            body = ("\n".join(lines) + "\n").encode()
            info.files += 1
            info.bytes += len(body)
            info.lines += len(lines)
            info.per_date[day.isoformat()] = info.per_date.get(day.isoformat(), 0) + 1
            index += 1
            yield SampleFile(key=key, body=body, lines=len(lines), date_prefix=day.isoformat())


def _spread(files: int, dates: int, weights: tuple[float, ...]) -> list[int]:
    w = [weights[i % len(weights)] for i in range(dates)]
    total = sum(w)
    counts = [int(files * x / total) for x in w]
    for i in range(files - sum(counts)):
        counts[i % dates] += 1
    return counts


def _event(rng: random.Random, day: date, integer_amounts: bool) -> dict[str, object]:
    moment = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(
        seconds=rng.randrange(86400), microseconds=rng.randrange(1000) * 1000
    )
    event_type = rng.choice(EVENT_TYPES)
    os_name, os_version = rng.choice(OSES)
    event: dict[str, object] = {
        "event_id": f"{rng.getrandbits(64):016x}",
        "event_type": event_type,
        "ts": moment.isoformat().replace("+00:00", "Z"),
        "user": {
            "id": rng.randrange(1, 50_000),
            "country": rng.choice(COUNTRIES),
            "plan": rng.choice(PLANS),
        },
        "session_id": f"s-{rng.getrandbits(40):010x}",
        "device": {
            "os": os_name,
            "os_version": os_version,
            "mobile": os_name in {"iOS", "Android"},
        },
        "page": rng.choice(PAGES),
        "referrer": rng.choice((None, "https://search.example/", "https://news.example/")),
        "latency_ms": rng.randrange(3, 2500),
        "tags": rng.sample(TAGS, rng.randrange(0, 3)),
        "is_bot": rng.random() < 0.02,
    }
    if event_type in {"add_to_cart", "purchase"}:
        items = [
            {"sku": f"SKU-{rng.randrange(1000):04d}", "qty": rng.randrange(1, 4)}
            for _ in range(rng.randrange(1, 4))
        ]
        event["items"] = items
        amount = rng.randrange(100, 50_000)
        event["amount"] = amount if integer_amounts else round(amount / 100, 2)
        event["currency"] = "USD"
    if event_type == "search":
        event["query"] = rng.choice(("parquet", "ndjson to parquet", "pricing", "日本語", "café"))
    if rng.random() < 0.1:
        event["experiment"] = {"name": "checkout-v2", "variant": rng.choice("AB")}
    return event
