"""What a push carries, as a history plan: the commits each pushed ref brings that the
other side does not have yet, their new blobs and messages, and the annotated tags pushed.

Three callers describe a push in three ways: git's pre-push hook (`<local ref> <local sha>
<remote ref> <remote sha>` lines; the remote's refs are its remote-tracking refs here), the
pre-commit framework (one ref in its environment), and a server's pre-receive hook (`<old>
<new> <ref>` lines; what the server has is every ref it holds before the push).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from notion_leakguard import git
from notion_leakguard.errors import LeakguardError
from notion_leakguard.sources import history


class RefUpdate(NamedTuple):
    ref: str  # the ref as it will be named on the receiving side
    new: str  # what it will point at; all zeros: deleted
    old: str  # what it pointed at there; all zeros: a new ref


def is_zero(sha: str) -> bool:
    return not sha.strip("0")


def parse_pre_push(text: bytes) -> list[RefUpdate]:
    """git's pre-push standard input."""
    updates = []
    for line in text.decode(errors="replace").splitlines():
        if not line.strip():
            continue
        parts = line.rsplit(maxsplit=3)
        if len(parts) != 4 or not all(_is_sha(p) for p in (parts[1], parts[3])):
            raise LeakguardError(f"pre-push: unexpected line on standard input: {line!r}")
        _local_ref, local_sha, remote_ref, remote_sha = parts
        updates.append(RefUpdate(remote_ref, local_sha, remote_sha))
    return updates


def parse_pre_receive(text: bytes) -> list[RefUpdate]:
    """A pre-receive hook's standard input."""
    updates = []
    for line in text.decode(errors="replace").splitlines():
        if not line.strip():
            continue
        parts = line.split(maxsplit=2)
        if len(parts) != 3 or not all(_is_sha(p) for p in parts[:2]):
            raise LeakguardError(f"pre-receive: unexpected line on standard input: {line!r}")
        old, new, ref = parts
        updates.append(RefUpdate(ref, new, old))
    return updates


def from_pre_commit(environ: Mapping[str, str]) -> tuple[list[str], list[str]] | None:
    """For the pre-commit framework's pre-push stage: (tips, commits the remote has). It
    names only the first ref of a push that brings new commits, so every local branch is a
    tip too: whatever else this push carries on a branch is among them. (Not every tag: the
    remote's tags are not known here, and one it has would refuse every push.)"""
    remote = environ.get("PRE_COMMIT_REMOTE_NAME")
    if remote is None:
        return None
    tips = [environ.get("PRE_COMMIT_TO_REF") or environ.get("PRE_COMMIT_LOCAL_BRANCH") or "HEAD"]
    known = [f"--remotes={remote}"]
    if environ.get("PRE_COMMIT_FROM_REF"):
        known.append(environ["PRE_COMMIT_FROM_REF"])
    return [*tips, "--branches"], known


def plan(cwd: str, updates: Sequence[RefUpdate], *, known: Sequence[str]) -> history.Plan | None:
    """The plan for `updates`, against what the other side has: `known` (`--all`,
    `--remotes=NAME`) and each ref's old value, where this repository has it. None when
    nothing is pushed (only deletions)."""
    pushed = [u for u in updates if not is_zero(u.new)]
    if not pushed:
        return None
    olds = [u.old for u in updates if not is_zero(u.old)]
    types = git.object_types(cwd, [*(u.new for u in pushed), *olds])
    missing = [u.new for u in pushed if types.get(u.new) is None]
    if missing:
        raise LeakguardError(f"the pushed object {missing[0]} is not in this repository")
    tips, tags, loose = [], [], []
    for update in pushed:
        oid, kind = update.new, types[update.new]
        while kind == "tag":  # a tag's message is pushed with it, and a tag may name a tag
            tags.append(history.Tag(oid, update.ref))
            oid, kind = git.tag_target(cwd, oid)
        if kind == "commit":
            tips.append(oid)
        elif kind == "blob":  # `git tag NAME BLOB`: the blob itself is pushed
            loose.append(_loose(oid, update.ref, update))
        elif kind == "tree":
            loose += [_loose(blob, path, update) for blob, path in git.tree_blobs(cwd, oid)]
    have = [old for old in olds if types.get(old) is not None]
    found = select(cwd, tips, [*known, *have], tags=tags) if tips else history.empty(tags)
    return found._replace(loose=tuple(loose))


def _loose(blob: str, path: str, update: RefUpdate) -> history.Introduced:
    return history.Introduced(blob, path, update.new, update.ref, "")


def select(
    cwd: str, tips: Sequence[str], known: Sequence[str], *, tags: Sequence[history.Tag] | None
) -> history.Plan:
    return history.select(cwd, [*tips, "--not", *known], tags=tags)


def _is_sha(text: str) -> bool:
    return len(text) in (40, 64) and all(c in "0123456789abcdef" for c in text)
