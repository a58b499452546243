"""git-lfs pointers: a small text blob that stands for content kept in the LFS store
(https://github.com/git-lfs/git-lfs/blob/main/docs/spec.md)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from itertools import chain

from notion_leakguard.sources import Content, OnDisk

SPEC = b"version https://git-lfs.github.com/spec/v1"
_POINTER = re.compile(
    rb"version https://git-lfs\.github\.com/spec/v1\n(?:.*\n)*?oid sha256:([0-9a-f]{64})\n"
)
_MAX_POINTER = 1024  # the spec's pointers are under 200 bytes


class Store:
    """A repository's LFS objects, found on first use (most blobs are no pointers)."""

    def __init__(self, cwd: str) -> None:
        self.cwd = cwd
        self.directory: str | None = None

    def content(self, blob: bytes | Iterator[bytes]) -> tuple[Content | None, bool]:
        """A blob's content to scan (`blob`: its bytes, or its blocks): the blob itself, or
        for a pointer the LFS object it points at (None when the store lacks it); and
        whether it was a pointer."""
        if isinstance(blob, bytes):
            oid = pointer(blob)
            if oid is None:
                return blob, False
        else:
            first = next(blob, b"")
            oid = pointer(first)
            if oid is None:
                return chain([first], blob), False
            for _rest in blob:  # read to its end: the next object follows in the same stream
                pass
        if self.directory is None:
            from notion_leakguard import git

            self.directory = git.lfs_store(self.cwd)
        stored = os.path.join(self.directory, oid[:2], oid[2:4], oid)
        return (OnDisk(stored) if os.path.isfile(stored) else None), True


def pointer(data: bytes) -> str | None:
    """The sha256 of the LFS object `data` points at, when `data` is a whole pointer."""
    if len(data) > _MAX_POINTER or not data.startswith(SPEC):
        return None
    match = _POINTER.match(data)
    return match.group(1).decode() if match else None
