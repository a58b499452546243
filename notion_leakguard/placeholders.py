"""Tell documentation placeholders from real tokens.

Real tokens are uniformly random, so each rule below is one a random token almost never
breaks. tests/test_placeholders.py computes, exactly, the probability that a random token
is rejected by these rules (it must stay below one in a million); change a constant here
and that test recomputes the bound.
"""

from __future__ import annotations

from functools import cache
from itertools import groupby

from notion_leakguard.patterns import TokenFormat

# Fewer distinct characters than this in the random part: `xxxx…`, `0000…`, `abab…`.
MIN_DISTINCT = 10
# Runs of one character (`AAAAAA`) and steps through the alphabet (`abcdef`, `987654`)
# at least as long as a random token of the format shows less than once in this many.
RANDOM_RUN_ODDS = 10**7
# Identifier shape: letters only, and either at most one capital per this many letters
# (plus one), as in `yourNotionIntegrationSecret`, or no two capitals in a row, as in
# `ApiKeyForTheTestOfProdWiki`. Random letters are half capitals, often side by side.
LETTERS_PER_CAPITAL = 4


def is_placeholder(fmt: TokenFormat, body: str) -> bool:
    random_part = body[-fmt.random_length :]
    return (
        len(set(random_part)) < MIN_DISTINCT
        or _longest_run(random_part) >= run_limit(fmt)
        or _longest_sequence(random_part, fmt.alphabet) >= run_limit(fmt)
        or looks_like_identifier(body)
    )


@cache
def run_limit(fmt: TokenFormat) -> int:
    """Shortest run length k with (positions * alphabet ** -(k - 1)) < 1 / RANDOM_RUN_ODDS."""
    k = 2
    while fmt.random_length * RANDOM_RUN_ODDS >= len(fmt.alphabet) ** (k - 1):
        k += 1
    return k


def looks_like_identifier(text: str) -> bool:
    """camelCase / PascalCase words: no digits, and few capitals or no two in a row."""
    if not (text.isascii() and text.isalpha()):
        return False
    capitals = sum(1 for char in text if char.isupper())
    if capitals <= len(text) // LETTERS_PER_CAPITAL + 1:
        return True
    return not any(a.isupper() and b.isupper() for a, b in zip(text, text[1:]))


def _longest_run(text: str) -> int:
    return max((len(list(chars)) for _, chars in groupby(text)), default=0)


def _longest_sequence(text: str, alphabet: str) -> int:
    longest = up = down = 1
    for previous, current in zip(text, text[1:]):
        step = alphabet.find(current) - alphabet.find(previous)
        up = up + 1 if step == 1 else 1
        down = down + 1 if step == -1 else 1
        longest = max(longest, up, down)
    return longest if text else 0
