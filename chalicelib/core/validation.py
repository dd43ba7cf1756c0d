"""The input boundary: each client value parses to a valid value or a ValidationError (400)."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from chalicelib.core import characters
from chalicelib.core.errors import NotFound, PayloadTooLarge, ValidationError
from chalicelib.core.patterns import lazy

if TYPE_CHECKING:
    from datetime import datetime

MAX_BODY_BYTES = 400 * 1024
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
# Deeper JSON than any of our bodies needs; json's C parser recurses per level.
MAX_JSON_DEPTH = 32
# Python refuses int() of more than 4,300 digits; no number of ours needs more than 18.
MAX_INT_DIGITS = 18
# Ids the API makes are 32 hex digits; ids clients choose are 1..64 of these (DynamoDB refuses
# key values over 1,024 bytes, so a longer one must never reach it).
ID = lazy(r"[A-Za-z0-9_-]{1,64}")
_DECIMAL = lazy("0|[1-9][0-9]*")
# What "trimmed" strips.
WHITESPACE = characters.WHITESPACE


def total[**P, R](parse: Callable[P, R]) -> Callable[P, R]:
    """A parser raises ValidationError (or the domain error it chose) and nothing else."""

    @functools.wraps(parse)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return parse(*args, **kwargs)
        except (ValueError, TypeError, OverflowError, RecursionError, UnicodeError) as e:
            raise ValidationError(f"the request is malformed ({parse.__name__})") from e

    return wrapper


def _refuse_constant(name: str) -> Any:
    raise ValidationError(f"{name} is not a JSON number")


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise ValidationError(f"a number in the body has more than {MAX_INT_DIGITS} digits")
    return int(digits)


def _finite_float(text_value: str) -> float:
    number = float(text_value)
    if number in (float("inf"), float("-inf")):
        raise ValidationError("a number in the body is out of range")
    return number


@total
def parse_json_object(raw: bytes | None) -> dict[str, Any]:
    """The request body as a JSON object, or a clear 400/413."""
    if not raw:
        raise ValidationError("request body is required: send a JSON object")
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"request body is {len(raw)} bytes; the limit is {MAX_BODY_BYTES}")
    try:
        data = json.loads(
            raw.decode("utf-8"),
            parse_int=_bounded_int,
            parse_float=_finite_float,
            parse_constant=_refuse_constant,
        )
    except UnicodeDecodeError as e:
        raise ValidationError("request body is not valid UTF-8") from e
    except json.JSONDecodeError as e:
        raise ValidationError(
            f"request body is not valid JSON: {e.msg} at line {e.lineno} column {e.colno}"
        ) from e
    except RecursionError as e:
        raise ValidationError(f"request body nests deeper than {MAX_JSON_DEPTH} levels") from e
    if not isinstance(data, dict):
        raise ValidationError(f"request body must be a JSON object, not {_kind(data)}")
    _check_tree(data)
    return data


def _check_tree(data: Any) -> None:
    """Depth limit, and only text (characters.NOT_TEXT) in every key and string, without
    recursion: every text field of every resource is read here first."""
    level: list[tuple[str, Any]] = [("the body", data)]
    for _ in range(MAX_JSON_DEPTH):
        level = [child for name, node in level for child in _checked_children(name, node)]
        if not level:
            return
    raise ValidationError(f"request body nests deeper than {MAX_JSON_DEPTH} levels")


def _checked_children(name: str, node: dict[str, Any] | list[Any]) -> list[tuple[str, Any]]:
    """The objects and arrays directly inside a node, named, once its keys and strings are
    checked."""
    below: list[tuple[str, Any]] = []
    for key, value in node.items() if isinstance(node, dict) else enumerate(node):
        if isinstance(key, str) and characters.NOT_TEXT.search(key):
            raise ValidationError(f"a field name in {name} {characters.not_text(key)}")
        where = key if isinstance(key, str) else f"an item of {name}"
        if isinstance(value, str) and characters.NOT_TEXT.search(value):
            raise ValidationError(f"{where} {characters.not_text(value)}")
        if isinstance(value, dict | list):
            below.append((where, value))
    return below


def _kind(value: object) -> str:
    names: dict[type, str] = {dict: "an object", list: "an array", str: "a string"}
    names |= {bool: "a boolean", int: "a number", float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def reject_unknown(data: Mapping[str, Any], allowed: Iterable[str]) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ValidationError(
            f"unknown field(s): {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )


@total
def text(
    value: object,
    field: str,
    *,
    min_len: int = 0,
    max_len: int,
    strip: bool = False,
    multiline: bool = False,
) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be a string, not {_kind(value)}")
    result = value.strip(WHITESPACE) if strip else value
    if len(result) < min_len:
        raise ValidationError(f"{field} must not be blank" if min_len == 1 else f"{field} is short")
    if len(result) > max_len:
        raise ValidationError(f"{field} is {len(result)} characters; the limit is {max_len}")
    if characters.NOT_TEXT.search(result):
        raise ValidationError(f"{field} {characters.not_text(result)}")
    if (characters.C1_CONTROL if multiline else characters.CONTROL).search(result):
        rule = (
            "text whose only control characters are tab and line breaks"
            if multiline
            else "one line, without control characters"
        )
        raise ValidationError(f"{field} must be {rule}")
    return result


def integer(value: object, field: str) -> int:
    """A JSON integer; as JSON Schema says, 3.0 is one too."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{field} must be a whole number, not {_kind(value)}")
    return value


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

    # isoformat, unlike strftime("%Y"), always writes four-digit years: "0047" sorts before "1000".
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


