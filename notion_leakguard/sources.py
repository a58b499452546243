"""Where the bytes come from: which files a scan covers, and reading them in blocks.

Nothing here scans. Inside a git work tree a directory is listed by git (so ignored files
are skipped the way git skips them); elsewhere it is walked. `.git` is never entered and
symbolic links met on a walk are not followed; paths named on the command line always are.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from typing import BinaryIO, NamedTuple, Union

from notion_leakguard import envfiles, git
from notion_leakguard.errors import LeakguardError
from notion_leakguard.findings import Finding, Note, Skipped

BLOCK_SIZE = 1 << 20
_OPEN_NAMED = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
_OPEN_WALKED = _OPEN_NAMED | getattr(os, "O_NOFOLLOW", 0)


class FileEntry(NamedTuple):
    path: str  # what to open
    display: str  # what to report: POSIX, relative to the working directory
    follow_symlinks: bool = False


# What discovery yields: files to scan, and what it found out by itself (dotenv hygiene
# findings, unreadable paths, notes).
Item = Union[FileEntry, Finding, Skipped, Note]

OUTSIDE_GIT_NOTE = Note(
    "dotenv files found outside a git repository: whether git would ignore them was not checked"
)


def discover(
    paths: Sequence[str], *, cwd: str, dotenv: envfiles.DotenvNames = envfiles.STANDARD
) -> Iterator[Item]:
    """The files to scan for PATH arguments (files or directories), lazily, so scanning can
    start while a large tree is still being listed. A missing path fails at once."""
    for argument in paths:
        if not os.path.lexists(os.path.join(cwd, argument)):
            raise LeakguardError(f"{argument}: no such file or directory")
    return _discover(paths, cwd, dotenv)


def _discover(paths: Sequence[str], cwd: str, dotenv: envfiles.DotenvNames) -> Iterator[Item]:
    for argument in paths:
        full = os.path.join(cwd, argument)
        display = display_path(full, cwd=cwd)
        if os.path.isdir(full):
            yield from _directory(full, display, dotenv)
        else:
            yield FileEntry(full, display, follow_symlinks=True)


def display_path(path: str, *, cwd: str) -> str:
    relative = os.path.relpath(path, cwd)
    return relative.replace(os.sep, "/") if os.sep != "/" else relative


def _join(display: str, name: str) -> str:
    return name if display == "." else f"{display}/{name}"


def _directory(directory: str, display: str, dotenv: envfiles.DotenvNames) -> Iterator[Item]:
    if git.work_tree_root(directory) is None:
        yield from _walk(directory, display, dotenv)
        return
    listed = git.listed_files(directory)
    for finding in envfiles.hygiene_findings(listed, cwd=directory, names=dotenv):
        yield finding._replace(path=_join(display, finding.path))
    for item in listed:
        full = os.path.join(directory, item.path)
        shown = _join(display, item.path)
        try:
            info = os.lstat(full)
        except FileNotFoundError:
            continue  # deleted in the work tree but still in the index: nothing to read
        except OSError as error:
            yield Skipped(shown, error.strerror or str(error))
            continue
        if stat.S_ISREG(info.st_mode):
            yield FileEntry(full, shown)
        elif stat.S_ISDIR(info.st_mode):
            yield from _directory(full, shown, dotenv)  # a submodule: its own repository
        elif not stat.S_ISLNK(info.st_mode):
            yield Skipped(shown, "not a regular file")


def _walk(directory: str, display: str, dotenv: envfiles.DotenvNames) -> Iterator[Item]:
    try:
        with os.scandir(directory) as entries:
            children = sorted(entries, key=lambda entry: entry.name)
    except OSError as error:
        yield Skipped(display, error.strerror or str(error))
        return
    for entry in children:
        shown = _join(display, entry.name)
        try:
            if entry.is_symlink():
                continue
            if entry.is_dir(follow_symlinks=False):
                if entry.name != ".git":
                    yield from _walk(entry.path, shown, dotenv)
            elif entry.is_file(follow_symlinks=False):
                yield FileEntry(entry.path, shown)
                if dotenv.matches(entry.name):
                    yield OUTSIDE_GIT_NOTE
            elif entry.name != ".git":
                yield Skipped(shown, "not a regular file")
        except OSError as error:
            yield Skipped(shown, error.strerror or str(error))


def read_blocks(entry: FileEntry, block_size: int = BLOCK_SIZE) -> Iterator[bytes]:
    """The file's bytes in blocks. Raises OSError, or IsADirectoryError-like errors, when the
    file cannot be read; opening never blocks on a FIFO."""
    descriptor = os.open(entry.path, _OPEN_NAMED if entry.follow_symlinks else _OPEN_WALKED)
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(0, "not a regular file")
        # Ask for the expected size (plus one byte to see the end): os.read allocates what
        # it is asked for, and a block-sized buffer per small file costs more than the scan.
        size = min(info.st_size + 1, block_size)
        while True:
            block = os.read(descriptor, size)
            if not block:
                return
            yield block
            if len(block) == info.st_size:
                return  # all fstat saw, in one read: taken as it was (later appends unread)
            size = block_size
    finally:
        os.close(descriptor)


def read_stream(stream: BinaryIO, block_size: int = BLOCK_SIZE) -> Iterator[bytes]:
    while True:
        block = stream.read(block_size)
        if not block:
            return
        yield block
