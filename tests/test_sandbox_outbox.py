"""Unit tests of the mail outbox: parsing moto's data.json, rendering, and the `mail` command."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from sandbox.cli import build_parser, main
from sandbox.endpoints import call_sandbox, write_endpoints
from sandbox.outbox import (
    Mail,
    format_mail,
    html_to_text,
    parse_mails,
    read_outbox,
    render,
)
from sandbox.settings import SandboxError

SENDER = "blog@example.com"
WELCOME_HTML = (
    "<html><head><title>Welcome</title><style>p {color: red}</style></head><body>"
    "<p>Thanks for subscribing to <b>the MyTodoList blog</b>.</p>"
    "<p>Not you? <a href='https://blog.example.com/unsubscribe.html?token=t1&amp;x=1'>"
    "Unsubscribe</a>.</p></body></html>"
)
RAW = (
    "From: Blog <blog@example.com>\r\n"
    "To: Ann <ann@example.com>\r\n"
    "Cc: cat@example.com\r\n"
    "Subject: =?utf-8?q?Caf=C3=A9?=\r\n"
    "MIME-Version: 1.0\r\n"
    'Content-Type: multipart/alternative; boundary="b"\r\n'
    "\r\n"
    "--b\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "Plain words.\r\n"
    "--b\r\n"
    "Content-Type: text/html; charset=utf-8\r\n"
    "\r\n"
    "<p>HTML words.</p>\r\n"
    "--b--\r\n"
)


def model_data(
    messages: list[dict[str, Any]] | None = None,
    raw: list[dict[str, Any]] | None = None,
    templates: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """moto's data.json as moto 5 shapes it (other services left out)."""
    return {
        "iam": {"Role": []},
        "ses": {
            "EmailIdentity": [{"email_identity": SENDER}],
            "Message": messages or [],
            "RawMessage": raw or [],
            "TemplateMessage": templates or [],
        },
    }


def simple(to: str, subject: str = "Welcome", body: str = WELCOME_HTML) -> dict[str, Any]:
    return {
        "id": f"id-{to}",
        "source": SENDER,
        "subject": subject,
        "body": body,
        "destinations": {"ToAddresses": [to]},
    }


# -- parsing ----------------------------------------------------------------------------------


def test_parse_mails_reads_send_email_messages_in_order() -> None:
    mails = parse_mails(model_data([simple("a@example.com"), simple("b@example.com", "News")]))
    assert [(m.to, m.subject, m.sender, m.kind) for m in mails] == [
        (("a@example.com",), "Welcome", SENDER, "email"),
        (("b@example.com",), "News", SENDER, "email"),
    ]


def test_parse_mails_turns_an_html_body_into_text_with_links() -> None:
    (mail,) = parse_mails(model_data([simple("a@example.com")]))
    assert mail.html == WELCOME_HTML
    assert mail.text == (
        "Thanks for subscribing to the MyTodoList blog.\n\n"
        "Not you? Unsubscribe <https://blog.example.com/unsubscribe.html?token=t1&x=1>."
    )


def test_parse_mails_keeps_a_text_body_as_it_is() -> None:
    (mail,) = parse_mails(model_data([simple("a@example.com", body="Hi <you>,\nline two")]))
    assert (mail.text, mail.html) == ("Hi <you>,\nline two", None)


def test_parse_mails_reads_cc_and_bcc() -> None:
    message = simple("a@example.com")
    message["destinations"] = {
        "ToAddresses": ["a@example.com"],
        "CcAddresses": ["c@example.com"],
        "BccAddresses": ["b@example.com"],
    }
    (mail,) = parse_mails(model_data([message]))
    assert (mail.to, mail.cc, mail.bcc) == (
        ("a@example.com",),
        ("c@example.com",),
        ("b@example.com",),
    )


def test_parse_mails_reads_raw_mime_preferring_the_plain_part() -> None:
    raw = {
        "id": "r1",
        "source": SENDER,
        # moto lists the envelope recipients, then the To: header's again.
        "destinations": ["ann@example.com", "bob@example.com", "ann@example.com"],
        "raw_data": RAW,
    }
    (mail,) = parse_mails(model_data(raw=[raw]))
    assert mail.kind == "raw"
    assert (mail.to, mail.cc, mail.bcc) == (
        ("ann@example.com",),
        ("cat@example.com",),
        ("bob@example.com",),
    )
    assert mail.subject == "Café"
    assert mail.text == "Plain words."
    assert mail.html is not None
    assert "<p>HTML words.</p>" in mail.html


