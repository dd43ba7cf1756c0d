"""The hand-written IAM policy: in sync per stage, least privilege, and what no call shows.

Every call the app makes during the test suite is checked against the policy by conftest.py
(`pytest_sessionfinish`); these tests cover the evaluator itself and the permissions that no
recorded call exercises: presigned URLs and the event source mappings Lambda runs for us.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from tests.conftest import ACCOUNT, ROOT
from tools.iam import Need, UnmappedCall, allowed, render, required

REGION = "us-east-1"
POLICY = render("test", os.environ["MAIL_SENDER"])
BUCKET = "mytodolist-test-media-123456789012"


def _need(service: str, operation: str, params: dict[str, Any]) -> list[Need]:
    return required(service, operation, params, region=REGION, account=ACCOUNT)


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_policy_files_are_renders_of_the_template(stage: str) -> None:
    committed = json.loads((ROOT / ".chalice" / f"policy-{stage}.json").read_text())
    sender = next(
        s["Condition"]["StringEquals"]["ses:FromAddress"]
        for s in committed["Statement"]
        if "Condition" in s
    )
    assert committed == render(stage, sender)


def test_policy_has_no_wildcard_actions() -> None:
    groups = [s["Action"] for s in POLICY["Statement"]]
    actions = [a for group in groups for a in ([group] if isinstance(group, str) else group)]
    assert actions
    assert all("*" not in a for a in actions)


def test_policy_uses_star_resource_only_where_aws_allows_nothing_narrower() -> None:
    starred = [s["Sid"] for s in POLICY["Statement"] if s["Resource"] == "*"]
    # X-Ray's actions take no resource; they matter only when a stage turns "xray" on.
    assert starred == ["ListStreamsHasNoResource", "XRayHasNoResource"]


@pytest.mark.parametrize(
    "need",
    [
        # The presigned POST is signed by the API function: it must itself be allowed to put.
        Need("s3:PutObject", f"arn:aws:s3:::{BUCKET}/uploads/user/photo"),
        Need("s3:GetObject", f"arn:aws:s3:::{BUCKET}/thumbnails/user/photo/small.jpg"),
        # What Lambda's event source mappings do with the function's role.
        Need("sqs:ReceiveMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:mytodolist-test-thumbnails"),
        Need("sqs:DeleteMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:mytodolist-test-post-mails"),
        Need(
            "sqs:GetQueueAttributes", f"arn:aws:sqs:{REGION}:{ACCOUNT}:mytodolist-test-post-mails"
        ),
        Need(
            "dynamodb:GetRecords",
            f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/mytodolist-test-posts/stream/2026-01-01",
        ),
        Need(
            "dynamodb:GetShardIterator",
            f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/mytodolist-test-subscribers/stream/x",
        ),
        Need("dynamodb:ListStreams", "*"),
        Need("sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:mytodolist-test-thumbnails-dlq"),
    ],
    ids=lambda n: n.action,
)
def test_policy_allows_what_no_recorded_call_shows(need: Need) -> None:
    assert allowed(POLICY, need)


@pytest.mark.parametrize(
    "need",
    [
        Need(
            "dynamodb:GetItem", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/mytodolist-prod-todos"
        ),
        Need("dynamodb:Scan", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/mytodolist-test-todos"),
        Need(
            "dynamodb:DeleteItem",
            f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/mytodolist-test-todos",
        ),
        Need("s3:PutObject", f"arn:aws:s3:::{BUCKET}/site/index.html"),
        Need("s3:ListBucket", f"arn:aws:s3:::{BUCKET}"),
        Need("s3:GetObject", "arn:aws:s3:::someone-elses-bucket/uploads/x"),
        Need("sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:mytodolist-test-thumbnails"),
        Need(
            "ses:SendEmail",
            f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/evil@example.com",
            {"ses:FromAddress": "evil@example.com"},
        ),
        Need("ses:SendEmail", f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/blog@example.com"),
        Need("lambda:InvokeFunction", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:other"),
    ],
    ids=lambda n: f"{n.action}:{n.resource.rsplit(':', 1)[-1]}",
)
def test_policy_denies_what_the_app_does_not_need(need: Need) -> None:
    assert not allowed(POLICY, need)


def test_required_maps_transactions_to_their_item_actions() -> None:
    params = {
        "TransactItems": [
            {"Put": {"TableName": "mytodolist-test-todos"}},
            {"ConditionCheck": {"TableName": "mytodolist-test-idempotency"}},
        ]
    }
    assert [n.action for n in _need("dynamodb", "TransactWriteItems", params)] == [
        "dynamodb:PutItem",
        "dynamodb:ConditionCheckItem",
    ]


def test_required_maps_queries_on_an_index_to_the_index() -> None:
    (need,) = _need("dynamodb", "Query", {"TableName": "t", "IndexName": "by_created"})
    assert need.resource.endswith(":table/t/index/by_created")


def test_required_maps_batches_to_single_actions() -> None:
    url = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/q"
    (need,) = _need("sqs", "SendMessageBatch", {"QueueUrl": url})
    assert need == Need("sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:q")
    keys = {"Bucket": "b", "Delete": {"Objects": [{"Key": "a"}, {"Key": "b"}]}}
    assert [n.resource for n in _need("s3", "DeleteObjects", keys)] == [
        "arn:aws:s3:::b/a",
        "arn:aws:s3:::b/b",
    ]


def test_required_gives_ses_its_from_address_condition() -> None:
    (need,) = _need("ses", "SendRawEmail", {"Source": "Blog <blog@example.com>"})
    assert need.context == {"ses:FromAddress": "blog@example.com"}
    assert allowed(POLICY, need)


def test_required_refuses_unknown_calls() -> None:
    with pytest.raises(UnmappedCall):
        _need("iam", "CreateUser", {})


@pytest.mark.parametrize(
    "group",
    ["/aws/lambda/mytodolist-test", "/aws/lambda/mytodolist-test-make_thumbnails"],
    ids=["api", "event handler"],
)
def test_policy_lets_every_function_write_its_logs(group: str) -> None:
    resource = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:log-stream:2026/11/23/x"
    assert allowed(POLICY, Need("logs:PutLogEvents", resource))
    assert not allowed(
        POLICY, Need("logs:PutLogEvents", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/other:*")
    )
