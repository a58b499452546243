"""Escapes that hide a token in text: an underscore written as `%5F` or `\\u005f` after a
token prefix's head, and a token with every character percent-encoded (`%6E%74%6E%5F…`,
seen in logged URLs). Pure functions over bytes, like encodings.py.
"""

from __future__ import annotations

import binascii
import bisect
import functools
import re

from notion_leakguard.encodings import Decoded
from notion_leakguard.patterns import MAX_LEFT_CONTEXT, TOKEN_FORMATS

_HEADS = sorted({a.partition("_")[0] for f in TOKEN_FORMATS for a in f.anchors if "_" in a})


def _percent_encoded(text: str) -> str:
    """A pattern for `text` with every character written as `%XX`, in either case."""
    return "".join(
        "%" + "".join(f"[{d}{d.lower()}]" if d.isalpha() else d for d in f"{ord(c):02X}")
        for c in text
    )


# A stretch of `%XX` that spells the end of a prefix's head, its `_`, and at least as many
# characters as the shortest body (secret_'s 43): the scanner's own patterns then decide.
_TAILS = sorted({head[-3:] for head in _HEADS})
_PERCENT_BEFORE = "(?:{})(?=(?:%[0-9A-Fa-f]{{2}}){{43}})".format(
    "|".join(f"(?<={_percent_encoded(tail)}%5[Ff])" for tail in _TAILS)
)
_HEX_DIGITS = b"%0123456789ABCDEFabcdef"


def _escaped_anchor() -> re.Pattern[bytes]:
    """`5` first: a one-character literal the engine can skip to. Then one look at the
    character before the escape: a head's last letter (`ntn%5F`, `ntn\\u005f`) or the last
    hex digit of an encoded one (`%6E%5F`); only then the longer lookbehinds. The groups
    tell an escaped underscore after a head from a stretch of percent-encoding."""
    last = "".join(sorted({re.escape(head[-1]) for head in _HEADS}))
    encoded_last = "".join(sorted({f"{ord(tail[-1]):02X}"[-1] for tail in _TAILS}))
    percent = "|".join(f"(?<={re.escape(head)}%5[Ff])" for head in _HEADS)
    json = "|".join(f"(?<={re.escape(head)}\\\\u005[Ff])" for head in _HEADS)
    return re.compile(
        f"5[Ff](?:(?:(?<=[{last}]%5[Ff])(?:{percent})|(?<=[{last}]\\\\u005[Ff])(?:{json}))"
        f"(?P<underscore>)|(?<=[{encoded_last}{encoded_last.lower()}]%5[Ff])"
        f"{_PERCENT_BEFORE}(?P<percent>))".encode()
    )


_ESCAPED = re.compile(rb"%5[Ff]|\\u005[Ff]")


@functools.cache
def _after_head() -> tuple[re.Pattern[bytes], re.Pattern[bytes]]:
    """The escaped-anchor pass and its percent-only form, compiled on first use: text
    without `%` or a backslash never needs them, and compiling costs a hook run 1 ms."""
    return _escaped_anchor(), re.compile(f"5[Ff]{_PERCENT_BEFORE}".encode())


_PERCENT_STRETCH = re.compile(rb"(?:%[0-9A-Fa-f]{2})+")
_PERCENT_REGION = re.compile(rb"[%0-9A-Fa-f]+")
# How far the pattern may look after a token that starts before `hi` (a percent-encoded
# head, its `_` and the 43 characters its lookahead wants), and how far before the match a
# percent-encoded token may start, with the context its boundary needs.
_HEAD_REACH = 3 * (max(len(head) for head in _HEADS) + 1)
_REACH = _HEAD_REACH + 3 * 43 + 8
_STRETCH_BACK = _HEAD_REACH + 3 * MAX_LEFT_CONTEXT


class Unescaped:
    """A buffer with every escaped underscore written as `_`, and the way back to offsets
    in the buffer (worked out on first use: only findings need it)."""

    def __init__(self, original: bytes) -> None:
        self.original = original
        self.data = (
            original.replace(b"%5F", b"_")
            .replace(b"%5f", b"_")
            .replace(b"\\u005f", b"_")
            .replace(b"\\u005F", b"_")
        )
        self._starts: list[int] = []  # each escape's offset in `data`
        self._shrunk: list[int] = []  # bytes removed by that escape and those before it
        self._mapped = False

    def position(self, offset: int) -> int:
        if not self._mapped:
            removed = 0
            for escape in _ESCAPED.finditer(self.original):
                self._starts.append(escape.start() - removed)
                removed += escape.end() - escape.start() - 1
                self._shrunk.append(removed)
            self._mapped = True
        before = bisect.bisect_left(self._starts, offset)
        return offset + (self._shrunk[before - 1] if before else 0)


def unescaped_forms(buffer: bytes, lo: int, hi: int) -> tuple[Unescaped | None, list[Decoded]]:
    """Where escapes hide a token that starts in buffer[lo:hi]: the buffer with its escaped
    underscores unescaped, when one follows a token prefix's head (`ntn%5F`, `ntn\\u005f`),
    and the stretches of `%XX` that encode an underscore after another character (as in
    `%6E%74%6E%5F…`), decoded. One pass that jumps from `5` to `5` finds both; text
    without `%` or a backslash (a third of the standard library's) is passed over at memchr
    speed. (None, []) is the usual case."""
    end = min(len(buffer), hi + _REACH)
    if buffer.find(b"%", lo, end) < 0 and buffer.find(b"\\", lo, end) < 0:
        return None, []
    unescaped, stretches = None, []
    escaped_after_head, percent_after_head = _after_head()
    match = escaped_after_head.search(buffer, lo, end)
    while match is not None:
        if match.lastgroup == "underscore":
            unescaped = Unescaped(buffer)
            at = match.end()
        else:
            # The stretch starts after the last byte before the match that is neither `%`
            # nor a hex digit, or far enough before it for any token and its context.
            back = max(0, match.end() - _STRETCH_BACK)
            after_other = back + len(buffer[back : match.end()].rstrip(_HEX_DIGITS))
            first, at = _stretch(buffer, after_other, match.end())
            digits = buffer[first:at].replace(b"%", b"")
            stretches.append(Decoded(first, binascii.unhexlify(digits), "percent", 3))
        pattern = escaped_after_head if unescaped is None else percent_after_head
        match = pattern.search(buffer, at, end)
    return unescaped, stretches


def _stretch(buffer: bytes, start: int, reaching: int) -> tuple[int, int]:
    """The stretch of `%XX` from buffer[start] on that reaches `reaching`: the run of `%`
    and hex digits there, checked to be whole escapes by slicing (a regular expression that
    repeats a group runs 30 times slower); the exact pattern where that check fails."""
    region = _PERCENT_REGION.match(buffer, start)
    if region is not None:
        first = buffer.find(b"%", start, region.end())
        whole = buffer[first : region.end()]
        whole = whole[: len(whole) - len(whole) % 3]
        escapes = len(whole) // 3
        if (
            first >= 0
            and first + len(whole) >= reaching
            and whole[::3].count(b"%") == escapes
            and whole.count(b"%") == escapes
        ):
            return first, first + len(whole)
    stretch = _PERCENT_STRETCH.search(buffer, start)
    while stretch is not None and stretch.end() < reaching:  # a stray `%` first
        stretch = _PERCENT_STRETCH.search(buffer, stretch.end())
    assert stretch is not None  # the match's own `%XX` are one
    return stretch.span()


def escape_kind(stored: bytes) -> str:
    """How an escaped token was stored: percent-encoding or a JSON escape."""
    return "percent" if b"%5" in stored else "json-escape"
