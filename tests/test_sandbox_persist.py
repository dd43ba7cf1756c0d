"""What a snapshot reads from moto's backends comes back as it was (sandbox.persist)."""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import pytest

from sandbox.capture import (
    capture_mails,
    capture_messages,
    capture_users,
    clear_outbox,
    outbox_data,
)
from sandbox.restore import restore_mails, restore_messages, restore_users

REGION = "us-east-1"
PASSWORD = "Passw0rd!!"


@pytest.fixture
def session(moto: str, monkeypatch: pytest.MonkeyPatch) -> boto3.Session:
    """A session that reaches the test's moto, as the sandbox's own does (by the environment)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "sandbox")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "sandbox")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    return boto3.Session(region_name=REGION)


def test_users_come_back_with_their_sub_password_and_groups(session: boto3.Session) -> None:
    cognito: Any = session.client("cognito-idp")
    pool = cognito.create_user_pool(PoolName=f"p-{uuid.uuid4().hex[:6]}")["UserPool"]["Id"]
    client = cognito.create_user_pool_client(
        UserPoolId=pool, ClientName="c", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    cognito.create_group(GroupName="editors", UserPoolId=pool)
    created = cognito.admin_create_user(UserPoolId=pool, Username="ed", MessageAction="SUPPRESS")
    cognito.admin_set_user_password(
        UserPoolId=pool, Username="ed", Password=PASSWORD, Permanent=True
    )
    cognito.admin_add_user_to_group(UserPoolId=pool, Username="ed", GroupName="editors")
    sub = {a["Name"]: a["Value"] for a in created["User"]["Attributes"]}["sub"]

    saved = capture_users(REGION, pool)
    cognito.admin_delete_user(UserPoolId=pool, Username="ed")
    restore_users(REGION, pool, saved)

    user = cognito.admin_get_user(UserPoolId=pool, Username="ed")
    assert {a["Name"]: a["Value"] for a in user["UserAttributes"]}["sub"] == sub
    groups = cognito.admin_list_groups_for_user(UserPoolId=pool, Username="ed")["Groups"]
    assert [g["GroupName"] for g in groups] == ["editors"]
    signed_in = cognito.initiate_auth(
        AuthFlow="USER_PASSWORD_AUTH",
        ClientId=client,
        AuthParameters={"USERNAME": "ed", "PASSWORD": PASSWORD},
    )
    assert signed_in["AuthenticationResult"]["IdToken"]


def test_queued_messages_come_back_in_flight_ones_included(session: boto3.Session) -> None:
    sqs: Any = session.client("sqs")
    name = f"q-{uuid.uuid4().hex[:6]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    for body in ("one", "two"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)  # one in flight

    saved = capture_messages(REGION)[name]
    sqs.purge_queue(QueueUrl=url)
    restore_messages(session, {name: saved})

    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in got) == ["one", "two"]


def test_sent_mails_come_back_as_the_outbox_showed_them(session: boto3.Session) -> None:
    ses: Any = session.client("ses")
    ses.verify_email_identity(EmailAddress="blog@example.com")
    ses.send_email(
        Source="blog@example.com",
        Destination={"ToAddresses": ["a@example.com"]},
        Message={"Subject": {"Data": "Hi"}, "Body": {"Text": {"Data": "Hello"}}},
    )
    ses.send_raw_email(
        Source="blog@example.com",
        Destinations=["b@example.com"],
        RawMessage={"Data": b"From: blog@example.com\nTo: b@example.com\nSubject: Raw\n\nBody"},
    )
    before = outbox_data(REGION)
    saved = capture_mails(REGION)
    assert clear_outbox(REGION) == len(saved) >= 2
    assert outbox_data(REGION) == {"ses": {}}

    restore_mails(REGION, saved)

    assert outbox_data(REGION) == before
