"""HTTP behaviour of /subscriptions through chalice.test.Client: statuses and envelopes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.models import SubscriberModel
from tests.helpers import assert_error

JSON = {"Content-Type": "application/json"}


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
