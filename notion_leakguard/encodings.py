"""Where a token hides in encoded form: UTF-16/32 text, base64 values, and an underscore
written as `%5F` or `\\u005f`. Pure functions over bytes; the scanner runs its own
patterns over what these decode, so no format is defined twice.

Each pass is kept off the common path: UTF-16/32 is decided once per file from its first
bytes; base64 is decoded only inside runs of 64+ base64 characters that use one alphabet;
escaped underscores are found by one pass that jumps from `5` to `5`, over text that holds
a `%` or a backslash. Binary data gets none of the text passes (its own tokens are found as
plain bytes).
"""

from __future__ import annotations

import binascii
import bisect
import codecs
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

    def position(self, offset: int) -> int:
        return self.start + int(offset * self.bytes_per_char)


# --- an underscore written as %5F or \u005f ---------------------------------------------


def _escaped_anchor() -> re.Pattern[bytes]:
    heads = sorted({a.partition("_")[0] for f in TOKEN_FORMATS for a in f.anchors if "_" in a})
    alternatives = [
        f"(?<={re.escape(head + escape)}[Ff])" for escape in ("%5", "\\u005") for head in heads
    ]
    # `5` first: a one-character literal the engine can skip to; then a cheap look at the
    # one character before it (% or the 0 of \u005f) before the longer lookbehinds.
    return re.compile(f"5[Ff](?<=[%0]5[Ff])(?:{'|'.join(alternatives)})".encode())


_ESCAPED = re.compile(rb"%5[Ff]|\\u005[Ff]")
_ESCAPED_AFTER_HEAD = _escaped_anchor()


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


def unescape_underscores(buffer: bytes, lo: int, hi: int) -> Unescaped | None:
    """The buffer unescaped, when an escaped underscore follows a token prefix's head in
    buffer[lo:hi] (one pass that jumps from `5` to `5`); None otherwise, the usual case.
    Text without `%` or a backslash (a third of the standard library's) is passed over at
    memchr speed."""
    end = min(len(buffer), hi + 8)
    if buffer.find(b"%", lo, end) < 0 and buffer.find(b"\\", lo, end) < 0:
        return None
    if _ESCAPED_AFTER_HEAD.search(buffer, lo, end) is None:
        return None
    return Unescaped(buffer)


def escape_kind(stored: bytes) -> str:
    """How an escaped token was stored: percent-encoding or a JSON escape."""
    return "percent" if b"%5" in stored else "json-escape"


# --- base64 -------------------------------------------------------------------------------

_MIN_RUN = 64  # a 50-byte token takes 67 characters, wherever it starts
_RUN = b"a" * _MIN_RUN
_B64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_"
_CLASSES = bytes(0x61 if i in _B64 else 0x20 for i in range(256))
_URLSAFE_TO_STANDARD = bytes.maketrans(b"-_", b"+/")
_MAX_DEPTH = 2  # base64 inside base64: a .dockerconfigjson holds base64 "auth" values


_HEX = re.compile(rb"[0-9A-Fa-f]*")


def base64_values(
    buffer: bytes, lo: int, hi: int, holding: bytes = b"", depth: int = 1
) -> Iterable[Decoded]:
    """Runs of 64+ base64 (or base64url) characters in buffer that reach into [lo, hi),
    decoded at each of the four offsets a value may start at, and values inside decoded
    text, down to _MAX_DEPTH; only those that hold `holding` (the scanner asks for `_`,
    which every token prefix holds, and so drops most values before any object is made).
    Decoding, and the scanner's pass over what it gives, run in C at memory speed; looking
    for the base64 images of token prefixes first cost more."""
    classes = buffer.translate(_CLASSES)
    found = classes.find(_RUN, max(0, lo - _MIN_RUN))
    if found == -1 or found >= hi:
        return ()  # the usual case, decided in C
    return _values(buffer, classes, found, hi, holding, depth)


def _values(
    buffer: bytes, classes: bytes, found: int, hi: int, holding: bytes, depth: int
) -> Iterator[Decoded]:
    while found != -1 and found < hi:
        start = classes.rfind(b" ", 0, found) + 1
        end = classes.find(b" ", found)
        end = len(buffer) if end == -1 else end
        run = buffer[start:end]
        if _plausible(run):
            yield from _decode_run(run, start, holding, depth)
        found = classes.find(_RUN, end)


def _decode_run(run: bytes, start: int, holding: bytes, depth: int) -> Iterator[Decoded]:
    standard = run.translate(_URLSAFE_TO_STANDARD)
    for offset in range(4):
        chars = standard[offset:]
        if len(chars) % 4 == 1:
            chars = chars[:-1]  # a lone last character holds no whole byte
        try:
            data = binascii.a2b_base64(chars + b"==")  # padding beyond what is needed is ignored
        except binascii.Error:
            continue
        decoded = Decoded(start + offset, data, "base64", 4 / 3)
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
    2 characters in 64; file paths and snake_case names mix them or use them far more, and
    64 characters that are all hex digits are a digest."""
    if _HEX.fullmatch(run):
        return False  # digests and numbers, not base64
    standard = run.count(b"+") + run.count(b"/")
    urlsafe = run.count(b"-") + run.count(b"_")
    return not (standard and urlsafe) and 8 * (standard + urlsafe) <= len(run)
