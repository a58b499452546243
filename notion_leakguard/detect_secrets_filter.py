"""A detect-secrets filter that lets the Notion plugin see the Notion SDK's own first line.

detect-secrets 1.5 runs its line filters before any plugin sees a line, and its default
`is_indirect_reference` drops every line shaped like `x = f(...)` or `x = y[...]`: meant for
`secret = get_secret_key()`, it also drops `client = Client(auth="secret_…")`. A baseline
names this filter in its place (`notion-leakguard detect-secrets-plugin --baseline` swaps
them). It drops the same lines, except those holding a Notion token; on those, the other
plugins' findings are dropped one by one, so only the Notion plugin's stay.
"""

from __future__ import annotations

from detect_secrets.filters.heuristic import is_indirect_reference

from notion_leakguard.detect_secrets_plugin import NotionTokenDetector
from notion_leakguard.scanner import reportable_tokens


def is_indirect_reference_for_other_plugins(
    line: str, secret: str | None = None, plugin: object = None
) -> bool:
    """detect-secrets injects the arguments a filter names: `line` alone while it decides
    whether to run the plugins on a line, then `secret` and `plugin` too for each secret a
    plugin found there."""
    if not is_indirect_reference(line):
        return False
    if secret is None:
        return not reportable_tokens(line.encode("utf-8", "surrogateescape"))
    # By secret type, not class: a plugin loaded by file path is a class of its own.
    return getattr(plugin, "secret_type", None) != NotionTokenDetector.secret_type
