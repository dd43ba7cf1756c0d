"""HTTP behaviour of /subscriptions through chalice.test.Client: statuses and envelopes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
import urllib3
from chalice.test import Client

from chalicelib.store.models import SubscriberModel
from tests.helpers import assert_error

JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _subscribe(client: Client, email: str) -> Any:
    return client.http.post("/subscriptions", headers=JSON, body=json.dumps({"email": email}))


def _unsubscribe(client: Client, token: str) -> Any:
    return client.http.post(
        "/subscriptions/unsubscribe", headers=JSON, body=json.dumps({"token": token})
    )


def test_subscribe_is_202_pending(client: Client) -> None:
    response = _subscribe(client, "ann@example.com")
    assert response.status_code == 202
    assert response.json_body == {"status": "pending"}


def test_subscribe_twice_is_202_both_times_and_one_subscriber(client: Client) -> None:
    first = _subscribe(client, "ann@example.com")
    second = _subscribe(client, "Ann@EXAMPLE.com")
    assert (first.status_code, second.status_code) == (202, 202)
    assert first.body == second.body
    assert SubscriberModel.count() == 1


@pytest.mark.parametrize(
    "email", ["", "not-an-address", "ann@", "@example.com", "ann@example", "a b@example.com"]
)
def test_subscribe_malformed_address_is_400(client: Client, email: str) -> None:
    assert_error(_subscribe(client, email), 400, "BadRequestError", "email")


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ("{", "not valid JSON"),
        ("[]", "must be a JSON object"),
        ("{}", "email is required"),
        ('{"email": 5}', "email must be a string"),
        ('{"email": "a@example.com", "name": "Ann"}', "unknown field(s): name"),
        (json.dumps({"email": "a" * 250 + "@example.com"}), "the limit is 254"),
    ],
)
def test_subscribe_bad_body_is_400(client: Client, body: str, text: str) -> None:
    response = client.http.post("/subscriptions", headers=JSON, body=body)
    assert_error(response, 400, "BadRequestError", text)


def test_subscribe_needs_no_token(client: Client) -> None:
    assert _subscribe(client, "ann@example.com").status_code == 202


def _confirm(client: Client, token: str) -> Any:
    return client.http.post(
        "/subscriptions/confirm", headers=JSON, body=json.dumps({"token": token})
    )


def test_confirm_is_200_active_both_times(client: Client) -> None:
    _subscribe(client, "ann@example.com")
    token = SubscriberModel.get("ann@example.com").token
    for _ in range(2):
        response = _confirm(client, token)
        assert (response.status_code, response.json_body) == (200, {"status": "active"})
    assert SubscriberModel.get("ann@example.com").status == "active"


def test_confirm_unknown_token_is_404(client: Client) -> None:
    _subscribe(client, "ann@example.com")
    assert_error(_confirm(client, "A" * 43), 404, "NotFoundError", "token not found or expired")


def test_confirm_expired_token_is_404(client: Client) -> None:
    _subscribe(client, "ann@example.com")
    item = SubscriberModel.get("ann@example.com")
    item.update(actions=[SubscriberModel.expires_at.set(datetime.now(UTC) - timedelta(seconds=1))])
    assert_error(_confirm(client, item.token), 404, "NotFoundError", "expired")


@pytest.mark.parametrize(
    ("body", "text"),
    [("{}", "token is required"), ('{"token": []}', "token must be a string"), ("x", "JSON")],
)
def test_confirm_bad_body_is_400(client: Client, body: str, text: str) -> None:
    response = client.http.post("/subscriptions/confirm", headers=JSON, body=body)
    assert_error(response, 400, "BadRequestError", text)


def _one_click(client: Client, query: str) -> Any:
    # What a mail client sends for List-Unsubscribe-Post (RFC 8058).
    return client.http.post(
        f"/subscriptions/unsubscribe{query}", headers=FORM, body="List-Unsubscribe=One-Click"
    )


def test_one_click_unsubscribe_is_200(client: Client) -> None:
    _subscribe(client, "ann@example.com")
    token = SubscriberModel.get("ann@example.com").token
    for _ in range(2):
        response = _one_click(client, f"?token={token}")
        assert (response.status_code, response.json_body) == (200, {"status": "unsubscribed"})
    assert SubscriberModel.get("ann@example.com").status == "unsubscribed"


def test_one_click_unsubscribe_unknown_token_is_404(client: Client) -> None:
    assert_error(_one_click(client, "?token=nope"), 404, "NotFoundError", "token not found")


def test_one_click_unsubscribe_without_token_is_400(client: Client) -> None:
    assert_error(_one_click(client, ""), 400, "BadRequestError", "token is required")


def _multipart_by_requests() -> tuple[dict[str, str], bytes]:
    """The one-click form as requests builds multipart/form-data (RFC 7578)."""
    prepared = requests.Request(
        "POST", "https://api.example.com/", files={"List-Unsubscribe": (None, "One-Click")}
    ).prepare()
    assert isinstance(prepared.body, bytes)
    return {"Content-Type": prepared.headers["Content-Type"]}, prepared.body


def _multipart_by_urllib3() -> tuple[dict[str, str], bytes]:
    body, content_type = urllib3.encode_multipart_formdata({"List-Unsubscribe": "One-Click"})
    return {"Content-Type": content_type}, body


@pytest.mark.parametrize("build", [_multipart_by_requests, _multipart_by_urllib3])
def test_one_click_unsubscribe_as_multipart_form_data_is_200(client: Client, build: Any) -> None:
    # RFC 8058: the body SHOULD be multipart/form-data; it used to be a 415.
    _subscribe(client, "ann@example.com")
    token = SubscriberModel.get("ann@example.com").token
    headers, body = build()
    for _ in range(2):
        response = client.http.post(
            f"/subscriptions/unsubscribe?token={token}", headers=headers, body=body
        )
        assert (response.status_code, response.json_body) == (200, {"status": "unsubscribed"})
    assert SubscriberModel.get("ann@example.com").status == "unsubscribed"


def test_one_click_multipart_unknown_token_is_404(client: Client) -> None:
    headers, body = _multipart_by_requests()
    response = client.http.post("/subscriptions/unsubscribe?token=nope", headers=headers, body=body)
    assert_error(response, 404, "NotFoundError", "token not found")


@pytest.mark.parametrize(
    ("content_type", "body", "text"),
    [
        ("multipart/form-data", b"List-Unsubscribe=One-Click", "multipart/form-data body is"),
        ("multipart/form-data; boundary=xyz", b"no parts here", "multipart/form-data body is"),
        (
            "multipart/form-data; boundary=xyz",
            b'--xyz\r\nContent-Disposition: attachment; filename="a"\r\n\r\nx\r\n--xyz--\r\n',
            "Content-Disposition: form-data",
        ),
        ("application/x-www-form-urlencoded", "List-Unsubscribe=Ein-Klick-\u00e4".encode(), "form"),
    ],
    ids=["no-boundary", "no-parts", "not-form-data", "not-ascii"],
)
def test_one_click_malformed_form_is_400(
    client: Client, content_type: str, body: bytes, text: str
) -> None:
    response = client.http.post(
        "/subscriptions/unsubscribe?token=abc", headers={"Content-Type": content_type}, body=body
    )
    assert_error(response, 400, "BadRequestError", text)


@pytest.mark.parametrize("media", ["multipart/form-data", "application/x-www-form-urlencoded"])
def test_one_click_form_over_the_body_limit_is_413(client: Client, media: str) -> None:
    if media == "multipart/form-data":
        body, content_type = urllib3.encode_multipart_formdata({"pad": "x" * 410_000})
    else:
        body, content_type = b"pad=" + b"x" * 410_000, media
    response = client.http.post(
        "/subscriptions/unsubscribe?token=abc", headers={"Content-Type": content_type}, body=body
    )
    assert_error(response, 413, "PayloadTooLargeError", "limit")


@pytest.mark.parametrize("media", ["text/plain", "application/xml", "multipart/mixed"])
def test_one_click_other_content_type_is_415(client: Client, media: str) -> None:
    response = client.http.post(
        "/subscriptions/unsubscribe?token=abc", headers={"Content-Type": media}, body=b"x"
    )
    assert response.status_code == 415
    assert response.json_body["Code"] == "UnsupportedMediaType"


def test_unsubscribe_is_200(client: Client) -> None:
    _subscribe(client, "ann@example.com")
    token = SubscriberModel.get("ann@example.com").token
    response = _unsubscribe(client, token)
    assert response.status_code == 200
    assert response.json_body == {"status": "unsubscribed"}


def test_unsubscribe_twice_is_200_both_times(client: Client) -> None:
    _subscribe(client, "ann@example.com")
    token = SubscriberModel.get("ann@example.com").token
    assert _unsubscribe(client, token).status_code == 200
    second = _unsubscribe(client, token)
    assert second.status_code == 200
    assert second.json_body == {"status": "unsubscribed"}


def test_unsubscribe_unknown_token_is_404(client: Client) -> None:
    _subscribe(client, "ann@example.com")
    response = _unsubscribe(client, "A" * 43)
    assert_error(response, 404, "NotFoundError", "token not found")


@pytest.mark.parametrize(
    ("body", "text"),
    [("{}", "token is required"), ('{"token": null}', "token must be a string"), ("x", "JSON")],
)
def test_unsubscribe_bad_body_is_400(client: Client, body: str, text: str) -> None:
    response = client.http.post("/subscriptions/unsubscribe", headers=JSON, body=body)
    assert_error(response, 400, "BadRequestError", text)


def test_subscription_routes_allow_cross_origin_calls(client: Client) -> None:
    assert _subscribe(client, "ann@example.com").headers["Access-Control-Allow-Origin"] == "*"
