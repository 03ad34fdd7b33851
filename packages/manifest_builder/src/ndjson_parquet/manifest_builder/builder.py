"""The manifest builder's work, independent of the Lambda wiring: register, cut, queue, admit,
flush."""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

from ndjson_parquet.common.keys import (
    BATCHES_PK,
    BatchAttr,
    ManifestAttr,
    TableAttr,
    TableIndex,
    status_partition,
)
from ndjson_parquet.common.settings import Env
from ndjson_parquet.common.status import Status
from ndjson_parquet.manifest_builder.admission import Admission
from ndjson_parquet.manifest_builder.batching import CutManifest, Cutter
from ndjson_parquet.manifest_builder.clock import Clock, iso, utc_now
from ndjson_parquet.manifest_builder.date_prefix import date_prefix
from ndjson_parquet.manifest_builder.events import parse_body
from ndjson_parquet.manifest_builder.registry import Registration, add_to_batch, register
from ndjson_parquet.manifest_builder.settings import Settings
from ndjson_parquet.manifest_builder.starter import Starter
from ndjson_parquet.manifest_builder.store import Store

logger = logging.getLogger(__name__)

_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5})


@dataclass
class Counts:
    """What one invocation did (the Lambda turns these into metrics)."""

    files_registered: int = 0
    bytes_registered: int = 0
    duplicates: int = 0
    ignored: int = 0
    manifests_created: int = 0
    manifests_queued: int = 0
    manifests_started: int = 0
    start_failures: int = 0
    slots_recovered: int = 0
    cut_errors: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class _Group:
    files: int = 0
    size: int = 0


@dataclass
class Invocation:
    """Registrations of one SQS batch, summed per date prefix for one hint update each."""

    counts: Counts = field(default_factory=Counts)
    groups: dict[str, _Group] = field(default_factory=lambda: defaultdict(_Group))


