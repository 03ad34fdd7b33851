"""What DynamoDB bills for each request: write and read units of the table and of each index.

Neither moto nor dynalite reports the units a global secondary index consumes (dynalite's
`ReturnConsumedCapacity=INDEXES` answer has the table's units only, and none for index
writes), so the meter counts them from the requests, reading the item before and after each
write, by the rules of the Amazon DynamoDB Developer Guide ("Read/write capacity mode",
"Item sizes", and "Global secondary indexes: provisioned throughput considerations"):

- An item's size is the sum of its attribute names' and values' sizes. A write costs 1 unit
  per started KB of the larger of the item before and after it (at least 1); a conditional
  write whose condition fails costs the same.
- An item is in an index when it has both of the index's key attributes; its index entry is
  the index keys, the table keys and the projected attributes. A write that adds an entry
  costs 1 unit per started KB of the entry; one that removes an entry, the old entry's size;
  one that changes an index key value, both (a delete and a put); one that changes a
  projected attribute, the new entry's size; one that changes nothing the index projects,
  nothing.
- A strongly consistent read costs 1 unit per started 4 KB, an eventually consistent one
  half; a Query adds up the sizes of the entries it returns before rounding.
"""

from __future__ import annotations

import math
import threading
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

TABLE = "table"
WRITE_OPERATIONS = {"PutItem", "UpdateItem", "DeleteItem"}
READ_OPERATIONS = {"GetItem", "Query"}
RawItem = Mapping[str, Any]


def attribute_bytes(value: Mapping[str, Any]) -> int:
    """DynamoDB's size of one attribute value (its documented rules, numbers approximated)."""
    kind, inner = next(iter(value.items()))
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        return len(inner.lstrip("-").replace(".", "")) // 2 + 2
    if kind == "L":
        return 3 + sum(1 + attribute_bytes(v) for v in inner)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + attribute_bytes(v) for k, v in inner.items())
    return 1


def item_bytes(item: RawItem) -> int:
    return sum(len(name.encode()) + attribute_bytes(value) for name, value in item.items())


def write_units(size: int) -> int:
    return max(1, math.ceil(size / 1024))


@dataclass(frozen=True, slots=True)
class Index:
    """One global secondary index as the table definition declares it."""

    name: str
    keys: tuple[str, str]
    table_keys: tuple[str, str]
    projected: frozenset[str] | None  # None: ALL

    @classmethod
    def of(cls, table: Mapping[str, Any]) -> list[Index]:
        table_keys = tuple(k["AttributeName"] for k in table["KeySchema"])
        indexes = []
        for gsi in table.get("GlobalSecondaryIndexes", []):
            projection = gsi["Projection"]
            kind = projection["ProjectionType"]
            projected = (
                None
                if kind == "ALL"
                else frozenset(projection.get("NonKeyAttributes", []) if kind == "INCLUDE" else ())
            )
            keys = tuple(k["AttributeName"] for k in gsi["KeySchema"])
            indexes.append(cls(gsi["IndexName"], (keys[0], keys[1]), table_keys, projected))
        return indexes

    def entry(self, item: RawItem | None) -> dict[str, Any] | None:
        """The item's entry in this index, or None if it is not in it."""
        if not item or any(k not in item for k in self.keys):
            return None
        if self.projected is None:
            return dict(item)
        wanted = self.projected | set(self.keys) | set(self.table_keys)
        return {k: v for k, v in item.items() if k in wanted}

    def write_units(self, old: RawItem | None, new: RawItem | None) -> int:
        before, after = self.entry(old), self.entry(new)
        if before is None and after is None:
            return 0
        if before is None:
            return write_units(item_bytes(after or {}))
        if after is None:
            return write_units(item_bytes(before))
        if any(before[k] != after[k] for k in self.keys):
            return write_units(item_bytes(before)) + write_units(item_bytes(after))
        return write_units(item_bytes(after)) if before != after else 0


@dataclass
class Units:
    """Requests and units by table or index name."""

    requests: Counter[str] = field(default_factory=Counter)
    write: Counter[str] = field(default_factory=Counter)
    read: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))

    def total_write(self) -> int:
        return sum(self.write.values())

    def total_read(self) -> float:
        return sum(self.read.values())


class CapacityMeter:
    """Counts the units of every request a boto3 DynamoDB client makes (attach, then run).

    `observer` is another client of the same table, without the meter, used to read each
    written item before and after the write. Only single-item writes are metered; the
    pipeline makes no others.
    """

    def __init__(self, observer: Any, table: Mapping[str, Any]) -> None:
        self._observer = observer
        self._table_name = str(table["TableName"])
        self._key_names = [k["AttributeName"] for k in table["KeySchema"]]
        self._indexes = {i.name: i for i in Index.of(table)}
        self._local = threading.local()
        self._lock = threading.Lock()
        self.units = Units()

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-parameter-build.dynamodb", self._before)
        client.meta.events.register("after-call.dynamodb", self._after)

    def _current(self, key: RawItem) -> dict[str, Any] | None:
        response = self._observer.get_item(
            TableName=self._table_name, Key=dict(key), ConsistentRead=True
        )
        item: dict[str, Any] | None = response.get("Item")
        return item

    def _before(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        key = None
        if model.name in WRITE_OPERATIONS:
            source = params.get("Key") or params.get("Item") or {}
            key = {k: source[k] for k in self._key_names}
        self._local.pending = (model.name, params, key, self._current(key) if key else None)

    def _after(self, model: Any, parsed: dict[str, Any], **_: Any) -> None:
        name, params, key, old = self._local.pending
        if name != model.name:
            return
        failed = "Error" in parsed
        with self._lock:
            self.units.requests[name] += 1
        if key is not None:
            new = old if failed else self._current(key)
            attempted = params.get("Item") if name == "PutItem" else None
            size = max(item_bytes(old or {}), item_bytes(new or {}), item_bytes(attempted or {}))
            with self._lock:
                self.units.write[TABLE] += write_units(size)
                for index in self._indexes.values():
                    self.units.write[index.name] += index.write_units(old, new)
        elif name in READ_OPERATIONS and not failed:
            self._read(name, params, parsed)

    def _read(self, name: str, params: dict[str, Any], parsed: dict[str, Any]) -> None:
        if name == "GetItem":
            entries = [parsed["Item"]] if "Item" in parsed else []
        else:
            entries = parsed.get("Items", [])
        size = sum(item_bytes(e) for e in entries)
        units = max(1, math.ceil(size / 4096)) * (1.0 if params.get("ConsistentRead") else 0.5)
        with self._lock:
            self.units.read[params.get("IndexName") or TABLE] += units
