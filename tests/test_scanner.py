"""The detection core: table tests over boundaries, escapes, lengths, placeholders, positions."""

from __future__ import annotations

import random

import pytest

from notion_leakguard.scanner import _leading_class, scan_blocks, scan_bytes
from tests import tokens

RNG = random.Random(20261121)
NTN = tokens.api_token(RNG)
LEGACY = tokens.legacy_token(RNG)
COOKIE = tokens.cookie(RNG)
COOKIE_PLAIN = tokens.cookie(RNG, encoded=False)
HEX = tokens.hex_cookie(RNG)


def found(text: str | bytes) -> list[tuple[str, int, int]]:
    data = text.encode() if isinstance(text, str) else text
    return [(f.rule, f.line, f.column) for f in scan_bytes(data, "x")]


@pytest.mark.parametrize(
    ("text", "expected"),
    (
        (NTN, [("notion-api-token", 1, 1)]),
        (f'NOTION_TOKEN="{NTN}"', [("notion-api-token", 1, 15)]),
        (f"NOTION_TOKEN={LEGACY}\n", [("notion-legacy-token", 1, 14)]),
        (f"a\nb\r\n  {NTN}\r\n", [("notion-api-token", 3, 3)]),
        (f"cookie: token_v2={COOKIE};", [("notion-token-v2-cookie", 1, 18)]),
        (f'"{COOKIE_PLAIN}"', [("notion-token-v2-cookie", 1, 2)]),
        (f'{{"token_v2": "{HEX}"}}', [("notion-token-v2-cookie", 1, 15)]),
        (f"NOTION_TOKEN_V2={HEX}", [("notion-token-v2-cookie", 1, 17)]),
        (f"client = Client(token_v2='{HEX}')", [("notion-token-v2-cookie", 1, 27)]),
        # escapes and encodings that put a letter or digit right before the token
        (f'"line\\n{NTN}"', [("notion-api-token", 1, 8)]),
        (f'"tab\\t{NTN}"', [("notion-api-token", 1, 7)]),
        (f'"cr\\r{LEGACY}"', [("notion-legacy-token", 1, 6)]),
        (f'"\\u0022{NTN}\\u0022"', [("notion-api-token", 1, 8)]),
        (f"?token=%22{NTN}%22", [("notion-api-token", 1, 11)]),
        (f"\x1b[31m{NTN}\x1b[0m", [("notion-api-token", 1, 6)]),
        (f"\x1b[1;31m{LEGACY}", [("notion-legacy-token", 1, 8)]),
        # non-ASCII before the token counts as one column per character
        (f"é€😀 {NTN}", [("notion-api-token", 1, 5)]),
        # two on one line
        (f"{NTN} {LEGACY}", [("notion-api-token", 1, 1), ("notion-legacy-token", 1, 52)]),
        # markers of inline allow are reported elsewhere: see test_inline_allow
    ),
    ids=tokens.label,
)
def test_found(text: str, expected: list[tuple[str, int, int]]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    (
        "i" + NTN,  # intn_…
        "top" + LEGACY,  # topsecret_…
        "9" + NTN,
        NTN + "a",  # one character too long
        NTN[:-1],  # one character too short
        LEGACY + "Z",
        LEGACY[:-1],
        "ntn_" + NTN[4:15].replace(NTN[4], "x", 1) + NTN[15:],  # a letter among the digits
        COOKIE + "x",
        COOKIE[:-1],
        HEX,  # hex alone, not assigned to token_v2
        f"token_v2={HEX[:149]}",  # too short for an old cookie
        f"token_v2={HEX}g",
        "client_secret_basic",
        "ntn_abc123def456ghi789jkl012mno345pqr",  # Notion's documentation example
        "secret_" + "x" * 43,
        "secret_" + "X" * 43,
        "ntn_" + "0" * 46,
        "ntn_" + "0" * 11 + "x" * 35,
        "ntn_12345678901" + "0" * 35,
        "secret_" + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ",
        "secret_" + "1234567890" * 4 + "abc",
        "secret_" + "ThisIsAnExampleOfALongCamelCaseIdentifierOk"[:43],
        "secret_" + "notionIntegrationTokenForTheMarketingWikiXy"[:43],
        "v02%3Auser_token_or_cookies%3A" + "a" * 132,
        "token_v2=" + "0" * 160,
        # a backslash-escaped letter other than an escape is not a boundary
        "\\q" + NTN,
    ),
    ids=tokens.label,
)
def test_not_found(text: str) -> None:
    assert found(text) == []


def test_camel_case_words_of_exact_length_are_not_found() -> None:
    words = "notion integration secret token value example key production test wiki a of"
    body = "".join(w.capitalize() for w in words.split())
    for start in range(len(body) - 43):
        assert found("secret_" + body[start : start + 43]) == []


def test_bytes_elsewhere_do_not_move_the_finding() -> None:
    line = f'token = "{NTN}"'.encode()
    clean = found(b"a\n" + line)
    for noise in (b"x\xff\xfe\xfa\n", b"\x00\x00\x00\n", b"\xef\xbb\xbf", b"\r\n"):
        assert found(noise + b"a\n" + line)[0][2] == clean[0][2]
    # a BOM does not count as a column; invalid UTF-8 on other lines changes nothing
    assert found(b"\xef\xbb\xbf" + line) == [("notion-api-token", 1, 10)]
    assert found(b"x\xff\xfe\n" + line + b"\n\xc3") == [("notion-api-token", 2, 10)]
    assert found(b"\x00" * 10 + b"\n" + line) == [("notion-api-token", 2, 10)]
    # no final newline
    assert found(line) == [("notion-api-token", 1, 10)]


