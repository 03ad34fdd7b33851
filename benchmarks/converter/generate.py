"""A seeded generator of realistic event NDJSON, with drift between files.

Events have about 25 top-level fields: nested objects, arrays of scalars and of objects, nulls
and optional fields. Later files drift the way real producers do: a key that first appears in a
later file, an integer field that starts carrying fractions, a field that changes type, and
integers beyond 2^53.

The ground truth is the generator itself: `events(seed, file_index, count)` recreates exactly
the events of a file, so a checker can compare any tool's output with it.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

EVENT_TYPES = ["page_view", "click", "purchase", "signup", "search", "logout", "add_to_cart"]
COUNTRIES = ["DE", "FR", "US", "BR", "JP", "IN", "NG", "GB", "ES", "CA"]
BROWSERS = ["firefox", "chrome", "safari", "edge"]
WORDS = [
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "zeta",
    "eta",
    "theta",
    "iota",
    "kappa",
    "lambda",
    "mu",
    "nu",
    "xi",
]
EPOCH = datetime(2024, 3, 1, tzinfo=UTC)

# Keys every tool must keep: a key missing from a tool's output was dropped.
TOP_LEVEL_KEYS = [
    "event_id", "event_type", "ts", "received_at", "user_id", "session_id", "user", "device",
    "page", "referrer", "utm", "properties", "tags", "items", "amount", "currency", "quantity",
    "score", "is_test", "latency_ms", "ip", "locale", "experiment", "retries", "trace_id",
    "big_counter",
]  # fmt: skip


def _event(
    rng: random.Random, file_index: int, files: int, n: int, drift: bool = True
) -> dict[str, Any]:
    late = drift and file_index >= files // 2  # the second half of the files drifts
    ts = EPOCH + timedelta(seconds=file_index * 86400 // max(files, 1) + n)
    ev: dict[str, Any] = {
        "event_id": f"{file_index:04d}-{n:09d}",
        "event_type": rng.choice(EVENT_TYPES),
        "ts": ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{rng.randrange(1000):03d}Z",
        "received_at": (ts + timedelta(milliseconds=rng.randrange(5000))).isoformat(),
        "user_id": rng.randrange(1, 5_000_000),
        "session_id": f"s-{rng.getrandbits(64):016x}",
        "user": {
            "id": rng.randrange(1, 5_000_000),
            "name": f"{rng.choice(WORDS)} {rng.choice(WORDS)}",
            "email": None if rng.random() < 0.2 else f"u{rng.randrange(10**6)}@example.com",
            "geo": {
                "country": rng.choice(COUNTRIES),
                "city": rng.choice(WORDS).title(),
                "lat": round(rng.uniform(-90, 90), 6),
                "lon": round(rng.uniform(-180, 180), 6),
            },
        },
        "device": {
            "browser": rng.choice(BROWSERS),
            "version": rng.randrange(60, 130),
            "mobile": rng.random() < 0.4,
        },
        "page": f"/{rng.choice(WORDS)}/{rng.randrange(1000)}",
        "properties": {
            "plan": rng.choice(["free", "pro", "team"]),
            "ab": rng.random() < 0.5,
            "step": rng.randrange(10),
        },
        "tags": rng.sample(WORDS, rng.randrange(0, 4)),
        "items": [
            {
                "sku": f"SKU-{rng.randrange(10**5):05d}",
                "qty": rng.randrange(1, 5),
                "price": round(rng.uniform(1, 300), 2),
            }
            for _ in range(rng.randrange(0, 3))
        ],
        "amount": round(rng.uniform(0, 500), 2),
        "currency": rng.choice(["EUR", "USD", "JPY"]),
        "quantity": rng.randrange(1, 20),
        "is_test": rng.random() < 0.01,
        "latency_ms": rng.randrange(1, 2000),
        "ip": f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}",
        "locale": rng.choice(["de-DE", "en-US", "fr-FR", None]),
        "trace_id": f"{rng.getrandbits(128):032x}",
        "retries": None,
    }
    if rng.random() < 0.3:
        ev["referrer"] = f"https://{rng.choice(WORDS)}.example/{rng.randrange(100)}"
    if rng.random() < 0.2:
        ev["utm"] = {
            "source": rng.choice(WORDS),
            "campaign": None if rng.random() < 0.5 else rng.choice(WORDS),
        }
    # score: an integer early on, a number with fractions in the drifting files
    ev["score"] = rng.randrange(100) + (0.5 if late and rng.random() < 0.5 else 0)
    if late:
        # a key first seen in a later file
        ev["experiment"] = {"name": rng.choice(WORDS), "variant": rng.choice(["a", "b"])}
        # retries: null so far, now an integer sometimes
        ev["retries"] = rng.randrange(3) if rng.random() < 0.5 else None
        # a field that changes type: numeric id becomes text in some events
        if rng.random() < 0.1:
            ev["user_id"] = f"anon-{rng.randrange(10**6)}"
        # integers beyond 2^53 (exact only as int64, not as float64)
        ev["big_counter"] = 2**60 + rng.randrange(10**6)
    return ev


def events(
    seed: int, file_index: int, files: int, count: int, drift: bool = True
) -> Iterator[dict[str, Any]]:
    """The events of one file, identical for the same arguments."""
    rng = random.Random(seed * 1_000_003 + file_index)
    for n in range(count):
        yield _event(rng, file_index, files, n, drift)


def generate(
    out: Path, megabytes: int, files: int = 8, seed: int = 7, drift: bool = True
) -> list[tuple[Path, int]]:
    """Write `files` NDJSON files of about `megabytes` in all; returns (path, event count)."""
    out.mkdir(parents=True, exist_ok=True)
    per_file = megabytes * 1_000_000 // files
    written = []
    for i in range(files):
        path = out / f"events-{i:03d}.ndjson"
        count = 0
        size = 0
        with path.open("wb") as fh:
            buf: list[bytes] = []
            for ev in events(seed, i, files, 10**12, drift):
                line = orjson.dumps(ev) + b"\n"
                buf.append(line)
                size += len(line)
                count += 1
                if len(buf) >= 10_000:
                    fh.write(b"".join(buf))
                    buf.clear()
                if size >= per_file:
                    break
            fh.write(b"".join(buf))
        written.append((path, count))
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--mb", type=int, default=512)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-drift", action="store_true", help="every file like the first ones")
    args = parser.parse_args(argv)
    for path, count in generate(args.out, args.mb, args.files, args.seed, not args.no_drift):
        print(f"{path}\t{count} events\t{path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