def test_parse_mails_reads_raw_html_only_mail_as_text() -> None:
    raw_data = (
        "From: blog@example.com\r\nTo: ann@example.com\r\nSubject: s\r\n"
        "Content-Type: text/html; charset=utf-8\r\n\r\n<p>Only <i>HTML</i></p>\r\n"
    )
    raw = {"id": "r2", "source": SENDER, "destinations": ["ann@example.com"], "raw_data": raw_data}
    (mail,) = parse_mails(model_data(raw=[raw]))
    assert mail.text == "Only HTML"


def test_parse_mails_reads_and_shows_the_one_click_unsubscribe_header() -> None:
    raw_data = (
        "From: blog@example.com\r\nTo: ann@example.com\r\nSubject: s\r\n"
        "List-Unsubscribe: <https://api.example.com/subscriptions/unsubscribe?token=t>\r\n"
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nHi\r\n"
    )
    raw = {"id": "r3", "source": SENDER, "destinations": ["ann@example.com"], "raw_data": raw_data}
    (mail,) = parse_mails(model_data(raw=[raw]))
    url = "<https://api.example.com/subscriptions/unsubscribe?token=t>"
    assert mail.list_unsubscribe == url
    assert f"List-Unsubscribe: {url}" in format_mail(mail)


def test_parse_mails_shows_templated_mail_unrendered() -> None:
    template = {
        "id": "t1",
        "source": SENDER,
        "template": "welcome",
        "template_data": '{"name": "Ann"}',
        "destinations": {"ToAddresses": ["ann@example.com"]},
    }
    (mail,) = parse_mails(model_data(templates=[template]))
    assert (mail.kind, mail.subject) == ("template", "(template welcome)")
    assert '{"name": "Ann"}' in mail.text


def test_parse_mails_of_a_moto_without_ses_is_empty() -> None:
    assert parse_mails({"iam": {}}) == []


def test_parse_mails_of_an_unexpected_shape_is_a_sandbox_error() -> None:
    with pytest.raises(SandboxError, match="unexpected shape"):
        parse_mails({"ses": ["not", "a", "mapping"]})


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>one</p><p>two</p>", "one\n\ntwo"),
        ("a<br>b<br/>c", "a\nb\nc"),
        ("<ul><li>x</li><li>y</li></ul>", "- x\n\n- y"),
        ("<a href='https://e.com'>https://e.com</a>", "https://e.com"),
        ("<a>no href</a>", "no href"),
        ("<p>  lots   of\n  space </p>", "lots of space"),
        ("<pre>  a\n    b</pre>", "  a\n    b"),
        ("<script>alert(1)</script><p>kept</p>", "kept"),
        ("&lt;b&gt; &amp; &eacute;", "<b> & é"),
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


def test_mail_addressed_to_ignores_case_and_finds_every_recipient() -> None:
    mail = Mail(
        "i", "email", SENDER, ("Ann@Example.com",), ("c@e.com",), ("b@e.com",), "", "", None
    )
    assert mail.addressed_to("ann@example.COM")
    assert mail.addressed_to("c@e.com")
    assert mail.addressed_to("b@e.com")
    assert not mail.addressed_to("nobody@e.com")


# -- rendering --------------------------------------------------------------------------------


def test_render_prints_headers_and_text_body() -> None:
    out = render(parse_mails(model_data([simple("a@example.com")])), as_json=False)
    assert out.startswith("1 mail, oldest first:")
    assert "From:    blog@example.com" in out
    assert "To:      a@example.com" in out
    assert "Subject: Welcome" in out
    assert "Unsubscribe <https://blog.example.com/unsubscribe.html?token=t1&x=1>." in out


def test_render_json_is_a_list_of_mails() -> None:
    out = json.loads(render(parse_mails(model_data([simple("a@example.com")])), as_json=True))
    assert out == [
        {
            "id": "id-a@example.com",
            "kind": "email",
            "sender": SENDER,
            "to": ["a@example.com"],
            "cc": [],
            "bcc": [],
            "subject": "Welcome",
            "text": parse_mails(model_data([simple("a@example.com")]))[0].text,
            "html": WELCOME_HTML,
            "list_unsubscribe": None,
        }
    ]


