"""A deliberately naive reference scanner, pinned by hand on a table, then compared with the
real scanner on text full of near misses.

Scope: UTF-8 text without NUL bytes (neither binary data nor UTF-16/32). The reference finds
tokens stored as themselves (`plain`, with old token_v2 cookies known by the evidence around
them), behind an escaped underscore (`ntn%5F…`: `percent`, `ntn\\u005f…`: `json-escape`), with
every character percent-encoded or a cookie's `%` encoded twice (`percent`), and hex-encoded
(`hex`), each the slow and obvious way. The scanner also finds tokens stored base64-encoded,
which only adds findings labelled `base64`; so comparing all its other findings with the
reference is sound for any such text. Inline allow markers only set `suppressed`, which the
comparison leaves out.
"""

from __future__ import annotations

import base64
import hashlib
import random
import re
import string
from collections.abc import Iterable

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

from notion_leakguard.findings import Finding
from notion_leakguard.patterns import ESCAPE_BEFORE_TOKEN, NOTION_TOKEN_V2_HEX, TOKEN_FORMATS
from notion_leakguard.placeholders import is_placeholder
from notion_leakguard.scanner import scan_blocks, scan_bytes
from tests import tokens

BOM = b"\xef\xbb\xbf"
ALNUM = frozenset(string.ascii_letters + string.digits)
ENCODED_COOKIE = "v02%3Auser_token_or_cookies%3A"

Row = tuple[str, int, int, str, str]  # rule, line, column, preview, fingerprint
Decoded = tuple[str, int, int, str, str, str]  # and the encoding
B64 = re.compile(rb"[A-Za-z0-9+/_-]+")  # what the scanner takes for one base64 or hex run


def reference(data: bytes, *, first_line: int = 1) -> list[Row]:
    """The contract in DESIGN.md, the slow and obvious way: every format, every start."""
    rows = {
        _row(data, position, prefix, body, rule, first_line)
        for position, rule, prefix, body in _tokens(data)
        if "%25" not in prefix
    }
    for position, body in _old_cookies(data):
        rows.add(_row(data, position, "", body, "notion-token-v2-cookie", first_line))
    return sorted(rows)


