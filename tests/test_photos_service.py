"""PhotoService and ThumbnailService apart from HTTP: presigned POSTs, the worker, deletion."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from PIL import Image

from chalicelib.core.errors import NotFound, ValidationError
from chalicelib.photos import thumbnails as thumbnails_module
from chalicelib.photos.service import PhotoService, thumbnail_key, upload_key
from chalicelib.photos.thumbnails import EXPIRY_TAG, ThumbnailService, s3_objects
from chalicelib.store.leases import Busy
from chalicelib.store.models import PhotoModel
from sandbox.faults import Faults, with_faults
from sandbox.resources import Media
from tests.conftest import UploadPhoto
from tests.images import jpeg, png

SECRET = b"s" * 32


@pytest.fixture
def s3(media: Media) -> Any:
    return boto3.client("s3")


@pytest.fixture
def service(media: Media) -> PhotoService:
    return PhotoService(cursor_secret=SECRET)


@pytest.fixture
def worker(media: Media) -> ThumbnailService:
    return ThumbnailService()


def _event(bucket: str, key: str) -> str:
    record = {
        "eventName": "ObjectCreated:Post",
        "s3": {"bucket": {"name": bucket}, "object": {"key": key}},
    }
    return json.dumps({"Records": [record]})


def _keys(s3: Any, bucket: str) -> set[str]:
    listing = s3.list_objects_v2(Bucket=bucket)
    return {o["Key"] for o in listing.get("Contents", [])}


@pytest.fixture
def pending(service: PhotoService) -> str:
    photo_id: str = service.create("alice", {"content_type": "image/jpeg", "size": 1_000_000})[
        "photo"
    ]["id"]
    return photo_id


def test_create_returns_pending_photo_and_presigned_post(service: PhotoService) -> None:
    result = service.create(
        "alice", {"content_type": "image/png", "size": 5000, "filename": "a.png"}
    )
    photo = result["photo"]
    assert photo["status"] == "pending"
    assert photo["content_type"] == "image/png"
    assert photo["size"] == 5000
    assert photo["width"] is None
    assert "thumbnails" not in photo
    upload = result["upload"]
    assert upload["fields"]["key"] == f"uploads/alice/{photo['id']}"
    assert upload["fields"]["Content-Type"] == "image/png"
    assert upload["expires_at"].endswith("Z")


def test_create_presigned_policy_pins_key_type_and_length(service: PhotoService) -> None:
    result = service.create("alice", {"content_type": "image/webp", "size": 1234})
    policy = json.loads(base64.b64decode(result["upload"]["fields"]["policy"]))
    conditions = policy["conditions"]
    assert {"key": f"uploads/alice/{result['photo']['id']}"} in conditions
    assert {"Content-Type": "image/webp"} in conditions
    assert ["content-length-range", 1, 1234] in conditions
    assert {"bucket": "mytodolist-test-media-123456789012"} in conditions
    assert not any(isinstance(c, list) and c[0] == "starts-with" for c in conditions)


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"size": 10}, "content_type"),
        ({"content_type": "image/gif", "size": 10}, "content_type"),
        ({"content_type": "image/jpeg"}, "size"),
        ({"content_type": "image/jpeg", "size": "10"}, "size"),
        ({"content_type": "image/jpeg", "size": True}, "size"),
        ({"content_type": "image/jpeg", "size": 0}, "size"),
        ({"content_type": "image/jpeg", "size": 10 * 1024 * 1024 + 1}, "10 MiB"),
        ({"content_type": "image/jpeg", "size": 10, "filename": ""}, "filename"),
        ({"content_type": "image/jpeg", "size": 10, "filename": 7}, "filename"),
        ({"content_type": "image/jpeg", "size": 10, "owner": "bob"}, "unknown field"),
    ],
)
def test_create_rejects_bad_input(service: PhotoService, body: dict[str, Any], text: str) -> None:
    with pytest.raises(ValidationError) as caught:
        service.create("alice", body)
    assert text in str(caught.value)


def test_create_keeps_only_the_filename_of_a_path(service: PhotoService) -> None:
    result = service.create(
        "alice", {"content_type": "image/jpeg", "size": 10, "filename": "C:\\Users\\me\\cat.jpg"}
    )
    assert result["photo"]["filename"] == "cat.jpg"


def test_process_upload_makes_three_thumbnails_and_marks_ready(
    *,
    worker: ThumbnailService,
    service: PhotoService,
    s3: Any,
    media: Media,
    pending: str,
    upload_photo: UploadPhoto,
) -> None:
    upload_photo(jpeg(2000, 1500), pending)
    assert worker.process_upload(media.bucket, upload_key("alice", pending)) == "ready"
    photo = service.get("alice", pending)
    assert photo["status"] == "ready"
    assert (photo["width"], photo["height"]) == (2000, 1500)
    assert set(photo["thumbnails"]) == {"small", "medium", "large"}
    for size, side in (("small", 128), ("medium", 512), ("large", 1024)):
        body = s3.get_object(Bucket=media.bucket, Key=thumbnail_key("alice", pending, size))
        image = Image.open(io.BytesIO(body["Body"].read()))
        assert image.format == "JPEG"
        assert max(image.size) == side


def test_pending_photo_expires_through_ttl_until_it_is_done(
    *,
    worker: ThumbnailService,
    service: PhotoService,
    s3: Any,
    media: Media,
    pending: str,
    upload_photo: UploadPhoto,
) -> None:
    from chalicelib.store.models import PhotoModel  # noqa: PLC0415

    assert PhotoModel.get("alice", pending).expires_at is not None
    upload_photo(jpeg(200, 100), pending)
    assert worker.process_upload(media.bucket, upload_key("alice", pending)) == "ready"
    assert PhotoModel.get("alice", pending).expires_at is None


@pytest.mark.parametrize(
    ("data", "declared"),
    [
        (b"\x00garbage" * 100, "image/jpeg"),
        (png(), "image/jpeg"),
        (jpeg()[:200], "image/jpeg"),
    ],
    ids=["random-bytes", "png-declared-jpeg", "truncated"],
)
def test_process_upload_marks_bad_files_failed_without_retry(
    *,
    worker: ThumbnailService,
    service: PhotoService,
    s3: Any,
    media: Media,
    data: bytes,
    declared: str,
    upload_photo: UploadPhoto,
) -> None:
    photo_id = upload_photo(data, content_type=declared, size=100_000)
    assert worker.process_upload(media.bucket, upload_key("alice", photo_id)) == "failed"
    photo = service.get("alice", photo_id)
    assert photo["status"] == "failed"
    assert photo["error"]
    assert "thumbnails" not in photo
    assert not any(k.startswith("thumbnails/") for k in _keys(s3, media.bucket))


def test_process_upload_larger_than_declared_fails(
    worker: ThumbnailService,
    service: PhotoService,
    s3: Any,
    media: Media,
    upload_photo: UploadPhoto,
) -> None:
    photo_id = upload_photo(jpeg(), content_type="image/jpeg", size=100)
    assert worker.process_upload(media.bucket, upload_key("alice", photo_id)) == "failed"
    assert "larger than the declared" in service.get("alice", photo_id)["error"]


def test_redelivered_message_makes_one_set_of_thumbnails(
    *,
    worker: ThumbnailService,
    service: PhotoService,
    s3: Any,
    media: Media,
    pending: str,
    monkeypatch: pytest.MonkeyPatch,
    upload_photo: UploadPhoto,
) -> None:
    upload_photo(jpeg(), pending)
    made: list[str] = []
    real = worker._thumbnail  # noqa: SLF001

    def counting(item: PhotoModel, bucket: str, data: bytes) -> str:
        made.append(item.photo_id)
        return real(item, bucket, data)

    monkeypatch.setattr(worker, "_thumbnail", counting)
    body = _event(media.bucket, upload_key("alice", pending))
    results = [worker.handle_messages([(f"m{i}", body)]) for i in range(3)]
    assert made == [pending]
    assert all(r == {"batchItemFailures": []} for r in results)
    # Created (1), claimed by the one worker (2), finished (3): nothing more.
    assert service.get("alice", pending)["version"] == 3


def test_held_lease_makes_a_duplicate_wait(
    *,
    worker: ThumbnailService,
    service: PhotoService,
    s3: Any,
    media: Media,
    pending: str,
    upload_photo: UploadPhoto,
) -> None:
    upload_photo(jpeg(), pending)
    item = PhotoModel.get("alice", pending)
    assert worker._claim(item)  # noqa: SLF001 - a first worker is mid-way
    with pytest.raises(Busy):
        worker.process_upload(media.bucket, upload_key("alice", pending))
    result = worker.handle_messages([("m1", _event(media.bucket, upload_key("alice", pending)))])
    assert result == {"batchItemFailures": [{"itemIdentifier": "m1"}]}


def test_batch_with_one_poison_record_reports_only_it(
    worker: ThumbnailService,
    service: PhotoService,
    s3: Any,
    media: Media,
    upload_photo: UploadPhoto,
) -> None:
    messages = []
    for i in range(9):
        photo_id = upload_photo(jpeg(64, 48), size=100_000)
        messages.append((f"m{i}", _event(media.bucket, upload_key("alice", photo_id))))
    messages.insert(4, ("poison", "{not json"))
    assert worker.handle_messages(messages) == {"batchItemFailures": [{"itemIdentifier": "poison"}]}
    statuses = [p["status"] for p in service.list_photos("alice", limit=20)["items"]]
    assert statuses == ["ready"] * 9


def test_transient_storage_error_is_reported_for_retry(
    *,
    worker: ThumbnailService,
    service: PhotoService,
    s3: Any,
    media: Media,
    pending: str,
    monkeypatch: pytest.MonkeyPatch,
    upload_photo: UploadPhoto,
) -> None:
    upload_photo(jpeg(), pending)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("S3 unreachable")

    monkeypatch.setattr(worker._s3, "put_object", broken)  # noqa: SLF001
    body = _event(media.bucket, upload_key("alice", pending))
    assert worker.handle_messages([("m1", body)]) == {
        "batchItemFailures": [{"itemIdentifier": "m1"}]
    }
    assert service.get("alice", pending)["status"] == "pending"


def test_upload_without_record_is_dropped(
    worker: ThumbnailService,
    service: PhotoService,
    s3: Any,
    media: Media,
    upload_photo: UploadPhoto,
) -> None:
    upload_photo(jpeg(), "ghost")
    assert worker.process_upload(media.bucket, upload_key("alice", "ghost")) == "dropped"
    assert _keys(s3, media.bucket) == set()


def test_failed_upload_is_tagged_for_the_lifecycle_rule(
    worker: ThumbnailService,
    service: PhotoService,
    s3: Any,
    media: Media,
    upload_photo: UploadPhoto,
) -> None:
    photo_id = upload_photo(b"not an image", content_type="image/jpeg", size=100)
    assert worker.process_upload(media.bucket, upload_key("alice", photo_id)) == "failed"
    tags = s3.get_object_tagging(Bucket=media.bucket, Key=upload_key("alice", photo_id))
    assert tags["TagSet"] == [{"Key": EXPIRY_TAG[0], "Value": EXPIRY_TAG[1]}]


def test_ready_upload_is_not_tagged_for_expiry(
    worker: ThumbnailService,
    s3: Any,
    media: Media,
    pending: str,
    upload_photo: UploadPhoto,
) -> None:
    upload_photo(jpeg(), pending)
    assert worker.process_upload(media.bucket, upload_key("alice", pending)) == "ready"
    tags = s3.get_object_tagging(Bucket=media.bucket, Key=upload_key("alice", pending))
    assert tags["TagSet"] == []


@pytest.mark.parametrize("key", ["uploads/alice", "elsewhere/a/b", "uploads/a/b/c", "uploads//x"])
def test_object_outside_uploads_layout_is_ignored(
    worker: ThumbnailService, service: PhotoService, media: Media, key: str
) -> None:
    assert worker.process_upload(media.bucket, key) == "ignored"


def test_s3_objects_ignores_test_events_and_decodes_keys() -> None:
    assert s3_objects(json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent"})) == []
    body = _event("b", "uploads/alice/my+photo%281%29")
    assert s3_objects(body) == [("b", "uploads/alice/my photo(1)")]


def test_real_s3_notification_reaches_the_queue_and_is_processed(
    *,
    worker: ThumbnailService,
    service: PhotoService,
    s3: Any,
    media: Media,
    pending: str,
    upload_photo: UploadPhoto,
) -> None:
    sqs = boto3.client("sqs")
    upload_photo(jpeg(), pending)
    received = sqs.receive_message(QueueUrl=media.queue_url, MaxNumberOfMessages=10)["Messages"]
    result = worker.handle_messages([(m["MessageId"], m["Body"]) for m in received])
    assert result == {"batchItemFailures": []}
    assert service.get("alice", pending)["status"] == "ready"


def test_delete_removes_record_original_and_thumbnails(
    *,
    worker: ThumbnailService,
    service: PhotoService,
    s3: Any,
    media: Media,
    pending: str,
    upload_photo: UploadPhoto,
) -> None:
    upload_photo(jpeg(), pending)
    worker.process_upload(media.bucket, upload_key("alice", pending))
    assert len(_keys(s3, media.bucket)) == 4
    service.delete("alice", pending)
    assert _keys(s3, media.bucket) == set()
    with pytest.raises(NotFound):
        service.get("alice", pending)


def test_photo_deleted_mid_processing_leaves_no_thumbnails(
    *,
    worker: ThumbnailService,
    service: PhotoService,
    s3: Any,
    media: Media,
    pending: str,
    monkeypatch: pytest.MonkeyPatch,
    upload_photo: UploadPhoto,
) -> None:
    upload_photo(jpeg(), pending)
    real_make = thumbnails_module.ThumbnailService._thumbnail  # noqa: SLF001

    def delete_first(self: ThumbnailService, item: PhotoModel, bucket: str, data: bytes) -> str:
        PhotoModel.get("alice", pending).delete()
        return real_make(self, item, bucket, data)

    monkeypatch.setattr(thumbnails_module.ThumbnailService, "_thumbnail", delete_first)
    assert worker.process_upload(media.bucket, upload_key("alice", pending)) == "dropped"
    assert not any(k.startswith("thumbnails/") for k in _keys(s3, media.bucket))


def test_other_users_photo_is_not_found(service: PhotoService, pending: str) -> None:
    with pytest.raises(NotFound):
        service.get("bob", pending)
    with pytest.raises(NotFound):
        service.delete("bob", pending)
    assert service.get("alice", pending)["status"] == "pending"


def test_list_is_newest_first_and_pages(service: PhotoService) -> None:
    ids = [
        service.create("alice", {"content_type": "image/jpeg", "size": 10})["photo"]["id"]
        for _ in range(3)
    ]
    first = service.list_photos("alice", limit=2)
    second = service.list_photos("alice", limit=2, cursor=first["next_cursor"])
    assert [p["id"] for p in first["items"] + second["items"]] == ids[::-1]
    assert second["next_cursor"] is None


def test_failed_thumbnail_write_releases_the_photo_so_the_retry_makes_it_now(
    *,
    worker: ThumbnailService,
    service: PhotoService,
    s3: Any,
    media: Media,
    pending: str,
    monkeypatch: pytest.MonkeyPatch,
    upload_photo: UploadPhoto,
) -> None:
    upload_photo(jpeg(), pending)
    real = worker._s3.put_object  # noqa: SLF001
    failures = [ClientError({"Error": {"Code": "InternalError", "Message": "x"}}, "PutObject")]

    def flaky(**kwargs: Any) -> Any:
        if failures:
            raise failures.pop()
        return real(**kwargs)

    monkeypatch.setattr(worker._s3, "put_object", flaky)  # noqa: SLF001
    body = _event(media.bucket, upload_key("alice", pending))
    assert worker.handle_messages([("m1", body)]) == {
        "batchItemFailures": [{"itemIdentifier": "m1"}]
    }
    assert PhotoModel.get("alice", pending).lease_until is None
    # The message's next receive (a second later in the sandbox) finds the photo free.
    assert worker.handle_messages([("m1", body)]) == {"batchItemFailures": []}
    assert service.get("alice", pending)["status"] == "ready"
    thumbnails = {k for k in _keys(s3, media.bucket) if k.startswith("thumbnails/")}
    assert thumbnails == {thumbnail_key("alice", pending, s) for s in ("small", "medium", "large")}


def test_thumbnail_batch_delivered_twice_makes_one_set(
    *,
    worker: ThumbnailService,
    service: PhotoService,
    s3: Any,
    media: Media,
    pending: str,
    monkeypatch: pytest.MonkeyPatch,
    upload_photo: UploadPhoto,
) -> None:
    upload_photo(jpeg(), pending)
    puts: list[str] = []
    real = worker._s3.put_object  # noqa: SLF001

    def counted(**kwargs: Any) -> Any:
        puts.append(kwargs["Key"])
        return real(**kwargs)

    monkeypatch.setattr(worker._s3, "put_object", counted)  # noqa: SLF001
    faults = Faults(seed="1")
    faults.set("lambda:*:duplicate:1")
    twice = with_faults("t", lambda event, _: worker.handle_messages(event["Records"]), faults)
    body = _event(media.bucket, upload_key("alice", pending))
    assert twice({"Records": [("m1", body)]}, None) == {"batchItemFailures": []}
    assert sorted(puts) == sorted(
        thumbnail_key("alice", pending, s) for s in ("small", "medium", "large")
    )
    assert service.get("alice", pending)["status"] == "ready"
