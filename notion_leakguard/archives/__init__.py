"""What is inside compressed files, bounded: a fragment's bytes as the members to scan.

Only content whose first bytes say it is an archive is opened (gzip, bzip2, xz, zip and
the formats built on zip: jar, wheel, xlsx, docx, pptx; tar, plain or compressed); the
rest passes through untouched, at the cost of one look at the first block. Members are
read as streams, in memory, never written to disk. Three limits keep a decompression
bomb cheap (each cut is a note the reports show):

- EXPANDED: the bytes expanded from one file, all members and nesting levels together;
- RATIO: past FREE bytes, a stream may not expand to more than RATIO times what it read;
- DEPTH: archives inside archives are opened this many levels deep.

A zip needs random access: a file on disk is opened again by its path; bytes from git (a
blob, a member) are held in memory up to BUFFERED, a larger zip from git is scanned as
plain bytes with a note. A member is named `archive.zip!dir/file`, nested ones
`a.zip!inner.tar.gz!x/.env`; a compressed single file `env.bak.gz!env.bak`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from notion_leakguard.findings import Note
from notion_leakguard.sources import Content, OnDisk

__all__ = ["DEPTH", "Piece", "kind", "pieces"]

DEPTH = 3
SNIFF = 512  # a tar header: its magic is at offset 257
# Programs a self-extracting zip is appended to: Windows and ELF executables, scripts.
_STUBS = (b"MZ", b"\x7fELF", b"#!")
GZIP, BZIP2, XZ, ZIP, TAR = "gzip", "bzip2", "xz", "zip", "tar"


class Piece(NamedTuple):
    """Bytes to scan, and the path to report for them."""

    path: str
    blocks: Iterable[bytes]


def kind(head: bytes) -> str | None:
    """The archive format the first bytes announce, or None."""
    if head[:2] == b"\x1f\x8b":
        return GZIP
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return ZIP
    if head[:6] == b"\xfd7zXZ\x00":
        return XZ
    if head[:3] == b"BZh" and head[4:10] in (b"1AY&SY", b"\x17rE8P\x90"):
        return BZIP2
    if head[257:262] == b"ustar":
        return TAR
    return None


def pieces(
    path: str, blocks: Iterable[bytes], notes: list[Note], content: Content | None = None
) -> Iterator[Piece]:
    """The fragment at `path` as pieces to scan: itself when it is no archive, else its
    members (and theirs). `content`: where the bytes are, when a file can be opened again.
    What a limit or a damaged archive cut short is added to `notes`."""
    iterator = iter(blocks)
    head = next(iterator, b"")
    found = kind(head) if len(head) >= SNIFF else None
    if found is None and len(head) < SNIFF:
        head, iterator = _joined(head, iterator)
        found = kind(head)
    if found is None:
        yield Piece(path, itertools.chain((head,), iterator) if head else ())
        if isinstance(content, OnDisk) and (head[:2] in _STUBS or head[:4] in _STUBS):
            from notion_leakguard.archives import expand

            yield from expand.appended_zip(path, content, notes)
        return
    from notion_leakguard.archives import expand  # only now: tarfile and zipfile cost 4 ms

    on_disk = content if isinstance(content, OnDisk) else None
    kept = _Kept(iterator, 0 if on_disk else expand.BUFFERED)
    yield from expand.opened(path, found, head, iter(kept), notes, on_disk)
    # A reader may stop before the end (a tar's end marker, a zip's directory): the rest
    # is read all the same (a git blob's stream must be used up before the next object).
    kept.drain()
    # The container's own bytes are scanned too, as they are: a zip comment, what was
    # appended to an archive or joined after it, a tar whose damaged header stopped the
    # reader. (The pipeline drops what a member already reported.)
    if on_disk is not None:
        from notion_leakguard.sources import read_file

        yield Piece(path, read_file(on_disk))
    elif kept.whole:
        yield Piece(path, itertools.chain((head,), kept.blocks))
    else:
        notes.append(
            Note(
                f"{path}: an archive over {expand.BUFFERED >> 20} MiB read from git: its "
                "members were scanned, its own bytes beyond them (comments, appended data) not"
            )
        )


def _joined(head: bytes, iterator: Iterator[bytes]) -> tuple[bytes, Iterator[bytes]]:
    """The first SNIFF bytes, however the stream was cut."""
    parts = [head]
    size = len(head)
    while size < SNIFF:
        block = next(iterator, None)
        if block is None:
            break
        parts.append(block)
        size += len(block)
    return b"".join(parts), iterator


class _Kept:
    """The blocks an archive reader takes, kept (up to `limit` bytes) so that the
    container's own bytes can be scanned after its members."""

    def __init__(self, iterator: Iterator[bytes], limit: int) -> None:
        self.iterator = iterator
        self.limit = limit
        self.blocks: list[bytes] = []
        self.size = 0
        self.whole = limit > 0

    def __iter__(self) -> Iterator[bytes]:
        for block in self.iterator:
            self._keep(block)
            yield block

    def drain(self) -> None:
        for block in self.iterator:
            self._keep(block)

    def _keep(self, block: bytes) -> None:
        if not self.whole:
            return
        self.size += len(block)
        if self.size > self.limit:
            self.whole = False
            self.blocks = []
        else:
            self.blocks.append(block)
