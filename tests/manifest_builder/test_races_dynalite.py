"""Worker processes racing on a DynamoDB whose conditional writes are atomic (dynalite).

Eight workers consume one event queue (SQS on a moto server, with duplicate events) the way
the Lambda does. Right after each step of the protocol, once, the first worker to get there
stops itself (SIGSTOP) and is resumed only after its lease ran out and others took over, and,
once, the first worker to get there dies (SIGKILL); SQS then delivers its messages again to
another worker. A scheduled flush runs meanwhile. In the end every file is in exactly one
manifest, the documents readers can list are exactly those of the manifests, and every
manifest has exactly one execution."""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import random
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from ndjson_parquet.common.keys import table_definition
from ndjson_parquet.manifest_builder.builder import ManifestBuilder
from ndjson_parquet.manifest_builder.settings import Settings
from ndjson_parquet.manifest_builder.store import from_dynamo
from tests.manifest_builder.dynalite import REPO_ROOT, Dynalite, dynalite_command
from tests.manifest_builder.harness import INPUT_BUCKET, MANIFEST_BUCKET, TABLE, s3_body, s3_record
from tests.manifest_builder.race_worker import Target, WorkerConfig, run

WORKERS = 8
MAX_FILES = 2_000
BACKLOG = 20  # events waiting in the queue while targets are left to fire
TICK_SECONDS = 0.05
DAYS = ("2024-03-05", "2024-03-06", "2024-03-07")
LEASE_SECONDS = 1
PAUSE_SECONDS = 1.5  # past the lease: another holder can take over meanwhile
VISIBILITY_SECONDS = 2  # a killed worker's messages come back after this
DEADLINE_SECONDS = 120
# Every step a worker can stop or die after.
STEPS = (
    "register",
    "count",
    "lease",
    "stage",
    "journal",
    "flip",
    "publish",
    "item",
    "settle",
    "discard",
    "start",
    "record_start",
    "release",
)


@pytest.fixture(scope="module")
def dynalite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dynalite]:
    server = Dynalite(dynalite_command(), tmp_path_factory.mktemp("dynalite"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def _clients(moto_url: str, dynalite_url: str) -> dict[str, Any]:
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    return {
        "dynamodb": session.client("dynamodb", endpoint_url=dynalite_url),
        **{name: session.client(name, endpoint_url=moto_url) for name in ("s3", "sqs")},
        "stepfunctions": session.client("stepfunctions", endpoint_url=moto_url),
    }


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "X"


@pytest.mark.slow
def test_paused_and_killed_workers_leave_each_file_in_one_manifest(
    dynalite: Dynalite, moto_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not Path("/proc/self/stat").exists():
        pytest.skip("needs /proc to see which workers are stopped")
    # The fork server imports the workers' module by name (pytest imports tests without it).
    monkeypatch.syspath_prepend(str(REPO_ROOT))
    clients = _clients(moto_url, dynalite.url)
    clients["dynamodb"].create_table(**table_definition(TABLE))  # no TTL: dynalite lacks it
    for bucket in (INPUT_BUCKET, MANIFEST_BUCKET):
        clients["s3"].create_bucket(Bucket=bucket)
    queue_url = clients["sqs"].create_queue(QueueName="events")["QueueUrl"]
    state_machine = clients["stepfunctions"].create_state_machine(
        name="processor",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn="arn:aws:iam::123456789012:role/processor",
    )["stateMachineArn"]
    settings = Settings(
        table_name=TABLE,
        manifest_bucket=MANIFEST_BUCKET,
        step_function_arn=state_machine,
        max_files=8,
        max_bytes=10**9,
        max_wait_seconds=1,
        lock_ttl_seconds=LEASE_SECONDS,
        # This race is about cuts; the trivial state machine gives no slot back, so every
        # manifest gets a slot of its own (admission has its own tests in test_admission.py).
        max_concurrent_runs=10_000,
    )

    rng = random.Random(9)
    fired_log = tmp_path / "fired.log"
    fired_log.touch()
    context = multiprocessing.get_context("forkserver")
    # Imported once by the fork server, not by every worker.
    context.set_forkserver_preload(["tests.manifest_builder.race_worker"])
    targets_dir = tmp_path / "targets"
    targets_dir.mkdir()
    plan = [Target(action, step) for action in ("pause", "kill") for step in STEPS]
    for target in plan:
        (targets_dir / target.name).touch()
    sending_done = context.Event()
    config = WorkerConfig(
        moto_url=moto_url,
        dynalite_url=dynalite.url,
        queue_url=queue_url,
        settings=settings,
        targets_dir=str(targets_dir),
        fired_log=str(fired_log),
        visibility_seconds=VISIBILITY_SECONDS,
    )

    def spawn() -> multiprocessing.process.BaseProcess:
        process = context.Process(target=run, args=(config, sending_done), daemon=True)
        process.start()
        return process

    # The scheduled flush runs meanwhile (it finishes journals; workers cut most manifests). It
    # starts no execution (the final one does): moto's StartExecution checks the name and then
    # appends without a lock, so two concurrent starts of one name can make two executions,
    # where Step Functions makes one.
    flush = ManifestBuilder(
        Settings(**{**_fields(settings), "step_function_arn": "", "max_wait_seconds": 5}),
        session=_session(moto_url, dynalite.url),
    )
    sent: list[str] = []
    workers = [spawn() for _ in range(WORKERS)]
    stopped_since: dict[int, float] = {}
    deadline = time.monotonic() + DEADLINE_SECONDS
    next_flush = time.monotonic()
    try:
        while any(w.is_alive() for w in workers):
            assert time.monotonic() < deadline, "the workers did not drain the queue in time"
            dynalite.ensure_running()
            # New files keep landing until every target has fired (or enough were sent).
            fired = len(fired_log.read_text().splitlines())
            if fired < len(plan) and len(sent) < MAX_FILES:
                if _backlog(clients["sqs"], queue_url) < BACKLOG:
                    sent += _send(clients["sqs"], queue_url, rng, len(sent), BACKLOG)
            else:
                sending_done.set()
            for worker in list(workers):
                pid = worker.pid or 0
                if worker.exitcode == -signal.SIGKILL:
                    workers.remove(worker)
                    workers.append(spawn())
                elif _state(pid) == "T":
                    since = stopped_since.setdefault(pid, time.monotonic())
                    if time.monotonic() - since > PAUSE_SECONDS:
                        del stopped_since[pid]
                        worker_continue(pid)
            if time.monotonic() >= next_flush:
                flush.flush()
                next_flush = time.monotonic() + 1
            time.sleep(TICK_SECONDS)
    finally:
        sending_done.set()
        for worker in workers:
            if worker.is_alive():
                worker_continue(worker.pid or 0)
                worker.kill()

    assert [w.exitcode for w in workers if w.exitcode not in (0, -signal.SIGKILL)] == []
    # Files whose workers died before counting them are cut by age; then start the rest.
    time.sleep(LEASE_SECONDS + 0.5)
    final = ManifestBuilder(settings, session=_session(moto_url, dynalite.url)).flush()
    assert final["start_failures"] == 0

    print(
        f"{len(sent)} files, {len(fired_log.read_text().splitlines())} pauses and kills, "
        f"dynalite restarts: {dynalite.restarts}, final flush: {final}"
    )
    problems = _check(clients, state_machine, set(sent))
    assert problems == [], "\n".join(problems)
    assert sorted(fired_log.read_text().splitlines()) == sorted(t.name for t in plan)


def _backlog(sqs: Any, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def _send(sqs: Any, queue_url: str, rng: random.Random, first: int, count: int) -> list[str]:
    """Events for `count` new files, some of them twice (S3 and SQS deliver at least once)."""
    keys = [f"{rng.choice(DAYS)}/part-{i:04}.ndjson" for i in range(first, first + count)]
    bodies = [s3_body(s3_record(key, 10, etag=f"etag-{key}")) for key in keys]
    bodies += [b for b in bodies if rng.random() < 0.1]
    for start in range(0, len(bodies), 10):
        sqs.send_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies[start:][:10])],
        )
    return keys


def worker_continue(pid: int) -> None:
    if pid:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)


