"""Where the bytes come from. Every source yields the same record, a `Fragment`: where its
bytes are, the path to report, its first line, and what to attribute a finding to. One
pipeline (`pipeline.scan`) reads any stream of them. Nothing in this package scans.

- `files`: files and directories named on the command line (and standard input);
- `staged`: the lines the next commit adds, read from the index;
- `history`: every blob and message a range of commits brings, each once.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from typing import BinaryIO, NamedTuple, Union

from notion_leakguard.findings import Note, Origin, Skipped

BLOCK_SIZE = 1 << 20
_OPEN_NAMED = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
_OPEN_WALKED = _OPEN_NAMED | getattr(os, "O_NOFOLLOW", 0)


class OnDisk(NamedTuple):
    """Bytes still in a file: read in blocks by whichever process scans them."""

    path: str  # what to open
    follow_symlinks: bool = False  # a path named on the command line is followed


# The bytes themselves (staged lines, a message), a file to read, or a stream read once in
# order (a git blob). The first two can travel to a worker process; a stream cannot.
Content = Union[bytes, OnDisk, Iterable[bytes]]

FILE, COMMIT_MESSAGE, TAG_MESSAGE, NOTE = "file", "commit message", "tag message", "git note"


class Fragment(NamedTuple):
    path: str  # what to report: POSIX, relative to the directory the source states
    content: Content
    first_line: int = 1  # line number of the content's first line
    first_reported: int = 1  # findings above this line are context (staged), not reported
    origin: Origin | None = None  # the commit or tag that brought the bytes (history)
    at_head: bool = False  # the same bytes are in HEAD's tree (history)
    kind: str = FILE  # what the bytes are: a file, or a commit, tag or note message


# What a source yields: fragments to scan, and what it found out by itself.
Item = Union[Fragment, Skipped, Note]


def blocks(content: Content, block_size: int = BLOCK_SIZE) -> Iterable[bytes]:
    """The content's bytes, in blocks. Raises OSError when a file cannot be read."""
    if isinstance(content, bytes):
        return (content,)
    if isinstance(content, OnDisk):
        return read_file(content, block_size)
    return content


def read_file(entry: OnDisk, block_size: int = BLOCK_SIZE) -> Iterator[bytes]:
    """The file's bytes in blocks. Raises OSError when it cannot be read (also for anything
    that is not a regular file); opening never blocks on a FIFO."""
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
