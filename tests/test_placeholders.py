"""How often would the placeholder filter throw away a real, uniformly random token?

Each rule's probability is computed exactly (combinatorics and dynamic programming, no
sampling); their sum bounds the chance that a random token is rejected. The dynamic
programs are checked against brute force on small alphabets, so the bound is about the
code in placeholders.py, not about a model of it.
"""

from __future__ import annotations

import functools
import itertools
import string
from fractions import Fraction
from math import comb

import pytest

from notion_leakguard import placeholders
from notion_leakguard.patterns import (
    NOTION_API_TOKEN,
    TOKEN_FORMATS,
    TokenFormat,
)


def p_few_distinct(n: int, size: int, minimum: int) -> Fraction:
    """P(a uniform string of length n over `size` symbols has fewer than `minimum` distinct)."""
    stirling = [[0] * (minimum + 1) for _ in range(n + 1)]  # S(i, j) for j <= minimum
    stirling[0][0] = 1
    for i in range(1, n + 1):
        for j in range(1, minimum + 1):
            stirling[i][j] = j * stirling[i - 1][j] + stirling[i - 1][j - 1]
    ways = 0
    for j in range(1, min(minimum, size + 1)):
        falling = 1
        for k in range(j):
            falling *= size - k
        ways += comb(size, j) * stirling[n][j] * (falling // comb(size, j))
    return Fraction(ways, size**n)


def p_long_run(n: int, size: int, run: int) -> Fraction:
    """P(some symbol repeats `run` times in a row)."""
    alive = {1: Fraction(1)}  # current run length -> probability, no long run so far
    for _ in range(n - 1):
        nxt: dict[int, Fraction] = {}
        for length, p in alive.items():
            if length + 1 < run:
                nxt[length + 1] = nxt.get(length + 1, 0) + p / size
            nxt[1] = nxt.get(1, 0) + p * (size - 1) / size
        alive = nxt
    return 1 - sum(alive.values(), Fraction(0))


def p_long_sequence(n: int, size: int, run: int) -> Fraction:
    """P(`run` symbols in a row step by +1, or by -1, in alphabet order)."""
    alive = {(c, 1, 1): Fraction(1, size) for c in range(size)}
    for _ in range(n - 1):
        mass = [Fraction(0)] * size
        for (c, _up, _down), p in alive.items():
            mass[c] += p
        total = sum(mass, Fraction(0))
        nxt: dict[tuple[int, int, int], Fraction] = {}
        for c2 in range(size):  # any step but +1 from c2-1 or -1 from c2+1 starts afresh
            below = mass[c2 - 1] if c2 > 0 else 0
            above = mass[c2 + 1] if c2 + 1 < size else 0
            nxt[(c2, 1, 1)] = (total - below - above) / size
        for (c, up, down), p in alive.items():
            if c + 1 < size and up + 1 < run:
                key = (c + 1, up + 1, 1)
                nxt[key] = nxt.get(key, 0) + p / size
            if c > 0 and down + 1 < run:
                key = (c - 1, 1, down + 1)
                nxt[key] = nxt.get(key, 0) + p / size
        alive = nxt
    return 1 - sum(alive.values(), Fraction(0))


def p_identifier(alphabets: list[str]) -> Fraction:
    """P(looks_like_identifier) for a string whose i-th character is uniform over alphabets[i]:
    letters only, and (few capitals, or no two capitals side by side)."""
    limit = len(alphabets) // placeholders.LETTERS_PER_CAPITAL + 1
    # (capitals so far, capped at limit + 1; last was a capital; two capitals met in a row)
    states: dict[tuple[int, bool, bool], Fraction] = {(0, False, False): Fraction(1)}
    for alphabet in alphabets:
        upper = Fraction(sum(c.isupper() for c in alphabet), len(alphabet))
        lower = Fraction(sum(c.islower() for c in alphabet), len(alphabet))
        nxt: dict[tuple[int, bool, bool], Fraction] = {}
        for (k, last_upper, adjacent), p in states.items():
            for key, q in (
                ((k, False, adjacent), lower),
                ((min(k + 1, limit + 1), True, adjacent or last_upper), upper),
            ):
                if q:
                    nxt[key] = nxt.get(key, 0) + p * q
        states = nxt
    return sum(
        (p for (k, _, adjacent), p in states.items() if k <= limit or not adjacent), Fraction(0)
    )


def body_alphabets(fmt: TokenFormat) -> list[str]:
    """Per-position alphabets of the shortest body a format matches."""
    if fmt is NOTION_API_TOKEN:
        return [string.digits] * 11 + [fmt.alphabet] * fmt.random_length
    return [fmt.alphabet] * fmt.random_length


@functools.cache  # exact arithmetic takes a while: computed once per format a session
def rejection_bound(fmt: TokenFormat) -> Fraction:
    n, size, limit = fmt.random_length, len(fmt.alphabet), placeholders.run_limit(fmt)
    return (
        p_few_distinct(n, size, placeholders.MIN_DISTINCT)
        + p_long_run(n, size, limit)
        + p_long_sequence(n, size, limit)
        + p_identifier(body_alphabets(fmt))
    )


@pytest.mark.parametrize("fmt", TOKEN_FORMATS, ids=lambda f: f.anchors[0])
def test_random_tokens_are_almost_never_rejected(fmt: TokenFormat) -> None:
    bound = rejection_bound(fmt)
    assert bound < Fraction(1, 10**6), float(bound)


@pytest.mark.parametrize(("alphabet", "n"), (("abc", 7), ("aB1", 7), ("abcd", 6), ("aBcD", 8)))
def test_probabilities_match_brute_force(alphabet: str, n: int) -> None:
    strings = ["".join(s) for s in itertools.product(alphabet, repeat=n)]
    total = len(strings)

    def share(predicate: object) -> Fraction:
        return Fraction(sum(1 for s in strings if predicate(s)), total)  # type: ignore[operator]

    for minimum in (2, 3, 4):
        assert p_few_distinct(n, len(alphabet), minimum) == share(
            lambda s, m=minimum: len(set(s)) < m
        )
    for run in (2, 3, 4):
        assert p_long_run(n, len(alphabet), run) == share(
            lambda s, r=run: placeholders._longest_run(s) >= r
        )
        assert p_long_sequence(n, len(alphabet), run) == share(
            lambda s, r=run: placeholders._longest_sequence(s, alphabet) >= r
        )
    assert p_identifier([alphabet] * n) == share(placeholders.looks_like_identifier)


def test_bound_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    """Print the figures (pytest -s shows them); also proves each term is non-trivial."""
    for fmt in TOKEN_FORMATS:
        bound = rejection_bound(fmt)
        assert bound > 0
        print(
            f"{fmt.anchors[0]}: P(random token rejected) <= {float(bound):.2e}"
            f" (runs of {placeholders.run_limit(fmt)})"
        )
