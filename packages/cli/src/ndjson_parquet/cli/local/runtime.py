"""The whole pipeline on the emulator: deploy, feed, pump the event sources, observe.

Python API used by `ndjson-parquet local run`, the end-to-end tests and the benchmark:

    with Emulator() as emulator:
        pipeline = LocalPipeline(emulator, environment="local").deploy()
        pipeline.upload_sample(SampleSpec(files=20))
        snapshot = pipeline.run_until_idle(timeout=60)

`deploy(outputs)` with the outputs of `terraform apply` (see `terraform.py`) runs on what the
Terraform built instead of creating resources. The Lambda functions run in-process, invoked as
their triggers would invoke them (`functions.py`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ndjson_parquet.cli.aws import AwsTarget
from ndjson_parquet.cli.local.functions import LocalFunctions
from ndjson_parquet.cli.local.glue_runner import FaultPlan, GlueJobRunner
from ndjson_parquet.cli.local.poller import EventSourceMapping
from ndjson_parquet.cli.local.resources import (
    Deployment,
    LocalSettings,
    converter_arguments,
    create_deployment,
)
from ndjson_parquet.cli.local.sample import SampleInfo, SampleSpec, generate
from ndjson_parquet.cli.local.server import Emulator
from ndjson_parquet.cli.local.state import Alert, Snapshot, read_alerts, take_snapshot
from ndjson_parquet.cli.local.terraform_deployment import read_deployment, remove_local_additions
from ndjson_parquet.common import ResourceNames

log = logging.getLogger(__name__)

TERMINAL_MANIFEST = frozenset({"completed", "failed"})


@dataclass
class Milestones:
    """Wall-clock marks (time.monotonic) of one run, for the stage breakdown."""

    started: float = field(default_factory=time.monotonic)
    upload_started: float | None = None
    upload_finished: float | None = None
    all_registered: float | None = None
    all_manifested: float | None = None
    first_execution: float | None = None
    all_ended: float | None = None
    # The most manifests seen waiting for a conversion slot at once.
    peak_queued: int = 0


@dataclass
class UploadStats:
    files: int = 0
    bytes: int = 0
    keys: list[str] = field(default_factory=list)


class LocalPipeline:
    """One deployment (environment) on an emulator, with its event sources pumped in-process."""

    def __init__(
        self,
        emulator: Emulator,
        environment: str = "local",
        settings: LocalSettings | None = None,
        faults: FaultPlan | None = None,
        flush_interval: float = 1.0,
    ) -> None:
        self.emulator = emulator
        self.names = ResourceNames(environment)
        self.settings = settings or LocalSettings()
        self.runner = GlueJobRunner(faults)
        self.flush_interval = flush_interval
        self.aws = AwsTarget(endpoint_url=emulator.endpoint_url, region=emulator.region)
        self.milestones = Milestones()
        self.functions = LocalFunctions(emulator, self.names, lambda: self.deployment)
        self.upload = UploadStats()
        self.sample: SampleInfo | None = None
        self.alerts: list[Alert] = []
        self._deployment: Deployment | None = None
        self._mapping: EventSourceMapping | None = None
        self._clients: dict[str, Any] = {}
        self._last_flush = 0.0
        self._executions_ended = 0
        self._executions_ended_notified = 0
        self._uploading = 0
        self._upload_lock = threading.Lock()

    # -- setup ------------------------------------------------------------------------------

    @property
    def deployment(self) -> Deployment:
        if self._deployment is None:
            raise RuntimeError("deploy() first")
        return self._deployment

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.aws.client(service)
        return self._clients[service]

    def deploy(self, outputs: dict[str, Any] | None = None) -> LocalPipeline:
        """Create the resources (or read those of `terraform apply`'s `outputs`), and hook the
        Glue job to the real converter."""
        from ndjson_parquet.manifest_builder import handler

        if outputs is None:
            self._deployment = create_deployment(self.aws, self.names, self.settings)
        else:
            self._deployment = read_deployment(self.aws, self.names, outputs)
        # The handler reads its settings from the environment (set per invocation below), not
        # from a builder some earlier caller injected into this process.
        handler.use_builder(None)
        self.emulator.register_glue_job(self.names.glue_job, self.runner)
        self.runner.lambda_arguments = converter_arguments(self.names, self.settings)
        self.emulator.register_lambda_function(
            self.names.converter_function, self.runner.invoke_lambda
        )
        self._mapping = EventSourceMapping(
            sqs=self.client("sqs"),
            queue_url=self.deployment.queue_url,
            queue_arn=self.deployment.queue_arn,
            handler=self.functions.invoke_builder,
            function_name=self.names.manifest_builder_function,
            region=self.deployment.region,
            batch_size=self.deployment.batch_size,
            batching_window_seconds=self.deployment.batching_window_seconds,
        )
        if self.deployment.flush_interval_seconds is not None:
            self.flush_interval = self.deployment.flush_interval_seconds
        return self

    @property
    def mapping(self) -> EventSourceMapping:
        if self._mapping is None:
            raise RuntimeError("deploy() first")
        return self._mapping

    # -- input ------------------------------------------------------------------------------

    def upload_sample(self, spec: SampleSpec, workers: int = 8) -> SampleInfo:
        """Generate the seeded sample and upload it to the input bucket."""
        info = SampleInfo()
        self.sample = info
        self.upload_objects(((f.key, f.body) for f in generate(spec, info)), workers=workers)
        return info

    def upload_directory(self, directory: Path, workers: int = 8) -> UploadStats:
        """Upload every file below `directory`, keyed by its relative path."""
        paths = sorted(p for p in directory.rglob("*") if p.is_file())
        return self.upload_objects(
            ((p.relative_to(directory).as_posix(), p.read_bytes()) for p in paths), workers=workers
        )

    def upload_objects(self, objects: Iterable[tuple[str, bytes]], workers: int = 8) -> UploadStats:
        """Put objects into the input bucket; each put makes S3 notify the queue."""
        s3 = self.client("s3")
        bucket = self.names.input_bucket
        with self._upload_lock:
            self._uploading += 1
            if self.milestones.upload_started is None:
                self.milestones.upload_started = time.monotonic()

        def put(item: tuple[str, bytes]) -> tuple[str, int]:
            key, body = item
            s3.put_object(Bucket=bucket, Key=key, Body=body)
            return key, len(body)

        try:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                # Bounded: at most a few bodies in memory while generating large samples.
                pending: list[Any] = []
                for item in objects:
                    pending.append(pool.submit(put, item))
                    if len(pending) >= workers * 2:
                        self._account(pending.pop(0).result())
                for future in pending:
                    self._account(future.result())
        finally:
            with self._upload_lock:
                self._uploading -= 1
                self.milestones.upload_finished = time.monotonic()
        return self.upload

    def start_upload(
        self, spec: SampleSpec | None = None, directory: Path | None = None
    ) -> threading.Thread:
        """Upload in the background, so that progress shows while files land."""
        with self._upload_lock:
            self._uploading += 1  # counted before the thread starts: the run is not idle yet

        def work() -> None:
            try:
                if directory is not None:
                    self.upload_directory(directory)
                else:
                    self.upload_sample(spec or SampleSpec())
            except Exception:
                log.exception("upload failed")
            finally:
                with self._upload_lock:
                    self._uploading -= 1

        thread = threading.Thread(target=work, name="upload", daemon=True)
        thread.start()
        return thread

    def _account(self, result: tuple[str, int]) -> None:
        key, size = result
        self.upload.files += 1
        self.upload.bytes += size
        self.upload.keys.append(key)

    def replay_delivered(self) -> int:
        """Send every S3 notification delivered so far again (SQS is at-least-once)."""
        sqs = self.client("sqs")
        bodies = list(self.mapping.stats.delivered_bodies)
        for body in bodies:
            sqs.send_message(QueueUrl=self.deployment.queue_url, MessageBody=body)
        return len(bodies)

    # -- the event sources ------------------------------------------------------------------

    def flush(self) -> Any:
        """One run of the scheduled flush function."""
        return self.functions.flush()

    def execution_status_changed(self) -> Any:
        """What the EventBridge rule on the state machine's status changes does."""
        return self.functions.execution_status_changed()

    @property
    def flushes(self) -> int:
        return self.functions.flushes

    @property
    def flush_errors(self) -> int:
        return self.functions.flush_errors

    @property
    def status_change_invocations(self) -> int:
        return self.functions.status_change_invocations

    @property
    def environments_applied(self) -> dict[str, dict[str, str]]:
        """Function name -> the environment the runtime set for its last invocation."""
        return self.functions.environments_applied

    def pump(self) -> int:
        """Drain the queue through the handler, and run the flush when it is due."""
        handled = self.mapping.drain()
        if self._executions_ended > self._executions_ended_notified:
            self._executions_ended_notified = self._executions_ended
            self.execution_status_changed()
        now = time.monotonic()
        if now - self._last_flush >= self.flush_interval:
            self._last_flush = now
            self.flush()
        return handled

    # -- observation ------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        d = self.deployment
        snapshot = take_snapshot(
            self.client("dynamodb"),
            self.client("sqs"),
            self.client("stepfunctions"),
            d.table,
            d.queue_url,
            d.dlq_url,
            d.state_machine_arn,
        )
        self.alerts.extend(read_alerts(self.client("sqs"), d.alerts_queue_url))
        self._mark(snapshot)
        return snapshot

    def _mark(self, snapshot: Snapshot) -> None:
        m = self.milestones
        now = time.monotonic()
        self._executions_ended = sum(
            n for status, n in snapshot.executions.items() if status != "RUNNING"
        )
        m.peak_queued = max(m.peak_queued, snapshot.manifests.get("queued", 0))
        uploading = self._uploading > 0
        if (
            not uploading
            and m.all_registered is None
            and snapshot.queue_visible + snapshot.queue_in_flight == 0
        ):
            m.all_registered = now
        if m.all_registered is not None and m.all_manifested is None and not snapshot.files_pending:
            m.all_manifested = now
        if m.first_execution is None and snapshot.executions.total():
            m.first_execution = now
        if m.all_manifested is not None and self.is_idle(snapshot):
            m.all_ended = m.all_ended or now
        else:
            m.all_ended = None

    def is_idle(self, snapshot: Snapshot) -> bool:
        """Nothing left to do: input registered and manifested, every execution ended."""
        manifests_open = sum(
            count for status, count in snapshot.manifests.items() if status not in TERMINAL_MANIFEST
        )
        return (
            self._uploading == 0
            and snapshot.queue_visible + snapshot.queue_in_flight == 0
            and snapshot.files_pending == 0
            and manifests_open == 0
            and snapshot.executions_running == 0
            and self.runner.active == 0
        )

    def run_until_idle(
        self,
        timeout: float = 120.0,
        tick: float = 0.25,
        on_tick: Callable[[Snapshot], None] | None = None,
    ) -> Snapshot:
        """Pump until the pipeline is idle twice in a row, or raise TimeoutError."""
        deadline = time.monotonic() + timeout
        idle_ticks = 0
        while True:
            self.pump()
            snapshot = self.snapshot()
            if on_tick:
                on_tick(snapshot)
            idle_ticks = idle_ticks + 1 if self.is_idle(snapshot) else 0
            if idle_ticks >= 2:
                return snapshot
            if time.monotonic() > deadline:
                raise PipelineTimeout(snapshot, timeout)
            time.sleep(tick)

    # -- results ----------------------------------------------------------------------------

    def download(self, bucket: str, destination: Path, suffix: str = "") -> list[Path]:
        """Copy a bucket's objects to a local folder (keys become relative paths)."""
        s3 = self.client("s3")
        written: list[Path] = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                key = obj["Key"]
                if suffix and not key.endswith(suffix):
                    continue
                target = destination / key
                target.parent.mkdir(parents=True, exist_ok=True)
                s3.download_file(bucket, key, str(target))
                written.append(target)
        return written

    def list_objects(self, bucket: str) -> list[dict[str, Any]]:
        s3 = self.client("s3")
        objects: list[dict[str, Any]] = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            objects.extend(page.get("Contents", []))
        return objects

    def executions(self) -> list[dict[str, Any]]:
        sfn = self.client("stepfunctions")
        found: list[dict[str, Any]] = []
        for page in sfn.get_paginator("list_executions").paginate(
            stateMachineArn=self.deployment.state_machine_arn
        ):
            found.extend(page.get("executions", []))
        return found

    def close(self) -> None:
        """Detach from the emulator; remove what the runtime added to a Terraform deployment."""
        self.emulator.unregister_glue_job(self.names.glue_job)
        if self._deployment is not None and self._deployment.local_queues:
            remove_local_additions(self.aws, self._deployment)
            self._deployment = replace(self._deployment, local_queues=())
        self.emulator.unregister_lambda_function(self.names.converter_function)


class PipelineTimeout(TimeoutError):
    """The pipeline did not become idle in time; carries the last snapshot."""

    def __init__(self, snapshot: Snapshot, timeout: float) -> None:
        super().__init__(f"the pipeline was still busy after {timeout:.0f} s")
        self.snapshot = snapshot
