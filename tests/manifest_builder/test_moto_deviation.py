"""moto's DynamoDB conditional writes are not atomic across threads; DynamoDB's are.

moto reads the current item, evaluates the condition and writes, with no lock in between, so
two threads can both pass `attribute_not_exists(pk)` for the same key. The concurrency tests
use the `serialized_moto_dynamodb` fixture (conftest.py), the one place this is worked around.

The proof is deterministic: moto's item read is made to wait until both writers have read, the
interleaving that a thread switch at the wrong moment produces.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.models.table import Table

ROUNDS = 3
THREADS = 2


class _Rendezvous:
    """Makes both writers' condition reads happen before either writes, when they can."""

    def __init__(self) -> None:
        self.barrier = threading.Barrier(THREADS, timeout=0.5)

    def wait(self) -> None:
        # Broken when the other writer cannot get here meanwhile (requests are serialised).
        with contextlib.suppress(threading.BrokenBarrierError):
            self.barrier.wait()


@pytest.fixture
def read_rendezvous(monkeypatch: pytest.MonkeyPatch) -> _Rendezvous:
    rendezvous = _Rendezvous()
    original = Table.get_item

    def get_item(self: Table, *args: Any, **kwargs: Any) -> Any:
        found = original(self, *args, **kwargs)
        rendezvous.wait()
        return found

    monkeypatch.setattr(Table, "get_item", get_item)
    return rendezvous


def _put(client: Any, key: str, winners: list[int], i: int) -> None:
    try:
        client.put_item(
            TableName="race",
            Item={"pk": {"S": key}},
            ConditionExpression="attribute_not_exists(pk)",
        )
        winners.append(i)
    except client.exceptions.ConditionalCheckFailedException:
        pass


def winners_per_round(rendezvous: _Rendezvous) -> list[int]:
    client = boto3.client("dynamodb")
    client.create_table(
        TableName="race",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    clients = [boto3.client("dynamodb") for _ in range(THREADS)]
    counts: list[int] = []
    for n in range(ROUNDS):
        rendezvous.barrier = threading.Barrier(THREADS, timeout=0.5)
        winners: list[int] = []
        threads = [
            threading.Thread(target=_put, args=(clients[i], f"k{n}", winners, i))
            for i in range(THREADS)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        counts.append(len(winners))
    return counts


@pytest.mark.xfail(
    strict=True,
    reason="moto 5.2.5 evaluates a condition and writes without a lock; "
    "when this passes, serialized_moto_dynamodb can go",
)
def test_moto_conditional_put_is_atomic(read_rendezvous: _Rendezvous) -> None:
    with mock_aws():
        assert winners_per_round(read_rendezvous) == [1] * ROUNDS


@pytest.mark.usefixtures("serialized_moto_dynamodb")
def test_serialized_moto_conditional_put_is_atomic(read_rendezvous: _Rendezvous) -> None:
    with mock_aws():
        assert winners_per_round(read_rendezvous) == [1] * ROUNDS
