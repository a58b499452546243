"""A detect-secrets plugin: Notion credentials, found by notion-leakguard's own scanner.

    detect-secrets scan --plugin "$(notion-leakguard detect-secrets-plugin)"

detect-secrets imports this file by path and registers every public plugin class in it,
so this module defines exactly one public name; everything it imports is private. The
detection is the scanner's (same patterns, boundaries, placeholder filter and inline
allow markers, and every encoding the scanner decodes: base64, escaped underscores,
UTF-16 lines, ...): nothing here is a second copy of a rule.
"""

from __future__ import annotations

import functools as _functools
import os as _os
import typing as _typing
from collections.abc import Generator
from typing import Any as _Any

from detect_secrets.constants import VerifiedResult as _VerifiedResult
from detect_secrets.core.potential_secret import PotentialSecret as _PotentialSecret
from detect_secrets.plugins.base import RegexBasedDetector as _RegexBasedDetector
from detect_secrets.util.code_snippet import CodeSnippet as _CodeSnippet

from notion_leakguard.scanner import reportable_tokens as _reportable_tokens


class NotionTokenDetector(_RegexBasedDetector):
    """Notion integration tokens (ntn_…, legacy secret_…) and token_v2 session cookies."""

    # Baselines key on this: it never changes.
    secret_type = "Notion API Token"
    # A detector of exact formats, as detect-secrets' regex-based ones are (its filter
    # is_likely_id_string then spares `client_id: …, client_secret: secret_…`); the
    # scanner, not a list of patterns, does the matching.
    denylist = ()

    def analyze_line(
        self,
        filename: str,
        line: str,
        line_number: int = 0,
        context: _CodeSnippet | None = None,
        **kwargs: _Any,
    ) -> set[_PotentialSecret]:
        # The line above may hold an allow-next-line marker.
        above = context.previous_line if context is not None else ""
        # detect-secrets annotates `context` as never None, yet passes None when it has none.
        snippet = _typing.cast(_CodeSnippet, context)
        found: set[_PotentialSecret] = super().analyze_line(
            filename, line, line_number, snippet, above=above
        )
        return found

    def analyze_string(self, string: str, above: str = "") -> Generator[str, None, None]:
        def encoded(text: str) -> bytes:
            return text.rstrip("\r\n").encode("utf-8", "surrogateescape")

        yield from _reportable_tokens(encoded(string), encoded(above))

    def verify(self, secret: str, context: _CodeSnippet | None = None) -> _VerifiedResult:
        """Unverified unless the user opts in with NOTION_LEAKGUARD_VERIFY=1; then the same
        check as `scan --verify`, once per token. Never "verified false": detect-secrets
        drops such findings, and a revoked key that is committed is still a leak."""
        if _os.environ.get("NOTION_LEAKGUARD_VERIFY") != "1":
            return _VerifiedResult.UNVERIFIED
        from notion_leakguard import verify  # HTTP code only once the user opted in

        nearby = "\n".join(context.lines if context is not None else ()).lower()
        if not verify.may_send(
            secret,
            mentions_notion="notion" in nearby,
            verify_all=_os.environ.get("NOTION_LEAKGUARD_VERIFY_ALL") == "1",
        ):
            return _VerifiedResult.UNVERIFIED
        live = _state(secret) == verify.LIVE
        return _VerifiedResult.VERIFIED_TRUE if live else _VerifiedResult.UNVERIFIED


@_functools.cache
def _state(secret: str) -> str:
    from notion_leakguard import verify  # HTTP code only once the user opted in

    return verify.verify({"key": secret}, base=verify.api_base())["key"]
