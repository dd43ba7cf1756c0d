"""A client's WebSocket message: a ping is ponged; anything else is answered with what to send."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from chalicelib.realtime.connections import PONG, ConnectionService


def _answer(body: str | None) -> Mapping[str, Any]:
    sent: list[Mapping[str, Any]] = []

    def send(endpoint: str, connection_id: str, message: Mapping[str, Any]) -> None:
        assert (endpoint, connection_id) == ("https://ws.example/test", "cid")
        sent.append(message)

    ConnectionService(lambda: pytest.fail("no token is checked"), send=send).answer(
        "cid", "https://ws.example/test", body
    )
    (frame,) = sent
    return frame


def test_answer_to_a_ping_is_a_pong() -> None:
    assert _answer('{"action": "ping"}') == PONG == {"type": "pong"}


@pytest.mark.parametrize("body", ["not json", '["ping"]', "", None, '"ping"'])
def test_answer_to_what_is_not_an_object_says_to_send_one(body: str | None) -> None:
    assert _answer(body) == {
        "type": "error",
        "message": 'send a JSON object, such as {"action": "ping"}',
    }


def test_answer_to_an_unknown_action_names_it_and_the_one_there_is() -> None:
    assert _answer('{"action": "subscribe"}') == {
        "type": "error",
        "message": "unknown action 'subscribe': the only one is \"ping\"",
    }
