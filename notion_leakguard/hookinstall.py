"""Plain git hooks (pre-commit, commit-msg, pre-push) for people without the pre-commit
framework: put them in the hooks directory git uses, next to the user's own, and take them out
again."""

from __future__ import annotations

import contextlib
import os
import shlex
import stat
import sys
from typing import NamedTuple

from notion_leakguard import git
from notion_leakguard.errors import LeakguardError

HOOK_TYPES = ("pre-commit", "commit-msg", "pre-push")
MARKER = "# notion-leakguard: generated hook"
BACKUP_SUFFIX = ".notion-leakguard-backup"
MISSING = (
    "notion-leakguard: the hook cannot find notion-leakguard (its virtualenv was removed?): "
    "reinstall it, or run 'notion-leakguard install-hook --uninstall'"
)

# What each hook runs after `notion-leakguard`: git passes commit-msg the message file, and
# pre-push REMOTE URL with the ref lines on stdin, which exec hands through.
_COMMANDS = {
    "pre-commit": "scan --staged",
    "commit-msg": 'hook -- "$1"',
    "pre-push": 'pre-push "$@"',
}
# The hook ids of .pre-commit-hooks.yaml, so one SKIP works with and without the framework.
_SKIP_IDS = {
    "pre-commit": ("notion-leakguard",),
    "commit-msg": ("notion-leakguard",),
    "pre-push": ("notion-leakguard", "notion-leakguard-push"),
}


class Installed(NamedTuple):
    path: str
    backup: str | None  # where the foreign hook this install replaced was moved


def hook_script(hook_type: str, python: str) -> str:
    # The interpreter that ran install-hook runs the hook, like pre-commit's own hook does;
    # if it is gone (a deleted virtualenv), the console script on PATH is tried, and failing
    # that the hook refuses: a gate that cannot run must not let everything through.
    command = _COMMANDS[hook_type]
    # SKIP is comma-separated; pre-commit strips blanks around each id, so does this.
    skip = "|".join(f"*[,[:space:]]{name}[,[:space:]]*" for name in _SKIP_IDS[hook_type])
    return f"""#!/bin/sh
{MARKER} (notion-leakguard install-hook; remove with --uninstall)
case ",${{SKIP:-}}," in {skip}) exit 0 ;; esac
python={shlex.quote(python)}
if [ -x "$python" ]; then
    exec "$python" -m notion_leakguard {command}
fi
if command -v notion-leakguard >/dev/null 2>&1; then
    exec notion-leakguard {command}
fi
echo "{MISSING}" >&2
exit 2
"""


def hook_paths(cwd: str) -> list[str]:
    """Where git looks for each of HOOK_TYPES in the repository holding `cwd`."""
    # Asked from the top of the work tree: a relative core.hooksPath is relative to it.
    hooks = git.hooks_dir(git.top_level(cwd))
    return [os.path.join(hooks, hook_type) for hook_type in HOOK_TYPES]


def install(cwd: str, *, force: bool = False) -> list[Installed]:
    """Write the three hooks, replacing earlier ones of ours. A hook we did not write is
    refused, or with `force` moved to PATH.notion-leakguard-backup, which is never overwritten.
    Any refusal comes before anything is written."""
    paths = hook_paths(cwd)
    foreign = [path for path in paths if os.path.lexists(path) and not _ours(path)]
    if foreign and not force:
        raise LeakguardError(
            f"not written by notion-leakguard: {', '.join(foreign)}; use --force to replace them "
            f"(each is kept as <hook>{BACKUP_SUFFIX})"
        )
    taken = [path + BACKUP_SUFFIX for path in foreign if os.path.lexists(path + BACKUP_SUFFIX)]
    if taken:
        raise LeakguardError(f"a backup is already there: {', '.join(taken)}; move it away first")
    written: list[str] = []
    path = os.path.dirname(paths[0])
    try:
        os.makedirs(path, exist_ok=True)
        # Every script is written before any hook is touched, and each lands with a rename:
        # a commit running meanwhile never reads half a hook.
        for hook_type, path in zip(HOOK_TYPES, paths):
            written.append(_write_executable(path, hook_script(hook_type, sys.executable)))
        installed = []
        for path, new in zip(paths, written):
            backup = path + BACKUP_SUFFIX if path in foreign else None
            if backup:
                os.rename(path, backup)
            os.replace(new, path)
            installed.append(Installed(path, backup))
    except OSError as error:
        raise LeakguardError(f"cannot write {path}: {error.strerror}") from None
    finally:
        for new in written:
            with contextlib.suppress(OSError):
                os.unlink(new)
    return installed


def uninstall(cwd: str) -> list[str]:
    """Remove our hooks and put back what install replaced; one message per hook acted on.
    A hook we did not write is left alone, and said so."""
    messages = []
    for path in hook_paths(cwd):
        backup = path + BACKUP_SUFFIX
        present, kept = os.path.lexists(path), os.path.lexists(backup)
        if present and not _ours(path):
            also = f" ({backup} kept)" if kept else ""
            messages.append(f"{path} was not written by notion-leakguard; left as it is{also}")
            continue
        try:
            if present:
                os.unlink(path)
            if kept:
                os.rename(backup, path)
        except OSError as error:
            raise LeakguardError(f"cannot remove {path}: {error.strerror}") from None
        if kept:
            messages.append(f"restored {path} from {backup}")
        elif present:
            messages.append(f"removed {path}")
    return messages


def _write_executable(path: str, text: str) -> str:
    new = f"{path}.notion-leakguard-{os.getpid()}"
    # 0o777 less the umask, as git's own hooks get; then executable wherever readable.
    with open(os.open(new, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o777), "wb") as stream:
        stream.write(os.fsencode(text))  # the python path as the file system spells it
    mode = os.stat(new).st_mode
    os.chmod(new, mode | (mode & (stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)) >> 2)
    return new


def _ours(path: str) -> bool:
    try:
        with open(path, encoding="utf-8", errors="replace") as stream:
            return MARKER in stream.read(4096)
    except OSError:
        return False
