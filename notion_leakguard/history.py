"""Git history as a source: every blob the chosen commits introduced, each read once.

One `git log --raw` lists, oldest first (parents before children), the blobs each commit
adds or changes, merges included (`-m`: a merge resolution's new blobs appear there); one
`git cat-file --batch` then streams their contents. No process per commit or per file.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator, Sequence
from typing import IO, NamedTuple

from notion_leakguard import git
from notion_leakguard.errors import LeakguardError

_SUBMODULE = b"160000"
_CHUNK = 1 << 20


class Introduced(NamedTuple):
    """A blob and the first commit (in history order) that brought it in."""

    oid: str
    path: str  # at that commit, from the repository root
    commit: str
    author: str
    date: str  # ISO 8601
    order: int  # position in history order: smaller is older


class Plan(NamedTuple):
    blobs: tuple[Introduced, ...]
    notes: tuple[str, ...]


def plan(cwd: str, revisions: Sequence[str], *, all_refs: bool) -> Plan:
    """The blobs to scan for REV-RANGEs (default HEAD), or every ref with all_refs."""
    notes = []
    head = git.run(["rev-parse", "--verify", "-q", "HEAD"], cwd=cwd, check=False)
    if head.returncode and not all_refs and not revisions:
        git.top_level_or_bare(cwd)
        return Plan((), ("no commits yet: there is no history to scan",))
    shallow = git.run(["rev-parse", "--is-shallow-repository"], cwd=cwd).stdout.strip()
    if shallow == b"true":
        notes.append(
            "shallow clone: commits before the shallow boundary were not scanned "
            "(git fetch --unshallow, then scan again)"
        )
    options = ["--all"] if all_refs else []
    selection = [] if all_refs else list(revisions) or ["HEAD"]
    output = git.run(
        [
            *("log", "-z", "--raw", "--no-abbrev", "--no-renames", "--root", "-m"),
            *("--topo-order", "--reverse", "--no-ext-diff", "--no-textconv", "--no-color"),
            "--format=%x01%H%x00%an%x00%aI",
            *options,
            "--end-of-options",
            *selection,
            "--",
        ],
        cwd=cwd,
    ).stdout
    blobs, submodules = _parse_log(output)
    if submodules:
        notes.append(f"{submodules} submodule change(s) skipped: scan each submodule on its own")
    return Plan(tuple(blobs), tuple(notes))


def _parse_log(output: bytes) -> tuple[list[Introduced], int]:
    try:
        return _parse_log_records(output)
    except (ValueError, IndexError, UnicodeDecodeError):
        raise LeakguardError("unexpected output from git log --raw") from None


def _parse_log_records(output: bytes) -> tuple[list[Introduced], int]:
    seen: dict[str, Introduced] = {}
    submodules = 0
    commit = author = date = ""
    fields = iter(output.split(b"\0"))
    for field in fields:
        if field.startswith(b"\x01"):
            commit = field[1:].decode()
            author = next(fields, b"").decode(errors="replace")
            date = next(fields, b"").decode()
            continue
        record = field.lstrip(b"\n")
        if not record.startswith(b":"):
            continue
        _old_mode, new_mode, _old, new, _status = record[1:].split(b" ")
        path = os.fsdecode(next(fields, b""))
        if new_mode == _SUBMODULE:
            submodules += 1
        elif new.strip(b"0"):  # all zeros: deleted
            oid = new.decode()
            if oid not in seen:
                seen[oid] = Introduced(oid, path, commit, author, date, len(seen))
    return list(seen.values()), submodules


def head_blobs(cwd: str) -> set[str]:
    """The blobs of HEAD's tree (empty when there is no HEAD)."""
    result = git.run(["ls-tree", "-r", "-z", "--full-tree", "HEAD"], cwd=cwd, check=False)
    if result.returncode:
        return set()
    blobs = set()
    for entry in result.stdout.split(b"\0"):
        meta, _, _path = entry.partition(b"\t")
        parts = meta.split(b" ")
        if len(parts) == 3 and parts[1] == b"blob":
            blobs.add(parts[2].decode())
    return blobs


def contents(cwd: str, oids: Sequence[str]) -> Iterator[tuple[str, Iterator[bytes]]]:
    """Each blob's bytes, in blocks, from one `git cat-file --batch`. Each block iterator
    must be consumed before the next blob is asked for."""
    try:
        process = subprocess.Popen(
            ["git", "cat-file", "--batch"],
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
    except OSError as error:
        raise LeakguardError(f"could not run git: {error.strerror}") from None
    assert process.stdin is not None and process.stdout is not None
    writer = threading.Thread(target=_feed, args=(process.stdin, oids), daemon=True)
    writer.start()
    try:
        for oid in oids:
            header = process.stdout.readline().split()
            if len(header) != 3 or header[1] != b"blob":
                raise LeakguardError(f"git cat-file: unexpected answer for {oid}: {header!r}")
            yield oid, _blocks(process.stdout, int(header[2]))
    finally:
        process.stdout.close()
        process.kill()
        process.wait()
        writer.join()


def _feed(stdin: IO[bytes], oids: Sequence[str]) -> None:
    try:
        for start in range(0, len(oids), 1024):
            stdin.write("".join(f"{oid}\n" for oid in oids[start : start + 1024]).encode())
        stdin.close()
    except (BrokenPipeError, ValueError):
        pass  # the reader stopped early


def _blocks(stream: IO[bytes], size: int) -> Iterator[bytes]:
    remaining = size
    while remaining:
        block = stream.read(min(_CHUNK, remaining))
        if not block:
            raise LeakguardError("git cat-file ended early")
        remaining -= len(block)
        yield block
    stream.read(1)  # the newline after each object
