"""Routes for /subscriptions: public, thin adapters over SubscriptionService."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib.blog import subscriptions
from chalicelib.web.http import FORM_MEDIA_TYPES, domain_errors, json_body, media_type, query

bp = Blueprint(__name__)

JSON = "application/json"


def _token_body(request: Request) -> dict[str, Any]:
    """RFC 8058 one-click unsubscribe: the mail client POSTs `List-Unsubscribe=One-Click` as a
    form to the URL of the List-Unsubscribe header, whose query carries the token; the site's
    page POSTs the token as JSON."""
    content_type = request.headers.get("content-type") or ""
    if media_type(content_type) not in FORM_MEDIA_TYPES:
        return json_body(request)
    # The form parsers, on this one route's form posts: not at `import app`.
    from chalicelib.blog.subscribers import forms  # noqa: PLC0415

    raw = request.raw_body
    fields = forms.form_fields(content_type, raw.encode() if isinstance(raw, str) else raw)
    token = query(request, "token") or fields.get("token")
    return {} if token is None else {"token": token}


@bp.route("/subscriptions", methods=["POST"])
@domain_errors
def create_subscription() -> Response:
    result = subscriptions().subscribe(json_body(bp.current_request))
    return Response(body=result, status_code=202)


@bp.route("/subscriptions/confirm", methods=["POST"])
@domain_errors
def confirm_subscription() -> Response:
    result = subscriptions().confirm(json_body(bp.current_request))
    return Response(body=result, status_code=200)


@bp.route("/subscriptions/unsubscribe", methods=["POST"], content_types=[JSON, *FORM_MEDIA_TYPES])
@domain_errors
def unsubscribe() -> Response:
    result = subscriptions().unsubscribe(_token_body(bp.current_request))
    return Response(body=result, status_code=200)
