"""The thumbnail worker: S3 upload events (through SQS) become thumbnails, exactly once."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Any
from urllib.parse import unquote_plus

from botocore.exceptions import ClientError
from pynamodb.exceptions import DoesNotExist

from chalicelib.core import defaults, telemetry, validation
from chalicelib.core.config import settings
from chalicelib.photos.service import delete_objects, thumbnail_key, upload_key
from chalicelib.store import aws, leases, outages, sqs_batches
from chalicelib.store.models import PhotoModel
from chalicelib.store.storage import conditional

log = logging.getLogger(__name__)

Json = dict[str, Any]

LEASE = timedelta(minutes=2)
# The object tag that infra/resources.yaml's lifecycle rule expires (failed uploads, 7 days).
EXPIRY_TAG = ("photo-state", "failed")


class ThumbnailService:
    def __init__(
        self,
        *,
        s3: Any = None,
        bucket: str | None = None,
        clock: defaults.Clock = defaults.utcnow,
    ) -> None:
        self._s3 = s3 if s3 is not None else aws.client("s3")
        self._bucket = bucket or settings().media_bucket
        self._clock = clock

    def handle_messages(self, messages: Iterable[tuple[str, str]]) -> Json:
        """Process SQS messages carrying S3 events; report the ones to retry by message id."""
        return sqs_batches.report_failures(messages, self._handle_message, "thumbnail")

    def _handle_message(self, body: str) -> None:
        for bucket, key in s3_objects(body):
            self.process_upload(bucket, key)

    def process_upload(self, bucket: str, key: str) -> str:
        """Thumbnail one uploaded object; returns what happened (for logs and tests)."""
        parts = key.split("/")
        if len(parts) != 3 or parts[0] != "uploads" or not all(parts):
            log.warning("ignoring object outside uploads/{user}/{photo}: %s", key)
            return "ignored"
        _, user_id, photo_id = parts
        try:
            item = PhotoModel.get(user_id, photo_id, consistent_read=True)
        except DoesNotExist:
            # Deleted or expired before its file arrived: the file belongs to no photo.
            log.warning("no photo record for %s; deleting the orphaned upload", key)
            delete_objects(self._s3, bucket, [key])
            return "dropped"
        if item.status != "pending":
            return "duplicate"
        lease = self._claim(item)
        if lease is None:
            return "duplicate"
        try:
            return self._process(item, bucket, key)
        except Exception:
            # The message comes again: its retry must find the photo free, not leased until
            # the lease expires (by then its receive count would be spent).
            outages.persistently(
                lambda: leases.release(item, PhotoModel.lease_until, lease),
                what=f"release photo {photo_id}",
            )
            raise

    def _process(self, item: PhotoModel, bucket: str, key: str) -> str:
        try:
            obj = self._s3.get_object(Bucket=bucket, Key=key)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                log.warning("object %s is gone (photo deleted?); dropping the event", key)
                return "dropped"
            raise
        data = obj["Body"].read()
        return telemetry.timed("Thumbnails", lambda: self._thumbnail(item, bucket, data))

    def _thumbnail(self, item: PhotoModel, bucket: str, data: bytes) -> str:
        from chalicelib.photos.images import ImageRejected, make_thumbnails  # noqa: PLC0415

        if len(data) > item.size:
            return self._finish(item, error=f"file is larger than the declared {item.size} bytes")
        try:
            thumbs = make_thumbnails(data, item.content_type)
        except ImageRejected as e:
            return self._finish(item, error=str(e))
        keys = []
        for size, jpeg in thumbs.images.items():
            keys.append(thumbnail_key(item.user_id, item.photo_id, size))
            self._s3.put_object(
                Bucket=bucket,
                Key=keys[-1],
                Body=jpeg,
                ContentType="image/jpeg",
                CacheControl="private, max-age=31536000, immutable",
            )
        outcome = self._finish(item, dimensions=(thumbs.width, thumbs.height))
        if outcome == "dropped":
            delete_objects(self._s3, bucket, keys)
        return outcome

    def _claim(self, item: PhotoModel) -> int | None:
        """Take the lease on a pending photo: its expiry, None when the photo is done already;
        Busy when another worker holds it."""

        def done() -> bool:
            try:
                item.refresh(consistent_read=True)
            except DoesNotExist:
                return True
            return item.status != "pending"

        return leases.claim(
            item,
            PhotoModel.lease_until,
            now=self._clock(),
            lease=LEASE,
            condition=PhotoModel.status == "pending",
            done=done,
            what=f"photo {item.photo_id}",
        )

    def _finish(
        self,
        item: PhotoModel,
        *,
        dimensions: tuple[int, int] | None = None,
        error: str | None = None,
    ) -> str:
        status = "failed" if error else "ready"
        actions: list[Any] = [
            PhotoModel.status.set(status),
            PhotoModel.updated_at.set(validation.format_time(self._clock())),
            PhotoModel.lease_until.remove(),
            PhotoModel.expires_at.remove(),
        ]
        if error:
            actions.append(PhotoModel.error.set(error))
        if dimensions:
            actions += [PhotoModel.width.set(dimensions[0]), PhotoModel.height.set(dimensions[1])]
        with conditional() as write:
            # Whoever holds the lease finishes; only a deletion meanwhile stops it.
            item.update(
                actions=actions, condition=PhotoModel.photo_id.exists(), add_version_condition=False
            )
        if write.failed:
            log.info("photo %s was deleted while it was processed", item.photo_id)
            return "dropped"
        if error:
            log.info("photo %s failed: %s", item.photo_id, error)
            self._mark_for_expiry(item)
        return status

    def _mark_for_expiry(self, item: PhotoModel) -> None:
        """Tag a failed photo's original so that the bucket's lifecycle rule expires it."""
        self._s3.put_object_tagging(
            Bucket=self._bucket,
            Key=upload_key(item.user_id, item.photo_id),
            Tagging={"TagSet": [{"Key": EXPIRY_TAG[0], "Value": EXPIRY_TAG[1]}]},
        )


def s3_objects(body: str) -> list[tuple[str, str]]:
    """The (bucket, key) pairs of ObjectCreated records in an S3 notification; [] for tests."""
    message = json.loads(body)
    if message.get("Event") == "s3:TestEvent":
        return []
    records = message["Records"]
    return [
        (r["s3"]["bucket"]["name"], unquote_plus(r["s3"]["object"]["key"]))
        for r in records
        if str(r.get("eventName", "")).startswith("ObjectCreated")
    ]
