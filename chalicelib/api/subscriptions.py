"""Routes for /subscriptions: public, thin adapters over SubscriptionService."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api import deps
from chalicelib.api.http import domain_errors, json_body

bp = Blueprint(__name__)


@bp.route("/subscriptions", methods=["POST"])
@domain_errors
def create_subscription() -> Response:
    result = deps.subscriptions().subscribe(json_body(bp.current_request))
    return Response(body=result, status_code=202)


@bp.route("/subscriptions/unsubscribe", methods=["POST"])
@domain_errors
def unsubscribe() -> Response:
    result = deps.subscriptions().unsubscribe(json_body(bp.current_request))
    return Response(body=result, status_code=200)
