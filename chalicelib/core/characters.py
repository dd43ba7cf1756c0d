"""Which characters a string of ours may hold: one rule for every text field the API reads and
for everything that writes text into XML (the Atom feed)."""

from __future__ import annotations

from chalicelib.core.patterns import lazy

# What no string of ours may hold, wherever it comes from: what XML 1.0 forbids (C0 controls
# but tab and line breaks; lone surrogates, which cannot even be encoded, hashed or stored;
# U+FFFE and U+FFFF) and every other Unicode noncharacter (U+FDD0..U+FDEF and the last two code
# points of each plane), which XML discourages and Unicode reserves for programs' own use. So
# whatever the API accepts can go into the Atom feed, a mail or a page as it is.
_NONCHARACTERS = "\ufdd0-\ufdef" + "".join(
    chr(plane << 16 | 0xFFFE) + chr(plane << 16 | 0xFFFF) for plane in range(17)
)
NOT_TEXT = lazy(f"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff{_NONCHARACTERS}]")
REPLACEMENT = "\ufffd"
# Beyond NOT_TEXT: C1 controls have no business in any of our strings, nor line breaks and tabs
# in one-line text.
CONTROL = lazy("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
C1_CONTROL = lazy("[\x7f-\x9f]")
# What "trimmed" strips: Unicode white space (every str.isspace() character, written out rather
# than computed at every cold start) and U+FEFF, as the spec's patterns (ECMA-262 \s) read it.
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)


def not_text(value: str) -> str:
    """Which character of `value` text cannot hold, and where, in words an editor can act on
    (the caller puts the field's name first); `value` must hold one."""
    found = NOT_TEXT.search(value)
    if found is None:
        raise ValueError("the value holds only text")
    point = ord(found[0])
    if 0xD800 <= point <= 0xDFFF:
        kind = "half of a character pair without its other half (a lone surrogate)"
    elif point < 0x20:
        kind = "a control character"
    else:
        kind = "a Unicode noncharacter, which is never meant to be shown"
    return (
        f"contains a character that text cannot hold at position {found.start() + 1} "
        f"(U+{point:04X}, {kind}): remove it and send it again"
    )


def xml_safe(value: str) -> str:
    """`value` with each character that XML cannot carry replaced by U+FFFD (what a decoder puts
    for what it cannot read), for writers that must never emit a document no parser accepts."""
    return NOT_TEXT.sub(REPLACEMENT, value)
