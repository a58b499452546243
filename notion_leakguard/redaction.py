"""Text safe to show: every token in it replaced by its preview (`ntn_4564…9XyZ`), and
control characters escaped. Reporters, baselines, error messages and the detect-secrets
helpers all show paths and messages through here."""

from __future__ import annotations

import re

from notion_leakguard.findings import redact
from notion_leakguard.scanner import previews_in, token_spans


def redact_text(text: str) -> str:
    """`text` (a path, a name, a message) with every plain token replaced by its preview,
    and each part of it (between `/`, `!` and spaces) that holds a token in another form
    (`ntn%5F…`, base64, hex in a file name) replaced by the previews of what it holds."""
    text = redact_plain(text)
    if not _may_encode(text):
        return text
    held = previews_in(text.encode("utf-8", "surrogateescape"))
    if not held:
        return text
    parts = _PARTS.split(text)
    for index, part in enumerate(parts):
        in_part = previews_in(part.encode("utf-8", "surrogateescape"))
        if in_part:
            parts[index] = f"[{', '.join(in_part)}, encoded]"
    parted = "".join(parts)
    if previews_in(parted.encode("utf-8", "surrogateescape")):
        return f"[{', '.join(held)}, encoded]"  # a form no single part shows: all hidden
    return parted


def redact_plain(text: str) -> str:
    """`text` with every plain token replaced by its preview (encoded forms left as they
    are, for callers that withhold such text whole)."""
    if "_" not in text:
        return text
    return redact_tokens(text.encode("utf-8", "surrogateescape")).decode("utf-8", "surrogateescape")


# Where a token in another form can stand: an escape, or a long run of base64 or hex.
_ENCODED = re.compile(r"[%\\]|[A-Za-z0-9+/=_-]{60}")
_PARTS = re.compile(r"([/!\s])")


def _may_encode(text: str) -> bool:
    return _ENCODED.search(text) is not None


def redact_tokens(data: bytes) -> bytes:
    """`data` with every token replaced by its preview (for text another tool wrote)."""
    pieces, position = [], 0
    for span in token_spans(data):
        prefix = data[span.start : span.body_start].decode()
        body = data[span.body_start : span.end].decode()
        pieces += [data[position : span.start], redact(prefix, body).encode()]
        position = span.end
    return b"".join([*pieces, data[position:]])


def printable(text: str) -> str:
    """`text` safe for one terminal line: control characters (newlines, escape sequences)
    and bytes that were not UTF-8 in a file name are shown escaped, as `\\n` or `\\xff`."""
    if text.isprintable():
        return text
    shown = []
    for char in text:
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte, kept by surrogateescape
            shown.append(f"\\x{code - 0xDC00:02x}")
        elif not char.isprintable() and char != " ":
            shown.append(repr(char)[1:-1])
        else:
            shown.append(char)
    return "".join(shown)


def shown_line(text: str, limit: int = 160) -> str:
    """A line of a scanned file, safe to show: plain tokens as previews; a line that still
    holds a token in another form (base64, escaped, ...) is not shown at all."""
    redacted = redact_plain(text.strip())
    if previews_in(redacted.encode("utf-8", "surrogateescape")):
        return "(the line holds the key in an encoded form: not shown)"
    return printable(redacted)[:limit]


def shown(text: str) -> str:
    """`text` redacted and made printable: how any path or message reaches a terminal."""
    return printable(redact_text(text))
