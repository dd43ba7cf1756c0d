"""The mail handlers end to end: real writes, the records moto's streams and queue hold, the
handlers invoked as Lambda would (and redelivered), and the mails moto's SES accepted."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.blog.mail import mailboxes
from chalicelib.blog.subscribers.addresses import mailbox
from chalicelib.store.models import MailDeliveryModel, SubscriberModel
from sandbox.resources import Mail
from tests.conftest import make_token
from tests.events import SentMail, queue_batch, sent_mails, stream_batch

JSON = {"Content-Type": "application/json"}
EDITOR = {"Authorization": make_token("ed", groups=["editors"]), **JSON}


@pytest.fixture
def blog(client: Client, mail: Mail) -> Client:
    return client


def _subscribe(client: Client, *emails: str) -> None:
    """Sign up: pending addresses, each waiting for its confirmation."""
    for email in emails:
        response = client.http.post(
            "/subscriptions", headers=JSON, body=json.dumps({"email": email})
        )
        assert response.status_code == 202


def _confirm(client: Client, *emails: str) -> None:
    for email in emails:
        body = json.dumps({"token": _token(email.lower())})
        response = client.http.post("/subscriptions/confirm", headers=JSON, body=body)
        assert response.status_code == 200


def _subscribed(client: Client, *emails: str) -> None:
    """Signed up and confirmed: active subscribers."""
    _subscribe(client, *emails)
    _confirm(client, *emails)


def _an_hour_passes(email: str) -> None:
    """As if the last confirmation mail had been asked for, and its mailbox's window taken, over
    an hour ago."""
    item = SubscriberModel.get(email)
    item.update(actions=[SubscriberModel.requested_at.add(-3601)])
    try:
        window = MailDeliveryModel.get(mailboxes.window_id(mailbox(email)))
    except MailDeliveryModel.DoesNotExist:
        return
    window.update(actions=[MailDeliveryModel.lease_until.add(-3601)])


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


# -- confirmation and welcome mails --------------------------------------------------------


def _kinds(mails: list[SentMail]) -> list[tuple[str, str]]:
    return [(m.to[0], m.subject.split()[0]) for m in mails]


def test_confirmation_batch_replayed_three_times_sends_one_mail_each(blog: Client) -> None:
    _subscribe(blog, "ann@example.com", "bob@example.com", "Cy@Example.com")
    event = stream_batch("SubscribersTable")
    assert [r["eventName"] for r in event["Records"]] == ["INSERT"] * 3
    for _ in range(3):
        assert _welcome(blog, event) == {"batchItemFailures": []}
    assert sorted(_kinds(sent_mails())) == [
        ("Cy@example.com", "Confirm"),
        ("ann@example.com", "Confirm"),
        ("bob@example.com", "Confirm"),
    ]


def test_confirmation_mail_links_to_the_confirm_page_and_has_no_unsubscribe(
    blog: Client,
) -> None:
    _subscribe(blog, "ann@example.com")
    _drain_welcome_mails(blog)
    (mail,) = sent_mails()
    assert mail.source == "blog@example.com"
    link = f"https://blog.example.com/confirm.html?token={_token('ann@example.com')}"
    assert f'href="{link}"' in mail.body
    assert link in mail.text
    assert mail.message["List-Unsubscribe"] is None


def test_welcome_only_after_confirming_and_once_however_often_replayed(blog: Client) -> None:
    _subscribe(blog, "ann@example.com")
    _drain_welcome_mails(blog)
    _confirm(blog, "ann@example.com")
    _confirm(blog, "ann@example.com")  # idempotent: no second change, no second mail
    event = stream_batch("SubscribersTable")
    assert [r["eventName"] for r in event["Records"]] == ["INSERT", "MODIFY"]
    for _ in range(3):
        assert _welcome(blog, event) == {"batchItemFailures": []}
    assert _kinds(sent_mails()) == [("ann@example.com", "Confirm"), ("ann@example.com", "Welcome")]


def test_welcome_mail_has_both_parts_and_one_click_headers(blog: Client) -> None:
    _subscribed(blog, "ann@example.com")
    _drain_welcome_mails(blog)
    welcome = sent_mails()[-1]
    token = _token("ann@example.com")
    assert welcome.message["List-Unsubscribe"] == (
        f"<https://api.example.com/subscriptions/unsubscribe?token={token}>"
    )
    assert welcome.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = f"https://blog.example.com/unsubscribe.html?token={token}"
    assert f'href="{link}"' in welcome.body
    assert link in welcome.text


def test_welcome_mail_one_click_post_unsubscribes(blog: Client) -> None:
    _subscribed(blog, "ann@example.com")
    _drain_welcome_mails(blog)
    header = str(sent_mails()[-1].message["List-Unsubscribe"]).strip("<>")
    path = header.removeprefix("https://api.example.com")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    response = blog.http.post(path, headers=form, body="List-Unsubscribe=One-Click")
    assert (response.status_code, response.json_body) == (200, {"status": "unsubscribed"})
    assert SubscriberModel.get("ann@example.com").status == "unsubscribed"


def test_repeated_sign_ups_send_one_confirmation(blog: Client) -> None:
    _subscribe(blog, "ann@example.com", "ann@example.com", "ANN@example.com")
    _drain_welcome_mails(blog)
    assert _kinds(sent_mails()) == [("ann@example.com", "Confirm")]


def test_subscriber_poison_record_is_reported_and_the_rest_done(blog: Client) -> None:
    _subscribe(blog, "ann@example.com", "bob@example.com")
    event = stream_batch("SubscribersTable")
    poison = copy.deepcopy(event["Records"][0])
    poison["dynamodb"]["SequenceNumber"] = "999"
    poison["dynamodb"]["NewImage"] = {"email": {"N": "not a string"}, "status": {"S": "active"}}
    event["Records"].insert(1, poison)
    assert _welcome(blog, event) == {"batchItemFailures": [{"itemIdentifier": "999"}]}
    assert sorted(m.to[0] for m in sent_mails()) == ["ann@example.com", "bob@example.com"]


def test_unsubscribe_and_return_confirms_again_then_welcomes_again(blog: Client) -> None:
    _subscribed(blog, "ann@example.com")
    _drain_welcome_mails(blog)
    first = _token("ann@example.com")
    blog.http.post("/subscriptions/unsubscribe", headers=JSON, body=json.dumps({"token": first}))
    _an_hour_passes("ann@example.com")
    _subscribed(blog, "ann@example.com")
    event = stream_batch("SubscribersTable")
    assert [r["eventName"] for r in event["Records"]] == ["INSERT"] + ["MODIFY"] * 5
    for _ in range(2):
        _welcome(blog, event)
    assert [kind for _, kind in _kinds(sent_mails())] == ["Confirm", "Welcome"] * 2
    assert _token("ann@example.com") != first
    assert _token("ann@example.com") in sent_mails()[-1].body


# -- new-post mails -------------------------------------------------------------------------


def test_publishing_mails_every_active_subscriber_once(blog: Client, mail: Mail) -> None:
    emails = [f"reader{n}@example.com" for n in range(7)]
    _subscribed(blog, *emails)
    _create_post(blog, status="published")
    _publish_and_mail(blog, mail)
    mails = [m for m in sent_mails() if m.subject.startswith("New post")]
    assert sorted(m.to[0] for m in mails) == sorted(emails)


def test_publishing_replayed_still_mails_each_subscriber_once(blog: Client, mail: Mail) -> None:
    emails = [f"reader{n}@example.com" for n in range(5)]
    _subscribed(blog, *emails)
    _create_post(blog, status="published")
    _publish_and_mail(blog, mail, replays=3)
    mails = [m for m in sent_mails() if m.subject.startswith("New post")]
    assert sorted(m.to[0] for m in mails) == sorted(emails)


def test_publishing_a_draft_later_mails_once(blog: Client, mail: Mail) -> None:
    _subscribed(blog, "ann@example.com")
    _create_post(blog)
    blog.http.patch("/posts/hello-world", headers=EDITOR, body='{"summary": "draft edit"}')
    blog.http.patch("/posts/hello-world", headers=EDITOR, body='{"status": "published"}')
    _publish_and_mail(blog, mail)
    assert [m.to for m in sent_mails() if m.subject.startswith("New post")] == [["ann@example.com"]]


def test_pending_address_gets_no_post_mail(blog: Client, mail: Mail) -> None:
    _subscribed(blog, "ann@example.com")
    _subscribe(blog, "bob@example.com")
    _create_post(blog, status="published")
    _publish_and_mail(blog, mail)
    assert [m.to for m in sent_mails() if m.subject.startswith("New post")] == [["ann@example.com"]]


def test_post_mail_has_one_click_headers(blog: Client, mail: Mail) -> None:
    _subscribed(blog, "ann@example.com")
    _create_post(blog, status="published")
    _publish_and_mail(blog, mail)
    (message,) = [m for m in sent_mails() if m.subject.startswith("New post")]
    token = _token("ann@example.com")
    url = f"https://api.example.com/subscriptions/unsubscribe?token={token}"
    assert message.message["List-Unsubscribe"] == f"<{url}>"
    assert message.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.message.is_multipart()


def test_creating_a_draft_mails_nobody(blog: Client, mail: Mail) -> None:
    _subscribed(blog, "ann@example.com")
    _create_post(blog)
    _publish_and_mail(blog, mail)
    assert not [m for m in sent_mails() if m.subject.startswith("New post")]


def test_editing_a_published_post_mails_nobody_again(blog: Client, mail: Mail) -> None:
    _subscribed(blog, "ann@example.com")
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
    _subscribed(blog, "ann@example.com", "bob@example.com")
    _create_post(blog, status="published")
    blog.lambda_.invoke("announce_posts", stream_batch("PostsTable"))
    token = _token("bob@example.com")
    blog.http.post("/subscriptions/unsubscribe", headers=JSON, body=json.dumps({"token": token}))
    blog.lambda_.invoke("send_post_mails", queue_batch(mail.queue_url))
    assert [m.to for m in sent_mails() if m.subject.startswith("New post")] == [["ann@example.com"]]


def test_unsubscribed_before_publishing_gets_nothing(blog: Client, mail: Mail) -> None:
    _subscribed(blog, "ann@example.com", "bob@example.com")
    token = _token("bob@example.com")
    blog.http.post("/subscriptions/unsubscribe", headers=JSON, body=json.dumps({"token": token}))
    _create_post(blog, status="published")
    blog.lambda_.invoke("announce_posts", stream_batch("PostsTable"))
    (message,) = queue_batch(mail.queue_url)["Records"]
    assert json.loads(message["body"]) == {"slug": "hello-world", "emails": ["ann@example.com"]}


def test_post_mail_escapes_the_post_and_links_back(blog: Client, mail: Mail) -> None:
    _subscribed(blog, "ann@example.com")
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
    _subscribed(blog, "ann@example.com")
    _create_post(blog, status="published")
    blog.lambda_.invoke("announce_posts", stream_batch("PostsTable"))
    event = queue_batch(mail.queue_url)
    poison = {**event["Records"][0], "messageId": "poison", "body": "{not json"}
    event["Records"].insert(0, poison)
    result = blog.lambda_.invoke("send_post_mails", event).payload
    assert result == {"batchItemFailures": [{"itemIdentifier": "poison"}]}
    assert len([m for m in sent_mails() if m.subject.startswith("New post")]) == 1
