"""Escapes that hide a token in text: an underscore written as `%5F` or `\\u005f` after a
token prefix's head, and a token with every character percent-encoded (`%6E%74%6E%5F…`,
seen in logged URLs). Pure functions over bytes, like encodings.py.
"""

from __future__ import annotations

import binascii
import bisect
import re

from notion_leakguard.encodings import Decoded
from notion_leakguard.patterns import MAX_LEFT_CONTEXT, TOKEN_FORMATS

_HEADS = sorted({a.partition("_")[0] for f in TOKEN_FORMATS for a in f.anchors if "_" in a})
# An encoded character before an encoded underscore: the start of a stretch of `%XX` that
# may spell a token (the scanner's own patterns then decide).
_PERCENT_BEFORE = "(?<=%[0-9A-Fa-f]{2}%5[Ff])"


def _escaped_anchor() -> re.Pattern[bytes]:
    alternatives = [
        f"(?<={re.escape(head + escape)}[Ff])" for escape in ("%5", "\\u005") for head in _HEADS
    ]
    # `5` first: a one-character literal the engine can skip to; then a cheap look at the
    # one character before it (% or the 0 of \u005f) before the longer lookbehinds. The
    # groups tell an escaped underscore after a head from a stretch of percent-encoding.
    return re.compile(
        f"5[Ff](?<=[%0]5[Ff])(?:(?:{'|'.join(alternatives)})(?P<underscore>)"
        f"|{_PERCENT_BEFORE}(?P<percent>))".encode()
    )


_ESCAPED = re.compile(rb"%5[Ff]|\\u005[Ff]")
_ESCAPED_AFTER_HEAD = _escaped_anchor()
_PERCENT_AFTER_HEAD = re.compile(f"5[Ff]{_PERCENT_BEFORE}".encode())
_PERCENT_STRETCH = re.compile(rb"(?:%[0-9A-Fa-f]{2})+")
# How far the pattern's match may end after a token that starts before `hi`, and how far
# before its end a percent-encoded token may start, with the context its boundary needs.
_REACH = 3 * max(len(head) for head in _HEADS) + 8
_STRETCH_BACK = _REACH + 3 * MAX_LEFT_CONTEXT


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
    match = _ESCAPED_AFTER_HEAD.search(buffer, lo, end)
    while match is not None:
        if match.lastgroup == "underscore":
            unescaped = Unescaped(buffer)
            at = match.end()
        else:
            stretch = _PERCENT_STRETCH.search(buffer, max(0, match.end() - _STRETCH_BACK))
            while stretch is not None and stretch.end() < match.end():  # one before it
                stretch = _PERCENT_STRETCH.search(buffer, stretch.end())
            assert stretch is not None  # the match's own `%XX` are one
            digits = stretch.group().replace(b"%", b"")
            stretches.append(Decoded(stretch.start(), binascii.unhexlify(digits), "percent", 3))
            at = stretch.end()
        pattern = _ESCAPED_AFTER_HEAD if unescaped is None else _PERCENT_AFTER_HEAD
        match = pattern.search(buffer, at, end)
    return unescaped, stretches


def escape_kind(stored: bytes) -> str:
    """How an escaped token was stored: percent-encoding or a JSON escape."""
    return "percent" if b"%5" in stored else "json-escape"
