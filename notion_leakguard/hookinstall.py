"""A plain git pre-commit hook for people without the pre-commit framework."""

from __future__ import annotations

import os
import shlex
import stat
import sys

from notion_leakguard import git
from notion_leakguard.errors import LeakguardError

MARKER = "# notion-leakguard: generated hook"


def hook_script(python: str) -> str:
    # The interpreter that ran install-hook runs the hook, like pre-commit's own hook does;
    # if it is gone (a deleted virtualenv), the console script on PATH is tried.
    return f"""#!/bin/sh
{MARKER} (notion-leakguard install-hook; remove with --uninstall)
case ",${{SKIP:-}}," in *,notion-leakguard,*) exit 0 ;; esac
if [ -x {shlex.quote(python)} ]; then
    exec {shlex.quote(python)} -m notion_leakguard scan --staged
fi
exec notion-leakguard scan --staged
"""


def hook_path(cwd: str) -> str:
    git.top_level(cwd)
    return os.path.join(git.hooks_dir(cwd), "pre-commit")


def install(cwd: str, *, force: bool = False) -> str:
    """Write the hook; return its path. Refuse to replace a hook we did not write."""
    path = hook_path(cwd)
    if os.path.lexists(path) and not _ours(path) and not force:
        raise LeakguardError(
            f"{path} exists and was not written by notion-leakguard; use --force to replace it"
        )
    os.makedirs(os.path.dirname(path), exist_ok=True)
    try:
        if os.path.islink(path):
            os.unlink(path)
        with open(path, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(hook_script(sys.executable))
        mode = os.stat(path).st_mode
        os.chmod(path, mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    except OSError as error:
        raise LeakguardError(f"cannot write {path}: {error.strerror}") from None
    return path


def uninstall(cwd: str) -> str | None:
    """Remove the hook if we wrote it; return its path, or None when there was none of ours."""
    path = hook_path(cwd)
    if not os.path.lexists(path):
        return None
    if not _ours(path):
        raise LeakguardError(f"{path} was not written by notion-leakguard; left as it is")
    os.unlink(path)
    return path


def _ours(path: str) -> bool:
    try:
        with open(path, encoding="utf-8", errors="replace") as stream:
            return MARKER in stream.read(4096)
    except OSError:
        return False
