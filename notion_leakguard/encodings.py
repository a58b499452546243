"""Where a token hides in encoded form: UTF-16/32 text, base64 values (also wrapped over
lines) and hex; escapes.py has the escapes. Pure functions over bytes; the scanner runs its
own patterns over what these decode, so no format is defined twice.

Each pass is kept off the common path: UTF-16/32 is decided once per file from its first
bytes; base64 and hex are decoded only inside runs of 64+ base64 characters (one
`bytes.translate` and a search, in C): a run of hex digits as hex, any other that uses one
alphabet as base64, joined with the lines around it only when it fills its line. Binary
data gets none of the text passes (its own tokens are found as plain bytes).
"""

from __future__ import annotations

import binascii
import codecs
import functools
import re
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from notion_leakguard.patterns import TOKEN_FORMATS

_SNIFF = 4096  # 2048 UTF-16 characters: a long non-Latin heading does not hide the rest
# Which of every four bytes are NUL when text in the ASCII range is written in each codec.
_NUL_LANES = (
    ("utf-32-le", (False, True, True, True)),
    ("utf-32-be", (True, True, True, False)),
    ("utf-16-le", (False, True, False, True)),
    ("utf-16-be", (True, False, True, False)),
)


def text_encoding(head: bytes) -> str | None:
    """The UTF-16 or UTF-32 codec a file is written in, from its byte order mark or, without
    one, from where its NUL bytes fall; None for anything else."""
    if head.find(b"\0", 0, _SNIFF) < 0:
        return None  # the usual case: UTF-16/32 text has NUL bytes (newlines, ASCII)
    if head[:1] in (b"\xff", b"\xfe", b"\0"):
        for bom, codec in (
            (codecs.BOM_UTF32_LE, "utf-32-le"),
            (codecs.BOM_UTF32_BE, "utf-32-be"),
            (codecs.BOM_UTF16_LE, "utf-16-le"),
            (codecs.BOM_UTF16_BE, "utf-16-be"),
        ):
            # A byte order mark, and a NUL byte as the text's newlines and ASCII give in
            # that encoding (invalid UTF-8 may start with the same bytes).
            if head.startswith(bom) and b"\0" in head[len(bom) : _SNIFF]:
                return codec
    sample = head[:_SNIFF]
    # ASCII-range text in UTF-16/32 leaves every odd byte NUL (little-endian) or every even
    # one (big-endian), so nearly half of all its bytes; most binary data has fewer.
    if len(sample) < 16 or sample.count(0) < 0.45 * len(sample):
        return None
    odd, even = sample[1::2], sample[::2]
    if odd.count(0) < 0.9 * len(odd) and even.count(0) < 0.9 * len(even):
        return None
    shares = [lane.count(0) / len(lane) for lane in (sample[i::4] for i in range(4))]
    for codec, nul_lanes in _NUL_LANES:
        if all(s >= 0.9 if nul else s <= 0.1 for s, nul in zip(shares, nul_lanes)):
            return codec
    return None


def label(codec: str) -> str:
    """The `encoding` a report shows: utf-16 or utf-32."""
    return codec[:6]


def decode_stream(blocks: Iterable[bytes], codec: str) -> Iterator[bytes]:
    """UTF-8 for a stream of UTF-16/32 blocks, split anywhere."""
    decoder = codecs.getincrementaldecoder(codec)(errors="replace")
    for block in blocks:
        text = decoder.decode(block)
        if text:
            yield text.encode("utf-8", "surrogatepass")
    rest = decoder.decode(b"", final=True)
    if rest:
        yield rest.encode("utf-8", "surrogatepass")


class Decoded(NamedTuple):
    """Bytes decoded from buffer[start:...]; `position(offset)` maps an offset in `data`
    back to where it is stored in the buffer."""

    start: int
    data: bytes
    encoding: str
    bytes_per_char: float  # encoded bytes per decoded byte, for the position mapping
    lines: Lines | None = None  # base64 wrapped over lines, decoded as one run

    def position(self, offset: int) -> int:
        at = self.start + int(offset * self.bytes_per_char)
        return at if self.lines is None else self.lines.position(at)


# --- base64 and hex --------------------------------------------------------------------

_MIN_RUN = 64  # a 50-byte token takes 67 characters, wherever it starts
_MIN_HEX_RUN = 100  # and 100 hex digits
_RUN = b"a" * _MIN_RUN
_B64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_"
_CLASSES = bytes(0x61 if i in _B64 else 0x20 for i in range(256))
_URLSAFE_TO_STANDARD = bytes.maketrans(b"-_", b"+/")
_MAX_DEPTH = 2  # base64 inside base64: a .dockerconfigjson holds base64 "auth" values
# Old token_v2 cookies are runs of lowercase hex this long (patterns.NOTION_TOKEN_V2_HEX).
HEX_COOKIE_LENGTHS = range(150, 1025)