def _fields(settings: Settings) -> dict[str, Any]:
    return {name: getattr(settings, name) for name in Settings.__dataclass_fields__}


class _session:
    """A boto3 session whose clients use the moto server, DynamoDB on dynalite."""

    def __init__(self, moto_url: str, dynalite_url: str) -> None:
        self._urls = (moto_url, dynalite_url)

    def client(self, service: str, **kwargs: Any) -> Any:
        url = self._urls[1] if service == "dynamodb" else self._urls[0]
        return boto3.client(
            service,
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            **kwargs,
        )


def _scan(dynamodb: Any, prefix: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=TABLE):
        found += [from_dynamo(i) for i in page["Items"] if i["pk"]["S"].startswith(prefix)]
    return found


def _check(clients: dict[str, Any], state_machine: str, keys: set[str]) -> list[str]:
    problems: list[str] = []
    s3 = clients["s3"]
    manifests = _scan(clients["dynamodb"], "MANIFEST#")
    ids = {m["manifest_id"] for m in manifests}
    listed: Counter[str] = Counter()
    for manifest in manifests:
        key = manifest["manifest_path"].removeprefix(f"s3://{MANIFEST_BUCKET}/")
        document = json.loads(s3.get_object(Bucket=MANIFEST_BUCKET, Key=key)["Body"].read())
        listed.update(f["key"] for f in document["files"])
    if set(listed) != keys:
        problems.append(f"files in no manifest: {sorted(keys - set(listed))[:5]}")
    if twice := sorted(k for k, n in listed.items() if n > 1):
        problems.append(f"files in two manifests: {twice[:5]}")
    for item in _scan(clients["dynamodb"], "FILE#"):
        if item["status"] != "manifested" or item.get("manifest_id") not in ids:
            problems.append(f"{item['key']} is {item['status']} in {item.get('manifest_id')}")
    published = [
        o["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=MANIFEST_BUCKET)
        for o in page.get("Contents", [])
        if "/dt=" in o["Key"]
    ]
    paths = {m["manifest_path"].removeprefix(f"s3://{MANIFEST_BUCKET}/") for m in manifests}
    if orphans := sorted(set(published) - paths):
        problems.append(f"documents of no manifest: {orphans}")
    names = Counter(
        e["name"]
        for page in clients["stepfunctions"]
        .get_paginator("list_executions")
        .paginate(stateMachineArn=state_machine)
        for e in page["executions"]
    )
    if set(names) != ids or any(n > 1 for n in names.values()):
        problems.append(f"executions {sorted(names.items())} for manifests {sorted(ids)}")
    for batch in _scan(clients["dynamodb"], "BATCH#"):
        if "inflight_manifest_id" in batch:
            problems.append(f"journal left: {batch}")
    return problems
