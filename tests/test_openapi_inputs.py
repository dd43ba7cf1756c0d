"""The spec's input patterns say what the API's parsers accept: a string that a generated client,
or the fuzzer, makes from a pattern is one the API takes (so schemathesis' positive_data_acceptance
can stay on in `make test`)."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from typing import Any, Final

import pytest
import yaml
from hypothesis import find, given, settings
from hypothesis import strategies as st

from chalicelib.blog.posts import fields as post_fields
from chalicelib.blog.subscribers.addresses import normalise_email
from chalicelib.blog.subscribers.service import _token as subscription_token
from chalicelib.core import characters, validation
from chalicelib.photos.service import _clean as photo_fields
from chalicelib.todos import items as todo_items
from tests.conftest import ROOT

SPEC: Final[dict[str, Any]] = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
SCHEMAS: Final[dict[str, Any]] = SPEC["components"]["schemas"]
# "Any character" in both dialects, the one place a pattern may still say \s.
_ANY = r"[\s\S]"


def _body(**fields: object) -> dict[str, Any]:
    """The fields as the server reads them: a JSON body first (which refuses what is not text
    anywhere in it), then each route's own parser."""
    return validation.parse_json_object(json.dumps(fields).encode("utf-8"))


# Each text schema of a request, and the parser that takes its value on the server.
PARSERS: Final[dict[str, Callable[[str], object]]] = {
    "Title": lambda s: todo_items.clean(_body(title=s), partial=False),
    "Notes": lambda s: todo_items.clean(_body(notes=s), partial=True),
    "PostTitleInput": lambda s: post_fields.clean_fields(_body(title=s), partial=True),
    "PostSummaryInput": lambda s: post_fields.clean_fields(_body(summary=s), partial=True),
    "SubscriptionToken": lambda s: subscription_token(_body(token=s), "the link"),
}
# The same, for text schemas written inside an object's properties.
PROPERTY_PARSERS: Final[dict[tuple[str, str], Callable[[str], object]]] = {
    ("TodoCreate", "title"): lambda s: todo_items.clean(_body(title=s), partial=False),
    ("PhotoCreate", "filename"): lambda s: photo_fields(
        _body(content_type="image/jpeg", size=1, filename=s)
    ),
    ("PostCreate", "cover_photo_id"): lambda s: post_fields.clean_fields(
        _body(cover_photo_id=s), partial=True
    ),
    ("SubscriptionCreate", "email"): lambda s: normalise_email(_body(email=s)["email"]),
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
    # Of the white space text() trims, what a JSON body may hold at all (U+000B, U+000C and
    # U+001C to U+001F are not text: a body holding one is refused before anything is trimmed).
    found = re.match(r"\^(\[[^\]]+\])\*", SCHEMAS["SubscriptionToken"]["pattern"])
    assert found is not None
    spelled = re.compile(found.group(1))
    every = (chr(c) for c in range(sys.maxunicode + 1))
    trimmed = {c for c in validation.WHITESPACE if not characters.NOT_TEXT.match(c)}
    assert {c for c in every if spelled.fullmatch(c)} == trimmed


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


# What the server refuses in every string and field name of a body (core.characters.NOT_TEXT),
# one of each kind. Left out: the noncharacters above U+FFFF (U+1FFFE...), which no regex escape
# names in both ECMA-262 and Python, so no pattern here can refuse them.
NOT_TEXT: Final = ("\x00", "\x08", "\x0b", "\x1f", "\ufdd0", "\ufffe", "\uffff")


def _resolved(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        node = SCHEMAS[node["$ref"].rsplit("/", 1)[1]]
    return node


def _body_strings(node: Any, where: str, seen: set[int]) -> Iterator[tuple[str, list[str]]]:
    """Each free-text string a request body may hold (and each map's keys): its patterns."""
    node = _resolved(node)
    if not isinstance(node, dict) or id(node) in seen:
        return
    seen.add(id(node))
    parts = [node, *(_resolved(p) for p in node.get("allOf", []))]
    declared = node.get("type")
    types: list[Any] = declared if isinstance(declared, list) else [declared]
    if "string" in types and not {"enum", "const", "format"} & set(node):
        yield where, [p["pattern"] for p in parts if "pattern" in p]
    for choice in node.get("anyOf", []) + node.get("oneOf", []):
        yield from _body_strings(choice, where, seen)
    for name, field in (node.get("properties") or {}).items():
        yield from _body_strings(field, f"{where}.{name}", seen)
    if isinstance(node.get("additionalProperties"), dict):
        yield f"{where} (a key)", [node.get("propertyNames", {}).get("pattern", "")]
        yield from _body_strings(node["additionalProperties"], f"{where}.*", seen)
    if "items" in node:
        yield from _body_strings(node["items"], f"{where}[]", seen)


def _request_body_strings() -> list[tuple[str, list[str]]]:
    found: list[tuple[str, list[str]]] = []
    for path, item in SPEC["paths"].items():
        for method, op in item.items():
            if not isinstance(op, dict) or "requestBody" not in op:
                continue  # the path's own parameters, or an operation without a body
            for media in op["requestBody"]["content"].values():
                found += _body_strings(media["schema"], f"{method.upper()} {path}", set())
    return found


@pytest.mark.parametrize(
    ("where", "patterns"), _request_body_strings(), ids=[w for w, _ in _request_body_strings()]
)
def test_no_body_string_admits_what_the_server_refuses(where: str, patterns: list[str]) -> None:
    # The server refuses the whole body for one such character (a batch too, whatever request
    # holds it), so a pattern that admits one makes a "valid" request the API must refuse.
    patterns = [p for p in patterns if p]
    assert patterns, f"{where} admits any string"
    sample = find(
        st.from_regex(patterns[0]),
        lambda s: len(s) >= 3 and all(re.search(p, s) for p in patterns),
        settings=settings(database=None, derandomize=True),
    )
    for bad in NOT_TEXT:
        spoiled = sample[:-1] + bad + sample[-1:]
        assert not all(re.search(p, spoiled) for p in patterns), (where, bad)
