"""What any finding needs to stand somewhere in the buffer it comes from: the needles of
the optional pre-check (accelerator.py), derived from `patterns.TOKEN_FORMATS` and from how
each pass decodes, so a new format or anchor cannot be forgotten. Data only, no engine.

A buffer in which no needle stands gives no finding in any pass of scanner._hits:

- plain, and behind escaped underscores: a token's anchor with each `_` written as `_`,
  `%5F`, `%5f`, `\\u005f` or `\\u005F` (escapes.Unescaped turns only those into `_`, so
  every other character stands in the buffer as itself), then what follows the anchor in
  the exact pattern when that holds no `_`; binary data gets only this pass and needles;
- every character percent-encoded: the anchor as `%XX`, in either case;
- hex (a run of hex digits, never wrapped): the anchor's hex, in either case;
- base64 (standard or URL-safe): the characters fully decided by the anchor's bits (its
  core), at each of the three byte alignments, each `+` or `/` also as `-` or `_`;
- base64 inside base64 (depth 2): the cores of what the inner text must hold: an anchor's
  core in either alphabet, or, for hex inside base64, the hex of an anchor's last three
  characters and its `_` (encodings._HEX_ANCHORS) in any case;
- base64 wrapped over lines (encodings._wrapped), outside or inside: a line break
  `\\r?\\n[ \\t]*` may cut a core, but only once (every line but the last is at least 64
  characters wide, and no core is longer), so a long core keeps one half whole; a short one
  is looked for whole and with a line break at each place (in the buffer), or whole and as
  its longer part with the break character next to it (in text inside base64);
- old token_v2 cookies by evidence (cookies.py): the cookie's name, `NotionClient(`, or
  both `token` and `notion` in any case.
"""

from __future__ import annotations

import base64
import itertools
import re
from typing import NamedTuple

from notion_leakguard.cookies import CLIENT_CALL, COOKIE_NAME, KEY_WORD, NOTION_WORD
from notion_leakguard.patterns import TOKEN_FORMATS

# A needle stands alone (ANY), or counts only when needles of both other kinds stand.
ANY, KEY, NOTION = "any", "key", "notion"
_BREAK = rb"\r?\n[ \t]*"  # where wrapped base64 continues on the next line
_UNDERSCORE = rb"(?:_|%5[Ff]|\\u005[Ff])"
_URLSAFE = {ord("+"): rb"[+\-]", ord("/"): rb"[/_]"}
_LONG_CORE = 12  # a core this long keeps a half of 6 or more characters whole when cut
_MIN_LINE = 64  # the narrowest line of wrapped base64 but the last (encodings._MIN_RUN)


class Needle(NamedTuple):
    pattern: bytes  # a regular expression in the syntax hyperscan and `re` share
    caseless: bool
    kind: str


def anchors() -> list[bytes]:
    return sorted({anchor.encode() for fmt in TOKEN_FORMATS for anchor in fmt.anchors})


def needles(*, binary: bool = False) -> list[Needle]:
    """Binary data gets only the plain pass (scanner._hits), so only its needles."""
    found = [Needle(pattern, False, ANY) for pattern in _plain()]
    if binary:
        return found
    found += [Needle(_percent(anchor), True, ANY) for anchor in anchors()]
    found += [Needle(re.escape(anchor.hex().encode()), True, ANY) for anchor in anchors()]
    images = {core for anchor in anchors() for core in cores(anchor)}
    inner = {piece for core in images for text in _alphabets(core) for piece in cut_once(text)}
    images |= {core for text in inner | _hex_tails() for core in cores(text)}
    assert max(map(len, images)) <= _MIN_LINE  # so a line break cuts a core once at most
    whole = {half for core in images if len(core) >= _LONG_CORE for half in cut_once(core)}
    short = {text for core in images if len(core) < _LONG_CORE for text in _alphabets(core)}
    found += [Needle(_base64(piece), False, ANY) for piece in sorted(whole | short)]
    cut = {
        re.escape(core[:place]) + _BREAK + re.escape(core[place:])
        for core in short
        for place in range(1, len(core))
    }
    found += [Needle(pattern, False, ANY) for pattern in sorted(cut)]
    found.append(Needle(re.escape(COOKIE_NAME), False, ANY))
    found.append(Needle(re.escape(CLIENT_CALL), False, ANY))
    found.append(Needle(re.escape(KEY_WORD), True, KEY))
    found.append(Needle(re.escape(NOTION_WORD), True, NOTION))
    return found


def _plain() -> list[bytes]:
    """Each anchor with its underscores in any written form, and what must follow it."""
    found = set()
    for fmt in TOKEN_FORMATS:
        rest = f"{fmt.between}{fmt.body}".encode()
        for anchor in fmt.anchors:
            pattern = _UNDERSCORE.join(re.escape(part) for part in anchor.encode().split(b"_"))
            found.add(pattern + (rest if b"_" not in rest else b""))
    return sorted(found)


def _percent(anchor: bytes) -> bytes:
    return b"".join(b"%%%02X" % byte for byte in anchor)


def cores(text: bytes) -> set[bytes]:
    """The base64 characters (standard alphabet) decided by `text` alone, at each of the
    three byte alignments it may have in the encoded data."""
    found = set()
    for alignment in range(3):
        encoded = base64.b64encode(b"\0" * alignment + text + b"\0" * 3)
        first = -(-8 * alignment // 6)  # the first character whose bits all lie in `text`
        last = 8 * (alignment + len(text)) // 6
        if last > first:
            found.add(encoded[first:last])
    return found


def cut_once(core: bytes) -> set[bytes]:
    """Texts one of which stands wherever `core` does, whole or cut once by a line break
    `\\r?\\n[ \\t]*`: a half that stays whole; for a short core, at each place it may be
    cut, the longer part with the break character next to it (`\\n` or `\\r` after the
    part before; `\\n`, a space or a tab before the part after)."""
    if len(core) >= _LONG_CORE:
        half = -(-len(core) // 2)
        return {core[:half], core[half - 1 :]}  # a cut after `half` leaves the first whole
    found = {core}
    for cut in range(1, len(core)):
        before, after = core[:cut], core[cut:]
        if len(before) >= len(after):
            found.update(before + end for end in (b"\n", b"\r"))
        else:
            found.update(start + after for start in (b"\n", b" ", b"\t"))
    return found


def _base64(text: bytes) -> bytes:
    """The pattern of base64 text as it stands in the buffer: in either alphabet."""
    return b"".join(_URLSAFE.get(char, re.escape(bytes((char,)))) for char in text)


def _alphabets(core: bytes) -> list[bytes]:
    """The core with each `+` or `/` also as its URL-safe counterpart."""
    options = [_variants(char, {ord("+"): b"-", ord("/"): b"_"}) for char in core]
    return [b"".join(choice) for choice in itertools.product(*options)]


def _hex_tails() -> set[bytes]:
    """The hex of each anchor's `_` and the three characters before it, in every case."""
    tails = {(a.partition(b"_")[0][-3:] + b"_").hex().encode() for a in anchors() if b"_" in a}
    upper = {char: bytes((char,)).upper() for char in b"abcdef"}
    found: set[bytes] = set()
    for tail in tails:
        found.update(b"".join(c) for c in itertools.product(*(_variants(ch, upper) for ch in tail)))
    return found


def _variants(char: int, other: dict[int, bytes]) -> tuple[bytes, ...]:
    return (bytes((char,)), other[char]) if char in other else (bytes((char,)),)