_HEX = re.compile(rb"(?:0[xX])?[0-9A-Fa-f]*")
# The hex of the `_` of every token anchor and the three characters before it (`6e746e5f`
# for `ntn_`): a hex run without one holds no token and is not decoded.
_HEX_ANCHORS = frozenset(
    (a.partition("_")[0][-3:] + "_").encode().hex().encode()
    for f in TOKEN_FORMATS
    for a in f.anchors
)
_LOWER_HEX = re.compile(rb"[0-9a-f]*")
_LINE_END = (b"\n", b"\r")
_BLANK = b" \t\n"


def base64_values(
    buffer: bytes,
    lo: int,
    hi: int,
    holding: bytes = b"",
    depth: int = 1,
    hex_runs: list[tuple[int, int]] | None = None,
) -> Iterable[Decoded]:
    """Runs of 64+ base64 (or base64url) characters in buffer that reach into [lo, hi),
    decoded at each of the four offsets a value may start at, and values inside decoded
    text, down to _MAX_DEPTH; only those that hold `holding` (the scanner asks for `_`,
    which every token prefix holds, and so drops most values before any object is made).
    Decoding, and the scanner's pass over what it gives, run in C at memory speed; looking
    for the base64 images of token prefixes first cost more.

    The same runs hold the other long encodings: a run of hex digits (`6e746e5f…`, maybe
    after `0x`) is decoded as hex at its two offsets, and lines of one width in a row (PEM,
    MIME, `base64 -w 76`, an indented YAML block) as one run. Runs of lowercase hex of a
    token_v2 cookie's length are added to `hex_runs`, as (start, end), when it is given."""
    classes = buffer.translate(_CLASSES)
    found = classes.find(_RUN, max(0, lo - _MIN_RUN))
    if found == -1 or found >= hi:
        return ()  # the usual case, decided in C
    return _values(buffer, classes, found, lo, hi, holding, depth, hex_runs)


def _values(
    buffer: bytes,
    classes: bytes,
    found: int,
    lo: int,
    hi: int,
    holding: bytes,
    depth: int,
    hex_runs: list[tuple[int, int]] | None,
) -> Iterator[Decoded]:
    while found != -1 and found < hi:
        start = classes.rfind(b" ", 0, found) + 1
        end = classes.find(b" ", found)
        end = len(buffer) if end == -1 else end
        run = buffer[start:end]
        if _HEX.fullmatch(run):  # digests, numbers, hex-encoded text: never base64
            if (
                hex_runs is not None
                and len(run) in HEX_COOKIE_LENGTHS
                and _LOWER_HEX.fullmatch(run)
            ):
                hex_runs.append((start, end))
            if len(run) >= _MIN_HEX_RUN:
                yield from _decode_hex(run, start, holding)
        else:
            # Only a run that begins or ends its line may be a wrapped line (the test in
            # _wrapped, after a cheaper look at the bytes around the run).
            edge = buffer[end : end + 1] in _LINE_END or start == 0 or buffer[start - 1] in _BLANK
            lines = _wrapped(buffer, classes, start, end, lo - 2 * _MIN_RUN) if edge else None
            if lines is not None and _plausible(lines.run):
                yield from _decode_run(lines.run, lines.start, holding, depth, lines)
                end = lines.end
            elif _plausible(run):
                yield from _decode_run(run, start, holding, depth, None)
        found = classes.find(_RUN, end)


def _decode_hex(run: bytes, start: int, holding: bytes) -> Iterator[Decoded]:
    if not _holds_anchor(run.lower()):
        return  # digests, numbers, random bytes: the usual case
    if run[1:2] in (b"x", b"X"):
        run, start = run[2:], start + 2
    for offset in (0, 1):
        digits = run[offset : len(run) - (len(run) - offset) % 2]
        data = binascii.unhexlify(digits)
        if holding in data:
            yield Decoded(start + offset, data, "hex", 2)


def _holds_anchor(digits: bytes) -> bool:
    """Whether lowercase hex digits hold one of _HEX_ANCHORS (each ends in `5f`, which
    bytes.find looks for in C)."""
    at = digits.find(b"5f", 6)
    while at >= 0:
        if digits[at - 6 : at + 2] in _HEX_ANCHORS:
            return True
        at = digits.find(b"5f", at + 1)
    return False


class Lines:
    """Base64 wrapped over lines, as one run: the lines' runs joined, where the first
    starts, where the last ends. Where each line starts is worked out only when a position
    is asked for (a token was found): a megabyte of wrapped base64 has 14,000 lines."""

    def __init__(self, buffer: bytes, first: int, end: int, width: int, last: int) -> None:
        self.buffer = buffer
        self.start = first
        self.end = end
        self.width = width  # of every line but the last
        self.last = last  # where the last line starts
        self.run = buffer[first:end].translate(None, b"\r\n \t")  # the line breaks out
        self._starts: list[int] = []

    def position(self, at: int) -> int:
        """Where `at`, an offset counted as if the lines were one, is stored."""
        line = (at - self.start) // self.width
        if line <= 0:
            return at
        if not self._starts:
            whole, _ = _full_lines(self.width)
            found = whole.finditer(self.buffer, self.start, self.last)
            self._starts = [*(match.start() for match in found), self.last]
        line = min(line, len(self._starts) - 1)
        return self._starts[line] + at - self.start - line * self.width


