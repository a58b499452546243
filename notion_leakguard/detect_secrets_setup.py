"""Set-up help for the detect-secrets plugin, without importing detect-secrets.

detect-secrets records a custom plugin in the baseline as an absolute `file://` path, which
differs between machines. A small shim committed in the repository, named in the baseline
by a relative path, keeps the baseline portable: detect-secrets runs from the repository
root (pre-commit does), loads the shim from there, and writes the path back unchanged.

The baseline also carries detect-secrets' filters, which every `detect-secrets-hook
--baseline` run uses: there its `is_indirect_reference` is swapped for ours
(detect_secrets_filter.py), which lets the plugin see `client = Client(auth="secret_…")`.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from notion_leakguard.baseline import read_json
from notion_leakguard.errors import LeakguardError, file_errors
from notion_leakguard.redaction import redact_text
from notion_leakguard.scanner import previews_in

PLUGIN_MODULE = "notion_leakguard.detect_secrets_plugin"
PLUGIN_CLASS = "NotionTokenDetector"
# detect-secrets names a filter by its module path and function.
STOCK_FILTER = "detect_secrets.filters.heuristic.is_indirect_reference"
OUR_FILTER = "notion_leakguard.detect_secrets_filter.is_indirect_reference_for_other_plugins"

SHIM = f'''"""Loads notion-leakguard's detect-secrets plugin (written by
`notion-leakguard detect-secrets-plugin --shim`). Needs notion-leakguard[detect-secrets]."""

from {PLUGIN_MODULE} import {PLUGIN_CLASS}

__all__ = ["{PLUGIN_CLASS}"]
'''


def plugin_path() -> str:
    """The plugin module's file, to pass to `detect-secrets --plugin`."""
    spec = importlib.util.find_spec(PLUGIN_MODULE)
    if spec is None or spec.origin is None:  # pragma: no cover - the module ships with us
        raise LeakguardError(f"cannot locate {PLUGIN_MODULE}")
    return spec.origin


def detect_secrets_installed() -> bool:
    return importlib.util.find_spec("detect_secrets") is not None


def write_shim(path: str) -> None:
    with file_errors(f"cannot write {path}"):
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(SHIM)


def check_baseline(
    baseline: str, shim: str = "SHIM"
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The baseline and its entries for our plugin; LeakguardError when it has none, or no
    list of filters to set ours in."""
    document = read_json(baseline, "detect-secrets baseline")
    plugins = document.get("plugins_used") if isinstance(document, dict) else None
    entries = [p for p in plugins or [] if isinstance(p, dict) and p.get("name") == PLUGIN_CLASS]
    if not entries:
        raise LeakguardError(
            f"{baseline} does not use the {PLUGIN_CLASS} plugin: create it with "
            f"detect-secrets scan --plugin {shim}"
        )
    if not isinstance(document.get("filters_used"), list):
        raise LeakguardError(
            f"{baseline} has no filters_used list: create it again with "
            f"detect-secrets scan --plugin {shim}"
        )
    return document, entries


def point_baseline_at(baseline: str, shim: str) -> list[str]:
    """Make the baseline name `shim` by a relative path and use our filter in place of
    detect-secrets' is_indirect_reference; return what changed, in words."""
    document, entries = check_baseline(baseline, shim)
    changes = []
    wanted = "file://" + shim.replace(os.sep, "/")
    if any(entry.get("path") != wanted for entry in entries):
        for entry in entries:
            entry["path"] = wanted
        changes.append(f"plugin path set to {shim}")
    filters = document["filters_used"]
    paths = {item.get("path") for item in filters if isinstance(item, dict)}
    if STOCK_FILTER in paths or OUR_FILTER not in paths:
        kept = [f for f in filters if not (isinstance(f, dict) and f.get("path") == STOCK_FILTER)]
        if OUR_FILTER not in paths:
            kept.append({"path": OUR_FILTER})
        # detect-secrets writes them sorted so: an unchanged baseline stays byte for byte.
        document["filters_used"] = sorted(kept, key=lambda f: str(f.get("path", "")).lower())
        changes.append(
            f"filter is_indirect_reference replaced by {OUR_FILTER}; to record the lines "
            "the plugin now sees (x = Client(auth=...)), run: "
            f"detect-secrets scan --baseline {baseline}"
        )
    if changes:
        with open(baseline, "w", encoding="utf-8") as stream:
            stream.write(json.dumps(document, indent=2) + "\n")
    return changes


def audit(arguments: Sequence[str]) -> int:
    """`detect-secrets audit ARGUMENTS` with our plugin registered first: detect-secrets 1.5
    reads a baseline's custom plugins only after it needs their types, and fails
    (Yelp/detect-secrets#611). Reports (--report, --stats, --diff) show Notion tokens only
    as previews; the interactive audit shows the lines it asks about, as detect-secrets does.
    """
    try:
        from detect_secrets.core.plugins.initialize import from_file
        from detect_secrets.main import main
    except ImportError:
        raise LeakguardError(
            "detect-secrets is not installed: pip install 'notion-leakguard[detect-secrets]'"
        ) from None
    from_file(plugin_path())
    if not {"--report", "--stats", "--diff"} & set(arguments):
        return int(main(["audit", *arguments]) or 0)
    captured = io.StringIO()
    try:
        with contextlib.redirect_stdout(captured):
            code = int(main(["audit", *arguments]) or 0)
    except Exception as error:  # detect-secrets' own failures (e.g. not a baseline)
        raise LeakguardError(f"detect-secrets audit failed: {redact_text(str(error))}") from None
    sys.stdout.write(_redacted_report(captured.getvalue()))
    return code


def _redacted_report(text: str) -> str:
    """detect-secrets' report with every string that holds a Notion token (in any form the
    scanner knows: escaped, base64, ...) replaced by a note naming the previews."""
    try:
        document = json.loads(text)
    except ValueError:
        return "".join(_redacted(line) for line in text.splitlines(keepends=True))
    return json.dumps(_walk(document), indent=4) + "\n"


def _walk(value: object) -> object:
    if isinstance(value, str):
        return _redacted(value)
    if isinstance(value, list):
        return [_walk(item) for item in value]
    if isinstance(value, dict):
        walked = {key: _walk(item) for key, item in value.items()}
        secret = value.get("secrets")
        if isinstance(secret, str) and _secret_type() in value.get("types", ()):
            # Our plugin's secret as it stands: a bare old-style cookie has no prefix.
            walked["secrets"] = _redacted(secret, bare=True)
        return walked
    return value


def _secret_type() -> str:
    from notion_leakguard.detect_secrets_plugin import NotionTokenDetector  # detect-secrets

    return NotionTokenDetector.secret_type


def _redacted(text: str, *, bare: bool = False) -> str:
    """`text` with plain tokens shown as previews; a text still holding a token in another
    form (escaped, base64, ...) is replaced by a note naming the previews."""
    shown = redact_text(text)
    previews = previews_in(shown.encode("utf-8", "surrogateescape"))
    if previews:
        ending = "\n" if text.endswith("\n") else ""
        return f"[redacted by notion-leakguard: {', '.join(previews)}]{ending}"
    if bare and shown == text and len(text) > 8:
        return f"{text[:4]}…{text[-4:]}"
    return shown
