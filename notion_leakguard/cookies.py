"""Old `token_v2` cookies by the evidence around them.

An old cookie is a run of lowercase hex, 156 characters in every one seen. Hex alone says
nothing: digests, keys and test vectors are hex too. patterns.NOTION_TOKEN_V2_HEX finds
the value of a `token_v2` key; here the scanner asks about the other runs of 150 to 1024
lowercase hex digits (encodings.base64_values collects them in the pass it already makes),
and one is a cookie when

- it names the cookie: the `value` of an object (a browser's cookie export, Playwright's
  storage state, Selenium's add_cookie) whose `name` is `token_v2`, in either order, on
  separate lines; or
- it is exactly 156 characters, stands right after `NotionClient(` or after a key or flag
  whose name holds `token` (`TOKEN = "…"`, `authToken: '…'`, `--token …`), and the text
  scanned with it (the file, or its 1 MiB block) mentions Notion.

How often the second rule fires on hex that is not a cookie: a run is measured whole (the
characters around it are not base64 characters), so a digest (32 to 128 digits), a git id
(40 or 64) or a longer hex blob never has 156 characters, whatever its contents; only a
value of exactly 78 bytes written as hex does. A random string of letters and digits that
happens to be 156 lowercase hex digits has odds (16/62)**156 < 1e-91. So the rule fires
on random hex in code only where a 78-byte hex value follows a `token` key in a file that
says Notion: tests/test_hiding.py counts the hex runs of CPython's standard library and
installed packages (none of 156 characters after a `token` key) and asserts that count.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator

COOKIE_LENGTH = 156
# The literal text each rule needs (needles.py builds the accelerator's pre-check from them).
COOKIE_NAME = b"token_v2"
CLIENT_CALL = b"NotionClient("
KEY_WORD = b"token"  # in any case
NOTION_WORD = b"notion"  # in any case
_OBJECT_REACH = 2048  # how far a cookie object's braces are looked for around its value
_KEY_REACH = 80  # how far before the value its key or client call is looked for


class _Patterns:
    """Compiled on first use: only text holding a long run of lowercase hex needs them."""

    def __init__(self) -> None:
        self.value_key = re.compile(rb"[\"']?value[\"']?[ \t]*[:=][ \t]*[\"']\Z")
        self.names_cookie = re.compile(rb"[\"']" + re.escape(COOKIE_NAME) + rb"[\"']")
        self.client_call = re.compile(re.escape(CLIENT_CALL) + rb"\s*[\"']?\Z")
        self.token_key = re.compile(
            rb"(?i:token)[A-Za-z0-9_.-]*[\"']?(?:[ \t]*(?::=|=>|[:=])[ \t]*|[ \t]+)[\"'`]?\Z"
        )
        self.notion = re.compile(rb"[Nn][Oo][Tt][Ii][Oo][Nn]")


@functools.cache
def patterns() -> _Patterns:
    return _Patterns()


def cookies(buffer: bytes, runs: Iterable[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    """The runs of lowercase hex, given as (start, end) in `buffer`, that are old token_v2
    cookies. Whether the buffer mentions Notion is found out once, when first needed; a
    substring test comes before each regular expression (text full of hex runs is cheap)."""
    found = patterns()
    mentions: bool | None = None
    names = COOKIE_NAME in buffer  # no object can name the cookie otherwise
    for start, end in runs:
        before = buffer[max(0, start - _KEY_REACH) : start]
        named = names and b"value" in before and found.value_key.search(before) is not None
        if named and _names_cookie(buffer, start, end):
            yield start, end
        elif end - start != COOKIE_LENGTH:
            continue
        elif CLIENT_CALL in before and found.client_call.search(before):
            yield start, end
        elif mentions is not False and KEY_WORD in before.lower():
            if found.token_key.search(before) is None:
                continue
            if mentions is None:
                mentions = found.notion.search(buffer) is not None
            if mentions:
                yield start, end


def _names_cookie(buffer: bytes, start: int, end: int) -> bool:
    """Whether the object around the value names `token_v2` (no brace between)."""
    opening = buffer.rfind(b"{", max(0, start - _OBJECT_REACH), start)
    closing = buffer.find(b"}", end, end + _OBJECT_REACH)
    if opening < 0 or closing < 0:
        return False
    inside = buffer[opening + 1 : closing]
    return (
        b"{" not in inside and b"}" not in inside and bool(patterns().names_cookie.search(inside))
    )
