"""Manifest documents in S3: staged while a cut is in flight, published once it owns its files.

A cut writes its candidate file list to a staging key first (`<prefix>/_staging/<id>.json`),
outside the `dt=` folders that readers list, and publishes the document under
`<prefix>/dt=<date>/<id>.json` only after its files were flipped to it. So a cut that loses
its claim leaves nothing a reader could take for a manifest; a staged document that outlives
its cut (the writer died before journaling it) is never read and expires with the bucket's
lifecycle rule.
"""

from __future__ import annotations

import contextlib
from typing import Any

from botocore.exceptions import ClientError

from ndjson_parquet.common.manifest import Manifest, manifest_s3_key
from ndjson_parquet.manifest_builder.store import error_code

STAGING_FOLDER = "_staging"


class Documents:
    """Staging, publishing, reading and discarding the documents of one manifest bucket."""

    def __init__(self, s3: Any, bucket: str, prefix: str) -> None:
        self._s3 = s3
        self.bucket = bucket
        self._prefix = prefix.strip("/")

    def published_key(self, manifest_id: str, date_prefix: str) -> str:
        return manifest_s3_key(manifest_id, date_prefix, self._prefix)

    def staging_key(self, manifest_id: str) -> str:
        name = f"{STAGING_FOLDER}/{manifest_id}.json"
        return f"{self._prefix}/{name}" if self._prefix else name

    def path(self, manifest: Manifest) -> str:
        """The s3:// location of the published document (the workflow's input)."""
        return (
            f"s3://{self.bucket}/{self.published_key(manifest.manifest_id, manifest.date_prefix)}"
        )

    def stage(self, manifest: Manifest) -> None:
        self._put(self.staging_key(manifest.manifest_id), manifest)

    def publish(self, manifest: Manifest) -> None:
        self._put(self.published_key(manifest.manifest_id, manifest.date_prefix), manifest)

    def read_staged(self, manifest_id: str, date_prefix: str) -> Manifest | None:
        """The journaled cut's candidate list; None if there is none.

        Falls back to the published name, where a cut journaled before staging existed wrote
        its document.
        """
        return self._get(self.staging_key(manifest_id)) or self._get(
            self.published_key(manifest_id, date_prefix)
        )

    def discard_staged(self, manifest_id: str) -> None:
        """Delete the staged list (best effort: the lifecycle rule removes what is left)."""
        with contextlib.suppress(ClientError):
            self._s3.delete_object(Bucket=self.bucket, Key=self.staging_key(manifest_id))

    def _put(self, key: str, manifest: Manifest) -> None:
        self._s3.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=manifest.to_json().encode(),
            ContentType="application/json",
        )

    def _get(self, key: str) -> Manifest | None:
        try:
            body = self._s3.get_object(Bucket=self.bucket, Key=key)["Body"]
        except ClientError as exc:
            if error_code(exc) in ("NoSuchKey", "404"):
                return None
            raise
        return Manifest.from_json(body.read(), f"s3://{self.bucket}/{key}")
