"""Property tests: random tokens in random surroundings are each found exactly once, at the
right place; placeholders and identifiers never are."""

from __future__ import annotations

import random
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notion_leakguard.scanner import scan_blocks, scan_bytes
from tests import tokens

# Text around a token: anything but line breaks (the expected line is counted on "\n").
filler = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"), max_size=40
)
# What may stand right before a token: punctuation, space, or an escape ending in a letter.
left = st.sampled_from(
    [
        " ",
        "=",
        '"',
        "'",
        ":",
        "(",
        "[",
        "{",
        ",",
        ";",
        "/",
        "\t",
        "\\n",
        "\\t",
        "\\r",
        "\\u0022",
        "%22",
        "%3D",
        "\x1b[31m",
        "\x1b[1;32m",
        "\x00",
        "`",
        ">",
    ]
)
right = st.sampled_from(
    [" ", '"', "'", ",", ";", ")", "]", "}", "\\n", "%22", "\x1b[0m", "\x00", "<"]
)
rule = st.sampled_from(tokens.RULES)
seed = st.integers(min_value=0, max_value=2**32)
newline = st.sampled_from(["\n", "\r\n"])


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, list[str]]:
    rng = random.Random(draw(seed))
    lines, planted = [], []
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        if draw(st.booleans()):
            tok = tokens.token(draw(rule), rng)
            planted.append(tok)
            line = draw(filler) + draw(left) + tok + draw(right) + draw(filler)
        else:
            line = draw(filler)
        lines.append(line)
    eol = draw(newline)
    text = eol.join(lines) + (eol if draw(st.booleans()) else "")
    return text, planted


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(documents(), st.integers(min_value=1, max_value=300))
def test_planted_tokens_found_once_at_their_place(
    document: tuple[str, list[str]], block_size: int
) -> None:
    text, planted = document
    data = text.encode()
    findings = scan_bytes(data, "f")
    expected = sorted(
        (pos, tokens.preview(tok)) for tok in set(planted) for pos in tokens.positions(text, tok)
    )
    assert sorted(((f.line, f.column), f.preview) for f in findings) == expected
    blocks = [data[i : i + block_size] for i in range(0, len(data), block_size)]
    assert list(scan_blocks(blocks, "f")) == findings


def _words(rng: random.Random, length: int) -> str:
    # Words of two letters or more: a one-letter word puts capitals side by side (`OfAKey`),
    # which random tokens do too, so the identifier rule cannot tell those apart.
    vocabulary = (
        "notion",
        "api",
        "key",
        "token",
        "secret",
        "value",
        "example",
        "your",
        "integration",
        "internal",
        "here",
        "test",
        "prod",
        "workspace",
        "of",
        "is",
    )
    text = ""
    while len(text) < length:
        word = rng.choice(vocabulary)
        text += word.capitalize() if text or rng.random() < 0.5 else word
    return text[:length]


@st.composite
def placeholders(draw: st.DrawFn) -> str:
    rng = random.Random(draw(seed))
    real = tokens.token(draw(rule), rng)
    kind = draw(st.sampled_from(["repeat", "zeros", "camel", "longer", "shorter", "sequence"]))
    if kind == "repeat":
        char = draw(st.sampled_from(string.ascii_letters + string.digits))
        return "secret_" + char * 43 if draw(st.booleans()) else "ntn_" + "0" * 11 + char * 35
    if kind == "zeros":
        return "ntn_" + "0" * 46
    if kind == "camel":
        return "secret_" + _words(rng, 43)
    if kind == "longer":
        return real + draw(st.sampled_from(string.ascii_letters + string.digits))
    if kind == "shorter":
        return real[:-1]
    start = rng.randrange(0, 20)
    return "secret_" + (string.ascii_letters * 3)[start : start + 43]


# In text, that is: a NUL byte makes the data binary, where fields are packed without
# separators and a letter next to a token is allowed (see test_binary_relaxes_boundaries).
text_filler = filler.map(lambda s: s.replace("\0", " "))
text_left = left.filter(lambda s: s != "\x00")
text_right = right.filter(lambda s: s != "\x00")


@settings(max_examples=300, deadline=None)
@given(text_filler, text_left, placeholders(), text_right, text_filler)
def test_placeholders_are_never_found(
    before: str, lhs: str, fake: str, rhs: str, after: str
) -> None:
    assert scan_bytes((before + lhs + fake + rhs + after).encode(), "f") == []


def test_binary_relaxes_boundaries() -> None:
    rng = random.Random(5)
    tok = tokens.api_token(rng)
    packed = b"\x00\x01notion" + tok.encode() + b"Zmore\x00"
    assert [f.preview for f in scan_bytes(packed, "f")] == [tokens.preview(tok)]
    assert scan_bytes(b"notion" + tok.encode() + b"Zmore", "f") == []  # the same in text
