"""Build credentials at test time: the repository never holds a full-format token."""

from __future__ import annotations

import random
import re
import string

ALNUM = string.digits + string.ascii_uppercase + string.ascii_lowercase
COOKIE = ALNUM + "-_"
HEX = "0123456789abcdef"
RULES = ("notion-api-token", "notion-legacy-token", "notion-token-v2-cookie")


def _pick(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def api_token(rng: random.Random) -> str:
    return "ntn_" + _pick(rng, string.digits, 11) + _pick(rng, ALNUM, 35)


def legacy_token(rng: random.Random) -> str:
    return "secret_" + _pick(rng, ALNUM, 43)


def cookie(rng: random.Random, *, encoded: bool = True) -> str:
    prefix = "v02%3Auser_token_or_cookies%3A" if encoded else "v02:user_token_or_cookies:"
    return prefix + _pick(rng, COOKIE, 132)


def hex_cookie(rng: random.Random, length: int = 160) -> str:
    return _pick(rng, HEX, length)


def token(rule: str, rng: random.Random) -> str:
    if rule == "notion-api-token":
        return api_token(rng)
    if rule == "notion-legacy-token":
        return legacy_token(rng)
    return cookie(rng, encoded=rng.random() < 0.5)


PREFIXES = ("ntn_", "secret_", "v02%3Auser_token_or_cookies%3A", "v02:user_token_or_cookies:")


def prefix_length(tok: str) -> int:
    """How much of a token is its fixed prefix (0 for an old hex cookie)."""
    return next((len(p) for p in PREFIXES if tok.startswith(p)), 0)


def preview(tok: str) -> str:
    """What a report may show: the prefix, four characters, `…`, the last four."""
    shown = prefix_length(tok) + 4
    return tok[:shown] + "…" + tok[-4:]


def positions(text: str, needle: str) -> list[tuple[int, int]]:
    """1-based line and column (in code points) of each `needle` in `text`; a BOM at the
    start is not a column."""
    if text.startswith("\ufeff"):
        text = text[1:]
    found = []
    index = text.find(needle)
    while index >= 0:
        line_start = text.rfind("\n", 0, index) + 1
        found.append((text.count("\n", 0, index) + 1, index - line_start + 1))
        index = text.find(needle, index + 1)
    return found


_TOKEN_LIKE = re.compile(
    r"(ntn_|secret_|v02(?:%3A|:)user_token_or_cookies(?:%3A|:))[\w-]{20,}|[0-9a-f]{100,}"
)


def label(value: object) -> str:
    """A test id that does not spell out a token (ids land in logs and pytest's cache)."""
    return _TOKEN_LIKE.sub(lambda m: (m.group(1) or "hex") + "…", str(value))[:60]
