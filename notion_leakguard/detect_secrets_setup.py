"""Set-up help for the detect-secrets plugin, without importing detect-secrets.

detect-secrets records a custom plugin in the baseline as an absolute `file://` path, which
differs between machines. A small shim committed in the repository, named in the baseline
by a relative path, keeps the baseline portable: detect-secrets runs from the repository
root (pre-commit does), loads the shim from there, and writes the path back unchanged.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import sys
from collections.abc import Sequence

from notion_leakguard.errors import LeakguardError
from notion_leakguard.scanner import redact_tokens

PLUGIN_MODULE = "notion_leakguard.detect_secrets_plugin"
PLUGIN_CLASS = "NotionTokenDetector"

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
    try:
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(SHIM)
    except OSError as error:
        raise LeakguardError(f"cannot write {path}: {error.strerror}") from None


def point_baseline_at(baseline: str, shim: str) -> bool:
    """Make the baseline's entry for our plugin name `shim` by a relative path; return
    whether the file changed."""
    try:
        with open(baseline, encoding="utf-8") as stream:
            document = json.load(stream)
    except OSError as error:
        raise LeakguardError(f"cannot read {baseline}: {error.strerror}") from None
    except ValueError as error:
        raise LeakguardError(f"{baseline} is not a detect-secrets baseline: {error}") from None
    plugins = document.get("plugins_used") if isinstance(document, dict) else None
    entries = [p for p in plugins or [] if isinstance(p, dict) and p.get("name") == PLUGIN_CLASS]
    if not entries:
        raise LeakguardError(
            f"{baseline} does not use the {PLUGIN_CLASS} plugin: create it with "
            f"detect-secrets scan --plugin {shim}"
        )
    wanted = "file://" + shim.replace(os.sep, "/")
    if all(entry.get("path") == wanted for entry in entries):
        return False
    for entry in entries:
        entry["path"] = wanted
    with open(baseline, "w", encoding="utf-8") as stream:
        stream.write(json.dumps(document, indent=2) + "\n")
    return True


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
    with contextlib.redirect_stdout(captured):
        code = int(main(["audit", *arguments]) or 0)
    sys.stdout.write(redact_tokens(captured.getvalue().encode()).decode())
    return code