# RFC 3339, section 5.6: "T" and "Z" in either case, an offset or Z always, nothing compact.
_DATE = r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
_DATE_TIME = lazy(
    _DATE
    + r"[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?"
    + r"(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))"
)
_FULL_DATE = lazy(_DATE)
MIN_YEAR, MAX_YEAR = 1000, 9999
_TIME_HINT = (
    "an RFC 3339 date-time with a time zone, such as 2026-11-23T10:00:00Z (years 1000 to 9999)"
)


@total
def parse_time(value: object, field: str) -> datetime:
    error = f"{field} must be {_TIME_HINT}, not {value!r}"
    found = _DATE_TIME.fullmatch(value) if isinstance(value, str) else None
    if found is None:
        raise ValidationError(error)
    try:
        moment = _moment(found)
    except (ValueError, OverflowError) as e:
        raise ValidationError(error) from e
    if int(found[1]) < MIN_YEAR or not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise ValidationError(error)
    return moment


def _moment(found: re.Match[str]) -> datetime:
    """The UTC moment of a matched RFC 3339 date-time; ValueError for impossible dates."""
    from datetime import UTC, datetime, timedelta, timezone  # noqa: PLC0415

    year, month, day, hour, minute, second = (int(part) for part in found.groups()[:6])
    fraction, zulu, sign, off_hours, off_minutes = found.groups()[6:]
    offset = timedelta(minutes=0 if zulu else int(off_hours) * 60 + int(off_minutes))
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    # A leap second (RFC 3339 allows :60) is read as the last microsecond before it.
    leap = second == 60
    zone = timezone(-offset if sign == "-" else offset)
    moment = datetime(year, month, day, hour, minute, 59 if leap else second, micro, zone)
    return moment.astimezone(UTC).replace(microsecond=999_999) if leap else moment.astimezone(UTC)


@total
def due_value(value: object) -> str | None:
    """A due date (YYYY-MM-DD, kept as is) or date-time (normalised to UTC), or null."""
    from datetime import date  # noqa: PLC0415

    if value is None:
        return None
    if isinstance(value, str) and _FULL_DATE.fullmatch(value):
        try:
            day = date.fromisoformat(value)
        except ValueError as e:
            raise ValidationError(f"due is not a valid date: {value!r}") from e
        if day.year < MIN_YEAR:
            raise ValidationError(f"due must be a date in the years {MIN_YEAR} to {MAX_YEAR}")
        return day.isoformat()
    moment = parse_time(value, "due")
    if moment.microsecond:
        return format_time(moment)
    return moment.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


@total
def whole_number(raw: str, field: str, *, low: int, high: int) -> int:
    """A query or header integer, written as JSON writes one: ASCII digits (no sign, no ², no ٣)
    without leading zeros (01 is refused like 0001: one spelling per value, one cache key)."""
    if not (_DECIMAL.fullmatch(raw) and len(raw) <= len(str(high)) and low <= int(raw) <= high):
        raise ValidationError(
            f"{field} must be a whole number from {low} to {high} without leading zeros, "
            f"not {raw!r}"
        )
    return int(raw)


def page_limit(raw: str | None) -> int:
    return DEFAULT_LIMIT if raw is None else whole_number(raw, "limit", low=1, high=MAX_LIMIT)


@total
def query_bool(raw: str | None, field: str) -> bool | None:
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise ValidationError(f"{field} must be true or false, not {raw!r}")
    return raw == "true"


@total
def known_id(raw: str, what: str) -> str:
    """An id from a path: one that cannot exist is simply not found (and never reaches
    DynamoDB, which refuses key values over 1,024 bytes)."""
    if not ID.fullmatch(raw):
        raise NotFound(f"{what} not found")
    return raw


@total
def new_id(raw: str, field: str) -> str:
    """An id a client chooses: 1 to 64 of A-Z, a-z, 0-9, _ and -."""
    if not ID.fullmatch(raw):
        raise ValidationError(f"{field} must be 1 to 64 of A-Z, a-z, 0-9, _ and -, not {raw!r}")
    return raw