def _wrapped(buffer: bytes, classes: bytes, start: int, end: int, floor: int) -> Lines | None:
    """The lines of wrapped base64 that the run buffer[start:end] is one of: runs of the
    same width, each alone on its line but for indentation (the first may follow a key),
    and a last one no wider; None when the run is not on such lines. Lines before `floor`
    are left out: a token that starts there was judged in an earlier buffer."""
    width = end - start
    if not _ends_line(buffer, end) and not _starts_line(buffer, start):
        return None  # the usual case: a run amid other text on its line
    first = start
    while first > floor and _starts_line(buffer, first):
        above = buffer.rfind(b"\n", 0, first)
        if above <= 0:
            break
        above_end = above - 1 if buffer[above - 1] == 0x0D else above
        above_start = classes.rfind(b" ", 0, above_end) + 1
        if above_end - above_start != width or _hex_line(buffer[above_start:above_end]):
            break
        first = above_start
    line_end = classes.find(b" ", first)
    if line_end - first != width or not _ends_line(buffer, line_end):
        return None  # the first line is not a whole one (a megabyte of base64 on one line)
    # The whole lines (exactly `width` wide, then a line break), matched in C; then the last.
    _, lines = _full_lines(width)
    whole = lines.match(buffer, first)
    assert whole is not None  # `lines` matches the empty string too
    following = whole.end()  # after the last whole line's break and the indentation
    if following < len(buffer) and classes[following] != 0x20:
        after = classes.find(b" ", following)
        after = len(buffer) if after == -1 else after
        if after - following <= width and not _hex_line(buffer[following:after]):
            return Lines(buffer, first, after, width, following)
    # No line after the whole ones: the last whole line is the last line.
    last = following
    while buffer[last - 1] in (0x20, 0x09):
        last -= 1
    last -= 2 if buffer[last - 2] == 0x0D else 1
    last -= width
    return Lines(buffer, first, last + width, width, last) if last > first else None


@functools.lru_cache(maxsize=256)
def _full_lines(width: int) -> tuple[re.Pattern[bytes], re.Pattern[bytes]]:
    """One whole line of wrapped base64 `width` characters wide that is no hex line
    (_hex_line), with its line break and the next line's indentation; and any number of
    them, one after the other."""
    line = rb"(?!(?:0[xX])?[0-9A-Fa-f]*\r?\n)[A-Za-z0-9+/_\-]{%d}\r?\n[ \t]*" % width
    return re.compile(line), re.compile(rb"(?:%s)*" % line)


def _hex_line(run: bytes) -> bool:
    """A line of hex digits is decoded as hex, never as a piece of wrapped base64."""
    return len(run) >= _MIN_RUN and _HEX.fullmatch(run) is not None


def _ends_line(buffer: bytes, end: int) -> bool:
    return buffer[end : end + 1] == b"\n" or buffer[end : end + 2] == b"\r\n"


def _starts_line(buffer: bytes, start: int) -> bool:
    """Whether only blanks stand between the line's start and buffer[start] (looked at
    backwards from `start`: a minified line may be megabytes long)."""
    while start > 0 and buffer[start - 1] in (0x20, 0x09):
        start -= 1
    return start == 0 or buffer[start - 1] == 0x0A


def _line_start(buffer: bytes, at: int) -> int:
    """Where the text of the line after the line break at buffer[at] begins, after blanks."""
    at += 2 if buffer[at : at + 1] == b"\r" else 1
    while buffer[at : at + 1] in (b" ", b"\t"):
        at += 1
    return at


def _decode_run(
    run: bytes, start: int, holding: bytes, depth: int, lines: Lines | None
) -> Iterator[Decoded]:
    standard = run.translate(_URLSAFE_TO_STANDARD)
    # Padded once, with and without the last character, and read through views: copying
    # a megabyte twice for each of the four offsets cost as much as decoding it.
    padded = memoryview(standard + b"==")  # padding beyond what is needed is ignored
    shorter = memoryview(standard[:-1] + b"==")
    for offset in range(4):
        # A lone last character holds no whole byte: without it.
        chars = shorter[offset:] if (len(standard) - offset) % 4 == 1 else padded[offset:]
        try:
            data = binascii.a2b_base64(chars)
        except binascii.Error:
            continue
        decoded = Decoded(start + offset, data, "base64", 4 / 3, lines)
        if holding in data:
            yield decoded
        if depth < _MAX_DEPTH and data.isascii() and b"\0" not in data:
            for inner in base64_values(data, 0, len(data), holding, depth + 1):
                yield Decoded(
                    decoded.position(inner.start),
                    inner.data,
                    "base64",
                    inner.bytes_per_char * decoded.bytes_per_char,
                )


def _plausible(run: bytes) -> bool:
    """Base64 uses one alphabet, standard (+/) or URL-safe (-_), and its two specials are
    2 characters in 64; file paths and snake_case names mix them or use them far more."""
    standard = run.count(b"+") + run.count(b"/")
    urlsafe = run.count(b"-") + run.count(b"_")
    return not (standard and urlsafe) and 8 * (standard + urlsafe) <= len(run)