@pytest.mark.parametrize(
    ("to", "as_json", "expected"),
    [
        (None, False, "No mail has been sent."),
        ("a@example.com", False, "No mail to a@example.com has been sent."),
        (None, True, "[]"),
    ],
)
def test_render_an_empty_outbox(to: str | None, as_json: bool, expected: str) -> None:
    assert render([], as_json=as_json, to=to) == expected


# -- against moto's server --------------------------------------------------------------------


def send(moto: str, to: str, subject: str) -> None:
    ses = boto3.client("ses", endpoint_url=moto, region_name="us-east-1")
    ses.verify_email_identity(EmailAddress=SENDER)
    ses.send_email(
        Source=SENDER,
        Destination={"ToAddresses": [to]},
        Message={
            "Subject": {"Data": subject},
            "Body": {
                "Text": {"Data": "Plain: https://example.com/unsubscribe.html?token=t"},
                "Html": {"Data": '<p><a href="https://example.com/u?token=t">Unsubscribe</a></p>'},
            },
        },
    )


def test_read_outbox_finds_what_moto_ses_sent(moto: str) -> None:
    # moto's models are global to the process: other tests' mails may be there too.
    to = f"reader-{uuid.uuid4().hex[:8]}@example.com"
    send(moto, to, "Hello")
    (mail,) = read_outbox(moto, to=to)
    assert (mail.sender, mail.to, mail.subject) == (SENDER, (to,), "Hello")
    # moto keeps only the HTML part of a mail that has both.
    assert mail.text == "Unsubscribe <https://example.com/u?token=t>"


def test_call_sandbox_with_nothing_listening_says_no_sandbox_is_running() -> None:
    with pytest.raises(SandboxError, match=r"no sandbox is running \(start it with `make run`\)"):
        call_sandbox("http://127.0.0.1:9", "outbox", timeout=2)


def test_call_sandbox_refuses_a_non_http_url() -> None:
    with pytest.raises(SandboxError, match="not an http"):
        call_sandbox("file:///etc/passwd", "outbox")


def test_outbox_clear_empties_the_outbox(moto: str) -> None:
    send(moto, f"reader-{uuid.uuid4().hex[:8]}@example.com", "Hello")
    assert read_outbox(moto)
    assert call_sandbox(moto, "outbox/clear", method="POST")["deleted"] >= 1
    assert read_outbox(moto) == []


# -- the `mail` command -------------------------------------------------------------------------


def test_cli_mail_takes_to_and_json() -> None:
    args = build_parser().parse_args(["mail", "--to", "a@example.com", "--json"])
    assert (args.command, args.to, args.json) == ("mail", "a@example.com", True)


@pytest.fixture
def running(moto: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An endpoints.json naming the module's moto, as if a sandbox in this process wrote it."""
    write_endpoints(
        tmp_path / "endpoints.json",
        {"aws_endpoint_url": moto, "region": "us-east-1", "pid": os.getpid()},
    )
    monkeypatch.setenv("SANDBOX_DIR", str(tmp_path))
    return moto


def test_cli_mail_json_lists_the_mails_to_an_address(
    running: str, capsys: pytest.CaptureFixture[str]
) -> None:
    to = f"cli-{uuid.uuid4().hex[:8]}@example.com"
    send(running, to, "Via the CLI")
    assert main(["mail", "--json", "--to", to]) == 0
    (mail,) = json.loads(capsys.readouterr().out)
    assert (mail["to"], mail["subject"]) == ([to], "Via the CLI")


def test_cli_mail_prints_a_readable_outbox(
    running: str, capsys: pytest.CaptureFixture[str]
) -> None:
    to = f"cli-{uuid.uuid4().hex[:8]}@example.com"
    send(running, to, "Readable")
    assert main(["mail", "--to", to]) == 0
    out = capsys.readouterr().out
    assert f"1 mail to {to}, oldest first:" in out
    assert "Subject: Readable" in out


def test_cli_mail_without_a_running_sandbox_says_how_to_start_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SANDBOX_DIR", str(tmp_path))
    assert main(["mail"]) == 1
    assert "no sandbox is running" in capsys.readouterr().err
