"""`inventory`: every distinct key that a set of repositories ever held (every ref of their
history, and their working trees), where, since when, and with --verify whether it works."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

from notion_leakguard.errors import LeakguardError, file_errors
from notion_leakguard.inventory import keys, mirror, run
from notion_leakguard.inventory.records import Inventory, Target

_COMMENT = re.compile(r"(^|\s)#.*")  # a whole line, or after a path and a space


def inventory(
    *,
    cwd: str,
    repos: Sequence[str] = (),
    repos_file: str | None = None,
    cache: str | None = None,
    jobs: int | None = None,
    scheduler: str | None = None,
    verify: bool = False,
    verify_all: bool = False,
    progress: run.Progress | None = None,
) -> Inventory:
    """`repos` (local clones, bare repositories or clone URLs) and those `repos_file` lists,
    one a line (relative paths from the file's directory; # starts a comment)."""
    listed = [(location, cwd) for location in repos]
    if repos_file is not None:
        listed += read_list(os.path.join(cwd, repos_file))
    if not listed:
        raise LeakguardError("no repositories: name them, or list them in --repos-file FILE")
    targets: dict[str, Target] = {}
    for location, base in listed:
        target = _target(location, base, cache=None if cache is None else os.path.join(cwd, cache))
        targets.setdefault(_identity(target), target)
    scans = run.scan_all(
        list(targets.values()),
        jobs=jobs,
        scheduler=scheduler,
        verify=verify,
        verify_all=verify_all,
        progress=progress,
    )
    return keys.build(scans)


def read_list(path: str) -> list[tuple[str, str]]:
    """(location, the directory relative paths start from) for each line of the file."""
    with file_errors(f"cannot read {path}"), open(path, "rb") as stream:
        data = stream.read()
    # A BOM (Notepad's UTF-8), CRLF ends, a comment after the path: as a person writes
    # the list. Bytes that are not UTF-8 stay the path's own bytes, as file names may be.
    text = data.removeprefix(b"\xef\xbb\xbf").decode("utf-8", "surrogateescape")
    lines = (_COMMENT.sub("", line).strip() for line in text.splitlines())
    base = os.path.dirname(os.path.abspath(path))
    return [(line, base) for line in lines if line]


def _target(location: str, base: str, *, cache: str | None) -> Target:
    if os.path.isabs(location) or not mirror.is_url(location, base):
        path = os.path.normpath(os.path.join(base, location))
        return Target(location, os.path.abspath(path))
    if cache is None:
        raise LeakguardError(
            f"{mirror.display(location)}: a clone URL needs --cache DIR (where it is mirrored)"
        )
    return Target(mirror.display(location), location, os.path.abspath(cache))


def _identity(target: Target) -> str:
    """One repository named twice (`app`, `./app/`, a symbolic link to it; a URL with and
    without a user name) is scanned, and counted, once."""
    return target.name if target.cache is not None else os.path.realpath(target.location)
