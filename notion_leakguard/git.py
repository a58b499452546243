"""The only module that runs git. Machine-readable output only (-z), user config neutralised."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence

from notion_leakguard.errors import LeakguardError

# Options that make output independent of the user's configuration.
_NEUTRAL = ("-c", "core.quotepath=false", "-c", "color.ui=false")


def run(args: Sequence[str], *, cwd: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    """Run `git ARGS` in `cwd`; raise LeakguardError if git is missing or (with check) fails."""
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}
    try:
        result = subprocess.run(
            ["git", *_NEUTRAL, *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            check=False,
        )
    except FileNotFoundError:
        raise LeakguardError("git is not installed or not on PATH") from None
    except OSError as error:
        raise LeakguardError(f"could not run git: {error.strerror}") from None
    if check and result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip() or f"exit {result.returncode}"
        raise LeakguardError(f"git {args[0]} failed: {message}")
    return result


def work_tree_root(directory: str) -> str | None:
    """The top of the work tree holding `directory`, or None (not a repository, no git)."""
    try:
        result = run(["rev-parse", "--show-toplevel"], cwd=directory, check=False)
    except LeakguardError:
        return None
    if result.returncode != 0:
        return None
    return os.fsdecode(result.stdout.rstrip(b"\n")) or None


def listed_files(directory: str) -> list[str]:
    """Files below `directory` that git does not ignore (tracked or untracked), relative to it."""
    out = run(
        ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=directory
    ).stdout
    return list(dict.fromkeys(os.fsdecode(name) for name in out.split(b"\0") if name))