def reference_decoded(data: bytes, *, first_line: int = 1) -> list[Decoded]:
    """Tokens behind escapes and in hex, the slow and obvious way."""
    rows: dict[tuple[int, str], Decoded] = {}

    def add(position: int, rule: str, prefix: str, body: str, encoding: str) -> None:
        row = _row(data, position, prefix.replace("%25", "%"), body, rule, first_line)
        rows.setdefault((position, body), (*row, encoding))

    for position, rule, prefix, body in _tokens(data):
        if "%25" in prefix:  # a cookie whose `%` was percent-encoded again
            add(position, rule, prefix, body, "percent")
    # escaped underscores, every one at once, with where each byte came from
    unescaped, origin, i = bytearray(), [], 0
    while i < len(data):
        size = next(
            (len(e) for e in (b"%5F", b"%5f", b"\\u005f", b"\\u005F") if data.startswith(e, i)), 1
        )
        unescaped += b"_" if size > 1 else data[i : i + 1]
        origin.append(i)
        i += size
    origin.append(len(data))
    for start, rule, prefix, body in _tokens(bytes(unescaped)):
        stored = data[origin[start] : origin[start + len(prefix) + len(body)]]
        if stored != (prefix + body).encode():
            add(origin[start], rule, prefix, body, "percent" if b"%5" in stored else "json-escape")
    # every character percent-encoded: each stretch of %XX decoded whole
    for stretch in re.finditer(rb"(?:%[0-9A-Fa-f]{2})+", data):
        decoded = bytes(
            int(stretch.group()[k + 1 : k + 3], 16) for k in range(0, len(stretch.group()), 3)
        )
        for start, rule, prefix, body in _tokens(decoded):
            add(stretch.start() + 3 * start, rule, prefix, body, "percent")
    # hex: runs of hex digits (maybe after 0x), decoded at both offsets
    for run in B64.finditer(data):
        digits, at = run.group(), run.start()
        if digits[:2] in (b"0x", b"0X"):
            digits, at = digits[2:], at + 2
        if len(digits) < 100 or re.fullmatch(rb"[0-9A-Fa-f]+", digits) is None:
            continue
        for offset in (0, 1):
            even = digits[offset:][: (len(digits) - offset) // 2 * 2]
            for start, rule, prefix, body in _tokens(bytes.fromhex(even.decode())):
                add(at + offset + 2 * start, rule, prefix, body, "hex")
    return sorted(rows.values())


def _tokens(data: bytes) -> list[tuple[int, str, str, str]]:
    """(start, rule, prefix, body) of every token in `data`; binary data (a NUL byte in its
    first 8 KiB) packs fields, so there no boundary is needed around a token."""
    binary = b"\0" in data[:8192]
    found = []
    for fmt in TOKEN_FORMATS:
        anchors = "|".join(re.escape(anchor) for anchor in fmt.anchors)
        # A lookahead tries every start, so overlapping matches are all seen: a cookie whose
        # body ends in `-v02` may be followed by the rest of a second cookie's prefix.
        end = "" if binary else fmt.end
        whole = re.compile(f"(?=({anchors}){fmt.between}({fmt.body}){end})".encode())
        for match in whole.finditer(data):
            prefix = match.group(1).decode() if fmt.anchor_is_prefix else ""
            body = match.group(2).decode()
            start = match.start(1) if fmt.anchor_is_prefix else match.start(2)
            if (binary or _boundary(data, start)) and not is_placeholder(fmt, body):
                found.append((start, fmt.rule, prefix, body))
    return found


def _row(data: bytes, start: int, prefix: str, body: str, rule: str, first_line: int) -> Row:
    line = first_line + data.count(b"\n", 0, start)
    line_start = data.rfind(b"\n", 0, start) + 1
    column = 1 + sum(1 for byte in data[line_start:start] if not 0x80 <= byte <= 0xBF)
    if line_start == 0 and first_line == 1 and data.startswith(BOM):
        column -= 1  # a BOM opens a file; it is no character of the first line
    token = prefix + body
    preview = f"{prefix}{body[:4]}…{body[-4:]}"
    return (rule, line, column, preview, "sha256:" + hashlib.sha256(token.encode()).hexdigest())


def _old_cookies(data: bytes) -> list[tuple[int, str]]:
    """Runs of 150 to 1024 lowercase hex digits that the evidence makes old token_v2
    cookies: the value of an object that names token_v2, or exactly 156 digits after
    `NotionClient(` or after a key or flag holding `token` in text that mentions Notion."""
    found = []
    for run in B64.finditer(data):
        body = run.group().decode()
        if not (150 <= len(body) <= 1024 and set(body) <= set("0123456789abcdef")):
            continue
        start, end = run.span()
        before = data[max(0, start - 80) : start]
        opening = data.rfind(b"{", 0, start)
        closing = data.find(b"}", end)
        inside = data[opening + 1 : closing]
        named = (
            opening >= max(0, start - 2048)
            and 0 <= closing < end + 2048
            and not set(inside.decode("latin-1")) & set("{}")
            and re.search(rb"[\"']token_v2[\"']", inside) is not None
            and re.search(rb"[\"']?value[\"']?[ \t]*[:=][ \t]*[\"']\Z", before) is not None
        )
        call = re.search(rb"NotionClient\(\s*[\"']?\Z", before) is not None
        key = re.search(
            rb"[Tt][Oo][Kk][Ee][Nn][\w.-]*[\"']?([ \t]*(:=|=>|:|=)[ \t]*|[ \t]+)[\"'`]?\Z", before
        )
        keyed = key is not None and b"notion" in data.lower()
        if (named or (len(body) == 156 and (call or keyed))) and not is_placeholder(
            NOTION_TOKEN_V2_HEX, body
        ):
            found.append((start, body))
    return found


def _boundary(data: bytes, start: int) -> bool:
    if start == 0 or chr(data[start - 1]) not in ALNUM:
        return True
    return re.search(ESCAPE_BEFORE_TOKEN.encode(), data[:start]) is not None


def plain(findings: Iterable[Finding]) -> list[Row]:
    return sorted(
        (f.rule, f.line, f.column, f.preview, f.fingerprint)
        for f in findings
        if f.encoding == "plain"
    )


def decoded(findings: Iterable[Finding]) -> list[Decoded]:
    return sorted(
        (f.rule, f.line, f.column, f.preview, f.fingerprint, f.encoding)
        for f in findings
        if f.encoding not in ("plain", "base64")
    )


# --- the reference, by hand --------------------------------------------------------------

RNG = random.Random(20260517)
NTN = tokens.api_token(RNG)
NTN_2 = tokens.api_token(RNG)
LEGACY = tokens.legacy_token(RNG)
COOKIE = tokens.cookie(RNG)
COOKIE_2 = tokens.cookie(RNG)
HEX = tokens.hex_cookie(RNG)
HEX_156 = tokens.hex_cookie(RNG, 156)
API, OLD, V2 = "notion-api-token", "notion-legacy-token", "notion-token-v2-cookie"
# A cookie whose body ends in `-v02`, right before the rest of another cookie's prefix.
CHAINED = COOKIE[:-4] + "-v02" + COOKIE_2[3:]
# A token ending in `ntn`, right before `_` and another token's body: a letter before the
# second one, so only the first counts.
NTN_CHAINED = NTN[:-3] + "ntn" + NTN_2[3:]


@pytest.mark.parametrize(
    ("text", "first_line", "expected"),
    (
        pytest.param(f'NOTION_TOKEN="{NTN}"', 1, [(API, 1, 15, NTN)], id="quoted"),
        pytest.param(f"a\nb\r\n  {NTN}\r\n", 1, [(API, 3, 3, NTN)], id="crlf"),
        pytest.param(f"é€😀 {LEGACY}", 1, [(OLD, 1, 5, LEGACY)], id="multibyte"),
        pytest.param(f"x\n{NTN}", 10, [(API, 11, 1, NTN)], id="first-line"),
        pytest.param("\ufeff" + NTN, 1, [(API, 1, 1, NTN)], id="bom"),
        pytest.param(f"\ufeff\né{NTN}", 1, [(API, 2, 2, NTN)], id="bom-line-2"),
        pytest.param("\ufeff" + NTN, 2, [(API, 2, 2, NTN)], id="bom-not-first-line"),
        pytest.param("i" + NTN, 1, [], id="glued-letter"),
        pytest.param(NTN + "a", 1, [], id="too-long"),
        pytest.param(NTN[:-1], 1, [], id="too-short"),
        pytest.param(f"ntn_{NTN}", 1, [(API, 1, 5, NTN)], id="prefix-twice"),
        pytest.param(f"\\u0041{NTN}", 1, [(API, 1, 7, NTN)], id="unicode-escape"),
        pytest.param(f"\\u004{NTN}", 1, [], id="three-hex-digits"),
        pytest.param(f"%41{LEGACY}", 1, [(OLD, 1, 4, LEGACY)], id="percent"),
        pytest.param(f"%4{LEGACY}", 1, [], id="percent-one-digit"),
        pytest.param(f"\x1b[{'1' * 24}m{NTN}", 1, [(API, 1, 28, NTN)], id="ansi-24"),
        pytest.param(f"\x1b[{'1' * 25}m{NTN}", 1, [], id="ansi-25"),
        pytest.param("secret_" + "x" * 43, 1, [], id="placeholder"),
        pytest.param(f'token_v2="{HEX}"', 1, [(V2, 1, 11, HEX)], id="hex"),
        pytest.param(f"TOKEN_V2 := '{HEX}'", 1, [(V2, 1, 14, HEX)], id="hex-walrus"),
        pytest.param(f"token_v2={HEX[:149]}", 1, [], id="hex-149"),
        pytest.param(f"token_v2={HEX * 7}", 1, [], id="hex-1120"),
        pytest.param(f"Token_v2={HEX}", 1, [], id="hex-key-case"),
        pytest.param(
            CHAINED, 1, [(V2, 1, 1, COOKIE[:-4] + "-v02"), (V2, 1, 160, COOKIE_2)], id="chained"
        ),
        pytest.param(NTN_CHAINED, 1, [(API, 1, 1, NTN[:-3] + "ntn")], id="chained-ntn"),
        pytest.param(base64.b64encode(NTN.encode()).decode(), 1, [], id="base64-out-of-scope"),
        pytest.param(f'"\\u001b[31m{NTN}"', 1, [(API, 1, 12, NTN)], id="json-colour"),
        pytest.param(f"\\u001B[{'1' * 24}m{NTN}", 1, [(API, 1, 33, NTN)], id="json-colour-24"),
        pytest.param(f"\\u001b[{'1' * 25}m{NTN}", 1, [], id="json-colour-25"),
        pytest.param(f"\\e[32m{NTN}", 1, [(API, 1, 7, NTN)], id="shell-colour"),
        pytest.param(f"\\033[0m{LEGACY}", 1, [(OLD, 1, 8, LEGACY)], id="octal-colour"),
        pytest.param(f"\\x1b[1;31m{NTN}", 1, [(API, 1, 11, NTN)], id="hex-colour"),
        pytest.param(f"\\x1b[31{NTN}", 1, [], id="colour-without-m"),
        pytest.param(
            f".notion.so\tTRUE\t/\tTRUE\t0\ttoken_v2\t{HEX}",
            1,
            [(V2, 1, 35, HEX)],
            id="cookies.txt",
        ),
        pytest.param(f"token_v2\t\t{HEX}", 1, [], id="two-tabs"),
        pytest.param(f'c = NotionClient("{HEX_156}")', 1, [(V2, 1, 19, HEX_156)], id="client-call"),
        pytest.param(f'c = NotionClient("{HEX_156}0")', 1, [], id="client-call-157"),
        pytest.param(
            f'[{{"name": "token_v2",\n "value": "{HEX}"}}]', 1, [(V2, 2, 12, HEX)], id="export"
        ),
        pytest.param(
            f'[{{"name": "token_v2"}}, {{"value": "{HEX}"}}]', 1, [], id="export-other-object"
        ),
        pytest.param(f'# Notion\nTOKEN = "{HEX_156}"', 1, [(V2, 2, 10, HEX_156)], id="constant"),
        pytest.param(f'TOKEN = "{HEX_156}"', 1, [], id="constant-without-notion"),
    ),
)
def test_reference_by_hand(
    text: str, first_line: int, expected: list[tuple[str, int, int, str]]
) -> None:
    data = text.encode()
    rows = [
        (
            rule,
            line,
            column,
            tokens.preview(tok),
            "sha256:" + hashlib.sha256(tok.encode()).hexdigest(),
        )
        for rule, line, column, tok in expected
    ]
    assert reference(data, first_line=first_line) == sorted(rows)
    assert plain(scan_bytes(data, "f", first_line=first_line)) == sorted(rows)


def _percent(text: str) -> str:
    return "".join(f"%{byte:02X}" for byte in text.encode())


@pytest.mark.parametrize(
    ("text", "expected"),
    (
        pytest.param(NTN.encode().hex(), [(API, 1, 1, NTN, "hex")], id="hex"),
        pytest.param("x=0x" + LEGACY.encode().hex().upper(), [(OLD, 1, 5, LEGACY, "hex")], id="0x"),
        pytest.param("x" + NTN.encode().hex(), [], id="hex-glued"),
        pytest.param("7" + NTN.encode().hex(), [(API, 1, 2, NTN, "hex")], id="hex-odd-offset"),
        pytest.param(
            "Zz" * 200 + "\n" + NTN.encode().hex(), [(API, 2, 1, NTN, "hex")], id="hex-below-a-run"
        ),
        pytest.param("q=" + _percent(NTN), [(API, 1, 3, NTN, "percent")], id="percent"),
        pytest.param("q=%41" + _percent(NTN), [], id="percent-after-letter"),
        pytest.param(
            "c=" + COOKIE.replace("%", "%25"), [(V2, 1, 3, COOKIE, "percent")], id="quoted-cookie"
        ),
        pytest.param("t=ntn%5F" + NTN[4:], [(API, 1, 3, NTN, "percent")], id="escaped-underscore"),
        pytest.param(
            '"ntn\\u005f' + NTN[4:], [(API, 1, 2, NTN, "json-escape")], id="json-underscore"
        ),
    ),
)
def test_reference_decoded_by_hand(
    text: str, expected: list[tuple[str, int, int, str, str]]
) -> None:
    data = text.encode()
    rows = [
        (
            rule,
            line,
            column,
            tokens.preview(tok),
            "sha256:" + hashlib.sha256(tok.encode()).hexdigest(),
            enc,
        )
        for rule, line, column, tok, enc in expected
    ]
    assert reference_decoded(data) == sorted(rows)
    assert decoded(scan_bytes(data, "f")) == sorted(rows)


# --- text full of near misses ------------------------------------------------------------

SEPARATORS = (
    *("", "", "", " ", "\n", "\r\n", "\r", "\t", "=", '"', "'", ":", ",", "-", "_", "/"),
    *("+", "é", "€", "😀", "中", "\u00a0", "\\n", "%41", "\x1b[0m", "\\"),
)
ESCAPES = (
    *("\\u001b[31m", "\\u001B[0;1m", "\\x1b[32m", "\\033[0m", "\\e[1m", "\\E[m", "\\e[32"),
    "\\u001b[" + "1" * 24 + "m",
    "\\u001b[" + "1" * 25 + "m",
    *("\\n", "\\t", "\\r", "\\b", "\\0", "\\\\n", "\\q", "\\u0041", "\\u004", "\\x41"),
    *("%41", "%3D", "%4", "\x1b[31m", "\x1b[1;32m", "\x1b[31", "\x1b[" + "1" * 24 + "m"),
    "\x1b[" + "1" * 25 + "m",
)
HEX_KEYS = (
    *("token_v2\t", "token_v2\t\t", "\ttoken_v2\t"),
    *("token_v2=", "TOKEN_V2=", '"token_v2": "', "token_v2 := '", "token_v2 => ", "token_v2:"),
    *("token_v2=\t", "token_v2" + " " * 8 + "=", "token_v2" + " " * 9 + "=", "Token_v2="),
    *("token_v2=token_v2=", "xtoken_v2='", "token_v2'="),
    'token_v2"' + " " * 8 + ":=" + " " * 8 + '"',  # the longest `between`
)
HEX_LENGTHS = (149, 150, 151, 200, 1024, 1025)
COOKIE_ANCHORS = (
    "v02%253Auser_token_or_cookies%253A",
    "v02%253auser_token_or_cookies%253a",
    ENCODED_COOKIE,
    "v02%3auser_token_or_cookies%3a",
    "v02:user_token_or_cookies:",
    "v02%3Auser_token_or_cookies%3a",  # mixed case: not an anchor
    "v02%3Auser_token_or_cookies:",
)
WORDS = ("notion", "api", "key", "token", "secret", "value", "your", "integration", "here")
KINDS = (
    *("hexed", "percented", "evidence", "evidence"),
    *("token", "hex", "cookie", "short", "long", "repeated", "glued", "escaped", "placeholder"),
    *("letter", "chained", "encoded", "text", "anchor", "allow"),
)


def _token(rng: random.Random) -> str:
    return tokens.token(rng.choice(tokens.RULES), rng)


def _placeholder(rng: random.Random) -> str:
    camel = "".join(rng.choice(WORDS).capitalize() for _ in range(12))[:43]
    start = rng.randrange(20)
    return rng.choice(
        (
            "secret_" + "x" * 43,
            "secret_" + "X" * 43,
            "ntn_" + "0" * 46,
            "ntn_" + NTN[4:15] + "x" * 35,
            "secret_" + camel,
            "secret_" + (string.ascii_letters * 3)[start : start + 43],
            ENCODED_COOKIE + "a" * 132,
            "token_v2=" + "0" * 160,
            "token_v2=" + tokens.HEX * 10,
        )
    )


def _encoded(rng: random.Random) -> str:
    tok = _token(rng)
    choice = rng.randrange(4)
    if choice == 0:
        return base64.b64encode(tok.encode()).decode()
    if choice == 1:
        return base64.urlsafe_b64encode(b"{" + tok.encode()).decode()
    return tok.replace("_", "%5F" if choice == 2 else "\\u005f", 1)


def _fragment(kind: str, rng: random.Random, draw: st.DrawFn) -> str:
    if kind == "token":
        return _token(rng)
    if kind == "hex":
        key, length = draw(st.sampled_from(HEX_KEYS)), draw(st.sampled_from(HEX_LENGTHS))
        body = tokens.hex_cookie(rng, length)
        return key + (body.upper() if draw(st.booleans()) and length == 150 else body)
    if kind == "cookie":
        return draw(st.sampled_from(COOKIE_ANCHORS)) + tokens.cookie(rng)[len(ENCODED_COOKIE) :]
    if kind == "short":
        return _token(rng)[: -draw(st.integers(min_value=1, max_value=3))]
    if kind == "long":
        return _token(rng) + draw(st.sampled_from("aZ9-_"))
    if kind == "repeated":
        return draw(st.sampled_from(("ntn_", "secret_", "ntn_secret_", "v02:"))) + _token(rng)
    if kind == "glued":
        return draw(st.sampled_from(("i", "top", "9", "Z", "é", "_", "-"))) + _token(rng)
    if kind == "escaped":
        return draw(st.sampled_from(ESCAPES)) + _token(rng)
    if kind == "placeholder":
        return _placeholder(rng)
    if kind == "letter":
        tok = tokens.api_token(rng)
        at = rng.randrange(4, 15)
        return tok[:at] + rng.choice(string.ascii_letters) + tok[at + 1 :]
    if kind == "chained":
        first, second = tokens.cookie(rng), tokens.cookie(rng, encoded=draw(st.booleans()))
        return first[:-4] + draw(st.sampled_from(("-", "_", "x"))) + "v02" + second[3:]
    if kind == "encoded":
        return _encoded(rng)
    if kind == "hexed":
        hexed = _token(rng).encode().hex()
        return draw(st.sampled_from(("", "0x", "x", "f", "0x1"))) + (
            hexed.upper() if rng.random() < 0.3 else hexed
        )
    if kind == "percented":
        lead = draw(st.sampled_from(("", "%41", "%20", "a")))
        return lead + "".join(
            draw(st.sampled_from(("%{:02X}", "%{:02x}"))).format(b) for b in _token(rng).encode()
        )
    if kind == "evidence":
        length = draw(st.sampled_from((150, 155, 156, 156, 157, 400)))
        value = tokens.hex_cookie(rng, length)
        return draw(
            st.sampled_from(
                (
                    f'NotionClient("{value}")',
                    f"NotionClient(\n  '{value}'",
                    f'{{"name": "token_v2", "value": "{value}"}}',
                    f"{{'value': '{value}',\n 'name': 'token_v2'}}",
                    f'{{"name": "token_v2"}}, {{"value": "{value}"}}',
                    f'notion\nTOKEN = "{value}"',
                    f"notion --token {value}",
                    f"# Notion\nauthToken: `{value}`",
                )
            )
        )
    if kind == "text":
        # Below the surrogates, and no NUL: that would make the data binary.
        chars = st.characters(min_codepoint=1, max_codepoint=0xD7FF)
        return draw(st.text(chars, max_size=12))
    if kind == "anchor":
        return draw(st.sampled_from(("ntn_", "secret_", "token_v2", "_", *COOKIE_ANCHORS)))
    return draw(st.sampled_from(("# notion-leakguard: allow", "pragma: allowlist nextline secret")))


@st.composite
def documents(draw: st.DrawFn) -> bytes:
    rng = random.Random(draw(st.integers(min_value=0, max_value=2**32)))
    parts = ["\ufeff" if draw(st.integers(min_value=0, max_value=9)) == 0 else ""]
    for _ in range(draw(st.integers(min_value=1, max_value=10))):
        parts.append(draw(st.sampled_from(SEPARATORS)))
        parts.append(_fragment(draw(st.sampled_from(KINDS)), rng, draw))
    parts.append(draw(st.sampled_from(SEPARATORS)))
    return "".join(parts).encode()


# The scanner sniffs the first 8 KiB as one piece whatever the blocks, so block edges only
# show beyond it: a long first line (columns past 4000) or many short lines.
PADS = ("", "# " + "é" * 4100, "pad line\n" * 1000)

FUZZ = settings(
    max_examples=250,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@FUZZ
@given(documents(), st.sampled_from((1, 1, 1, 3)))
def test_scan_bytes_agrees_with_reference(data: bytes, first_line: int) -> None:
    findings = scan_bytes(data, "f", first_line=first_line)
    assert plain(findings) == reference(data, first_line=first_line)
    assert decoded(findings) == reference_decoded(data, first_line=first_line)


block_size = st.one_of(
    st.integers(min_value=1, max_value=16), st.integers(min_value=17, max_value=1500)
)


@FUZZ
@given(
    documents(),
    st.sampled_from(PADS),
    st.lists(block_size, min_size=1, max_size=6),
    st.sampled_from((1, 1, 3)),
)
def test_scan_blocks_agrees_with_reference(
    doc: bytes, pad: str, sizes: list[int], first_line: int
) -> None:
    data = pad.encode() + doc
    blocks: list[bytes] = []
    at = 0
    while at < len(data):
        size = sizes[len(blocks) % len(sizes)]
        blocks.append(data[at : at + size])
        at += size
    findings = list(scan_blocks(blocks, "f", first_line=first_line))
    assert plain(findings) == reference(data, first_line=first_line)
    assert decoded(findings) == reference_decoded(data, first_line=first_line)


@pytest.mark.parametrize("rule", (API, OLD, V2))
def test_documents_reach_every_rule(rule: str) -> None:
    # The comparisons above pass on text where neither side finds anything: make sure the
    # generated text holds tokens of each rule, several at once.
    found = find(
        documents(),
        lambda data: len(reference(data)) >= 3 and any(row[0] == rule for row in reference(data)),
        settings=settings(database=None, max_examples=500, phases=[Phase.generate]),
    )
    assert any(row[0] == rule for row in reference(found))


@pytest.mark.parametrize("encoding", ("hex", "percent", "json-escape"))
def test_documents_reach_every_decoded_form(encoding: str) -> None:
    found = find(
        documents(),
        lambda data: any(row[-1] == encoding for row in reference_decoded(data)),
        settings=settings(database=None, max_examples=500, phases=[Phase.generate]),
    )
    assert any(row[-1] == encoding for row in reference_decoded(found))


def test_documents_reach_old_cookies_by_evidence() -> None:
    def by_evidence(data: bytes) -> bool:
        return (
            b'token_v2",' not in data
            and b"token_v2" not in data.replace(b'"token_v2"', b"").replace(b"'token_v2'", b"")
            and any(row[0] == V2 and not row[3].startswith("v02") for row in reference(data))
        )

    found = find(
        documents(),
        by_evidence,
        settings=settings(database=None, max_examples=500, phases=[Phase.generate]),
    )
    assert by_evidence(found)
