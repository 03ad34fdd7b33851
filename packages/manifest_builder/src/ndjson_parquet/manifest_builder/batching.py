"""Cutting manifests out of a date prefix's pending files, under the prefix's lease.

Every cut follows the same journaled steps, so that whoever holds the lease next can finish a
cut that died half-way:

1. journal: the batch item records the manifest id (only if no other cut is in flight);
2. write the manifest document to S3: it is the journal's file list (so the batch item stays
   small and every write to it costs one write unit);
3. flip each file pending → manifested (condition: still pending, or already flipped by this
   very manifest), which takes it off the pending index; if a file was taken meanwhile by
   another manifest (seen on a stale index), rewrite the document without it;
4. put the manifest item (status manifested, listed under gsi2) if it does not exist;
5. on the batch item, subtract the files from the hint and clear the journal (condition: the
   journal names this manifest).

A successor finding a journal reads the document; without one, nothing was flipped yet and it
just clears the journal.

No step depends on the lease for correctness: every write is conditional, so a holder whose
lease ran out can only repeat work, never put a file into two manifests.

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
from ndjson_parquet.common.manifest import Manifest, manifest_s3_key, new_manifest_id
from ndjson_parquet.common.status import Status
from ndjson_parquet.manifest_builder.clock import Clock, iso, parse_iso
from ndjson_parquet.manifest_builder.lock import acquire
from ndjson_parquet.manifest_builder.selection import PendingFile, select
from ndjson_parquet.manifest_builder.settings import Settings
from ndjson_parquet.manifest_builder.store import (
    Item,
    Store,
    error_code,
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
            if batch.get(BatchAttr.INFLIGHT_MANIFEST_ID):
                finished = self._finish_journal(date_prefix, batch)
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
                raise
            # Another holder (whose lease we outlived) journaled a cut: finish that one first.
            batch = self._store.get(BatchKey(date_prefix).as_key()) or {}
            return self._finish_journal(date_prefix, batch) if batch else None
        self._write_document(manifest)
        return self._complete(manifest)

    def _finish_journal(self, date_prefix: str, batch: Item) -> CutManifest | None:
        manifest_id = str(batch[BatchAttr.INFLIGHT_MANIFEST_ID])
        logger.info("finishing the in-flight manifest %s of %s", manifest_id, date_prefix)
        manifest = self._read_document(manifest_id, date_prefix)
        if manifest is None:  # died before writing it: no file was flipped
            self._clear_journal(date_prefix, manifest_id)
            return None
        return self._complete(manifest)

    # --- the journaled steps ------------------------------------------------------------

    def _document_key(self, manifest_id: str, date_prefix: str) -> str:
        return manifest_s3_key(manifest_id, date_prefix, self._settings.manifest_prefix)

    def _write_document(self, manifest: Manifest) -> None:
        self._s3.put_object(
            Bucket=self._settings.manifest_bucket,
            Key=self._document_key(manifest.manifest_id, manifest.date_prefix),
            Body=manifest.to_json().encode(),
            ContentType="application/json",
        )

    def _read_document(self, manifest_id: str, date_prefix: str) -> Manifest | None:
        key = self._document_key(manifest_id, date_prefix)
        try:
            body = self._s3.get_object(Bucket=self._settings.manifest_bucket, Key=key)["Body"]
        except ClientError as exc:
            if error_code(exc) in ("NoSuchKey", "404"):
                return None
            raise
        return Manifest.from_json(body.read(), f"s3://{self._settings.manifest_bucket}/{key}")

    def _complete(self, manifest: Manifest) -> CutManifest | None:
        candidates = [PendingFile(f.bucket, f.key, f.etag, f.size) for f in manifest.files]
        flipped = self._flip(manifest.manifest_id, candidates)
        if not flipped:
            self._clear_journal(manifest.date_prefix, manifest.manifest_id)
            return None
        if len(flipped) < len(candidates):
            manifest = Manifest.build(
                manifest.manifest_id,
                manifest.date_prefix,
                [f.to_manifest_file() for f in flipped],
                created_at=manifest.created_at,
            )
            self._write_document(manifest)
        key = self._document_key(manifest.manifest_id, manifest.date_prefix)
        path = f"s3://{self._settings.manifest_bucket}/{key}"
        if not self._commit(manifest, path):
            return None
        return CutManifest(manifest, path)

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
            # Also in the document; kept on the item for the operator (see the README's cost).
            ManifestAttr.FILES: [f.model_dump() for f in manifest.files],
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
            created = False  # put by a holder that died before settling the batch
        if not self._settle(manifest, clear_journal=True) and created:
            # Our journal was cleared by a successor that found no document yet (our lease had
            # run out); the files are in our manifest all the same: count them out.
            self._settle(manifest, clear_journal=False)
        # A manifest this holder did not create is started by its creator or by the flush.
        return created

    def _settle(self, manifest: Manifest, *, clear_journal: bool) -> bool:
        """Subtract the manifest from the batch hint (and clear its journal, if it names it)."""
        names = {"#files": BatchAttr.PENDING_FILES, "#bytes": BatchAttr.PENDING_BYTES}
        values: dict[str, Any] = {
            ":minus_files": -manifest.file_count,
            ":minus_bytes": -manifest.total_bytes,
        }
        expression = "ADD #files :minus_files, #bytes :minus_bytes"
        condition: dict[str, str] = {}
        if clear_journal:
            names["#id"] = BatchAttr.INFLIGHT_MANIFEST_ID
            values[":id"] = manifest.manifest_id
            expression += " REMOVE #id"
            condition["ConditionExpression"] = "#id = :id"
        try:
            self._store.client.update_item(
                TableName=self._store.table,
                Key=to_dynamo(BatchKey(manifest.date_prefix).as_key()),
                UpdateExpression=expression,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_dynamo(values),
                **condition,
            )
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise
            logger.info("the journal of %s was settled by another holder", manifest.manifest_id)
            return False
        return True

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
