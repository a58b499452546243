"""A key as a file or directory name (`cache/ntn_….json`): found as the scanner finds it in
text, reported at line 0 (the whole file) of the path up to the name holding it."""

from __future__ import annotations

import re
from collections.abc import Callable

from notion_leakguard.findings import Finding
from notion_leakguard.patterns import TOKEN_FORMATS
from notion_leakguard.scanner import scan_bytes

# Every token starts at one of these, or is encoded (an escape, a long run of base64 or
# hex): most paths are passed over by one search.
_ANCHORS = re.compile(
    "|".join(sorted({re.escape(a) for f in TOKEN_FORMATS for a in f.anchors}))
    + r"|[%\\]|[A-Za-z0-9+/=_-]{60}"
)
_SEPARATORS = re.compile(r"[/!]")  # between directories, and between an archive and a member


def in_name(path: str, gate: Callable[[bytes, bool], bool] | None = None) -> list[Finding]:
    """The tokens in `path`, each reported at the path up to the end of the name holding
    it: `cache/ntn_…/a.json` gives `cache/ntn_…`. Line 0; the column is where the token
    starts in that path. A `gate` (accelerator.gate) may rule the path out first."""
    if _ANCHORS.search(path) is None:
        return []
    # A line break in a name is one character of it, not a new line.
    data = path.encode("utf-8", "surrogateescape").replace(b"\n", b" ")
    if gate is not None and not gate(data, False):  # text needles include binary ones
        return []
    found = []
    for finding in scan_bytes(data, path, first_line=0):
        end = _SEPARATORS.search(path, finding.column - 1)
        shown = path if end is None else path[: end.start()]
        found.append(finding._replace(path=shown, line=0, suppressed=None))
    return found