def test_token_inside_binary_data() -> None:
    blob = bytes(range(256)) * 4 + b"\n\x00\x01\xff\xfe\x00" + NTN.encode() + b"\x00" + bytes(256)
    # each byte that is not UTF-8 text counts as one column
    assert found(blob) == [("notion-api-token", bytes(range(256)).count(b"\n") * 4 + 2, 6)]


@pytest.mark.parametrize(
    ("text", "suppressed"),
    (
        (f'TOKEN = "{NTN}"  # notion-leakguard: allow', "inline"),
        (f"NOTION_TOKEN={NTN} # pragma: allowlist secret", "inline"),
        (f"<!-- notion-leakguard: allow -->{LEGACY}", "inline"),
        (f"{NTN}\n# notion-leakguard: allow", None),  # the marker is on another line
        (f"# notion-leakguard: allow\n{NTN}", None),
        (f"{NTN} # notion-leakguard: deny", None),
    ),
    ids=tokens.label,
)
def test_inline_allow(text: str, suppressed: str | None) -> None:
    (finding,) = scan_bytes(text.encode(), "x")
    assert finding.suppressed == suppressed


def test_findings_hold_no_token() -> None:
    (finding,) = scan_bytes(NTN.encode(), "x")
    assert finding.preview == tokens.preview(NTN)
    assert NTN not in repr(finding)
    assert NTN[4:] not in repr(finding)


@pytest.mark.parametrize("block_size", (1, 2, 7, 50, 51, 1000, 1065, 4096))
def test_blocks_find_each_token_once(block_size: int) -> None:
    text = ("x" * 997 + "\n" + f"a {NTN} b {LEGACY}\n" + "é" * 1500 + f" {COOKIE}\n") * 3
    data = ("\ufeff" + text).encode()
    whole = scan_bytes(data, "x")
    blocks = [data[i : i + block_size] for i in range(0, len(data), block_size)]
    assert list(scan_blocks(blocks, "x")) == whole
    expected = sorted(pos for t in (NTN, LEGACY, COOKIE) for pos in tokens.positions(text, t))
    assert [(f.line, f.column) for f in whole] == expected


@pytest.mark.parametrize(
    ("regex", "first"),
    (
        ("[0-9]{11}[A-Za-z0-9]{35}", "[0-9]"),  # a class, repeated
        ("v2[\"']?=", "v"),  # a literal
        (r"\:user", r"\:"),  # escaped punctuation
        (r"[\]a-z]{3}", r"[\]a-z]"),  # a class holding an escaped bracket
        ("[\"']?[0-9a-f]{150}", "(?s:.)"),  # optional: the next character may come first
        ("x*y", "(?s:.)"),
        ("[ \t]{,8}=", "(?s:.)"),  # {,8} is {0,8}
        ("a{0}b", "(?s:.)"),
        ("a{00,3}b", "(?s:.)"),
        ("a{1,3}b", "a"),
        ("(?:ab|cd)", "(?s:.)"),  # a group: not worth reading, any character is safe
        ("ab|cd", "(?s:.)"),  # an alternation: `c` may come first
        (r"\d{3}", "(?s:.)"),  # a letter escape: not plain punctuation
    ),
)
def test_leading_class(regex: str, first: str) -> None:
    # The anchor pass tests the character after `_` against this before anything else, so
    # it must never reject what the format accepts: when unsure, any character.
    assert _leading_class(regex) == first


@pytest.mark.parametrize(
    "layout",
    (
        "{pad}# notion-leakguard: allow{gap}{tok}\n",  # the marker long before the token
        "{pad}{tok}{gap}# notion-leakguard: allow\n",  # the marker long after it
        "{pad}# notion-leakguard: allow-next-line{gap}\nx = {tok}\n",  # on the line above
        "{pad}x = {tok}{gap}\n",  # no marker: reported wherever the blocks are cut
    ),
)
def test_an_inline_marker_holds_wherever_blocks_are_cut(layout: str, rng: random.Random) -> None:
    tok = tokens.api_token(rng)
    text = layout.format(pad="\n" * 7000, gap=" " * 1200, tok=tok) + "\n" * 2001
    data = text.encode()
    expected = [(f.line, f.column, f.suppressed) for f in scan_bytes(data, "f")]
    assert len(expected) == 1
    cuts = [*range(7000, 7000 + 2600, 41), 8192]
    for cut in cuts:
        found = scan_blocks([data[:cut], data[cut:]], "f")
        assert [(f.line, f.column, f.suppressed) for f in found] == expected, cut
    for _ in range(15):
        pieces, start = [], 0
        while start < len(data):
            size = rng.randint(200, 4000)
            pieces.append(data[start : start + size])
            start += size
        found = scan_blocks(pieces, "f")
        assert [(f.line, f.column, f.suppressed) for f in found] == expected
