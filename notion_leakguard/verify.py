"""Opt-in verification: does a found key still work? Asked of the Notion API, never by
default, one request per distinct token, standard library HTTP only.

`GET /v1/users/me` with the token: 200 or 403 means live (403: valid but restricted), 401
invalid (revoked, or never valid). 429 and 5xx are retried with exponential back-off,
honouring Retry-After, within a total deadline; what is still unanswered then, timeouts,
DNS and TLS errors, and a 200 whose body is not a Notion user, are unknown. Every finding
is reported whatever the answer: a revoked key that is committed is still a leak.

A 200 answer is the key's bot user: its name and workspace say which integration the key
belongs to (`identity`). They are text from the network, shown only in the report: cleaned
of control characters and escape sequences, capped, and with any token in them redacted.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import socket
import ssl
import time
import unicodedata
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from email.utils import parsedate_to_datetime
from http.client import HTTPException
from typing import Any, NamedTuple
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import HTTPRedirectHandler, Request, build_opener

from notion_leakguard.errors import LeakguardError
from notion_leakguard.findings import (
    INVALID,
    LIVE,
    UNKNOWN,
    Finding,
    Note,
    ScanResult,
    Verification,
)
from notion_leakguard.patterns import NOTION_API_TOKEN, NOTION_LEGACY_TOKEN, NOTION_TOKEN_V2_COOKIE
from notion_leakguard.recollect import Candidate
from notion_leakguard.redaction import redact_plain
from notion_leakguard.scanner import previews_in

KEY_RULES = frozenset(
    (NOTION_API_TOKEN.rule, NOTION_LEGACY_TOKEN.rule, NOTION_TOKEN_V2_COOKIE.rule)
)

__all__ = [
    "INVALID",
    "LIVE",
    "UNKNOWN",
    "Answer",
    "annotate",
    "ask",
    "identity",
    "may_send",
    "verify",
]
DEFAULT_API = "https://api.notion.com"
API_ENV = "NOTION_LEAKGUARD_API_URL"
NOTION_VERSION = "2022-06-28"
CONCURRENCY = 4
REQUEST_TIMEOUT = 10.0
DEADLINE = 60.0
_RETRIES = 5
NAME_LIMIT = 80  # characters of an integration or workspace name shown
# CSI (colours, cursor moves), OSC (titles, hyperlinks) and two-character escape sequences
_ESCAPES = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]?|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[ -/]*[0-~]?)")
_HIDDEN = ("Cc", "Cf", "Cs")  # controls, invisible formatting (bidi overrides), lone surrogates


def may_send(token: str, *, mentions_notion: bool, verify_all: bool) -> bool:
    """Whether a found token may be sent to the Notion API: integration tokens yes; legacy
    `secret_` strings only when their file mentions Notion (other services use that prefix)
    or with verify_all; session cookies never."""
    if token.startswith(NOTION_API_TOKEN.anchors):
        return True
    if token.startswith(NOTION_LEGACY_TOKEN.anchors):
        return mentions_notion or verify_all
    return False


def api_base(environ: Mapping[str, str] = os.environ) -> str:
    """The API base URL: https, or http on a loopback host (tests, local proxies)."""
    base = environ.get(API_ENV, DEFAULT_API).rstrip("/")
    parts = urlsplit(base)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return base
    if parts.scheme == "http" and _loopback(host):
        return base
    raise LeakguardError(f"{API_ENV}={base}: https only (http is allowed for a loopback host)")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Answer(NamedTuple):
    state: Verification
    why: str | None = None  # for unknown: what stood in the way (DNS, timeout, TLS, ...)
    verified_as: str | None = None  # for live: which integration (`identity`), when named


def verify(tokens: Mapping[str, str], **options: Any) -> dict[str, Verification]:
    """The state of each token, by key (a fingerprint): one request per distinct token.
    `options` as for `ask`."""
    return {key: answer.state for key, answer in ask(tokens, **options).items()}


def ask(
    tokens: Mapping[str, str],
    *,
    base: str,
    concurrency: int = CONCURRENCY,
    deadline: float = DEADLINE,
    timeout: float = REQUEST_TIMEOUT,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Answer]:
    """verify, with why each unknown answer is unknown."""
    ends = time.monotonic() + deadline
    distinct = {token: key for key, token in tokens.items()}
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        states = dict(
            zip(
                distinct,
                pool.map(lambda token: _check(token, base, ends, timeout, sleep), distinct),
            )
        )
    return {key: states[token] for key, token in tokens.items()}


def _answered(finding: Finding, answer: Answer | None) -> Finding:
    if answer is None:
        return finding
    return finding._replace(
        verified=answer.state, verified_why=answer.why, verified_as=answer.verified_as
    )


def _check(
    token: str, base: str, ends: float, timeout: float, sleep: Callable[[float], None]
) -> Answer:
    request = Request(
        f"{base}/v1/users/me",
        headers={
            "Authorization": f"Bearer {token}",
            "Notion-Version": NOTION_VERSION,
            "User-Agent": "notion-leakguard (secret verification)",
        },
    )
    delay = 1.0
    why = "no answer within the deadline"
    for _attempt in range(_RETRIES + 1):
        remaining = ends - time.monotonic()
        if remaining <= 0:
            return Answer(UNKNOWN, why)
        try:
            with _OPENER.open(request, timeout=min(timeout, remaining)) as response:
                user = _user(response.read(1 << 16))
                if user is not None:
                    return Answer(LIVE, verified_as=identity(user))
                return Answer(UNKNOWN, "the answer was not a Notion user")
        except HTTPError as error:
            if error.code == 401:
                return Answer(INVALID)
            if error.code == 403:
                return Answer(LIVE)
            if error.code != 429 and error.code < 500:
                return Answer(UNKNOWN, f"HTTP {error.code}")
            why = "rate limited (HTTP 429)" if error.code == 429 else f"server error {error.code}"
            wait = _retry_after(error.headers.get("Retry-After"), delay)
        except (URLError, OSError, ValueError, HTTPException) as error:
            # DNS, TLS, refused, timed out, not HTTP: nothing to retry within reason.
            return Answer(UNKNOWN, _why(error))
        if time.monotonic() + wait > ends:
            return Answer(UNKNOWN, why)
        sleep(wait)
        delay = min(delay * 2, 30.0)
    return Answer(UNKNOWN, why)


def _why(error: BaseException) -> str:
    """What kept a request from an answer, in a few words."""
    reason = error.reason if isinstance(error, URLError) else error
    if isinstance(reason, socket.gaierror):
        return "DNS lookup failed"
    if isinstance(reason, ssl.SSLError):
        return "TLS error"
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return "timed out"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, (HTTPException, ValueError)):
        return "the answer was not HTTP"
    return "network error"


class _NoRedirect(HTTPRedirectHandler):
    """A redirect would carry the Authorization header to wherever it points: refuse."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_OPENER = build_opener(_NoRedirect)


