"""Every place a key hides (issue 16): escaped colour codes written as text, hex, every
character percent-encoded, base64 wrapped over lines, and old token_v2 cookies known by the
evidence around them. Each form is built the way the tools that produce it build it, from
keys made at run time (tests/tokens.py); test ids go through `tokens.label`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import http.cookiejar
import json
import random
import subprocess
import sysconfig
import urllib.parse
from pathlib import Path

import pytest

from notion_leakguard import cookies, encodings
from notion_leakguard.scanner import scan_blocks, scan_bytes
from tests import tokens
from tests.conftest import git, invoke

RNG = random.Random(20261130)
NTN = tokens.api_token(RNG)
LEGACY = tokens.legacy_token(RNG)
COOKIE = tokens.cookie(RNG)
COOKIE_PLAIN = tokens.cookie(RNG, encoded=False)
OLD = tokens.hex_cookie(RNG, 156)  # an old token_v2 cookie

API, LEG, CK = "notion-api-token", "notion-legacy-token", "notion-token-v2-cookie"
RULE_OF = {NTN: API, LEGACY: LEG, COOKIE: CK, COOKIE_PLAIN: CK, OLD: CK}
KEYS = (NTN, LEGACY, COOKIE, COOKIE_PLAIN)

Found = list[tuple[str, int, int, str, str]]


def found(data: str | bytes, *, block: int = 0) -> Found:
    raw = data.encode() if isinstance(data, str) else data
    if block:
        findings = list(scan_blocks([raw[i : i + block] for i in range(0, len(raw), block)], "f"))
    else:
        findings = scan_bytes(raw, "f")
    return [(f.rule, f.line, f.column, f.encoding, f.preview) for f in findings]


def at(text: str, stored: str, tok: str, encoding: str) -> Found:
    """The one finding expected where `stored` (the key's stored form) stands in `text`."""
    (line, column), *others = tokens.positions(text, stored)
    assert not others
    return [(RULE_OF[tok], line, column, encoding, tokens.preview(tok))]


def both(text: str, expected: Found) -> None:
    """Found the same whole and streamed in small blocks (a block edge inside the form)."""
    assert found(text) == expected
    for block in (7, 64, 333):
        assert found(text, block=block) == expected


# --- escaped colour codes written as text -------------------------------------------------


def _json_log(tok: str) -> tuple[str, str]:
    # json.dumps writes the ESC byte as \u001b, as every JSON logger does
    line = json.dumps({"level": "info", "msg": "\x1b[31m" + tok + "\x1b[0m connected"})
    return line + "\n", tok


def _notebook(tok: str) -> tuple[str, str]:
    output = {"name": "stdout", "output_type": "stream", "text": ["\x1b[1;32m" + tok + "\x1b[0m\n"]}
    cell = {"cell_type": "code", "execution_count": 3, "metadata": {}, "outputs": [output]}
    notebook = {"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(notebook, indent=1) + "\n", tok


def _shell(tok: str) -> tuple[str, str]:
    return f'#!/bin/sh\necho -e "\\e[32m{tok}\\e[0m"\n', tok


def _c(tok: str) -> tuple[str, str]:
    return f'int main(void) {{\n    printf("\\x1b[31m{tok}\\x1b[0m\\n");\n}}\n', tok


def _python(tok: str) -> tuple[str, str]:
    return f'print("\\033[0;31m{tok}\\033[0m")\n', tok


def _upper(tok: str) -> tuple[str, str]:
    return f'{{"msg": "\\u001B[1;2;3;4;5;6;7;8;9;10;1m{tok}"}}\n', tok


@pytest.mark.parametrize("tok", KEYS, ids=tokens.label)
@pytest.mark.parametrize("form", (_json_log, _notebook, _shell, _c, _python, _upper))
def test_escaped_colour_code_before_a_key(form: object, tok: str) -> None:
    text, stored = form(tok)  # type: ignore[operator]
    assert "\x1b" not in text  # the ESC is written as text
    both(text, at(text, stored, tok, "plain"))


@pytest.mark.parametrize(
    "escape",
    ("\\u001b[" + "1" * 25 + "m", "\\e[32", "\\033[31", "\\x1b31m", "\\u001c[31m", "\\f[31m"),
)
def test_almost_a_colour_code_is_no_boundary(escape: str) -> None:
    assert found(f'"{escape}{NTN}"\n') == []


# --- hex --------------------------------------------------------------------------------------

ENV = "# written by hand\nNOTION_API=1\nNOTION_TOKEN={tok}\nLOG=debug\n"


@pytest.mark.parametrize("tok", KEYS, ids=tokens.label)
@pytest.mark.parametrize(
    "encode",
    (
        lambda raw: binascii.hexlify(raw).decode(),
        lambda raw: raw.hex().upper(),
        lambda raw: "0x" + raw.hex(),
    ),
    ids=("hexlify", "upper", "0x"),
)
def test_hex_encoded_key(tok: str, encode: object) -> None:
    stored = encode(tok.encode())  # type: ignore[operator]
    text = f'config = {{"notion": "{stored}"}}\n'
    digits = stored.removeprefix("0x")
    both(text, at(text, digits, tok, "hex"))


@pytest.mark.parametrize("offset", range(4))
def test_hex_of_a_whole_env_file(offset: int) -> None:
    env = "#" * offset + ENV.format(tok=LEGACY)
    stored = binascii.hexlify(env.encode()).decode()
    text = f"ENV_HEX={stored}\n"
    column = len("ENV_HEX=") + 1 + 2 * env.index(LEGACY)
    both(text, [(LEG, 1, column, "hex", tokens.preview(LEGACY))])


def test_hex_traps_are_not_keys() -> None:
    rng = random.Random(3)
    digests = [hashlib.sha512(str(i).encode()).hexdigest() for i in range(500)]
    digests += [hashlib.sha256(str(i).encode()).hexdigest() for i in range(500)]
    blobs = [rng.randbytes(rng.randrange(50, 1000)).hex() for _ in range(300)]
    placeholders = [("secret_" + "x" * 43).encode().hex(), ("ntn_" + "0" * 46).encode().hex()]
    for values in (digests, blobs, placeholders):
        assert found("\n".join(f'h = "{v}"' for v in values)) == []
        assert found("".join(values)) == []


# --- every character percent-encoded -------------------------------------------------------


def percent_all(text: str, *, lower: bool = False) -> str:
    """Every byte as %XX: what a logger that escapes everything writes. No stdlib function
    does this (urllib.parse.quote leaves letters, digits and `_.-~` alone)."""
    return "".join(("%%%02x" if lower else "%%%02X") % byte for byte in text.encode())


@pytest.mark.parametrize("tok", KEYS, ids=tokens.label)
@pytest.mark.parametrize("lower", (False, True), ids=("upper", "lower"))
def test_every_character_percent_encoded(tok: str, lower: bool) -> None:
    stored = percent_all(tok, lower=lower)
    text = f'10.0.0.7 - - [30/Nov/2026] "GET /oauth/cb?code={stored}&state=x HTTP/1.1" 200\n'
    both(text, at(text, stored, tok, "percent"))


def test_whole_query_percent_encoded() -> None:
    stored = percent_all("token=" + NTN + "&x=1")
    text = f"redirect: /next?q={stored}\n"
    column = text.index(stored) + 1 + 3 * len("token=")
    both(text, [(API, 1, column, "percent", tokens.preview(NTN))])


def test_quote_with_safe_empty() -> None:
    # quote() leaves an integration token as it is: found as plain text.
    assert urllib.parse.quote(NTN, safe="") == NTN
    # A cookie quoted into a URL has its `%` encoded again; it is the same cookie.
    stored = urllib.parse.quote(COOKIE, safe="")
    assert stored.startswith("v02%253A")
    text = f"GET /export?cookie={stored} HTTP/1.1\n"
    both(text, at(text, stored, COOKIE, "percent"))
    (finding,) = scan_bytes(text.encode(), "f")
    (plain,) = scan_bytes(COOKIE.encode(), "f")
    assert finding.fingerprint == plain.fingerprint


@pytest.mark.parametrize(
    "text",
    (
        "%41" + percent_all(NTN),  # spells `Antn_…`: no boundary
        percent_all(NTN[:-1]),
        percent_all(NTN + "a"),
        percent_all("secret_" + "x" * 43),
        percent_all(NTN)[:-3] + NTN[-1],  # the last character left as itself
    ),
    ids=tokens.label,
)
def test_percent_traps(text: str) -> None:
    assert found(f"q={text}\n") == []


# --- base64 wrapped over lines -----------------------------------------------------------


def base64_wrapped(raw: bytes, width: int) -> str:
    return subprocess.run(
        ["base64", "-w", str(width)], input=raw, capture_output=True, check=True
    ).stdout.decode()


def _expected_in_wrapped(raw: bytes, tok: str, width: int, first_line: int, indent: int) -> Found:
    index = (4 * raw.index(tok.encode())) // 3  # the character holding the key's first bit
    line, column = first_line + index // width, indent + 1 + index % width
    return [(RULE_OF[tok], line, column, "base64", tokens.preview(tok))]


@pytest.mark.parametrize("width", (76, 64))
@pytest.mark.parametrize("offset", (0, 1, 2, 3, 17, 40, 57, 75, 200))
def test_base64_of_a_whole_env_file(width: int, offset: int) -> None:
    tok = KEYS[offset % len(KEYS)]
    raw = ("#" * offset + "\n" + ENV.format(tok=tok) + "EXTRA=" + "z" * 90 + "\n").encode()
    text = base64_wrapped(raw, width)
    assert max(len(line) for line in text.splitlines()) == width
    both(text, _expected_in_wrapped(raw, tok, width, 1, 0))


@pytest.mark.parametrize("offset", (0, 5, 30, 61))
def test_pem_framed_and_crlf(offset: int) -> None:
    raw = ("x" * offset + "\n" + ENV.format(tok=NTN)).encode()
    body = base64_wrapped(raw, 64)
    text = "-----BEGIN NOTION ENV-----\n" + body + "-----END NOTION ENV-----\n"
    expected = _expected_in_wrapped(raw, NTN, 64, 2, 0)
    both(text, expected)
    both(text.replace("\n", "\r\n"), expected)


@pytest.mark.parametrize("offset", (0, 9, 33, 70))
def test_kubernetes_block_scalar(offset: int) -> None:
    raw = ("y" * offset + "\n" + ENV.format(tok=COOKIE)).encode()
    lines = base64_wrapped(raw, 76).splitlines()
    head = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: notion\ndata:\n  app.env: |\n"
    text = head + "".join(f"    {line}\n" for line in lines) + "  other: aGVsbG8=\n"
    both(text, _expected_in_wrapped(raw, COOKIE, 76, head.count("\n") + 1, 4))


def test_hand_written_continuation_lines() -> None:
    """A value split by hand: the first piece after its key, the rest indented below."""
    value = base64.b64encode(("NOTION_TOKEN=" + LEGACY + "\n").encode()).decode()
    pieces = [value[i : i + 64] for i in range(0, len(value), 64)]
    text = "stringData: {}\ndata:\n  env: " + "\n      ".join(pieces) + "\nkind: Secret\n"
    index = (4 * len("NOTION_TOKEN=")) // 3
    assert index < 64
    column = len("  env: ") + 1 + index
    both(text, [(LEG, 3, column, "base64", tokens.preview(LEGACY))])


def test_wrapped_random_base64_and_unrelated_lines_are_not_keys() -> None:
    rng = random.Random(11)
    assert found(base64_wrapped(rng.randbytes(100_000), 76)) == []
    assert found(base64_wrapped(rng.randbytes(100_000), 64).replace("\n", "\r\n  ")) == []
    placeholder = ENV.format(tok="secret_" + "x" * 43).encode()
    assert found(base64_wrapped(placeholder * 5, 76)) == []


# --- old token_v2 cookies ----------------------------------------------------------------

NOTION_COOKIES = (
    {"domain": ".www.notion.so", "name": "notion_browser_id", "value": "a1b2c3d4-" + "e" * 27},
    {"domain": ".www.notion.so", "name": "notion_user_id", "value": "f" * 32},
)


def _cookie_export(value: str, *, value_first: bool, indent: int) -> str:
    """EditThisCookie / Cookie-Editor's JSON export: one object per cookie."""
    fields = {
        "domain": ".www.notion.so",
        "expirationDate": 1767225600.25,
        "hostOnly": False,
        "httpOnly": True,
        "name": "token_v2",
        "path": "/",
        "sameSite": "lax",
        "secure": True,
        "session": False,
        "storeId": "0",
        "value": value,
        "id": 3,
    }
    if value_first:
        fields = {"value": fields.pop("value"), **fields}
    return json.dumps([*NOTION_COOKIES, fields], indent=indent) + "\n"


def _storage_state(value: str) -> str:
    """Playwright's context.storage_state(): cookies, then origins."""
    entry = {"name": "token_v2", "value": value, "domain": ".notion.so", "path": "/"}
    return json.dumps({"cookies": [entry], "origins": []}) + "\n"


def _cookies_txt(value: str, tmp_path: Path) -> str:
    jar = http.cookiejar.MozillaCookieJar(str(tmp_path / "cookies.txt"))
    cookie = http.cookiejar.Cookie(
        version=0,
        name="token_v2",
        value=value,
        port=None,
        port_specified=False,
        domain=".www.notion.so",
        domain_specified=True,
        domain_initial_dot=True,
        path="/",
        path_specified=True,
        secure=True,
        expires=4102444800,
        discard=False,
        comment=None,
        comment_url=None,
        rest={"HttpOnly": ""},
    )
    jar.set_cookie(cookie)
    jar.save()
    return (tmp_path / "cookies.txt").read_text()


def _selenium(value: str) -> str:
    return f"driver.get('https://www.notion.so')\ndriver.add_cookie({{'name': 'token_v2', 'value': '{value}'}})\n"  # noqa: E501


def _client_positional(value: str) -> str:
    return f'from notion.client import NotionClient\n\nclient = NotionClient("{value}")\n'


def _client_multiline(value: str) -> str:
    return f"client = NotionClient(\n    '{value}',\n    monitor=False,\n)\n"


def _cli_flag(value: str) -> str:
    return f"# Export a Notion workspace\n\n```sh\nnotion-export --token {value} --space x\n```\n"


def _cli_flag_equals(value: str) -> str:
    return f"Back up your Notion pages:\n\n    notion2md --token={value} ./out\n"


def _constant(value: str) -> str:
    return (
        "from notion.client import NotionClient\n\n"
        f'TOKEN = "{value}"\n'
        "client = NotionClient(token_v2=TOKEN)\n"
    )


def _js_constant(value: str) -> str:
    return f"import {{ NotionAPI }} from 'notion-client'\nconst api = new NotionAPI({{ authToken: '{value}' }})\n"  # noqa: E501


COOKIE_FORMS = {
    "export-name-first": lambda v, _: _cookie_export(v, value_first=False, indent=2),
    "export-value-first": lambda v, _: _cookie_export(v, value_first=True, indent=4),
    "storage-state": lambda v, _: _storage_state(v),
    "cookies.txt": _cookies_txt,
    "selenium": lambda v, _: _selenium(v),
    "client-positional": lambda v, _: _client_positional(v),
    "client-multiline": lambda v, _: _client_multiline(v),
    "cli-flag": lambda v, _: _cli_flag(v),
    "cli-flag-equals": lambda v, _: _cli_flag_equals(v),
    "constant": lambda v, _: _constant(v),
    "js-constant": lambda v, _: _js_constant(v),
}


@pytest.mark.parametrize("form", sorted(COOKIE_FORMS))
def test_old_cookie_where_it_occurs(form: str, tmp_path: Path) -> None:
    text = COOKIE_FORMS[form](OLD, tmp_path)
    both(text, at(text, OLD, OLD, "plain"))


@pytest.mark.parametrize("form", ("export-name-first", "cookies.txt", "storage-state"))
@pytest.mark.parametrize("length", (150, 200, 1024))
def test_a_named_cookie_may_have_another_length(form: str, length: int, tmp_path: Path) -> None:
    value = tokens.hex_cookie(random.Random(length), length)
    text = COOKIE_FORMS[form](value, tmp_path)
    line, column = tokens.positions(text, value)[0]
    both(text, [(CK, line, column, "plain", value[:4] + "…" + value[-4:])])


def _other_cookie_named(value: str) -> str:
    entries = [{"name": "token_v2", "value": "deleted"}, {"name": "session", "value": value}]
    return json.dumps(entries, indent=2)


TRAPS = {
    "no-notion-evidence": lambda v: f'TOKEN = "{v}"\n',
    "no-key": lambda v: f'# notion\nchecksum = "{v}"\n',
    "155": lambda v: f'# notion\nTOKEN = "{v[:-1]}"\n',
    "157": lambda v: f'# notion\nTOKEN = "{v}a"\n',
    "sha512": lambda v: f'# notion\nTOKEN_HASH = "{hashlib.sha512(v.encode()).hexdigest()}"\n',
    "uppercase": lambda v: f'NotionClient("{v.upper()}")\n',
    "inside-a-longer-hex-blob": lambda v: f'NotionClient("{v}{v}")\n',
    "glued-to-a-word": lambda v: f'NotionClient("x{v}")\n',
    "other-cookie-in-the-export": _other_cookie_named,
    "placeholder": lambda v: f'NotionClient("{"0" * 156}")\n',
    "alphabet-run": lambda v: f'NotionClient("{tokens.HEX * 9 + tokens.HEX[:12]}")\n',
}


@pytest.mark.parametrize("trap", sorted(TRAPS))
def test_cookie_traps(trap: str) -> None:
    assert found(TRAPS[trap](OLD)) == []


def test_the_cookie_rule_on_the_hex_of_installed_code() -> None:
    """How often the evidence rule fires on hex that is not a cookie (cookies.py's
    docstring gives the reasoning): every run of 150 to 1024 lowercase hex digits in the
    standard library and the installed packages, as the scanner collects them."""
    paths = sysconfig.get_paths()
    roots = {Path(paths["stdlib"]).resolve(), Path(paths["purelib"]).resolve()}
    files = runs = keyed = 0
    for root in roots:
        for path in root.rglob("*"):
            if path.suffix in (".pyc", ".so") or not path.is_file() or path.is_symlink():
                continue
            data = path.read_bytes()
            files += 1
            hex_runs: list[tuple[int, int]] = []
            for _ in encodings.base64_values(data, 0, len(data), b"\x00" * 9, hex_runs=hex_runs):
                pass
            for start, end in hex_runs:
                runs += 1
                keyed += end - start == cookies.COOKIE_LENGTH and bool(
                    cookies.patterns().token_key.search(data[max(0, start - 80) : start])
                )
            assert list(cookies.cookies(data, hex_runs)) == [], path
    assert files > 5000 and runs > 20  # the count means something
    # No hex run in this code is the length of a cookie after a `token` key; a random
    # alphanumeric string is 156 lowercase hex digits with odds below 1e-91.
    assert keyed == 0
    assert (16 / 62) ** 156 < 1e-91


# --- end to end: staged changes and history ----------------------------------------------


def _report(args: tuple[str, ...], cwd: Path) -> tuple[int, set[tuple[str, str, int, int, str]]]:
    result = invoke("scan", *args, "--format", "json", cwd=cwd)
    assert "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    return result.returncode, {
        (f["rule"], f["path"], f["line"], f["column"], f["encoding"]) for f in report["findings"]
    }


def test_wrapped_base64_through_scan_staged(in_git_dir: Path) -> None:
    raw = ("#" * 10 + "\n" + ENV.format(tok=NTN)).encode()
    (in_git_dir / "deploy").mkdir()
    (in_git_dir / "deploy" / "env.b64").write_text(base64_wrapped(raw, 76))
    git("add", "deploy/env.b64", cwd=in_git_dir)
    ((_, line, column, _, _),) = _expected_in_wrapped(raw, NTN, 76, 1, 0)
    assert _report(("--staged",), in_git_dir) == (
        1,
        {(API, "deploy/env.b64", line, column, "base64")},
    )


def test_cookie_export_and_percent_through_scan_history(in_git_dir: Path) -> None:
    export = _cookie_export(OLD, value_first=False, indent=2)
    log = f"GET /cb?code={percent_all(LEGACY)} HTTP/1.1\n"
    (in_git_dir / "cookies.json").write_text(export)
    (in_git_dir / "access.log").write_text(log)
    git("add", ".", cwd=in_git_dir)
    git("commit", "-q", "--no-verify", "-m", "add", cwd=in_git_dir)
    git("rm", "-q", "cookies.json", "access.log", cwd=in_git_dir)
    git("commit", "-q", "--no-verify", "-m", "remove", cwd=in_git_dir)
    assert list(in_git_dir.iterdir()) == [in_git_dir / ".git"]
    ((line, column),) = tokens.positions(export, OLD)
    assert _report(("--history",), in_git_dir) == (
        1,
        {(CK, "cookies.json", line, column, "plain"), (LEG, "access.log", 1, 14, "percent")},
    )


@pytest.mark.parametrize(
    ("template", "encoding"),
    [
        ("token%5Fv2={}\n", "percent"),  # a logged URL or form body
        ('{{"token\\u005fv2": "{}"}}\n', "json-escape"),  # JSON written with escapes
    ],
)
def test_an_old_cookie_after_an_escaped_token_v2_key(template: str, encoding: str) -> None:
    """The key name itself escaped: the cookie is still its value (a plain `token_v2=`
    match had hidden it, as its stored form has no prefix of its own)."""
    text = template.format(OLD)
    both(text, at(text, OLD, OLD, encoding))
