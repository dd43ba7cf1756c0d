"""E-mail addresses as the blog accepts them: checked, and normalised to what is mailed and what
identifies a subscriber."""

from __future__ import annotations

import re

from chalicelib.core import validation
from chalicelib.core.errors import ValidationError

MAX_EMAIL = 254
MAX_LOCAL_PART = 64

# RFC 5322 dot-atom, ASCII only: quoted local parts and SMTPUTF8 addresses are refused (SES
# does not deliver to non-ASCII local parts anyway).
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL_PART = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")

_NOT_AN_ADDRESS = "email must be an e-mail address such as name@example.com"


def normalise_email(value: object) -> tuple[str, str]:
    """The address to mail (local part as typed, domain lowercased and IDNA-encoded) and the
    identity it is stored under (the whole address lowercased: Ann@ and ann@ are one subscriber).
    """
    text = validation.text(value, "email", min_len=1, max_len=MAX_EMAIL, strip=True)
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        raise ValidationError(_NOT_AN_ADDRESS)
    if len(local) > MAX_LOCAL_PART or not _LOCAL_PART.fullmatch(local):
        raise ValidationError(
            f"{_NOT_AN_ADDRESS}: the part before @ may hold letters, digits, dots (not two in a "
            "row, nor first or last) and !#$%&'*+/=?^_`{|}~- only"
        )
    ascii_domain = _ascii_domain(domain)
    address = f"{local}@{ascii_domain}"
    if len(address) > MAX_EMAIL:
        raise ValidationError(f"email is {len(address)} characters; the limit is {MAX_EMAIL}")
    return address, address.lower()


def _ascii_domain(domain: str) -> str:
    """The domain lowercased and IDNA-encoded, if it is a valid host name of two labels or more."""
    try:
        ascii_domain = domain.lower().encode("idna").decode("ascii")
    except UnicodeError as e:
        raise ValidationError(f"{_NOT_AN_ADDRESS}: {domain!r} is not a valid domain name") from e
    labels = ascii_domain.split(".")
    if (
        len(labels) < 2
        or not all(_LABEL.fullmatch(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise ValidationError(f"{_NOT_AN_ADDRESS}: {domain!r} is not a valid domain name")
    return ascii_domain


# Domains whose mailboxes ignore dots in the local part (Gmail's own, and its old name).
_DOTLESS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


def mailbox(address: str) -> str:
    """The mailbox an address is delivered to, as providers deliver it: lowercased, without a
    sub-address tag (ann+news@ is ann@, RFC 5233) and, where the domain is known to ignore dots,
    without them (a.n.n@gmail.com is ann@gmail.com). For rate limits, never for sending."""
    local, _, domain = address.lower().rpartition("@")
    base = local.split("+", 1)[0] or local
    if domain in _DOTLESS:
        base, domain = base.replace(".", "") or base, _DOTLESS[domain]
    return f"{base}@{domain}"
