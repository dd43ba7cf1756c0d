"""Property tests of the input boundary: any input parses to a valid value or raises the
validation error (or the domain error the parser documents); nothing else escapes."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from chalicelib.core import validation as v
from chalicelib.core.characters import NOT_TEXT
from chalicelib.core.cursors import CursorCodec
from chalicelib.core.errors import DomainError, NotFound, PayloadTooLarge, ValidationError
from chalicelib.web.http import entity_tags

# Shapes worth mixing in: digits of other scripts, huge numbers, deep nesting, lone surrogates.
ODD_TEXT = st.text() | st.sampled_from(
    [
        "²",
        "①",
        "٣",
        "\uff11\uff12",
        "9" * 5000,
        "\ud800",
        "a\udfffb",
        "\x00",
        "\uffff",
        "\ufdd0",
        "\U0010fffe",
        "\ufeffx",
        "-1",
        "0",
        "",
    ]
)
JSON_LEAVES = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=20,
)
DEEP = b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}"
# Derandomized: `make test` tries the same inputs on every run and machine, so a failure is
# reproducible and a green run means the same everywhere (hypothesis' example database, which
# replays old failures on one machine only, is then unused).
settings.register_profile("boundary", max_examples=200, deadline=None, derandomize=True)
settings.load_profile("boundary")


def _parses_or_refuses(parse: Callable[[], Any], *allowed: type[DomainError]) -> Any:
    try:
        return parse()
    except DomainError as e:
        assert isinstance(e, (ValidationError, *allowed)), e  # noqa: PT017 - a property, not one case
        return None


@given(st.binary() | JSON_VALUES.map(lambda value: json.dumps(value).encode()))
@example(DEEP)
@example(b'{"n": ' + b"9" * 5000 + b"}")
@example(b'{"n": 1e999}')
@example(b'{"n": NaN}')
@example(b'{"s": "a\\ud800b"}')
@example(b'{"\\udfff": 1}')
@example(b"\xef\xbb\xbf{}")
@example(b'{"t": ["ok", "\\uffff"]}')
@example(b'{"\\ufdd0": 1}')
def test_parse_json_object_is_total(raw: bytes) -> None:
    parsed = _parses_or_refuses(lambda: v.parse_json_object(raw), PayloadTooLarge)
    if parsed is not None:
        assert isinstance(parsed, dict)
        text = json.dumps(parsed, ensure_ascii=False)
        text.encode("utf-8")  # every string in it can be stored and hashed
        assert not NOT_TEXT.search(text)  # and written into XML (the feed) as it is


@given(ODD_TEXT, st.booleans(), st.booleans())
def test_text_is_total(value: str, strip: bool, multiline: bool) -> None:
    parsed = _parses_or_refuses(
        lambda: v.text(value, "f", min_len=1, max_len=50, strip=strip, multiline=multiline)
    )
    if parsed is not None:
        assert 1 <= len(parsed) <= 50
        parsed.encode("utf-8")
        assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", parsed)
        assert not NOT_TEXT.search(parsed)
        assert not strip or parsed == parsed.strip(v.WHITESPACE)


@given(ODD_TEXT)
@example("2026-11-23t10:00:00z")
@example("0001-01-01T00:30:00+01:00")
@example("9999-12-31T23:59:59-00:01")
@example("2026-W48-1T10:00:00Z")
@example("20261123T100000Z")
@example("2026-12-31T23:59:60Z")
def test_parse_time_is_total(value: str) -> None:
    parsed = _parses_or_refuses(lambda: v.parse_time(value, "t"))
    if parsed is not None:
        assert parsed.tzinfo == UTC
        assert 1000 <= parsed.year <= 9999


# RFC 3339 offsets are whole minutes within a day.
OFFSETS = st.integers(-1439, 1439).map(lambda minutes: timezone(timedelta(minutes=minutes)))


@given(st.datetimes(timezones=OFFSETS | st.just(UTC)))
def test_parse_time_reads_what_it_writes(moment: datetime) -> None:
    if 1000 <= moment.astimezone(UTC).year <= 9999 and moment.year >= 1000:
        assert v.parse_time(moment.isoformat(), "t") == moment.astimezone(UTC)


@given(ODD_TEXT | st.none() | st.integers())
@example("2026-02-30")
@example("0999-12-31")
def test_due_value_is_total(value: Any) -> None:
    _parses_or_refuses(lambda: v.due_value(value))


@given(ODD_TEXT)
@example("100")
@example("101")
@example("01")
@example("0001")
def test_page_limit_is_total(raw: str) -> None:
    parsed = _parses_or_refuses(lambda: v.page_limit(raw))
    if parsed is not None:
        assert 1 <= parsed <= 100
        assert raw == str(parsed)  # one spelling per value: no sign, no leading zero


@given(ODD_TEXT)
def test_ids_are_total(raw: str) -> None:
    known = _parses_or_refuses(lambda: v.known_id(raw, "todo"), NotFound)
    new = _parses_or_refuses(lambda: v.new_id(raw, "id"))
    assert known == new
    if new is not None:
        assert len(new.encode()) <= 64


@given(ODD_TEXT)
def test_query_bool_is_total(raw: str) -> None:
    assert _parses_or_refuses(lambda: v.query_bool(raw, "done")) in (True, False, None)


@given(ODD_TEXT)
def test_cursor_decode_is_total(raw: str) -> None:
    _parses_or_refuses(lambda: CursorCodec(b"secret").decode(raw, "scope"))


@given(st.text(), st.booleans())
@example('"3", W/"4"', False)
@example('"0003"', False)
@example(", ,", True)
def test_entity_tags_are_total(header: str, weak: bool) -> None:
    tags = entity_tags(header, weak=weak)
    assert tags == "*" or (isinstance(tags, frozenset) and all(isinstance(t, str) for t in tags))


@pytest.mark.parametrize(
    ("header", "weak", "expected"),
    [
        ('"3"', False, {"3"}),
        ('"0003"', False, {"0003"}),
        ('W/"3"', False, set()),
        ('W/"3"', True, {"3"}),
        ('"1", , W/"2"', True, {"1", "2"}),
        ("3", False, set()),
        ('"3", garbage', False, set()),
        (" * ", False, "*"),
    ],
)
def test_entity_tags_compare_as_rfc_9110_says(header: str, weak: bool, expected: Any) -> None:
    tags = entity_tags(header, weak=weak)
    assert tags == (expected if expected == "*" else frozenset(expected))


def test_whitespace_is_every_unicode_space_and_the_byte_order_mark() -> None:
    # Written out in validation.py (computing it cost every cold start ~1 ms): it must stay true.
    spaces = {chr(c) for c in range(0x110000) if chr(c).isspace()}
    assert set(v.WHITESPACE) == spaces | {"\ufeff"}
    assert len(v.WHITESPACE) == len(set(v.WHITESPACE))
