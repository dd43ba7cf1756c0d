"""Edges of the input boundary's parsers that the property tests do not pin: limits and wording."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from chalicelib.core import validation
from chalicelib.core.errors import ValidationError


def test_string_list_takes_exactly_max_items() -> None:
    items = [f"t{i}" for i in range(3)]
    assert validation.string_list(items, "tags", max_items=3, min_len=1, max_len=8) == items


def test_string_list_refuses_one_item_more_than_max_items() -> None:
    with pytest.raises(ValidationError, match="tags has 4 items; the limit is 3"):
        validation.string_list(["a", "b", "c", "d"], "tags", max_items=3, min_len=1, max_len=8)


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("a,b", "a string"),
        (None, "null"),
        ({}, "an object"),
        (True, "a boolean"),
        (3, "a number"),
        (2.5, "a number"),
    ],
)
def test_string_list_refuses_what_is_not_an_array_naming_what_it_is(
    value: object, kind: str
) -> None:
    with pytest.raises(ValidationError, match=f"tags must be an array of strings, not {kind}$"):
        validation.string_list(value, "tags", max_items=3, min_len=1, max_len=8)


@pytest.mark.parametrize(("value", "expected"), [(3, 3), (3.0, 3), (-2, -2), (0, 0)])
def test_integer_takes_whole_numbers_as_json_schema_does(value: object, expected: int) -> None:
    result = validation.integer(value, "size")
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize(
    ("value", "kind"), [(True, "a boolean"), (3.5, "a number"), ("3", "a string"), (None, "null")]
)
def test_integer_refuses_anything_else_naming_what_it_is(value: object, kind: str) -> None:
    with pytest.raises(ValidationError, match=f"size must be a whole number, not {kind}$"):
        validation.integer(value, "size")


def test_string_list_names_the_field_of_a_bad_item() -> None:
    with pytest.raises(ValidationError, match="each of tags"):
        validation.string_list(["ok", ""], "tags", max_items=3, min_len=1, max_len=8)


def test_json_numbers_of_18_digits_are_taken() -> None:
    assert validation.parse_json_object(b'{"n": -999999999999999999}') == {"n": -(10**18 - 1)}


def test_json_numbers_of_19_digits_are_refused() -> None:
    with pytest.raises(ValidationError, match="a number in the body has more than 18 digits"):
        validation.parse_json_object(b'{"n": 1000000000000000000}')


@pytest.mark.parametrize("number", [b"1e999", b"-1e999"])
def test_json_numbers_out_of_float_range_are_refused(number: bytes) -> None:
    with pytest.raises(ValidationError, match=r"^a number in the body is out of range$"):
        validation.parse_json_object(b'{"n": ' + number + b"}")


def test_json_fractions_are_taken() -> None:
    assert validation.parse_json_object(b'{"n": 2.5e3}') == {"n": 2500.0}


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_json_constants_that_are_not_json_are_refused(constant: bytes) -> None:
    with pytest.raises(ValidationError, match=r"^-?(NaN|Infinity) is not a JSON number$"):
        validation.parse_json_object(b'{"n": ' + constant + b"}")


def test_page_limit_out_of_range_names_the_limit_parameter() -> None:
    message = "limit must be a whole number from 1 to 100 without leading zeros, not '0'"
    with pytest.raises(ValidationError, match=f"^{re.escape(message)}$"):
        validation.page_limit("0")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-23T10:00:00Z", datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)),
        ("2026-11-23T10:00:00.5Z", datetime(2026, 11, 23, 10, 0, 0, 500_000, tzinfo=UTC)),
        ("2026-11-23T10:00:00.000042Z", datetime(2026, 11, 23, 10, 0, 0, 42, tzinfo=UTC)),
        ("2026-11-23T10:00:00.1234567Z", datetime(2026, 11, 23, 10, 0, 0, 123_456, tzinfo=UTC)),
        ("2026-11-23T10:00:00.123456789Z", datetime(2026, 11, 23, 10, 0, 0, 123_456, tzinfo=UTC)),
    ],
)
def test_parse_time_reads_a_fraction_of_any_length_to_the_microsecond(
    value: str, expected: datetime
) -> None:
    assert validation.parse_time(value, "t") == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-12-31T23:59:60Z", datetime(2026, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)),
        ("2026-12-31T23:59:60.25Z", datetime(2026, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)),
        ("2027-01-01T00:59:60+01:00", datetime(2026, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)),
    ],
)
def test_parse_time_reads_a_leap_second_as_the_last_microsecond_before_it(
    value: str, expected: datetime
) -> None:
    assert validation.parse_time(value, "t") == expected


def test_parse_time_refuses_a_61st_second() -> None:
    with pytest.raises(ValidationError, match=r"^t must be an RFC 3339 date-time"):
        validation.parse_time("2026-12-31T23:59:61Z", "t")


@pytest.fixture
def local_zone_plus_0530(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local time zone is UTC+05:30, as on a laptop in India running the sandbox."""
    monkeypatch.setenv("TZ", "IST-05:30")  # POSIX form: no tz database needed
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("local_zone_plus_0530")
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-23T10:00:00+01:00", "2026-11-23T09:00:00Z"),
        ("2026-11-23T10:00:00.5-02:00", "2026-11-23T12:00:00.500000Z"),
        ("2026-12-31T23:59:60Z", "2026-12-31T23:59:59.999999Z"),
        ("2026-11-23", "2026-11-23"),
    ],
)
def test_due_is_written_in_utc_whatever_the_servers_local_time_zone(
    value: str, expected: str
) -> None:
    assert time.localtime(0).tm_gmtoff == 5 * 3600 + 30 * 60
    assert validation.due_value(value) == expected


def _nested(arrays: int) -> bytes:
    return b'{"a": ' + b"[" * arrays + b"]" * arrays + b"}"


def test_json_body_nesting_32_levels_is_taken() -> None:
    assert validation.parse_json_object(_nested(31)) == json.loads(_nested(31))


def test_json_body_nesting_33_levels_is_refused_naming_the_limit() -> None:
    with pytest.raises(ValidationError, match=r"^request body nests deeper than 32 levels$"):
        validation.parse_json_object(_nested(32))


def test_reject_unknown_names_the_unknown_and_the_allowed_fields_sorted() -> None:
    message = "unknown field(s): colour, size; allowed: done, due, title"
    with pytest.raises(ValidationError, match=f"^{re.escape(message)}$"):
        validation.reject_unknown(
            {"title": "t", "size": 1, "colour": "red"}, ["title", "due", "done"]
        )


@pytest.mark.parametrize(("value", "kind"), [("true", "a string"), (1, "a number"), (None, "null")])
def test_boolean_refuses_anything_else_naming_what_it_is(value: object, kind: str) -> None:
    with pytest.raises(ValidationError, match=f"^done must be true or false, not {kind}$"):
        validation.boolean(value, "done")


@pytest.mark.usefixtures("local_zone_plus_0530")
def test_format_time_writes_utc_whatever_the_servers_local_time_zone() -> None:
    moment = datetime(2026, 11, 23, 10, 0, 0, 7, tzinfo=UTC)
    assert validation.format_time(moment) == "2026-11-23T10:00:00.000007Z"
