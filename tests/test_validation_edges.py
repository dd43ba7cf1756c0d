"""Edges of the input boundary's parsers that the property tests do not pin: limits and wording."""

from __future__ import annotations

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
