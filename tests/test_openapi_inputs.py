"""The spec's input patterns say what the API's parsers accept: a string that a generated client,
or the fuzzer, makes from a pattern is one the API takes (so schemathesis' positive_data_acceptance
can stay on in `make test`)."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from typing import Any, Final

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.blog.posts import fields as post_fields
from chalicelib.blog.subscribers.addresses import normalise_email
from chalicelib.blog.subscribers.service import _token as subscription_token
from chalicelib.core import validation
from chalicelib.photos.service import _clean as photo_fields
from chalicelib.todos import items as todo_items
from tests.conftest import ROOT

SPEC: Final[dict[str, Any]] = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
SCHEMAS: Final[dict[str, Any]] = SPEC["components"]["schemas"]
# "Any character" in both dialects, the one place a pattern may still say \s.
_ANY = r"[\s\S]"
# Each text schema of a request, and the parser that takes its value on the server.
PARSERS: Final[dict[str, Callable[[str], object]]] = {
    "Title": lambda s: todo_items.clean({"title": s}, partial=False),
    "Notes": lambda s: todo_items.clean({"notes": s}, partial=True),
    "PostTitleInput": lambda s: post_fields.clean_fields({"title": s}, partial=True),
    "PostSummaryInput": lambda s: post_fields.clean_fields({"summary": s}, partial=True),
    "SubscriptionToken": lambda s: subscription_token({"token": s}, "the link"),
}
# The same, for text schemas written inside an object's properties.
PROPERTY_PARSERS: Final[dict[tuple[str, str], Callable[[str], object]]] = {
    ("TodoCreate", "title"): lambda s: todo_items.clean({"title": s}, partial=False),
    ("PhotoCreate", "filename"): lambda s: photo_fields(
        {"content_type": "image/jpeg", "size": 1, "filename": s}
    ),
    ("PostCreate", "cover_photo_id"): lambda s: post_fields.clean_fields(
        {"cover_photo_id": s}, partial=True
    ),
    ("SubscriptionCreate", "email"): normalise_email,
}


def _patterns(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("pattern"), str):
            yield node["pattern"]
        for value in node.values():
            yield from _patterns(value)
    elif isinstance(node, list):
        for value in node:
            yield from _patterns(value)


def _schema(name: str, prop: str | None = None) -> dict[str, Any]:
    """The string schema, its allOf parts merged (their patterns joined as lookaheads)."""
    schema: dict[str, Any] = SCHEMAS[name] if prop is None else SCHEMAS[name]["properties"][prop]
    parts = [schema, *schema.get("allOf", [])]
    parts = [SCHEMAS[p["$ref"].rsplit("/", 1)[1]] if "$ref" in p else p for p in parts]
    return {
        "minLength": max(p.get("minLength", 0) for p in parts),
        "maxLength": min(p.get("maxLength", sys.maxsize) for p in parts),
        "patterns": [p["pattern"] for p in parts if "pattern" in p],
    }


def _strings(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    first, *others = schema["patterns"]
    low, high = schema["minLength"], schema["maxLength"]
    return st.from_regex(first).filter(
        lambda s: low <= len(s) <= high and all(re.search(p, s) for p in others)
    )


def test_no_pattern_says_whitespace_as_a_regex_dialect_reads_it() -> None:
    # JSON Schema reads \s as ECMA-262 does (U+FEFF is one, U+001C is not), Python's re (the
    # fuzzer's and the server's) the other way round: "\ufeff" was a valid token for one and
    # blank for the other.
    vague = [p for p in _patterns(SPEC) if re.search(r"\\[sS]", p.replace(_ANY, ""))]
    assert vague == []


def test_the_spec_whitespace_is_what_the_server_trims() -> None:
    found = re.match(r"\^(\[[^\]]+\])\*", SCHEMAS["SubscriptionToken"]["pattern"])
    assert found is not None
    spelled = re.compile(found.group(1))
    every = (chr(c) for c in range(sys.maxunicode + 1))
    assert {c for c in every if spelled.fullmatch(c)} == set(validation.WHITESPACE)


def _cases() -> list[tuple[str, str | None, Callable[[str], object]]]:
    return [(name, None, parse) for name, parse in PARSERS.items()] + [
        (name, prop, parse) for (name, prop), parse in PROPERTY_PARSERS.items()
    ]


@pytest.mark.parametrize(
    ("name", "prop", "parse"), _cases(), ids=[f"{n}.{p}" if p else n for n, p, _ in _cases()]
)
def test_a_string_the_spec_allows_is_accepted(
    name: str, prop: str | None, parse: Callable[[str], object]
) -> None:
    @settings(max_examples=300, derandomize=True, deadline=None)
    @given(_strings(_schema(name, prop)))
    def accepted(value: str) -> None:
        parse(value)

    accepted()
