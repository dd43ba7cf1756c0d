"""The one-click unsubscribe form (RFC 8058) as mail clients post it: multipart/form-data (what
the RFC says they SHOULD send) or application/x-www-form-urlencoded (what it allows), bounded
like every other body and refused with a 400 when it is not a well-formed form."""

from __future__ import annotations

from chalicelib.core import validation
from chalicelib.core.errors import PayloadTooLarge, ValidationError
from chalicelib.web.http import MULTIPART, URLENCODED, media_type

# A one-click form holds one field (List-Unsubscribe=One-Click); a few more do no harm.
MAX_FIELDS = 20


@validation.total
def form_fields(content_type: str, raw: bytes) -> dict[str, str]:
    """The form's fields (the first value of each name) from a body of either media type."""
    if len(raw) > validation.MAX_BODY_BYTES:
        raise PayloadTooLarge(
            f"request body is {len(raw)} bytes; the limit is {validation.MAX_BODY_BYTES}"
        )
    if media_type(content_type) == MULTIPART:
        return _multipart(content_type, raw)
    return _urlencoded(raw)


def _urlencoded(raw: bytes) -> dict[str, str]:
    from urllib.parse import parse_qsl  # noqa: PLC0415 - one route needs it

    try:
        pairs = parse_qsl(raw.decode("ascii"), keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError) as e:
        raise ValidationError(
            f"the {URLENCODED} body is malformed: send List-Unsubscribe=One-Click"
        ) from e
    fields: dict[str, str] = {}
    for name, value in pairs:
        fields.setdefault(name, value)
    return fields


def _multipart(content_type: str, raw: bytes) -> dict[str, str]:
    # The standard library's MIME parser (email), imported on this one path: it costs every
    # cold start otherwise.
    from email import policy  # noqa: PLC0415
    from email.parser import BytesParser  # noqa: PLC0415

    header = " ".join(content_type.split())  # one line, whatever the client folded
    message = BytesParser(policy=policy.HTTP).parsebytes(
        f"Content-Type: {header}\r\n\r\n".encode("latin-1") + raw
    )
    parts = list(message.iter_parts()) if message.is_multipart() else []
    if message.defects or not parts or len(parts) > MAX_FIELDS:
        raise ValidationError(
            f"the {MULTIPART} body is malformed (a boundary parameter and parts that use it are "
            "needed): send List-Unsubscribe=One-Click as a form field"
        )
    fields: dict[str, str] = {}
    for part in parts:
        name = part.get_param("name", header="content-disposition")
        if part.get_content_disposition() != "form-data" or not isinstance(name, str):
            raise ValidationError(
                f"each part of a {MULTIPART} body needs Content-Disposition: form-data; name=..."
            )
        content = part.get_content()
        fields.setdefault(name, content if isinstance(content, str) else "")
    return fields
