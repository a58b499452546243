"""Where a token hides in encoded form: UTF-16/32 text, base64 values, and an underscore
written as `%5F` or `\\u005f`. Pure functions over bytes; the scanner runs its own
patterns over what these decode, so no format is defined twice.

Each pass is kept off the common path: UTF-16/32 is decided once per file from its first
bytes; base64 is decoded only inside runs of 64+ base64 characters that contain the image
of a token prefix; escaped underscores are found by one pass that jumps from `5` to `5`.
Binary data gets none of the text passes (its own tokens are found as plain bytes).
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from collections.abc import Iterable, Iterator
from typing import NamedTuple
from urllib.parse import unquote_to_bytes

from notion_leakguard.patterns import TOKEN_FORMATS

_SNIFF = 4096
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
    if len(sample) < 16 or b"\0" not in sample:
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

_ESCAPED_UNDERSCORE_WINDOW = 512  # the longest token with its escapes fits


def _escaped_anchor() -> tuple[re.Pattern[bytes], dict[str, tuple[int, str]]]:
    heads = sorted({a.partition("_")[0] for f in TOKEN_FORMATS for a in f.anchors if "_" in a})
    alternatives: list[str] = []
    groups: dict[str, tuple[int, str]] = {}
    for escape, encoding in (("%5", "percent"), ("\\u005", "json-escape")):
        for head in heads:
            name = f"e{len(groups)}"
            groups[name] = (len(head) + len(escape) - 1, encoding)  # the match starts at "5"
            alternatives.append(f"(?<={re.escape(head + escape)}[Ff])(?P<{name}>)")
    # `5` first: a one-character literal the engine can skip to.
    return re.compile(f"5[Ff](?:{'|'.join(alternatives)})".encode()), groups


_ESCAPED, _ESCAPED_GROUPS = _escaped_anchor()
_JSON_ESCAPE = re.compile(rb"\\u([0-9A-Fa-f]{4})")


def escaped_underscores(buffer: bytes, lo: int, hi: int) -> Iterator[Decoded]:
    """Windows starting where a prefix with an escaped underscore starts, unescaped."""
    for match in _ESCAPED.finditer(buffer, lo):
        name = match.lastgroup
        assert name is not None
        back, encoding = _ESCAPED_GROUPS[name]
        start = match.start() - back
        if start >= hi:
            return
        if start < lo:
            continue
        window = buffer[start : start + _ESCAPED_UNDERSCORE_WINDOW]
        if encoding == "percent":
            data = unquote_to_bytes(window)
        else:
            data = _JSON_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)).encode(), window)
        yield Decoded(start, data, encoding, 0.0)


# --- base64 -------------------------------------------------------------------------------

_MIN_RUN = 64  # a 50-byte token takes 67 characters, wherever it starts
_RUN = b"a" * _MIN_RUN
_B64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_"
_CLASSES = bytes(0x61 if i in _B64 else 0x20 for i in range(256))
_URLSAFE_TO_STANDARD = bytes.maketrans(b"-_", b"+/")
_MAX_DEPTH = 2  # base64 inside base64: a .dockerconfigjson holds base64 "auth" values


def _images(texts: Iterable[bytes]) -> set[bytes]:
    """The base64 (and base64url) characters that encode each text alone, at each of the
    three alignments: base64 holding a text holds one of its images."""
    images = set()
    for raw in texts:
        for shift in range(3):
            encoded = base64.b64encode(b"\0" * shift + raw + b"\0\0\0")
            whole = [
                i
                for i in range(len(encoded))
                if 6 * i >= 8 * shift and 6 * i + 6 <= 8 * (shift + len(raw))
            ]
            image = encoded[whole[0] : whole[-1] + 1]
            images.add(image)
            images.add(image.translate(bytes.maketrans(b"+/", b"-_")))
    return images


def _prefix_images() -> tuple[bytes, ...]:
    """Images of every token prefix, and images of those images (base64 inside base64)."""
    first = _images(anchor.encode() for fmt in TOKEN_FORMATS for anchor in fmt.anchors)
    return tuple(sorted(first | _images(first)))


_IMAGE = re.compile(b"|".join(re.escape(image) for image in _prefix_images()))
_HEX = re.compile(rb"[0-9A-Fa-f]*")


def base64_values(buffer: bytes, lo: int, hi: int, depth: int = 1) -> Iterator[Decoded]:
    """Decoded runs of 64+ base64 (or base64url) characters in buffer that reach into
    [lo, hi) and hold the image of a token prefix, at each of the four offsets a value
    may start at; values inside the decoded bytes too, down to _MAX_DEPTH."""
    classes = buffer.translate(_CLASSES)
    found = classes.find(_RUN, max(0, lo - _MIN_RUN))
    while found != -1 and found < hi:
        start = classes.rfind(b" ", 0, found) + 1
        end = classes.find(b" ", found)
        end = len(buffer) if end == -1 else end
        run = buffer[start:end]
        if _plausible(run) and _IMAGE.search(run):
            yield from _decode_run(run, start, depth)
        found = classes.find(_RUN, end)


def _plausible(run: bytes) -> bool:
    """Base64 uses one alphabet, standard (+/) or URL-safe (-_), and its two specials are
    2 characters in 64; file paths and snake_case names mix them or use them far more, and
    64 characters that are all hex digits are a digest."""
    if _HEX.fullmatch(run):
        return False  # digests and numbers, not base64
    standard = run.count(b"+") + run.count(b"/")
    urlsafe = run.count(b"-") + run.count(b"_")
    return not (standard and urlsafe) and 8 * (standard + urlsafe) <= len(run)


def _decode_run(run: bytes, start: int, depth: int) -> Iterator[Decoded]:
    standard = run.translate(_URLSAFE_TO_STANDARD)
    for offset in range(4):
        chars = standard[offset:]
        chars = chars[: len(chars) - (len(chars) % 4 == 1)]
        try:
            data = binascii.a2b_base64(chars + b"=" * (-len(chars) % 4))
        except binascii.Error:
            continue
        decoded = Decoded(start + offset, data, "base64", 4 / 3)
        yield decoded
        if depth < _MAX_DEPTH:
            for inner in base64_values(data, 0, len(data), depth + 1):
                yield Decoded(
                    decoded.position(inner.start),
                    inner.data,
                    "base64",
                    inner.bytes_per_char * decoded.bytes_per_char,
                )
