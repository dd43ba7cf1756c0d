"""HTTP behaviour of /photos and the make_thumbnails SQS handler through chalice.test.Client."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from chalice.test import Client

from sandbox.resources import Media
from tests.conftest import UploadPhoto, headers_for
from tests.helpers import assert_error
from tests.images import jpeg

ALICE = headers_for("alice")
BOB = headers_for("bob")


@pytest.fixture
def photo_client(client: Client, media: Media) -> Client:
    return client


def _create(client: Client, headers: dict[str, str] = ALICE) -> Any:
    body = json.dumps({"content_type": "image/jpeg", "size": 200_000})
    return client.http.post("/photos", headers=headers, body=body)


def test_create_photo_is_201_with_upload_form(photo_client: Client) -> None:
    response = _create(photo_client)
    assert response.status_code == 201
    photo = response.json_body["photo"]
    assert response.headers["Location"] == f"/photos/{photo['id']}"
    assert photo["status"] == "pending"
    upload = response.json_body["upload"]
    assert upload["url"]
    assert upload["fields"]["key"] == f"uploads/alice/{photo['id']}"


@pytest.mark.parametrize(
    "body",
    ['{"content_type": "image/gif", "size": 1}', '{"content_type": "image/png"}', "{", "[]"],
)
def test_create_photo_bad_input_is_400(photo_client: Client, body: str) -> None:
    assert_error(
        photo_client.http.post("/photos", headers=ALICE, body=body), 400, "BadRequestError"
    )


def test_create_photo_without_token_is_401(photo_client: Client) -> None:
    response = photo_client.http.post("/photos", body='{"content_type": "image/png", "size": 1}')
    assert_error(response, 401, "UnauthorizedError")


def test_get_photo_etag_and_304(photo_client: Client) -> None:
    photo = _create(photo_client).json_body["photo"]
    response = photo_client.http.get(f"/photos/{photo['id']}", headers=ALICE)
    assert response.status_code == 200
    etag = response.headers["ETag"]
    cached = photo_client.http.get(
        f"/photos/{photo['id']}", headers={**ALICE, "If-None-Match": etag}
    )
    assert cached.status_code == 304


@pytest.mark.parametrize("method", ["get", "delete"])
def test_another_users_photo_is_404(photo_client: Client, method: str) -> None:
    photo = _create(photo_client).json_body["photo"]
    response = getattr(photo_client.http, method)(f"/photos/{photo['id']}", headers=BOB)
    assert_error(response, 404, "NotFoundError")
    assert photo_client.http.get(f"/photos/{photo['id']}", headers=ALICE).status_code == 200


def test_list_photos_is_per_user_and_paged(photo_client: Client) -> None:
    for _ in range(3):
        _create(photo_client)
    _create(photo_client, BOB)
    page = photo_client.http.get("/photos?limit=2", headers=ALICE).json_body
    assert len(page["items"]) == 2
    rest = photo_client.http.get(f"/photos?limit=2&cursor={page['next_cursor']}", headers=ALICE)
    assert len(rest.json_body["items"]) == 1
    assert_error(
        photo_client.http.get(f"/photos?cursor={page['next_cursor']}", headers=BOB),
        400,
        "BadRequestError",
    )


@pytest.mark.parametrize("limit", ["0", "01", "007"])
def test_list_photos_bad_limit_is_400(photo_client: Client, limit: str) -> None:
    response = photo_client.http.get(f"/photos?limit={limit}", headers=ALICE)
    assert_error(response, 400, "BadRequestError", "limit")


def test_delete_photo_is_204_then_404(photo_client: Client) -> None:
    photo = _create(photo_client).json_body["photo"]
    assert photo_client.http.delete(f"/photos/{photo['id']}", headers=ALICE).status_code == 204
    assert_error(
        photo_client.http.get(f"/photos/{photo['id']}", headers=ALICE), 404, "NotFoundError"
    )


def test_make_thumbnails_handler_processes_queue_batch(
    photo_client: Client, media: Media, upload_photo: UploadPhoto
) -> None:
    photo = {"id": upload_photo(jpeg())}
    sqs = boto3.client("sqs")
    messages = sqs.receive_message(QueueUrl=media.queue_url, MaxNumberOfMessages=10)["Messages"]
    bodies = [m["Body"] for m in messages] + ["poison"]
    event = photo_client.events.generate_sqs_event(
        message_bodies=bodies, queue_name="mytodolist-test-thumbnails"
    )
    result = photo_client.lambda_.invoke("make_thumbnails", event).payload
    poison_id = event["Records"][-1]["messageId"]
    assert result == {"batchItemFailures": [{"itemIdentifier": poison_id}]}
    ready = photo_client.http.get(f"/photos/{photo['id']}", headers=ALICE).json_body
    assert ready["status"] == "ready"
    assert set(ready["thumbnails"]) == {"small", "medium", "large"}
