"""Cursors are a wire format: a client holds one across a deploy, so a cursor made today decodes
tomorrow, and a bad one is refused in words that say what to do."""

from __future__ import annotations

import pytest

from chalicelib.core.cursors import CursorCodec
from chalicelib.core.errors import ValidationError

SECRET = b"k" * 32

# Made by the codec as it is today: a change of encoding, key order, separators or signature
# length would break every cursor and sync token clients hold.
GOLDEN = [
    ({"id": "a"}, "s", "eyJrIjp7ImlkIjoiYSJ9LCJzIjoicyJ9.e6QNC_zbBrHzbx95w_bcZQ"),
    ({"id": "ab"}, "s", "eyJrIjp7ImlkIjoiYWIifSwicyI6InMifQ.Rhm-W4N9WzjNqkd_xtlUvQ"),
    ({"id": "abc"}, "s", "eyJrIjp7ImlkIjoiYWJjIn0sInMiOiJzIn0.WWQKUpmUtntA1tj9phsK-g"),
    (
        {"sk": "todo#b", "pk": "u#1"},  # not in sorted order: the payload sorts it
        "todos:alice",
        "eyJrIjp7InBrIjoidSMxIiwic2siOiJ0b2RvI2IifSwicyI6InRvZG9zOmFsaWNlIn0.X-l2zG177RSCp5lyTzZlow",
    ),
]


@pytest.mark.parametrize(("key", "scope", "cursor"), GOLDEN)
def test_a_cursor_is_the_same_string_from_one_release_to_the_next(
    key: dict[str, str], scope: str, cursor: str
) -> None:
    codec = CursorCodec(SECRET)
    assert codec.encode(key, scope) == cursor
    assert "=" not in cursor  # unpadded: safe in a query string as it is
    assert codec.decode(cursor, scope) == key


def test_a_tampered_cursor_says_to_pass_back_the_one_given() -> None:
    codec = CursorCodec(SECRET)
    cursor = GOLDEN[0][2]
    with pytest.raises(ValidationError) as refused:
        codec.decode(cursor[:-2] + "AA", "s")
    assert str(refused.value) == (
        "cursor is invalid: pass back the next_cursor of the previous page unchanged"
    )


def test_a_cursor_of_another_listing_says_so() -> None:
    codec = CursorCodec(SECRET)
    with pytest.raises(ValidationError) as refused:
        codec.decode(GOLDEN[0][2], "another scope")
    assert str(refused.value) == "cursor was made for another listing or another user"


def test_the_noun_and_source_name_what_the_caller_passes() -> None:
    codec = CursorCodec(SECRET, noun="sync token", source="the token of the last sync")
    with pytest.raises(ValidationError) as refused:
        codec.decode("not-a-token", "s")
    assert (
        str(refused.value)
        == "sync token is invalid: pass back the token of the last sync unchanged"
    )
