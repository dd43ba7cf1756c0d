"""Events as Lambda delivers them, read from moto (stream records, queue messages), and the
mails moto's SES accepted."""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import boto3
from botocore.config import Config
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from sandbox.lambda_events import sqs_event, stream_event
from sandbox.resources import stream_arns

REGION = "us-east-1"


def stream_batch(table: str) -> dict[str, Any]:
    """Every record so far on the stream of a template table (by logical id), as one batch."""
    arn = stream_arns("test")[table]
    # Account-based endpoints (123456789012.streams-ddb...) are unknown to moto's mock.
    streams = boto3.client("dynamodbstreams", config=Config(account_id_endpoint_mode="disabled"))
    records: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            records += page["Records"]
            if not page["Records"]:
                break
            iterator = page.get("NextShardIterator")
    return stream_event(records, arn)


def queue_batch(queue_url: str) -> dict[str, Any]:
    """Every message waiting on a queue, received once, as one SQS batch."""
    sqs = boto3.client("sqs")
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    messages: list[dict[str, Any]] = []
    while True:
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return sqs_event(messages, arn, REGION)
        messages += got


@dataclass(frozen=True)
class SentMail:
    to: list[str]
    source: str
    subject: str
    body: str  # the HTML part
    text: str
    message: EmailMessage  # the whole MIME message, headers included


def sent_mails() -> list[SentMail]:
    """What SES accepted so far in this moto account (raw MIME messages, parsed)."""
    backend = ses_backends[DEFAULT_ACCOUNT_ID][REGION]
    mails = []
    for sent in backend.sent_messages:
        message = email.message_from_string(sent.raw_data, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        html, text = (message.get_body(preferencelist=(kind,)) for kind in ("html", "plain"))
        assert isinstance(html, EmailMessage)
        assert isinstance(text, EmailMessage)
        mails.append(
            SentMail(
                to=[a.addr_spec for a in message["To"].addresses],
                source=sent.source,
                subject=str(message["Subject"]),
                body=html.get_content(),
                text=text.get_content(),
                message=message,
            )
        )
    return mails
