"""Input checks shared by services: each failure is a ValidationError a client can act on."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from chalicelib.errors import PayloadTooLarge, ValidationError

if TYPE_CHECKING:
    from datetime import datetime

# datetime is imported where it is used: every function imports this module at cold start, and
# most requests never parse a time.

MAX_BODY_BYTES = 400 * 1024
DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def parse_json_object(raw: bytes | None) -> dict[str, Any]:
    """The request body as a JSON object, or a clear 400/413."""
    if not raw:
        raise ValidationError("request body is required: send a JSON object")
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"request body is {len(raw)} bytes; the limit is {MAX_BODY_BYTES}")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ValidationError("request body is not valid UTF-8") from e
    except json.JSONDecodeError as e:
        raise ValidationError(
            f"request body is not valid JSON: {e.msg} at line {e.lineno} column {e.colno}"
        ) from e
    if not isinstance(data, dict):
        raise ValidationError(f"request body must be a JSON object, not {_kind(data)}")
    return data


def _kind(value: object) -> str:
    names = {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }
    return names.get(type(value), type(value).__name__)


def reject_unknown(data: Mapping[str, Any], allowed: Iterable[str]) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ValidationError(
            f"unknown field(s): {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )


def text(value: object, field: str, *, min_len: int = 0, max_len: int, strip: bool = False) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be a string, not {_kind(value)}")
    result = value.strip() if strip else value
    if len(result) < min_len:
        raise ValidationError(
            f"{field} must not be blank" if min_len == 1 else f"{field} is too short"
        )
    if len(result) > max_len:
        raise ValidationError(f"{field} is {len(result)} characters; the limit is {max_len}")
    return result


def boolean(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(f"{field} must be true or false, not {_kind(value)}")
    return value


def string_list(
    value: object, field: str, *, max_items: int, min_len: int, max_len: int
) -> list[str]:
    if not isinstance(value, list):
        raise ValidationError(f"{field} must be an array of strings, not {_kind(value)}")
    if len(value) > max_items:
        raise ValidationError(f"{field} has {len(value)} items; the limit is {max_items}")
    items = [text(v, f"each of {field}", min_len=min_len, max_len=max_len) for v in value]
    if len(set(items)) != len(items):
        raise ValidationError(f"{field} must not repeat an item")
    return items


def format_time(moment: datetime) -> str:
    """RFC 3339 UTC with microseconds, so that changes sort and compare as strings."""
    from datetime import UTC  # noqa: PLC0415

    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: object, field: str) -> datetime:
    from datetime import UTC, datetime  # noqa: PLC0415

    if not isinstance(value, str):
        raise ValidationError(f"{field} must be an RFC 3339 date-time string")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as e:
        raise ValidationError(
            f"{field} must be an RFC 3339 date-time such as 2026-11-23T10:00:00Z, not {value!r}"
        ) from e
    if moment.tzinfo is None or "T" not in value.upper():
        raise ValidationError(
            f"{field} must be a date-time with a time zone, such as 2026-11-23T10:00:00Z"
        )
    return moment.astimezone(UTC)


def due_value(value: object) -> str | None:
    """A due date (YYYY-MM-DD, kept as is) or date-time (normalised to UTC), or null."""
    from datetime import date  # noqa: PLC0415

    if value is None:
        return None
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError as e:
            raise ValidationError(f"due is not a valid date: {value!r}") from e
    moment = parse_time(value, "due")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if not moment.microsecond else format_time(moment)


def page_limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise ValidationError(f"limit must be a whole number from 1 to {MAX_LIMIT}, not {raw!r}")
    return int(raw)


def query_bool(raw: str | None, field: str) -> bool | None:
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise ValidationError(f"{field} must be true or false, not {raw!r}")
    return raw == "true"
