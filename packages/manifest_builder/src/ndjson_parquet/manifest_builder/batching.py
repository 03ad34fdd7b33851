"""Cutting manifests out of a date prefix's pending files, under the prefix's lease.

Every cut follows the same journaled steps, so that whoever comes next can finish a cut that
died half-way, and so that a cut whose holder lost the race leaves nothing behind:

1. stage: write the candidate file list to a staging key (documents.py), outside the folders
   readers list;
2. journal (the claim): the batch item records the manifest id, only if no other cut is in
   flight. Only the one cut that wins this conditional write may take files; a loser deletes
   its staged list and finishes the journaled cut instead;
3. flip each candidate pending → manifested (condition: still pending, or already this very
   manifest's), which takes it off the pending index. A file taken by another manifest (seen
   on a stale index) is left out; whoever flips for a manifest gets the same outcome per
   file, since a flipped file never changes hands again;
4. publish the document (the flipped files) under `dt=<date>/`: only now is it a manifest;
5. put the manifest item (status manifested, listed under gsi2) if it does not exist: counts,
   bytes and the document's location, never the list (the item stays one write unit);
6. settle: on the batch item, subtract the files from the hint and clear the journal
   (condition: the journal names this manifest), then delete the staged list.

Because the list is staged before the journal names it and deleted only after the journal has
moved on, a journal always has its list: a successor finishing it never guesses. A holder
paused past its lease (anywhere in these steps) and resumed can only repeat a journaled cut's
idempotent steps, or lose the claim of step 2; it never publishes files another manifest owns.

The lease keeps concurrent invocations from doing the same work twice; correctness never
depends on it.

Why single-item writes and not TransactWriteItems: the journal already makes a cut
all-or-nothing, and a transactional write costs two write units per item where a plain
conditional write costs one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from botocore.exceptions import ClientError

from ndjson_parquet.common.keys import (
    BatchAttr,
    BatchKey,
    FileAttr,
    ManifestAttr,
    ManifestKey,
    TableAttr,
    TableIndex,
    pending_partition,
    status_gsi2,
)
from ndjson_parquet.common.manifest import Manifest, new_manifest_id
from ndjson_parquet.common.status import Status
from ndjson_parquet.manifest_builder.clock import Clock, iso, parse_iso
from ndjson_parquet.manifest_builder.documents import Documents
from ndjson_parquet.manifest_builder.lock import acquire
from ndjson_parquet.manifest_builder.selection import PendingFile, select
from ndjson_parquet.manifest_builder.settings import Settings
from ndjson_parquet.manifest_builder.store import (
    Store,
    is_condition_failure,
    to_dynamo,
)

logger = logging.getLogger(__name__)

# Flips are independent single-item writes; a few in parallel keep a 200-file cut short.
FLIP_WORKERS = 8
# After releasing the lease, look again this many times for files that arrived meanwhile.
MAX_ROUNDS = 3


@dataclass(frozen=True, slots=True)
class CutManifest:
    """A manifest that is durable (document in S3, item in the table) and ready to start."""

    manifest: Manifest
    manifest_path: str


class Cutter:
    """Cuts manifests for one table, bucket and set of limits."""

    def __init__(self, store: Store, s3: Any, settings: Settings, clock: Clock) -> None:
        self._store = store
        self._s3 = s3
        self._settings = settings
        self._clock = clock
        self._documents = Documents(s3, settings.manifest_bucket, settings.manifest_prefix)

    # --- entry points -------------------------------------------------------------------

    def cut_if_full(
        self, date_prefix: str, should_stop: Callable[[], bool] = lambda: False
    ) -> list[CutManifest]:
        """Cut every full manifest the prefix has; leave a partial remainder pending."""
        made: list[CutManifest] = []
        for _ in range(MAX_ROUNDS):
            cut = self._cut(date_prefix, by_age=False, should_stop=should_stop)
            if cut is None:  # another invocation holds the lease and will look again
                break
            made.extend(cut)
            # Files registered while we held the lease were counted on the hint; their
            # registrant could not take the lease, so look once more after releasing it.
            if should_stop() or not self.hint_is_full(date_prefix):
                break
        return made

    def flush(
        self, date_prefix: str, should_stop: Callable[[], bool] = lambda: False
    ) -> list[CutManifest]:
        """Finish an in-flight cut and cut while full or while the oldest file is too old."""
        return self._cut(date_prefix, by_age=True, should_stop=should_stop) or []

    def hint_is_full(self, date_prefix: str) -> bool:
        batch = self._store.get(BatchKey(date_prefix).as_key()) or {}
        return (
            int(batch.get(BatchAttr.PENDING_FILES, 0)) >= self._settings.max_files
            or int(batch.get(BatchAttr.PENDING_BYTES, 0)) >= self._settings.max_bytes
        )

    def is_overdue(self, registered_at: str) -> bool:
        age = self._clock() - parse_iso(registered_at)
        return age >= timedelta(seconds=self._settings.max_wait_seconds)

    def pending(self, date_prefix: str, page_size: int | None = None) -> Iterator[PendingFile]:
        """The prefix's pending files in arrival order (the pending index, read lazily)."""
        size = page_size or min(self._settings.max_files + 1, 1000)
        for item in self._store.query(
            TableIndex.PENDING, TableAttr.GSI1_PK, pending_partition(date_prefix), page_size=size
        ):
            yield PendingFile.from_item(item)

    # --- the cut loop -------------------------------------------------------------------

    def _cut(
        self, date_prefix: str, *, by_age: bool, should_stop: Callable[[], bool]
    ) -> list[CutManifest] | None:
        settings = self._settings
        lease = acquire(self._store, date_prefix, settings.lock_ttl_seconds, self._clock)
        if lease is None:
            return None
        made: list[CutManifest] = []
        try:
            batch = self._store.get(BatchKey(date_prefix).as_key()) or {}
            inflight = batch.get(BatchAttr.INFLIGHT_MANIFEST_ID)
            if inflight:
                finished = self._finish_journal(date_prefix, str(inflight))
                if finished:
                    made.append(finished)
            while not should_stop():
                if lease.remaining() < settings.lock_ttl_seconds / 2 and not lease.renew(
                    settings.lock_ttl_seconds
                ):
                    logger.warning("lost the lease of %s; stopping", date_prefix)
                    break
                selection = select(
                    self.pending(date_prefix), settings.max_files, settings.max_bytes
                )
                if not selection.files:
                    break
                if not selection.full and not (
                    by_age and self.is_overdue(selection.files[0].registered_at)
                ):
                    break
                cut = self._cut_one(date_prefix, selection.files)
                if cut is None:
                    break  # nothing could be taken (stale index); the next run looks again
                made.append(cut)
        finally:
            lease.release()
        return made

    def _cut_one(self, date_prefix: str, files: list[PendingFile]) -> CutManifest | None:
        now = self._clock()
        manifest = Manifest.build(
            new_manifest_id(date_prefix, now),
            date_prefix,
            [f.to_manifest_file() for f in files],
            created_at=now,
        )
        self._documents.stage(manifest)
        try:
            self._store.client.update_item(
                TableName=self._store.table,
                Key=to_dynamo(BatchKey(date_prefix).as_key()),
                UpdateExpression="SET #id = :id",
                ConditionExpression="attribute_not_exists(#id)",
                ExpressionAttributeNames={"#id": BatchAttr.INFLIGHT_MANIFEST_ID},
                ExpressionAttributeValues=to_dynamo({":id": manifest.manifest_id}),
            )
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise  # the staged list stays: the journal may name it after all
            # Another holder (whose lease we outlived, or who outlived ours) journaled a cut:
            # ours never will be, and that one is finished first.
            self._documents.discard_staged(manifest.manifest_id)
            batch = self._store.get(BatchKey(date_prefix).as_key()) or {}
            inflight = batch.get(BatchAttr.INFLIGHT_MANIFEST_ID)
            return self._finish_journal(date_prefix, str(inflight)) if inflight else None
        return self._complete(manifest)

    def _finish_journal(self, date_prefix: str, manifest_id: str) -> CutManifest | None:
        logger.info("finishing the in-flight manifest %s of %s", manifest_id, date_prefix)
        manifest = self._documents.read_staged(manifest_id, date_prefix)
        if manifest is None:
            # Finished or abandoned since the journal was read (the list goes only after the
            # journal moved on), or journaled by a version that staged nothing and died before
            # its document: there is nothing to flip.
            self._clear_journal(date_prefix, manifest_id)
            return None
        return self._complete(manifest)

    # --- the journaled steps ------------------------------------------------------------

    def _complete(self, manifest: Manifest) -> CutManifest | None:
        candidates = [PendingFile.from_manifest_file(f) for f in manifest.files]
        flipped = self._flip(manifest.manifest_id, candidates)
        if not flipped:
            self._clear_journal(manifest.date_prefix, manifest.manifest_id)
            self._documents.discard_staged(manifest.manifest_id)
            return None
        if len(flipped) < len(candidates):
            manifest = Manifest.build(
                manifest.manifest_id,
                manifest.date_prefix,
                [f.to_manifest_file() for f in flipped],
                created_at=manifest.created_at,
            )
        self._documents.publish(manifest)
        path = self._documents.path(manifest)
        created = self._commit(manifest, path)
        self._documents.discard_staged(manifest.manifest_id)
        # A manifest this holder did not create is started by its creator or by the flush.
        return CutManifest(manifest, path) if created else None

    def _flip(self, manifest_id: str, candidates: list[PendingFile]) -> list[PendingFile]:
        """Mark files as taken by the manifest; returns those that are now in it."""
        manifested_at = iso(self._clock())

        def flip(f: PendingFile) -> bool:
            try:
                self._store.client.update_item(
                    TableName=self._store.table, **self._flip_update(f, manifest_id, manifested_at)
                )
            except ClientError as exc:
                if is_condition_failure(exc):
                    # Taken by another manifest (seen on a stale index): leave it out.
                    logger.warning("%s is no longer pending; left out", f.file_key.uri)
                    return False
                raise
            return True

        if len(candidates) <= 1:
            taken = [flip(f) for f in candidates]
        else:
            with ThreadPoolExecutor(max_workers=min(FLIP_WORKERS, len(candidates))) as pool:
                taken = list(pool.map(flip, candidates))
        return [f for f, ok in zip(candidates, taken, strict=True) if ok]

    def _flip_update(self, f: PendingFile, manifest_id: str, manifested_at: str) -> dict[str, Any]:
        return {
            "Key": to_dynamo(f.file_key.as_key()),
            "UpdateExpression": (
                "SET #status = :manifested, #mid = :mid, #at = :at REMOVE #gpk, #gsk"
            ),
            "ConditionExpression": "#status = :pending OR #mid = :mid",
            "ExpressionAttributeNames": {
                "#status": FileAttr.STATUS,
                "#mid": FileAttr.MANIFEST_ID,
                "#at": FileAttr.MANIFESTED_AT,
                "#gpk": TableAttr.GSI1_PK,
                "#gsk": TableAttr.GSI1_SK,
            },
            "ExpressionAttributeValues": to_dynamo(
                {
                    ":manifested": str(Status.MANIFESTED),
                    ":pending": str(Status.PENDING),
                    ":mid": manifest_id,
                    ":at": manifested_at,
                }
            ),
        }

    def _commit(self, manifest: Manifest, path: str) -> bool:
        """Put the manifest item and settle the batch; True if this holder created the item."""
        now = iso(self._clock())
        item = {
            **ManifestKey(manifest.manifest_id).as_key(),
            **status_gsi2(str(Status.MANIFESTED), now, manifest.manifest_id),
            ManifestAttr.MANIFEST_ID: manifest.manifest_id,
            ManifestAttr.DATE_PREFIX: manifest.date_prefix,
            ManifestAttr.STATUS: str(Status.MANIFESTED),
            ManifestAttr.FILE_COUNT: manifest.file_count,
            ManifestAttr.TOTAL_BYTES: manifest.total_bytes,
            # The file list is the document's only: on the item it would make every write
            # to it (status changes, index moves) cost a unit per KB of list.
            ManifestAttr.MANIFEST_PATH: path,
            ManifestAttr.CREATED_AT: iso(manifest.created_at),
            ManifestAttr.UPDATED_AT: now,
            ManifestAttr.ATTEMPTS: 0,
            ManifestAttr.START_ATTEMPTS: 0,
        }
        created = True
        try:
            self._store.client.put_item(
                TableName=self._store.table,
                Item=to_dynamo(item),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise
            created = False  # put by another holder finishing the same journal
        self._settle(manifest)
        return created

    def _settle(self, manifest: Manifest) -> None:
        """Subtract the manifest from the batch hint and clear its journal, once: whoever
        clears the journal subtracts."""
        try:
            self._store.client.update_item(
                TableName=self._store.table,
                Key=to_dynamo(BatchKey(manifest.date_prefix).as_key()),
                UpdateExpression="ADD #files :minus_files, #bytes :minus_bytes REMOVE #id",
                ConditionExpression="#id = :id",
                ExpressionAttributeNames={
                    "#files": BatchAttr.PENDING_FILES,
                    "#bytes": BatchAttr.PENDING_BYTES,
                    "#id": BatchAttr.INFLIGHT_MANIFEST_ID,
                },
                ExpressionAttributeValues=to_dynamo(
                    {
                        ":minus_files": -manifest.file_count,
                        ":minus_bytes": -manifest.total_bytes,
                        ":id": manifest.manifest_id,
                    }
                ),
            )
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise
            logger.info("the journal of %s was settled by another holder", manifest.manifest_id)

    def _clear_journal(self, date_prefix: str, manifest_id: str) -> None:
        try:
            self._store.client.update_item(
                TableName=self._store.table,
                Key=to_dynamo(BatchKey(date_prefix).as_key()),
                UpdateExpression="REMOVE #id",
                ConditionExpression="#id = :id",
                ExpressionAttributeNames={"#id": BatchAttr.INFLIGHT_MANIFEST_ID},
                ExpressionAttributeValues=to_dynamo({":id": manifest_id}),
            )
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise
