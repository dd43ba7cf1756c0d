"""The mail handlers end to end: real writes, the records moto's streams and queue hold, the
handlers invoked as Lambda would (and redelivered), and the mails moto's SES accepted."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.models import SubscriberModel
from sandbox.resources import Mail
from tests.conftest import make_token
from tests.events import queue_batch, sent_mails, stream_batch

JSON = {"Content-Type": "application/json"}
EDITOR = {"Authorization": make_token("ed", groups=["editors"]), **JSON}


@pytest.fixture
def blog(client: Client, mail: Mail) -> Client:
    return client


def _subscribe(client: Client, *emails: str) -> None:
    for email in emails:
        response = client.http.post(
            "/subscriptions", headers=JSON, body=json.dumps({"email": email})
        )
        assert response.status_code == 202


def _token(email: str) -> str:
    return SubscriberModel.get(email).token


def _welcome(client: Client, event: dict[str, Any]) -> Any:
    return client.lambda_.invoke("send_welcome_mails", copy.deepcopy(event)).payload


def _publish_and_mail(client: Client, mail: Mail, *, replays: int = 1) -> None:
    """Run the posts stream through announce_posts and the queue through send_post_mails."""
    posts = stream_batch("PostsTable")
    for _ in range(replays):
        assert client.lambda_.invoke("announce_posts", posts).payload == {"batchItemFailures": []}
    batch = queue_batch(mail.queue_url)
    for _ in range(replays):
        result = client.lambda_.invoke("send_post_mails", copy.deepcopy(batch)).payload
        assert result == {"batchItemFailures": []}


def _create_post(client: Client, **fields: Any) -> None:
    body = {"title": "Hello <world>", "summary": "A & B", "body": "*hi*", **fields}
    response = client.http.post("/posts", headers=EDITOR, body=json.dumps(body))
    assert response.status_code == 201


def _drain_welcome_mails(client: Client) -> None:
    _welcome(client, stream_batch("SubscribersTable"))


# -- welcome mails --------------------------------------------------------------------------


def test_welcome_batch_replayed_three_times_sends_one_mail_each(blog: Client) -> None:
    _subscribe(blog, "ann@example.com", "bob@example.com", "Cy@Example.com")
    event = stream_batch("SubscribersTable")
    assert [r["eventName"] for r in event["Records"]] == ["INSERT"] * 3
    for _ in range(3):
        assert _welcome(blog, event) == {"batchItemFailures": []}
    mails = sent_mails()
    assert sorted(m.to[0] for m in mails) == [
        "Cy@example.com",
        "ann@example.com",
        "bob@example.com",
    ]


def test_welcome_mail_carries_the_unsubscribe_link(blog: Client) -> None:
    _subscribe(blog, "ann@example.com")
    _drain_welcome_mails(blog)
    (mail,) = sent_mails()
    assert mail.source == "blog@example.com"
    link = f"https://blog.example.com/unsubscribe.html?token={_token('ann@example.com')}"
    assert f'href="{link}"' in mail.body


def test_welcome_mail_link_unsubscribes(blog: Client) -> None:
    _subscribe(blog, "ann@example.com")
    _drain_welcome_mails(blog)
    token = sent_mails()[0].body.split("token=")[1].split('"')[0]
    response = blog.http.post(
        "/subscriptions/unsubscribe", headers=JSON, body=json.dumps({"token": token})
    )
    assert response.status_code == 200


def test_welcome_second_subscribe_sends_nothing_more(blog: Client) -> None:
    _subscribe(blog, "ann@example.com", "ann@example.com")
    _drain_welcome_mails(blog)
    assert len(sent_mails()) == 1


def test_welcome_poison_record_is_reported_and_the_rest_done(blog: Client) -> None:
    _subscribe(blog, "ann@example.com", "bob@example.com")
    event = stream_batch("SubscribersTable")
    poison = copy.deepcopy(event["Records"][0])
    poison["dynamodb"]["SequenceNumber"] = "999"
    poison["dynamodb"]["NewImage"] = {"email": {"N": "not a string"}, "status": {"S": "active"}}
    event["Records"].insert(1, poison)
    assert _welcome(blog, event) == {"batchItemFailures": [{"itemIdentifier": "999"}]}
    assert sorted(m.to[0] for m in sent_mails()) == ["ann@example.com", "bob@example.com"]


def test_welcome_unsubscribe_and_return_sends_a_new_welcome(blog: Client) -> None:
    _subscribe(blog, "ann@example.com")
    token = _token("ann@example.com")
    blog.http.post("/subscriptions/unsubscribe", headers=JSON, body=json.dumps({"token": token}))
    _subscribe(blog, "ann@example.com")
    event = stream_batch("SubscribersTable")
    assert [r["eventName"] for r in event["Records"]] == ["INSERT", "MODIFY", "MODIFY"]
    for _ in range(2):
        _welcome(blog, event)
    mails = sent_mails()
    assert len(mails) == 2
    assert _token("ann@example.com") in mails[1].body


# -- new-post mails -------------------------------------------------------------------------


def test_publishing_mails_every_active_subscriber_once(blog: Client, mail: Mail) -> None:
    emails = [f"reader{n}@example.com" for n in range(7)]
    _subscribe(blog, *emails)
    _create_post(blog, status="published")
    _publish_and_mail(blog, mail)
    mails = [m for m in sent_mails() if m.subject.startswith("New post")]
    assert sorted(m.to[0] for m in mails) == sorted(emails)


def test_publishing_replayed_still_mails_each_subscriber_once(blog: Client, mail: Mail) -> None:
    emails = [f"reader{n}@example.com" for n in range(5)]
    _subscribe(blog, *emails)
    _create_post(blog, status="published")
    _publish_and_mail(blog, mail, replays=3)
    mails = [m for m in sent_mails() if m.subject.startswith("New post")]
    assert len(mails) == 5


def test_publishing_a_draft_later_mails_once(blog: Client, mail: Mail) -> None:
    _subscribe(blog, "ann@example.com")
    _create_post(blog)
    blog.http.patch("/posts/hello-world", headers=EDITOR, body='{"summary": "draft edit"}')
    blog.http.patch("/posts/hello-world", headers=EDITOR, body='{"status": "published"}')
    _publish_and_mail(blog, mail)
    assert [m.to for m in sent_mails() if m.subject.startswith("New post")] == [["ann@example.com"]]


def test_creating_a_draft_mails_nobody(blog: Client, mail: Mail) -> None:
    _subscribe(blog, "ann@example.com")
    _create_post(blog)
    _publish_and_mail(blog, mail)
    assert not [m for m in sent_mails() if m.subject.startswith("New post")]


def test_editing_a_published_post_mails_nobody_again(blog: Client, mail: Mail) -> None:
    _subscribe(blog, "ann@example.com")
    _create_post(blog, status="published")
    _publish_and_mail(blog, mail)
    blog.http.patch("/posts/hello-world", headers=EDITOR, body='{"summary": "fixed a typo"}')
    blog.http.delete("/posts/hello-world", headers=EDITOR)
    posts = stream_batch("PostsTable")
    assert [r["eventName"] for r in posts["Records"]] == ["INSERT", "MODIFY", "REMOVE"]
    later = {"Records": posts["Records"][1:]}
    assert blog.lambda_.invoke("announce_posts", later).payload == {"batchItemFailures": []}
    assert queue_batch(mail.queue_url)["Records"] == []
    assert len([m for m in sent_mails() if m.subject.startswith("New post")]) == 1


def test_unsubscribing_after_the_fan_out_stops_the_mail(blog: Client, mail: Mail) -> None:
    _subscribe(blog, "ann@example.com", "bob@example.com")
    _create_post(blog, status="published")
    blog.lambda_.invoke("announce_posts", stream_batch("PostsTable"))
    token = _token("bob@example.com")
    blog.http.post("/subscriptions/unsubscribe", headers=JSON, body=json.dumps({"token": token}))
    blog.lambda_.invoke("send_post_mails", queue_batch(mail.queue_url))
    assert [m.to for m in sent_mails() if m.subject.startswith("New post")] == [["ann@example.com"]]


def test_unsubscribed_before_publishing_gets_nothing(blog: Client, mail: Mail) -> None:
    _subscribe(blog, "ann@example.com", "bob@example.com")
    token = _token("bob@example.com")
    blog.http.post("/subscriptions/unsubscribe", headers=JSON, body=json.dumps({"token": token}))
    _create_post(blog, status="published")
    blog.lambda_.invoke("announce_posts", stream_batch("PostsTable"))
    (message,) = queue_batch(mail.queue_url)["Records"]
    assert json.loads(message["body"]) == {"slug": "hello-world", "emails": ["ann@example.com"]}


def test_post_mail_escapes_the_post_and_links_back(blog: Client, mail: Mail) -> None:
    _subscribe(blog, "ann@example.com")
    _create_post(blog, status="published")
    _publish_and_mail(blog, mail)
    (message,) = [m for m in sent_mails() if m.subject.startswith("New post")]
    assert message.subject == "New post: Hello <world>"
    assert "<h1>Hello &lt;world&gt;</h1>" in message.body
    assert "A &amp; B" in message.body
    assert 'href="https://blog.example.com/post.html?slug=hello-world"' in message.body
    token = _token("ann@example.com")
    assert f'href="https://blog.example.com/unsubscribe.html?token={token}"' in message.body


def test_post_mail_poison_message_is_reported_and_the_rest_done(blog: Client, mail: Mail) -> None:
    _subscribe(blog, "ann@example.com")
    _create_post(blog, status="published")
    blog.lambda_.invoke("announce_posts", stream_batch("PostsTable"))
    event = queue_batch(mail.queue_url)
    poison = {**event["Records"][0], "messageId": "poison", "body": "{not json"}
    event["Records"].insert(0, poison)
    result = blog.lambda_.invoke("send_post_mails", event).payload
    assert result == {"batchItemFailures": [{"itemIdentifier": "poison"}]}
    assert len([m for m in sent_mails() if m.subject.startswith("New post")]) == 1