class ManifestBuilder:
    """Owns the clients and settings; one per Lambda container."""

    def __init__(
        self, settings: Settings, *, clock: Clock = utc_now, session: Any | None = None
    ) -> None:
        session = session or boto3.session.Session()
        self.settings = settings
        self.endpoint = os.environ.get(Env.AWS_ENDPOINT_URL, "")
        self.clock = clock
        self.store = Store(session.client("dynamodb", config=_CLIENT_CONFIG), settings.table_name)
        self.s3 = session.client("s3", config=_CLIENT_CONFIG)
        self.sfn = session.client("stepfunctions", config=_CLIENT_CONFIG)
        self.cutter = Cutter(self.store, self.s3, settings, clock)
        self.starter = Starter(self.store, self.sfn, settings.step_function_arn, clock)
        self.admission = Admission(
            self.store,
            self.sfn,
            self.starter,
            settings.step_function_arn,
            settings.max_concurrent_runs,
            clock,
        )

    # --- the SQS handler's steps --------------------------------------------------------

    def register_body(self, body: str, invocation: Invocation) -> None:
        """Register the objects of one message; raises BadMessage for an unreadable body."""
        parsed = parse_body(body)
        for reason in parsed.ignored:
            logger.info("ignored: %s", reason)
            invocation.counts.ignored += 1
        for obj in parsed.created:
            if not self.settings.wants(obj.key):
                logger.info(
                    "ignored s3://%s/%s: outside the input prefix/suffixes", obj.bucket, obj.key
                )
                invocation.counts.ignored += 1
                continue
            prefix = date_prefix(obj.key, obj.event_time, self.settings.date_prefix_pattern)
            outcome = register(self.store, obj, prefix, iso(self.clock()))
            group = invocation.groups[prefix]
            if outcome is Registration.NEW:
                invocation.counts.files_registered += 1
                invocation.counts.bytes_registered += obj.size
                group.files += 1
                group.size += obj.size
            else:
                logger.info(
                    "duplicate event for s3://%s/%s (etag %s)", obj.bucket, obj.key, obj.etag
                )
                invocation.counts.duplicates += 1
                # A duplicate of a still-pending file may come from a run that died before
                # updating the batch: the (zero) update below makes sure the batch exists.

    def settle(self, invocation: Invocation, should_stop: Callable[[], bool]) -> None:
        """Update each group's hint once; cut and start manifests for full groups.

        A failing hint update raises (the whole batch is retried, and its duplicates still
        reach here); a failing cut or start only logs: the journal and the flush finish it.
        """
        for prefix, group in invocation.groups.items():
            hint = add_to_batch(self.store, prefix, group.files, group.size, iso(self.clock()))
            if (
                hint.pending_files < self.settings.max_files
                and hint.pending_bytes < self.settings.max_bytes
            ):
                continue
            try:
                cut = self.cutter.cut_if_full(prefix, should_stop)
            except Exception:  # one failed cut must not fail the batch: the journal has it
                logger.exception("cutting manifests for %s failed; the flush will finish", prefix)
                invocation.counts.cut_errors += 1
                continue
            self._start_all(cut, invocation.counts)

    def _start_all(self, cut: list[CutManifest], counts: Counts, admit: bool = True) -> None:
        """Queue the new manifests, then (with `admit`) start as many as slots are free."""
        for made in cut:
            counts.manifests_created += 1
            logger.info(
                "manifest %s: %d files, %d bytes",
                made.manifest.manifest_id,
                made.manifest.file_count,
                made.manifest.total_bytes,
            )
            self._enqueue(made.manifest.manifest_id, iso(made.manifest.created_at), counts)
        if cut and admit:
            # No reconciliation here: DescribeExecution per holder on every cut would be many
            # calls in a backlog; the flush and the status-change admissions do it.
            self.admit(counts, reconcile=False)

    def _enqueue(self, manifest_id: str, created_at: str, counts: Counts) -> None:
        if not self.settings.step_function_arn:
            logger.warning(
                "STEP_FUNCTION_ARN is empty: manifest %s stays manifested until a flush queues it",
                manifest_id,
            )
            return
        try:
            # Queued by creation time, so that the oldest manifest starts first.
            if self.admission.enqueue(manifest_id, created_at):
                counts.manifests_queued += 1
        except Exception:  # one failed enqueue must not fail the batch: the flush queues it
            logger.exception("queueing %s failed; the flush will queue it", manifest_id)

    def admit(
        self,
        counts: Counts,
        should_stop: Callable[[], bool] = lambda: False,
        reconcile: bool = True,
    ) -> None:
        """Start queued manifests within the conversion slots (see `admission`)."""
        if not self.settings.step_function_arn:
            return
        try:
            admitted = self.admission.admit(should_stop, reconcile)
        except Exception:  # never fails the batch: the next run admits them
            logger.exception("admitting queued manifests failed; the next run admits them")
            counts.start_failures += 1
            return
        counts.manifests_started += admitted.started
        counts.start_failures += admitted.start_failures
        counts.slots_recovered += admitted.slots_recovered

    def reconcile(self, counts: Counts) -> None:
        """Give back the slots of executions that ended without giving them back."""
        try:
            counts.slots_recovered += self.admission.reconcile()
        except Exception:  # never fails the flush: the next one tries again
            logger.exception("recovering conversion slots failed; the next flush tries again")

    def admit_after_execution(self) -> dict[str, int]:
        """An execution ended (EventBridge): its slot is free, start the next queued manifest."""
        counts = Counts()
        self.admit(counts)
        return counts.as_dict()

    # --- the scheduled flush ------------------------------------------------------------

    def flush(self, should_stop: Callable[[], bool] = lambda: False) -> dict[str, int]:
        """Cut overdue groups, finish in-flight cuts, queue manifests not queued yet, recover
        the slots of dead executions and start queued manifests in the free slots."""
        counts = Counts()
        checked = 0
        for batch in self.store.query(TableIndex.PENDING, TableAttr.GSI1_PK, BATCHES_PK):
            if should_stop():
                break
            checked += 1
            prefix = str(batch[TableAttr.GSI1_SK])
            oldest = next(self.cutter.pending(prefix, page_size=1), None)
            overdue = oldest is not None and self.cutter.is_overdue(oldest.registered_at)
            if not overdue and not batch.get(BatchAttr.INFLIGHT_MANIFEST_ID):
                continue
            try:
                cut = self.cutter.flush(prefix, should_stop)
            except Exception:  # the next prefix still gets its turn
                logger.exception("flushing %s failed", prefix)
                counts.cut_errors += 1
                continue
            self._start_all(cut, counts, admit=False)
        if self.settings.step_function_arn:
            # Manifests a crashed invocation cut but did not queue.
            for item in self.store.query(
                TableIndex.BY_STATUS, TableAttr.GSI2_PK, status_partition(str(Status.MANIFESTED))
            ):
                if should_stop():
                    break
                if not item.get(ManifestAttr.EXECUTION_ARN):
                    logger.info("queueing manifest %s, not queued before", item["manifest_id"])
                    self._enqueue(
                        str(item[ManifestAttr.MANIFEST_ID]),
                        str(item[ManifestAttr.CREATED_AT]),
                        counts,
                    )
            self.reconcile(counts)
            self.admit(counts, should_stop, reconcile=False)
        summary = counts.as_dict()
        summary["prefixes_checked"] = checked
        return summary
