"""The detection core: bytes in, findings out. No I/O, no git, no mutable state.

One pass of one regular expression jumps from `_` to `_` and keeps the places where a
known token prefix ends (`ntn_`, `secret_`, ...). Only there does the exact pattern of that
format run, followed by the boundary and placeholder checks. Lines and columns come from
counting bytes, so invalid UTF-8, NUL bytes or CRLF elsewhere never move a finding.

Binary data (a NUL byte in the first 8 KiB, git's own test) packs fields without
separators: a SQLite row stores `notion` right before the token. There a letter or digit
next to a token does not disqualify it; the random body is evidence enough.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple

from notion_leakguard import cookies, encodings, escapes
from notion_leakguard.anchors import compile_anchors, exact_pattern
from notion_leakguard.anchors import leading_class as _leading_class  # noqa: F401 (tests)
from notion_leakguard.findings import INLINE, Finding, fingerprint, redact
from notion_leakguard.patterns import (
    ALLOW_LINE,
    ALLOW_NEXT_LINE,
    ESCAPE_BEFORE_TOKEN,
    MAX_LEFT_CONTEXT,
    MAX_MATCH_LENGTH,
    NOTION_TOKEN_V2_HEX,
    TOKEN_FORMATS,
    TokenFormat,
)
from notion_leakguard.placeholders import is_placeholder

_BOM = b"\xef\xbb\xbf"
_ALNUM = frozenset(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_UTF8_CONTINUATION = bytes(range(0x80, 0xC0))
# A match must end this far before a block edge to be judged in that block: the longest
# match plus the one character its lookahead needs.
_TAIL = MAX_MATCH_LENGTH + 1
_BINARY_SNIFF = 8192
# How far an inline allow marker is looked for around a token when a file is read in blocks
# (on its line, or on the line above): lines longer than this are judged without waiting.
_LINE_REACH = 64 << 10


_ANCHORS, _ANCHOR_GROUPS = compile_anchors(TOKEN_FORMATS, end=True)
_EXACT = {fmt: re.compile(exact_pattern(fmt).encode()) for fmt in TOKEN_FORMATS}


@functools.cache
def _binary_patterns() -> tuple[re.Pattern[bytes], dict[TokenFormat, re.Pattern[bytes]]]:
    """The patterns for binary data (no end boundary), compiled on first use: a hook run
    over text files never needs them, and compiling costs 2 ms of every start."""
    anchors, _ = compile_anchors(TOKEN_FORMATS, end=False)
    exact = {fmt: re.compile(exact_pattern(fmt, end=False).encode()) for fmt in TOKEN_FORMATS}
    return anchors, exact


_ESCAPE_BEFORE = re.compile(ESCAPE_BEFORE_TOKEN.encode())
_ALLOW_LINE = re.compile(ALLOW_LINE)
_ALLOW_NEXT_LINE = re.compile(ALLOW_NEXT_LINE)


def scan_bytes(
    data: bytes,
    path: str,
    *,
    first_line: int = 1,
    gate: Callable[[bytes, bool], bool] | None = None,
) -> list[Finding]:
    """All findings in one complete file or blob, or in a chunk of one that starts at
    `first_line` (and at the start of that line)."""
    return list(scan_blocks((data,), path, first_line=first_line, gate=gate))


def scan_blocks(
    blocks: Iterable[bytes],
    path: str,
    *,
    first_line: int = 1,
    gate: Callable[[bytes, bool], bool] | None = None,
) -> Iterator[Finding]:
    """Findings in a stream given as consecutive blocks, with bounded memory.

    A match is judged in the first buffer that holds it whole, plus the context before it
    that the boundary check needs; the next buffer starts with that much of this one, so a
    token across a block edge is found exactly once. A `gate` (accelerator.gate) may say
    of a buffer that no pass can find anything in it; then the passes are skipped.
    """
    carry = b""
    buffer_start = 0  # absolute offset of the buffer's first byte
    done = 0  # absolute offset: matches starting before it were judged
    place = _Place(first_line)  # line and column of the buffer's first byte
    iterator = iter(blocks)
    upcoming = _first_block(iterator)
    codec = encodings.text_encoding(upcoming) if upcoming and first_line == 1 else None
    if upcoming and codec is not None:  # UTF-16/32: scan as UTF-8, positions in that text
        iterator = encodings.decode_stream(itertools.chain([upcoming], iterator), codec)
        upcoming = next(iterator, None)
    encoding = encodings.label(codec) if codec else "plain"
    binary = upcoming is not None and _is_binary(upcoming)
    bom = first_line == 1 and upcoming is not None and upcoming.startswith(_BOM)
    while upcoming is not None:
        block, upcoming = upcoming, next(iterator, None)
        buffer = carry + block if carry else block
        final = upcoming is None
        limit = buffer_start + len(buffer) - (0 if final else _TAIL)
        if not final:
            # An allow marker may follow a token on its line: judge a line's tokens once the
            # line has ended here, unless it is longer than an inline marker reaches.
            last = buffer.rfind(b"\n", max(0, len(buffer) - _LINE_REACH))
            if last >= 0:
                limit = min(limit, buffer_start + last + 1)
        if limit > done:
            if gate is None or gate(buffer, binary):
                yield from _scan_buffer(
                    buffer,
                    path,
                    buffer_start,
                    done - buffer_start,
                    limit - buffer_start,
                    place,
                    bom and buffer_start == 0,
                    binary=binary,
                    encoding=encoding,
                )
            done = limit
        if final:
            return
        keep = _kept_from(buffer, done - buffer_start)
        if keep:
            place.advance(buffer, keep, bom and buffer_start == 0)
            buffer_start += keep
        carry = buffer[keep:]


def gated_out(data: bytes, gate: Callable[[bytes, bool], bool]) -> bool:
    """Whether scan_blocks finds nothing in `data`, a whole file in one block from its
    first line, because the gate rules out its one buffer: what scan_blocks decides for it,
    without a generator (most blobs of a history are small and hold no needle)."""
    return encodings.text_encoding(data) is None and not gate(data, _is_binary(data))


_UNCOUNTED = 16 << 20  # bytes of passed-over buffers kept before their lines are counted


class _Place:
    """The line and column where the next buffer starts, counted only when a finding needs
    them: most buffers of a large file hold none (and with a gate are passed over), and
    counting their lines costs as much as the gate. Holds at most _UNCOUNTED bytes."""

    def __init__(self, line: int) -> None:
        self.line = line
        self.column = 0  # code points before the place on its line (a BOM is none)
        self.uncounted: list[tuple[bytes, int, bool]] = []
        self.size = 0

    def advance(self, buffer: bytes, keep: int, bom: bool) -> None:
        """Move past buffer[:keep] (whose first bytes are a BOM when `bom`)."""
        self.uncounted.append((buffer, keep, bom))
        self.size += len(buffer)  # what is held: the whole buffer stays alive
        if self.size > _UNCOUNTED:
            self.counted()

    def counted(self) -> tuple[int, int]:
        for buffer, keep, bom in self.uncounted:
            newlines = buffer.count(b"\n", 0, keep)
            if newlines:
                self.line += newlines
                self.column = _code_points(buffer[buffer.rfind(b"\n", 0, keep) + 1 : keep])
            else:
                self.column += _code_points(buffer[:keep]) - bom
        self.uncounted.clear()
        self.size = 0
        return self.line, self.column


def _kept_from(buffer: bytes, first_unjudged: int) -> int:
    """Where the next buffer starts: at the line above the first byte not judged yet (an
    allow-next-line marker may stand there; its own line may hold an allow marker before
    the token), no further back than an inline marker reaches, and always with the context
    the boundary check needs."""
    floor = max(0, first_unjudged - _LINE_REACH)
    line = buffer.rfind(b"\n", floor, first_unjudged) + 1 or floor
    above = buffer.rfind(b"\n", floor, line - 1) + 1 or floor if line > floor else floor
    return max(0, min(above, first_unjudged - MAX_LEFT_CONTEXT))


def _first_block(iterator: Iterator[bytes]) -> bytes | None:
    """The first block, joined with the next ones up to the sniffing size: the encoding and
    binary tests look at that much, however the stream was cut."""
    first = next(iterator, None)
    if first is None or len(first) >= _BINARY_SNIFF:
        return first
    pieces = [first]
    size = len(first)
    while size < _BINARY_SNIFF:
        block = next(iterator, None)
        if block is None:
            break
        pieces.append(block)
        size += len(block)
    return b"".join(pieces)


class Span(NamedTuple):
    """Where a token lies in the bytes given to token_spans (for adapters that need the
    token itself, like the detect-secrets plugin, which hashes it)."""

    rule: str
    start: int
    body_start: int  # where the part after the fixed prefix starts
    end: int
    allowed: bool  # the line carries an inline allow marker


def token_spans(data: bytes) -> Iterator[Span]:
    """The tokens in `data`, by byte offsets, with the same rules as scan_bytes."""
    binary = _is_binary(data)
    for fmt, match in _matches(data, 0, len(data), binary=binary):
        start, end = match.start("prefix"), match.end("body")
        yield Span(fmt.rule, start, match.start("body"), end, _allowed(data, start))


def tokens_in(data: bytes) -> dict[str, str]:
    """Fingerprint to token, for every token in `data`, found as scan_bytes finds them. For
    verification only: the one caller that may hold a token after the scan."""
    codec = encodings.text_encoding(data)
    if codec is not None:
        data = b"".join(encodings.decode_stream([data], codec))
    hits = _hits(data, 0, len(data), binary=_is_binary(data), encoding="")
    return {fingerprint(hit.prefix + hit.body): hit.prefix + hit.body for hit in hits}


def previews_in(data: bytes) -> list[str]:
    """The previews of every token in `data`, stored in any way the scanner understands."""
    codec = encodings.text_encoding(data)
    if codec is not None:
        data = b"".join(encodings.decode_stream([data], codec))
    hits = _hits(data, 0, len(data), binary=_is_binary(data), encoding="")
    return [redact(hit.prefix, hit.body) for hit in hits]


def _matches(
    buffer: bytes, lo: int, hi: int, *, binary: bool
) -> Iterator[tuple[TokenFormat, re.Match[bytes]]]:
    """Confirmed tokens whose match starts in buffer[lo:hi]: the exact pattern, the boundary
    before the token and the placeholder filter all agree."""
    anchors, exact = _binary_patterns() if binary else (_ANCHORS, _EXACT)
    for anchor in anchors.finditer(buffer, lo):
        name = anchor.lastgroup
        assert name is not None  # every alternative ends in a named group
        fmt, head_length = _ANCHOR_GROUPS[name]
        match_start = anchor.start() - head_length
        if match_start < lo:
            continue
        if match_start >= hi:
            break
        match = exact[fmt].match(buffer, match_start)
        if match is None:
            continue
        if not binary and not _boundary_before(buffer, match.start("prefix")):
            continue
        if is_placeholder(fmt, match.group("body").decode()):
            continue
        yield fmt, match


class _Hit(NamedTuple):
    position: int  # where the token is stored in the buffer
    fmt: TokenFormat
    prefix: str
    body: str
    encoding: str


def _hits(buffer: bytes, lo: int, hi: int, *, binary: bool, encoding: str) -> list[_Hit]:
    """Tokens whose stored form starts in buffer[lo:hi]: as bytes, and in text also
    behind escapes (an escaped underscore, every character percent-encoded), base64- or
    hex-encoded, and old token_v2 cookies known by the evidence around them."""
    hits = [_plain_hit(fmt, m, encoding) for fmt, m in _matches(buffer, lo, hi, binary=binary)]
    if binary:
        return hits
    seen = {(hit.position, hit.body) for hit in hits}
    unescaped, stretches = escapes.unescaped_forms(buffer, lo, hi)
    if unescaped is not None:
        for fmt, m in _matches(unescaped.data, 0, len(unescaped.data), binary=False):
            position = unescaped.position(m.start("prefix"))
            # The whole match as stored, its anchor too (`token%5Fv2=` before a hex cookie).
            stored = buffer[unescaped.position(m.start()) : unescaped.position(m.end("body"))]
            prefix, body = m.group("prefix").decode(), m.group("body").decode()
            if lo <= position < hi and (position, body) not in seen:
                seen.add((position, body))
                hits.append(_Hit(position, fmt, prefix, body, escapes.escape_kind(stored)))
    hex_runs: list[tuple[int, int]] = []
    decoded_values = itertools.chain(  # base64 values must hold a `_`, as every anchor does
        stretches, encodings.base64_values(buffer, lo, hi, holding=b"_", hex_runs=hex_runs)
    )
    for decoded in decoded_values:
        data = decoded.data
        for fmt, m in _matches(data, 0, len(data), binary=_is_binary(data)):
            position = decoded.position(m.start("prefix"))
            prefix, body = m.group("prefix").decode(), m.group("body").decode()
            if lo <= position < hi and (position, body) not in seen:
                seen.add((position, body))
                hits.append(_Hit(position, fmt, prefix, body, decoded.encoding))
    if hex_runs:  # old token_v2 cookies, by the evidence around runs of lowercase hex
        judged_here = (run for run in hex_runs if lo <= run[0] < hi)
        for start, end in cookies.cookies(buffer, judged_here):
            body = buffer[start:end].decode()
            if (start, body) not in seen and not is_placeholder(NOTION_TOKEN_V2_HEX, body):
                hits.append(_Hit(start, NOTION_TOKEN_V2_HEX, "", body, encoding))
    hits.sort(key=lambda hit: hit.position)
    return hits


def _plain_hit(fmt: TokenFormat, match: re.Match[bytes], encoding: str) -> _Hit:
    """A token stored as itself; a cookie whose prefix was percent-encoded twice
    (`v02%253A…`) is reported with its prefix as the browser writes it."""
    prefix = match.group("prefix").decode()
    if "%25" in prefix:
        prefix, encoding = prefix.replace("%25", "%"), "percent"
    return _Hit(match.start("prefix"), fmt, prefix, match.group("body").decode(), encoding)


def _scan_buffer(
    buffer: bytes,
    path: str,
    buffer_start: int,
    lo: int,
    hi: int,
    place: _Place,
    bom: bool,
    *,
    binary: bool,
    encoding: str = "plain",
) -> Iterator[Finding]:
    """Findings whose stored form starts in buffer[lo:hi]; the buffer starts at `place`
    (with a BOM before its first character when `bom`), counted only if a token is found."""
    cursor, line, first_column = 0, -1, 0
    for hit in _hits(buffer, lo, hi, binary=binary, encoding=encoding):
        if line < 0:
            line, first_column = place.counted()
            first_column -= bom
        start = hit.position
        line += buffer.count(b"\n", cursor, start)
        cursor = start
        line_start = buffer.rfind(b"\n", 0, start) + 1
        if line_start:
            column = _code_points(buffer[line_start:start]) + 1
        else:
            column = first_column + _code_points(buffer[:start]) + 1
        yield Finding(
            rule=hit.fmt.rule,
            path=path,
            line=line,
            column=column,
            preview=redact(hit.prefix, hit.body),
            fingerprint=fingerprint(hit.prefix + hit.body),
            message=hit.fmt.message,
            encoding=hit.encoding,
            suppressed=INLINE if _allowed(buffer, start) else None,
        )


def _allowed(buffer: bytes, start: int) -> bool:
    """Whether an inline marker allows the token at buffer[start]: on its line, or an
    allow-next-line marker on the line above."""
    line_start = buffer.rfind(b"\n", 0, start) + 1
    line_end = buffer.find(b"\n", start)
    if _ALLOW_LINE.search(buffer, line_start, line_end if line_end >= 0 else len(buffer)):
        return True
    if not line_start:
        return False
    above = buffer.rfind(b"\n", 0, line_start - 1) + 1
    return _ALLOW_NEXT_LINE.search(buffer, above, line_start) is not None


def _boundary_before(buffer: bytes, start: int) -> bool:
    if start == 0 or buffer[start - 1] not in _ALNUM:
        return True
    return _ESCAPE_BEFORE.search(buffer, max(0, start - MAX_LEFT_CONTEXT), start) is not None


def _is_binary(data: bytes) -> bool:
    """Git's test: a NUL byte in the first 8 KiB."""
    return data.find(b"\0", 0, _BINARY_SNIFF) >= 0


def _code_points(data: bytes) -> int:
    """Characters in UTF-8 text (each invalid byte counts as one); safe to split anywhere."""
    return len(data.translate(None, _UTF8_CONTINUATION))


def reportable_tokens(line: bytes, above: bytes = b"") -> list[str]:
    """The tokens on one line of text that a scan reports, in every form the scanner reads
    them (every pass of _hits); `above` is the line before it, for an allow-next-line
    marker. For adapters that hand tokens to another tool (the detect-secrets plugin,
    which hashes them). Each part is decoded on its own: a UTF-16 file that another tool
    read as UTF-8 and split at its newlines leaves every line NUL-interleaved."""
    decoded = []
    for part in (line, above):
        codec = encodings.text_encoding(part)
        decoded.append(b"".join(encodings.decode_stream([part], codec)) if codec else part)
    line, above = decoded
    if _ALLOW_NEXT_LINE.search(above):
        return []
    hits = _hits(line, 0, len(line), binary=_is_binary(line), encoding="")
    return [hit.prefix + hit.body for hit in hits if not _allowed(line, hit.position)]
