"""The mail outbox: what moto's SES has "sent", read from the running sandbox's moto server.

moto keeps every sent mail in memory; the sandbox serves them (sandbox.control) as moto's
`/moto-api/data.json` shows them under "ses": `Message` (SendEmail: one body, the HTML part
when there is one), `RawMessage` (SendRawEmail: the whole MIME text) and `TemplateMessage`
(templated sends: the template's name and data, never rendered). Each list is in sending order.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from email.utils import getaddresses
from html.parser import HTMLParser
from typing import Any

from sandbox.endpoints import call_sandbox, read_endpoints
from sandbox.settings import ENDPOINTS_FILE, SandboxError, sandbox_dir

# The sandbox's control route with the outbox in data.json's shape (sandbox.control).
OUTBOX_PATH = "outbox"

# Elements after which plain text starts a new line (or a new paragraph).
_BREAKS = {"br", "tr"}
_BLOCKS = {
    "p",
    "div",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "li",
    "table",
    "blockquote",
    "pre",
    "hr",
    "section",
    "article",
    "header",
    "footer",
}
_INVISIBLE = {"head", "style", "script", "title"}
_LOOKS_LIKE_HTML = re.compile(r"<(?:!doctype|html|body|p|div|a|br|table|h[1-6])\b", re.IGNORECASE)


@dataclass(frozen=True)
class Mail:
    """One sent mail, whichever SES call sent it."""

    id: str
    kind: str  # "email" (SendEmail), "raw" (SendRawEmail) or "template"
    sender: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    bcc: tuple[str, ...]
    subject: str
    text: str
    html: str | None
    # The one-click unsubscribe header (RFC 8058) of a raw mail that has one.
    list_unsubscribe: str | None = None

    def addressed_to(self, address: str) -> bool:
        wanted = address.strip().casefold()
        return any(a.casefold() == wanted for a in (*self.to, *self.cc, *self.bcc))

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("to", "cc", "bcc"):
            data[name] = list(data[name])
        return data


class _TextExtractor(HTMLParser):
    """HTML as a reader of a plain-text mail would want it: blocks on lines, links spelled out."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._parts: list[str] = []
        self._hidden = 0
        self._pre = 0
        self._links: list[tuple[str | None, int]] = []

    def _at_line_start(self) -> bool:
        text = "".join(self._parts[-2:])
        return not text or text.endswith("\n")

    def _break(self, text: str) -> None:
        if self._parts:
            self._parts[-1] = self._parts[-1].rstrip(" ")
        self._parts.append(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _INVISIBLE:
            self._hidden += 1
        elif tag in _BREAKS:
            self._break("\n")
        elif tag in _BLOCKS:
            self._break("\n\n")
        if tag == "pre":
            self._pre += 1
        elif tag == "li":
            self._parts.append("- ")
        elif tag == "a":
            self._links.append((dict(attrs).get("href"), len(self._parts)))

    def handle_endtag(self, tag: str) -> None:
        if tag in _INVISIBLE:
            self._hidden = max(0, self._hidden - 1)
        elif tag in _BLOCKS:
            self._break("\n\n")
        if tag == "pre":
            self._pre = max(0, self._pre - 1)
        elif tag == "a" and self._links:
            href, start = self._links.pop()
            label = "".join(self._parts[start:]).strip()
            if href and href != label:
                # Angle brackets delimit a URL in plain text (RFC 3986, appendix C).
                self._parts.append(f" <{href}>")

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        if not self._pre:
            # Outside <pre>, any run of white space is one space, and none starts a line.
            data = re.sub(r"\s+", " ", data)
            if self._at_line_start() or "".join(self._parts[-1:]).endswith(" "):
                data = data.lstrip(" ")
        self._parts.append(data)

    def text(self) -> str:
        lines = [line.rstrip() for line in "".join(self._parts).split("\n")]
        # At most one empty line in a row, none at either end.
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


def html_to_text(html: str) -> str:
    """The readable text of an HTML mail body, links written as `label <url>`."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return parser.text()


def _looks_like_html(body: str) -> bool:
    return bool(_LOOKS_LIKE_HTML.search(body))


def _addresses(values: Iterable[Any]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for value in values:
        if isinstance(value, str) and value.strip():
            seen.setdefault(value.strip(), None)
    return tuple(seen)


def _simple(message: Mapping[str, Any]) -> Mail:
    destinations = message.get("destinations") or {}
    body = str(message.get("body") or "")
    html = body if _looks_like_html(body) else None
    return Mail(
        id=str(message.get("id", "")),
        kind="email",
        sender=str(message.get("source", "")),
        to=_addresses(destinations.get("ToAddresses") or []),
        cc=_addresses(destinations.get("CcAddresses") or []),
        bcc=_addresses(destinations.get("BccAddresses") or []),
        subject=str(message.get("subject") or ""),
        text=html_to_text(html) if html is not None else body,
        html=html,
    )


def _header_addresses(message: EmailMessage, name: str) -> tuple[str, ...]:
    return _addresses(address for _, address in getaddresses(message.get_all(name, [])))


def _optional_header(message: EmailMessage, name: str) -> str | None:
    value = message.get(name)
    return None if value is None else str(value)


def _raw(message: Mapping[str, Any]) -> Mail:
    parsed = email.message_from_string(
        str(message.get("raw_data") or ""), policy=email.policy.default
    )
    assert isinstance(parsed, EmailMessage)  # what policy.default makes
    text_part = parsed.get_body(preferencelist=("plain",))
    html_part = parsed.get_body(preferencelist=("html",))
    html = html_part.get_content() if isinstance(html_part, EmailMessage) else None
    if isinstance(text_part, EmailMessage):
        text = str(text_part.get_content())
    else:
        text = html_to_text(html) if html is not None else ""
    to = _header_addresses(parsed, "To")
    cc = _header_addresses(parsed, "Cc")
    # Envelope recipients named in no header were blind copies.
    bcc = tuple(a for a in _addresses(message.get("destinations") or []) if a not in {*to, *cc})
    return Mail(
        id=str(message.get("id", "")),
        kind="raw",
        sender=str(message.get("source") or parsed.get("From", "")),
        to=to,
        cc=cc,
        bcc=bcc,
        subject=str(parsed.get("Subject", "")),
        text=text.strip(),
        html=html,
        list_unsubscribe=_optional_header(parsed, "List-Unsubscribe"),
    )


def _template(message: Mapping[str, Any]) -> Mail:
    destinations = message.get("destinations") or {}
    name = str(message.get("template", ""))
    return Mail(
        id=str(message.get("id", "")),
        kind="template",
        sender=str(message.get("source", "")),
        to=_addresses(destinations.get("ToAddresses") or []),
        cc=_addresses(destinations.get("CcAddresses") or []),
        bcc=_addresses(destinations.get("BccAddresses") or []),
        subject=f"(template {name})",
        # moto stores templated sends unrendered.
        text=f"(template {name} with data {message.get('template_data', '')})",
        html=None,
    )


def parse_mails(data: Mapping[str, Any]) -> list[Mail]:
    """The sent mails in moto's model dump, each kind in sending order."""
    ses = data.get("ses") or {}
    if not isinstance(ses, Mapping):
        raise SandboxError("moto's data.json has an unexpected shape under 'ses'")
    mails = [_simple(m) for m in ses.get("Message") or []]
    mails += [_raw(m) for m in ses.get("RawMessage") or []]
    mails += [_template(m) for m in ses.get("TemplateMessage") or []]
    return mails


def read_outbox(aws_endpoint_url: str, to: str | None = None) -> list[Mail]:
    """The mails moto's SES has sent, optionally only those to one address."""
    mails = parse_mails(call_sandbox(aws_endpoint_url, OUTBOX_PATH))
    return [m for m in mails if to is None or m.addressed_to(to)]


def format_mail(mail: Mail) -> str:
    lines = [f"From:    {mail.sender}", f"To:      {', '.join(mail.to)}"]
    if mail.cc:
        lines.append(f"Cc:      {', '.join(mail.cc)}")
    if mail.bcc:
        lines.append(f"Bcc:     {', '.join(mail.bcc)}")
    lines += [f"Subject: {mail.subject}", f"Id:      {mail.id}"]
    if mail.list_unsubscribe:
        lines.append(f"List-Unsubscribe: {mail.list_unsubscribe}")
    lines += ["", mail.text or "(no body)"]
    return "\n".join(lines)


def render(mails: list[Mail], *, as_json: bool, to: str | None = None) -> str:
    """What `python -m sandbox mail` prints."""
    if as_json:
        return json.dumps([m.to_json() for m in mails], indent=2, ensure_ascii=False)
    if not mails:
        return f"No mail to {to} has been sent." if to else "No mail has been sent."
    rule = "\n" + "-" * 72 + "\n"
    count = f"{len(mails)} mail{'s' if len(mails) != 1 else ''}" + (f" to {to}" if to else "")
    return f"{count}, oldest first:{rule}" + rule.join(format_mail(m) for m in mails)


def show(*, to: str | None = None, as_json: bool = False) -> str:
    """The running sandbox's outbox (found through its endpoints.json), ready to print."""
    endpoints = read_endpoints(sandbox_dir(os.environ) / ENDPOINTS_FILE)
    return render(read_outbox(str(endpoints["aws_endpoint_url"]), to), as_json=as_json, to=to)
