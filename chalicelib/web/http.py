"""The Cognito authorizer of every private route, the one table from domain errors to HTTP
statuses, request/response helpers for routes, and the client-version check in front of every
route."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalice import CognitoUserPoolAuthorizer, CORSConfig, Response
from chalice.app import Request

from chalicelib.core import errors
from chalicelib.core.config import import_time_value, settings

if TYPE_CHECKING:
    from chalicelib.core.preconditions import IfMatch

log = logging.getLogger(__name__)

# A decorator argument, so read at import: the pool ARN per stage comes from .chalice/config.json
# (and is replaced by the pool's Fn::GetAtt in the packaged template).
cognito = CognitoUserPoolAuthorizer(
    "CognitoUserPool",
    provider_arns=[
        import_time_value(
            "USER_POOL_ARN", "arn:aws:cognito-idp:us-east-1:000000000000:userpool/unset"
        )
    ],
)

# Codes follow Chalice's own envelope names where Chalice has one.
STATUS_FOR: dict[type[errors.DomainError], tuple[int, str]] = {
    errors.ValidationError: (400, "BadRequestError"),
    errors.Unauthorized: (401, "UnauthorizedError"),
    errors.Forbidden: (403, "ForbiddenError"),
    errors.NotFound: (404, "NotFoundError"),
    errors.Conflict: (409, "ConflictError"),
    errors.Gone: (410, "ResyncRequired"),
    errors.PreconditionFailed: (412, "PreconditionFailedError"),
    errors.PreconditionRequired: (428, "PreconditionRequiredError"),
    errors.PayloadTooLarge: (413, "PayloadTooLargeError"),
    errors.UnsupportedMediaType: (415, "UnsupportedMediaType"),
    errors.UpgradeRequired: (426, "UpgradeRequired"),
    errors.Throttled: (429, "TooManyRequestsError"),
    errors.Unavailable: (503, "ServiceUnavailableError"),
}
# A client may come back this many seconds after a 429 or a 503.
RETRY_AFTER = {429: "1", 503: "1"}


# Every route answers browsers on other origins (the blog site, web clients), with the
# conditional-request and idempotency headers both ways. The allowed origin is a stage setting;
# app.py hands this to Chalice as the default of every route, so it is read at import.
API_CORS = CORSConfig(
    allow_origin=import_time_value("CORS_ALLOW_ORIGIN", "*"),
    allow_headers=["If-Match", "If-None-Match", "Idempotency-Key", "X-Client-Version"],
    expose_headers=["ETag", "Location", "Retry-After", "Idempotent-Replayed"],
    max_age=600,
)

# Routes that read no body accept any Content-Type: some HTTP clients send one even on a GET.
BODYLESS = ["*/*"]
# The two media types of an HTML form, which a route must name to be posted one.
URLENCODED = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
FORM_MEDIA_TYPES = (URLENCODED, MULTIPART)


def media_type(content_type: str | None) -> str:
    """A Content-Type without its parameters, lower case."""
    return (content_type or "").split(";")[0].strip().lower()


def error_envelope(error: errors.DomainError) -> tuple[int, dict[str, Any]]:
    """The status and `{"Code", "Message"}` body of a domain error (plus `Current` on a 412)."""
    status, code = next(
        (pair for kind, pair in STATUS_FOR.items() if isinstance(error, kind)),
        (400, "BadRequestError"),
    )
    body: dict[str, Any] = {"Code": code, "Message": str(error)}
    if isinstance(error, errors.PreconditionFailed):
        # Always there on a 412, null when there is nothing (PUT with both preconditions).
        body["Current"] = error.current
    return status, body


def error_response(error: errors.DomainError) -> Response:
    status, body = error_envelope(error)
    headers: dict[str, str | list[str]] = (
        {"Retry-After": RETRY_AFTER[status]} if status in RETRY_AFTER else {}
    )
    return Response(body=body, status_code=status, headers=headers)


def domain_errors[**P](view: Callable[P, Any]) -> Callable[P, Any]:
    """Place directly under @route: domain errors become responses in the envelope, and so do
    AWS failures that outlived botocore's retries (429 or 503, never a 500)."""

    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
        try:
            return view(*args, **kwargs)
        except errors.DomainError as e:
            return error_response(e)
        except Exception as e:
            from chalicelib.store.outages import domain_error  # noqa: PLC0415 - error path only

            answer = domain_error(e)
            if answer is None:
                raise
            log.warning("AWS failed after retries: %r", e)
            return error_response(answer)

    return wrapper


