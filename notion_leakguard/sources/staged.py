"""The staged changes as a source: the lines the next commit adds, with their line numbers
in the staged version of the file, read from the index (never from the work tree). Paths
are relative to the repository root.

What a patch cannot show line by line is read whole from the index, in blocks: files over
PATCH_LIMIT (memory stays bounded whatever is staged), binary and UTF-16/32 files (their
lines are not text lines), and git-lfs pointers (the content is in the LFS store). For
those, a token counts as added when the version at HEAD did not hold it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from notion_leakguard import git
from notion_leakguard.errors import LeakguardError
from notion_leakguard.findings import Note
from notion_leakguard.sources import Fragment, lfs

PATCH_LIMIT = 4 << 20

_HUNK = re.compile(rb"@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")
_SUBMODULE_MODE = b"160000"


class Whole(NamedTuple):
    """A staged file read whole: its blob in the index, and at HEAD (None: a new file)."""

    path: str
    new: str
    old: str | None


class StagedChanges(NamedTuple):
    # Consecutive added lines of one file, joined by newlines, after the unchanged line above
    # them when there is one (context for inline markers: `first_reported` is past it).
    chunks: tuple[Fragment, ...]
    paths: tuple[str, ...]  # every path the commit adds or changes (not deletions)
    whole: tuple[Whole, ...] = ()  # files read whole instead (see the module's docstring)


class _Entry(NamedTuple):
    path: str
    status: str
    submodule: bool
    old: str = ""
    new: str = ""


def staged_changes(cwd: str) -> StagedChanges:
    return parse(git.staged_diff(cwd, binary_over=PATCH_LIMIT))


def previous(cwd: str, whole: Sequence[Whole]) -> Iterator[Fragment | Note]:
    """The HEAD versions of files read whole: what they held is not added by this commit."""
    return _blobs(cwd, [(w.path, w.old) for w in whole if w.old is not None])


def current(cwd: str, whole: Sequence[Whole]) -> Iterator[Fragment | Note]:
    """The staged versions of files read whole."""
    return _blobs(cwd, [(w.path, w.new) for w in whole])


def _blobs(cwd: str, wanted: list[tuple[str, str]]) -> Iterator[Fragment | Note]:
    objects = git.contents(cwd, [oid for _path, oid in wanted]) if wanted else iter(())
    store = lfs.Store(cwd)
    for (path, _oid), (_spec, blocks) in zip(wanted, objects):
        if blocks is None:
            continue  # not in the object store: nothing git would commit from it either
        content, _pointer = store.content(blocks)
        if content is None:
            yield Note(f"{path}: its git-lfs content is not in .git/lfs/objects: not scanned")
        else:
            yield Fragment(path, content)


def _not_lines(data: object) -> bool:
    """Added lines that are no text lines (NUL bytes), or a git-lfs pointer."""
    return isinstance(data, bytes) and (b"\0" in data or lfs.SPEC in data)


def parse(output: bytes) -> StagedChanges:
    """Parse `git diff --cached --raw --patch -z` (see git.staged_diff)."""
    try:
        entries, patch = _raw_entries(output)
    except (ValueError, IndexError, UnicodeDecodeError):
        raise LeakguardError("unexpected output from git diff --cached") from None
    sections = _sections(patch)
    expected = sum({"T": 2, "U": 0}.get(e.status, 1) for e in entries)
    if len(sections) != expected:
        raise LeakguardError(
            f"unexpected output from git diff: {len(sections)} patches for {expected} changes"
        )
    chunks: list[Fragment] = []
    whole: list[Whole] = []
    index = 0
    for entry in entries:
        count = {"T": 2, "U": 0}.get(entry.status, 1)
        mine = sections[index : index + count]
        index += count
        if entry.submodule or entry.status in ("D", "U"):
            continue
        added = [chunk for section in mine for chunk in _added_chunks(entry.path, section)]
        if any(map(_binary, mine)) or any(_not_lines(chunk.content) for chunk in added):
            whole.append(Whole(entry.path, entry.new, entry.old if entry.old.strip("0") else None))
        else:
            chunks += added
    paths = tuple(e.path for e in entries if e.status not in ("D", "U") and not e.submodule)
    return StagedChanges(tuple(chunks), paths, tuple(whole))


def _binary(section: list[bytes]) -> bool:
    """git's patch for a file it will not diff as text: binary data, or over the size
    limit (see git.staged_diff)."""
    return any(line.startswith(b"Binary files ") and line.endswith(b" differ") for line in section)


def _raw_entries(output: bytes) -> tuple[list[_Entry], bytes]:
    entries = []
    position = 0
    while output.startswith(b":", position):
        end = output.index(b"\0", position)
        fields = output[position + 1 : end].split(b" ")
        status = fields[-1][:1].decode()
        paths = []
        for _ in range(2 if status in ("R", "C") else 1):
            start, end = end + 1, output.index(b"\0", end + 1)
            paths.append(output[start:end])
        entries.append(
            _Entry(
                path=os.fsdecode(paths[-1]),
                status=status,
                submodule=fields[1] == _SUBMODULE_MODE,
                old=fields[2].decode(),
                new=fields[3].decode(),
            )
        )
        position = end + 1
    if output.startswith(b"\0", position):
        position += 1
    return entries, output[position:]


def _sections(patch: bytes) -> list[list[bytes]]:
    sections: list[list[bytes]] = []
    for line in patch.split(b"\n"):
        if line.startswith(b"diff --git "):
            sections.append([])
        elif sections:
            sections[-1].append(line)
    return sections


def _added_chunks(path: str, section: list[bytes]) -> Iterator[Fragment]:
    in_hunk = False
    line_number = 0
    run: list[bytes] = []
    run_start = 0
    context: tuple[int, bytes] | None = None  # the last unchanged line seen
    for line in section:
        if run and not (in_hunk and line.startswith((b"+", b"\\"))):
            yield _chunk(path, run_start, run, context)
            run = []
        hunk = _HUNK.match(line)
        if hunk:
            in_hunk, line_number, context = True, int(hunk.group(1)), None
        elif in_hunk and line.startswith(b"+"):
            if not run:
                run_start = line_number
            run.append(line[1:])
            line_number += 1
        elif in_hunk and (line.startswith(b" ") or not line):
            context = (line_number, line[1:])  # an empty line: a blank one, its space dropped
            line_number += 1
        # "-" lines take no line number; "\ No newline at end of file" ends nothing
    if run:
        yield _chunk(path, run_start, run, context)


def _chunk(
    path: str, start: int, added: list[bytes], context: tuple[int, bytes] | None
) -> Fragment:
    if context is not None and context[0] == start - 1:
        return Fragment(path, b"\n".join([context[1], *added]), start - 1, start)
    return Fragment(path, b"\n".join(added), start, start)
