"""A detect-secrets plugin: Notion credentials, found by notion-leakguard's own scanner.

    detect-secrets scan --plugin "$(notion-leakguard detect-secrets-plugin)"

detect-secrets imports this file by path and registers every public plugin class in it,
so this module defines exactly one public name; everything it imports is private. The
detection is the scanner's (same patterns, boundaries, placeholder filter and inline
allow markers): nothing here is a second copy of a rule.
"""

from __future__ import annotations

from collections.abc import Generator

from detect_secrets.constants import VerifiedResult as _VerifiedResult
from detect_secrets.plugins.base import BasePlugin as _BasePlugin

from notion_leakguard.scanner import token_spans as _token_spans


class NotionTokenDetector(_BasePlugin):
    """Notion integration tokens (ntn_…, legacy secret_…) and token_v2 session cookies."""

    # Baselines key on this: it never changes.
    secret_type = "Notion API Token"

    def analyze_string(self, string: str) -> Generator[str, None, None]:
        data = string.encode("utf-8", "surrogateescape")
        for span in _token_spans(data):
            if not span.allowed:
                yield data[span.start : span.end].decode("ascii")

    def verify(self, secret: str) -> _VerifiedResult:
        """Never "verified false": detect-secrets drops such findings, and a revoked key that
        is committed is still a leak. No key leaves the machine from here."""
        return _VerifiedResult.UNVERIFIED