def _user(body: bytes) -> dict[str, Any] | None:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: `[[[[...` nested past the stack
        return None
    if isinstance(document, dict) and document.get("object") == "user":
        return document
    return None


def identity(user: Mapping[str, Any]) -> str | None:
    """Which integration a `GET /v1/users/me` answer names, for a person to read:
    `integration Sync bot in workspace Acme`; None when it names neither."""
    if user.get("type") != "bot":
        return None
    bot = user.get("bot")
    name = _cleaned(user.get("name"))
    workspace = _cleaned(bot.get("workspace_name")) if isinstance(bot, dict) else None
    if name and workspace:
        return f"integration {name} in workspace {workspace}"
    if name:
        return f"integration {name}"
    if workspace:
        return f"an integration in workspace {workspace}"
    return None


def _cleaned(value: object) -> str | None:
    """A name from the network, safe to print on one line: no escape sequences or control
    characters, whitespace runs as one space, tokens redacted, at most NAME_LIMIT long."""
    if not isinstance(value, str):
        return None
    text = _ESCAPES.sub("", value)
    text = "".join(
        " " if char.isspace() else char
        for char in text
        if char.isspace() or unicodedata.category(char) not in _HIDDEN
    )
    # Redacted after the invisible characters are gone (they could split a token) and
    # before the cut (which could leave more of one than a preview shows).
    text = redact_plain(" ".join(text.split()))
    if previews_in(text.encode()):
        return "(withheld: the name holds a key)"  # base64, escaped: no preview to show
    if len(text) > NAME_LIMIT:
        text = text[: NAME_LIMIT - 1].rstrip() + "…"
    return text or None


def _retry_after(value: str | None, default: float) -> float:
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return default


def annotate(
    result: ScanResult, candidates: Mapping[str, Candidate], *, verify_all: bool
) -> ScanResult:
    """The result with each eligible finding's state. Session cookies are never sent;
    legacy `secret_` strings only when their file or path mentions Notion (other services
    use that prefix too), unless verify_all."""
    tokens, held_back = {}, 0
    for finding in result.findings:
        candidate = candidates.get(finding.fingerprint)
        if candidate is None:
            continue
        if may_send(
            candidate.token, mentions_notion=candidate.mentions_notion, verify_all=verify_all
        ):
            tokens[finding.fingerprint] = candidate.token
        elif finding.rule == NOTION_LEGACY_TOKEN.rule:
            held_back += 1
    answers = ask(tokens, base=api_base()) if tokens else {}
    notes = []
    if held_back:
        notes.append(
            f"{held_back} secret_ token(s) not verified: neither the file nor its path mentions "
            "Notion, and other services use that prefix (--verify-all sends them too)"
        )
    if any(f.rule == NOTION_TOKEN_V2_COOKIE.rule for f in result.findings):
        notes.append("session cookies (token_v2) are never verified")
    if any(f.rule in KEY_RULES and f.fingerprint not in candidates for f in result.reported):
        notes.append(
            "findings that could not be read again (standard input, members of archives, keys "
            "in file names) were not verified"
        )
    findings = tuple(_answered(f, answers.get(f.fingerprint)) for f in result.findings)
    return result._replace(findings=findings, notes=result.notes + tuple(Note(n) for n in notes))