def check_client_version(request: Request, get_response: Callable[[Request], Response]) -> Response:
    """The middleware in front of every route: 426 for a client older than the stage's
    MIN_CLIENT_VERSION, 400 for a malformed X-Client-Version, before any route reads the request
    (no header: served)."""
    from chalicelib.core import versions  # noqa: PLC0415 - first request, not `import app`

    try:
        versions.require(request.headers.get("x-client-version"), settings().min_client_version)
    except errors.DomainError as e:
        refused = error_response(e)
        # Answered before the route, so without the CORS headers Chalice adds to a route's own
        # answers: a browser could not read why it was refused.
        refused.headers.update(API_CORS.get_access_control_headers())
        return refused
    return get_response(request)


def json_body(request: Request) -> dict[str, Any]:
    """The body as a JSON object; one without a Content-Type is not taken for JSON (415)."""
    if not request.headers.get("content-type"):
        raise errors.UnsupportedMediaType("send the body as Content-Type: application/json")
    # The parsers (and their character rules) load on the first request with a body.
    from chalicelib.core.validation import parse_json_object  # noqa: PLC0415

    raw = request.raw_body
    return parse_json_object(raw.encode() if isinstance(raw, str) else raw)


def user_id(request: Request) -> str:
    """The caller's id: the `sub` claim the Cognito authorizer verified."""
    claims = (request.context.get("authorizer") or {}).get("claims") or {}
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise errors.Unauthorized("a valid Cognito ID token is required")
    return sub


EDITORS = "editors"


def groups(request: Request) -> frozenset[str]:
    """The caller's Cognito groups. API Gateway hands claims over as strings, so the list may
    arrive as a list, "editors", "a,b", "[a b]" or "[a, b]"."""
    claims = (request.context.get("authorizer") or {}).get("claims") or {}
    raw = claims.get("cognito:groups")
    if isinstance(raw, list):
        return frozenset(g for g in raw if isinstance(g, str) and g)
    if not isinstance(raw, str):
        return frozenset()
    return frozenset(re.split(r"[\s,]+", raw.strip().removeprefix("[").removesuffix("]"))) - {""}


def require_editor(request: Request) -> str:
    """The caller's id, if the caller is an editor; 403 for any other signed-in user."""
    sub = user_id(request)
    if EDITORS not in groups(request):
        raise errors.Forbidden(f"only editors (the Cognito group {EDITORS!r}) may do this")
    return sub


def query(request: Request, name: str) -> str | None:
    params = request.query_params
    value = None if params is None else params.get(name)
    return value if isinstance(value, str) else None


def page_limit(request: Request) -> int:
    """A listing's `?limit=`: the default when absent, a 400 when out of range."""
    from chalicelib.core import validation  # noqa: PLC0415 - first request, not `import app`

    return validation.page_limit(query(request, "limit"))


Headers = dict[str, str | list[str]]


def etag(tag: object) -> str:
    """The ETag header value of an entity tag (a version number or a post's tag)."""
    return f'"{tag}"'


# RFC 9110, section 8.8.3: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, in a list (5.6.1) whose
# empty elements are allowed. Texts, compiled by `re` on first use: not at `import app`.
_TAG = r'(W/)?"([\x21\x23-\x7e\x80-\xff]*)"'
_TAG_LIST = rf"[ \t,]*{_TAG}(?:[ \t]*,[ \t,]*{_TAG})*[ \t,]*"


def entity_tags(header: str | None, *, weak: bool = False) -> IfMatch:
    """The opaque tags (without quotes) an If-Match or If-None-Match header names, "*", or None.

    weak=False is If-Match's strong comparison: a weak tag matches nothing. weak=True is
    If-None-Match's weak comparison: W/"3" matches "3". A malformed header names no tag.
    """
    if header is None:
        return None
    if header.strip(" \t") == "*":
        return "*"
    if not re.fullmatch(_TAG_LIST, header):
        return frozenset()
    found = re.finditer(_TAG, header)
    return frozenset(tag.group(2) for tag in found if weak or not tag.group(1))


def if_match(request: Request) -> IfMatch:
    return entity_tags(request.headers.get("if-match"))


def not_modified(request: Request, tag: str) -> bool:
    """Whether the client's If-None-Match already names `tag` (answer 304)."""
    wanted = entity_tags(request.headers.get("if-none-match"), weak=True)
    return wanted == "*" or (isinstance(wanted, frozenset) and tag in wanted)
