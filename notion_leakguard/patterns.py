"""What a Notion credential looks like. Data only: the scanner and the detect-secrets plugin
both compile what is defined here, so each format exists exactly once."""

from __future__ import annotations

from typing import NamedTuple

ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
HEX = "0123456789abcdef"
COOKIE_ALPHABET = ALNUM + "-_"


class TokenFormat(NamedTuple):
    """One credential format.

    A token is found where one of ``anchors`` (literal text, each holding a ``_``) stands:
    the scanner jumps from one ``_`` to the next in a single pass, many times faster in
    CPython than an alternation of prefixes. After the anchor come ``between`` (text that
    is not part of the token, such as `=` after a key), the secret ``body``, and ``end``,
    the boundary after a token in text (binary data packs fields without one). When
    ``anchor_is_prefix``, the anchor is the token's own fixed prefix, shown in previews.
    """

    rule: str
    message: str
    description: str  # what the credential grants, for reports and `rules`
    shape: str  # the format in words
    documented: str  # where the format is documented
    remedy: str  # how to make a leaked credential of this kind useless
    anchors: tuple[str, ...]
    body: str
    end: str
    alphabet: str
    # The last `random_length` characters of the body are uniformly random in a real token;
    # the placeholder filter looks only at those (see placeholders.py).
    random_length: int
    between: str = ""
    anchor_is_prefix: bool = True


_REFRESH = (
    "Rotate it: in Notion open Settings > Connections > Develop or manage integrations, pick "
    "the integration and press Refresh next to its secret. The old key stops working."
)

# Internal integration token, format since September 2024:
# https://developers.notion.com/docs/authorization (internal integrations) and the
# "token format" changelog entry of 2024-09-25.
NOTION_API_TOKEN = TokenFormat(
    rule="notion-api-token",
    message="Notion API token",
    description="A Notion internal integration token (ntn_…). It grants read and write access "
    "to every page and database shared with the integration.",
    shape="ntn_ + 11 digits + 35 letters or digits (50 characters)",
    documented="https://developers.notion.com/docs/authorization",
    remedy=_REFRESH,
    anchors=("ntn_",),
    body=r"[0-9]{11}[A-Za-z0-9]{35}",
    end=r"(?![A-Za-z0-9])",
    alphabet=ALNUM,
    random_length=35,
)

# Internal integration tokens issued before September 2024, and public-integration OAuth
# client secrets: https://developers.notion.com/docs/authorization
NOTION_LEGACY_TOKEN = TokenFormat(
    rule="notion-legacy-token",
    message="Notion API token (legacy secret_ format)",
    description="A Notion integration token or OAuth client secret in the legacy secret_… format.",
    shape="secret_ + 43 letters or digits (50 characters)",
    documented="https://developers.notion.com/docs/authorization",
    remedy=_REFRESH + " For a public integration's OAuth client secret, refresh it on the "
    "integration's page the same way and update every service that uses it.",
    anchors=("secret_",),
    body=r"[A-Za-z0-9]{43}",
    end=r"(?![A-Za-z0-9])",
    alphabet=ALNUM,
    random_length=43,
)

# The browser session cookie `token_v2` that unofficial clients (notion-py, notion-client
# for JS in cookie mode) ask users to paste. Current cookies carry a percent-encoded
# `v02:user_token_or_cookies:` prefix.
NOTION_TOKEN_V2_COOKIE = TokenFormat(
    rule="notion-token-v2-cookie",
    message="Notion token_v2 session cookie",
    description="A Notion token_v2 browser session cookie: full access to the user's account.",
    shape="v02%3Auser_token_or_cookies%3A + 132 of [A-Za-z0-9_-]; older cookies: 150+ "
    "lowercase hex characters assigned to token_v2",
    documented="the browser's cookie store for notion.so (no public documentation)",
    remedy="Log out of every session: in Notion open Settings > My account > Log out of all "
    "devices. The cookie stops working; unofficial clients that used it need a new one.",
    # The last two: a cookie percent-encoded once more (urllib.parse.quote(cookie, safe="")
    # when it goes into a URL); the scanner reports them as `percent`, with the prefix above.
    anchors=(
        "v02%3Auser_token_or_cookies%3A",
        "v02%3auser_token_or_cookies%3a",
        "v02:user_token_or_cookies:",
        "v02%253Auser_token_or_cookies%253A",
        "v02%253auser_token_or_cookies%253a",
    ),
    body=r"[A-Za-z0-9_-]{132}",
    end=r"(?![A-Za-z0-9_-])",
    alphabet=COOKIE_ALPHABET,
    random_length=132,
)

# Older token_v2 cookies: a long lowercase hex string. Found here as the value of a
# `token_v2` key (cookie header, JSON, env, Python keyword argument, the tab-separated
# fields of a Netscape cookies.txt); cookies.py finds the others by the evidence around them.
NOTION_TOKEN_V2_HEX = TokenFormat(
    rule="notion-token-v2-cookie",
    message=NOTION_TOKEN_V2_COOKIE.message,
    description=NOTION_TOKEN_V2_COOKIE.description,
    shape=NOTION_TOKEN_V2_COOKIE.shape,
    documented=NOTION_TOKEN_V2_COOKIE.documented,
    remedy=NOTION_TOKEN_V2_COOKIE.remedy,
    anchors=("token_v2", "TOKEN_V2"),
    between=r"(?:[\"']?[ \t]{0,8}(?::=|=>|[:=])[ \t]{0,8}[\"']?|\t)",
    body=r"[0-9a-f]{150,1024}",
    end=r"(?![0-9A-Za-z])",
    alphabet=HEX,
    random_length=150,
    anchor_is_prefix=False,
)

TOKEN_FORMATS: tuple[TokenFormat, ...] = (
    NOTION_API_TOKEN,
    NOTION_LEGACY_TOKEN,
    NOTION_TOKEN_V2_COOKIE,
    NOTION_TOKEN_V2_HEX,
)

# The longest text any pattern can match, and how far before a token the boundary check
# looks. Streaming scans keep this much context across block edges.
MAX_MATCH_LENGTH = 1024 + 40
MAX_LEFT_CONTEXT = 32

# A letter or digit just before a token is still a boundary when it ends one of these
# escapes: C/JSON/Python string escapes, percent-encoding, ANSI colour codes, whether their
# ESC is the byte itself or written as text (`\u001b[31m` in JSON logs and notebook
# outputs, `\x1b[`, `\033[`, `\e[` in shell and C strings). The longest is 32 characters.
ESCAPE_BEFORE_TOKEN = (
    r"(?:\\[nrtfvb0]|\\u[0-9A-Fa-f]{4}|\\x[0-9A-Fa-f]{2}|%[0-9A-Fa-f]{2}"
    r"|(?:\x1b|\\u001[bB]|\\x1[bB]|\\033|\\[eE])\[[0-9;]{0,24}m)\Z"
)

# A token on a line holding ALLOW_LINE, or right below a line holding ALLOW_NEXT_LINE, is
# not reported (in any comment syntax; detect-secrets' pragmas work too).
ALLOW_LINE = rb"notion-leakguard: allow(?![-\w])|pragma: allowlist secret"
ALLOW_NEXT_LINE = rb"notion-leakguard: allow-next-line|pragma: allowlist nextline secret"
