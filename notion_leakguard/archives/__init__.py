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

import io
import itertools
import os
import stat
import struct
import tarfile
import zipfile
from collections.abc import Iterable, Iterator
from typing import IO, NamedTuple, cast

from notion_leakguard.archives.streams import (
    DAMAGED,
    EXPANDED,
    FREE,
    RATIO,
    UNREADABLE,
    Budget,
    Counted,
    Guarded,
    Gunzip,
    Prefixed,
    Readable,
    Reader,
    chunks,
    guarded_blocks,
    read_exactly,
    reason,
)
from notion_leakguard.findings import Note
from notion_leakguard.sources import Content, OnDisk

__all__ = ["BUFFERED", "DEPTH", "EXPANDED", "FREE", "RATIO", "Piece", "kind", "pieces"]

DEPTH = 3
BUFFERED = 64 << 20
_SNIFF = 512  # a tar header: its magic is at offset 257
# Programs a self-extracting zip is appended to: Windows and ELF executables, scripts.
_STUBS = (b"MZ", b"\x7fELF", b"#!")
_TAIL = 1024  # where a zip's end record is looked for (a zip comment may push it back)

_GZIP, _BZIP2, _XZ, _ZIP, _TAR = "gzip", "bzip2", "xz", "zip", "tar"
_SUFFIXES = {
    _GZIP: ((".tgz", ".tar"), (".gz", ""), (".z", "")),
    _BZIP2: ((".tbz2", ".tar"), (".tbz", ".tar"), (".bz2", "")),
    _XZ: ((".txz", ".tar"), (".xz", "")),
}


class Piece(NamedTuple):
    """Bytes to scan, and the path to report for them."""

    path: str
    blocks: Iterable[bytes]


def kind(head: bytes) -> str | None:
    """The archive format the first bytes announce, or None."""
    if head[:2] == b"\x1f\x8b":
        return _GZIP
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return _ZIP
    if head[:6] == b"\xfd7zXZ\x00":
        return _XZ
    if head[:3] == b"BZh" and head[4:10] in (b"1AY&SY", b"\x17rE8P\x90"):
        return _BZIP2
    if head[257:262] == b"ustar":
        return _TAR
    return None


def pieces(
    path: str, blocks: Iterable[bytes], notes: list[Note], content: Content | None = None
) -> Iterator[Piece]:
    """The fragment at `path` as pieces to scan: itself when it is no archive, else its
    members (and theirs). `content`: where the bytes are, when a file can be opened again.
    What a limit or a damaged archive cut short is added to `notes`."""
    iterator = iter(blocks)
    head = next(iterator, b"")
    found = kind(head) if len(head) >= _SNIFF else None
    if found is None and len(head) < _SNIFF:
        head, iterator = _joined(head, iterator)
        found = kind(head)
    if found is None:
        yield Piece(path, itertools.chain((head,), iterator) if head else ())
        if isinstance(content, OnDisk) and (head[:2] in _STUBS or head[:4] in _STUBS):
            yield from _appended_zip(path, content, notes)
        return
    budget = Budget(notes, path)
    on_disk = content if isinstance(content, OnDisk) else None
    yield from _expand(path, found, head, iterator, budget, 1, on_disk)


def _appended_zip(path: str, entry: OnDisk, notes: list[Note]) -> Iterator[Piece]:
    """The members of a zip appended to a program (a self-extracting archive: an .exe, an
    ELF or a shell script with the zip after it), once its end record is there."""
    try:
        if not stat.S_ISREG(os.stat(entry.path).st_mode):
            return
        with _open(entry) as stream:
            stream.seek(0, os.SEEK_END)
            stream.seek(max(0, stream.tell() - _TAIL))
            if b"PK\x05\x06" not in stream.read():
                return
            stream.seek(0)
            _open_zip(stream).close()
    except DAMAGED:  # OSError among them
        return  # a program that only looks as if a zip ended it
    yield from _zip(path, b"", iter(()), Budget(notes, path), 1, entry)


def _joined(head: bytes, iterator: Iterator[bytes]) -> tuple[bytes, Iterator[bytes]]:
    """The first _SNIFF bytes, however the stream was cut."""
    parts = [head]
    size = len(head)
    while size < _SNIFF:
        block = next(iterator, None)
        if block is None:
            break
        parts.append(block)
        size += len(block)
    return b"".join(parts), iterator


def _expand(
    path: str,
    found: str,
    head: bytes,
    rest: Iterator[bytes],
    budget: Budget,
    depth: int,
    on_disk: OnDisk | None = None,
) -> Iterator[Piece]:
    if depth > DEPTH:
        budget.note(
            f"{path}: an archive nested more than {DEPTH} deep: not opened, its bytes were "
            "scanned as they are"
        )
        yield Piece(path, itertools.chain((head,), rest))
        return
    if found == _ZIP:
        yield from _zip(path, head, rest, budget, depth, on_disk)
        return
    raw = Reader(itertools.chain((head,), rest))
    try:
        if found == _TAR:
            yield from _tar(path, raw, budget, depth)
            return
        stream = _decompressor(found, raw)
        inner = Guarded(stream, raw, budget, path)
        first = inner.read(_SNIFF)
        nested = kind(first)
        if nested == _TAR:
            yield from _tar(path, Prefixed(first, inner), budget, depth)
        elif nested is not None:
            member = f"{path}!{_inner_name(path, found)}"
            yield from _expand(member, nested, first, chunks(inner), budget, depth + 1)
        else:
            member = f"{path}!{_inner_name(path, found)}"
            yield Piece(member, guarded_blocks(first, inner, budget, path))
    except DAMAGED as error:
        budget.damaged(f"{path}: a damaged {found} archive ({reason(error)}): scanned up to there")


def _decompressor(found: str, raw: Reader) -> Readable:
    # Imported on first use: most scans meet no compressed file.
    source = cast("IO[bytes]", raw)
    if found == _GZIP:
        return Gunzip(raw)
    if found == _BZIP2:
        import bz2

        return bz2.BZ2File(source)
    import lzma

    return lzma.LZMAFile(source)


def _inner_name(path: str, found: str) -> str:
    """What gunzip would call the file: `env.bak.gz` holds `env.bak`."""
    name = path.rpartition("!")[2].rpartition("/")[2]
    for suffix, replacement in _SUFFIXES.get(found, ()):
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)] + replacement
    return name


def _tar(path: str, stream: Readable, budget: Budget, depth: int) -> Iterator[Piece]:
    with tarfile.open(fileobj=cast("IO[bytes]", stream), mode="r|") as archive:
        while True:
            info = archive.next()
            if info is None:
                return
            archive.members.clear()  # type: ignore[attr-defined] # else it keeps every header
            if not info.isreg():  # a directory or link: only its name is a place
                yield Piece(f"{path}!{info.name}", ())
                continue
            member = archive.extractfile(info)
            if member is None:  # pragma: no cover (a regular file always has a stream)
                continue
            yield from _member(f"{path}!{info.name}", member, budget, depth)


def _member(name: str, stream: Readable, budget: Budget, depth: int) -> Iterator[Piece]:
    """A member as a piece, or the pieces of the archive it is."""
    first = read_exactly(stream, _SNIFF)
    nested = kind(first)
    if nested is None:
        yield Piece(name, guarded_blocks(first, stream, budget, name))
    else:
        rest = guarded_blocks(b"", stream, budget, name)
        yield from _expand(name, nested, first, rest, budget, depth + 1)


def _zip(
    path: str,
    head: bytes,
    rest: Iterator[bytes],
    budget: Budget,
    depth: int,
    on_disk: OnDisk | None,
) -> Iterator[Piece]:
    source: IO[bytes]  # random access
    if on_disk is not None:
        close = getattr(rest, "close", None)
        if close is not None:
            close()  # the file is read again by its path
        try:
            source = _open(on_disk)
        except OSError as error:
            budget.note(f"{path}: cannot open it again as a zip archive ({error.strerror})")
            return
    else:
        held = [head]
        size = len(head)
        for block in rest:
            held.append(block)
            size += len(block)
            if size > BUFFERED:
                budget.note(
                    f"{path}: a zip archive over {BUFFERED >> 20} MiB read from git: its "
                    "members were not opened, its bytes were scanned as they are"
                )
                yield Piece(path, itertools.chain(held, rest))
                return
        source = io.BytesIO(b"".join(held))
        del held
    with source:
        try:
            archive = _open_zip(source)
        except DAMAGED as error:
            budget.note(
                f"{path}: a damaged zip archive ({reason(error)}): its bytes were scanned "
                "as they are"
            )
            source.seek(0)
            yield Piece(path, chunks(source))
            return
        with archive:
            for info in archive.infolist():
                name = f"{path}!{info.filename}"
                # A member not read (a directory, encrypted, unreadable): its name still is
                # a place a key can be (`cache/ntn_….json`).
                if info.is_dir():
                    yield Piece(name.rstrip("/"), ())
                    continue
                if info.flag_bits & 0x1:
                    budget.note(f"{name}: an encrypted zip member: not scanned")
                    yield Piece(name, ())
                    continue
                try:
                    member = archive.open(info)
                except UNREADABLE as error:
                    budget.note(f"{name}: cannot be read ({reason(error)}): not scanned")
                    yield Piece(name, ())
                    continue
                with member:
                    guarded = Guarded(member, Counted(info.compress_size), budget, name)
                    try:
                        yield from _member(name, guarded, budget, depth)
                    except DAMAGED as error:
                        budget.damaged(f"{name}: a damaged zip member ({reason(error)})")
                if budget.spent:
                    return


def _open_zip(source: IO[bytes]) -> zipfile.ZipFile:
    """The archive, once its central directory is known to be of a sane size."""
    source.seek(0, os.SEEK_END)
    end = source.tell()
    source.seek(max(0, end - (1 << 16) - 22))
    tail = source.read()
    at = tail.rfind(b"PK\x05\x06")
    if at >= 0 and len(tail) >= at + 22:
        (size,) = struct.unpack_from("<I", tail, at + 12)
        if size > 32 << 20:
            raise zipfile.BadZipFile(f"a central directory of {size >> 20} MiB")
    source.seek(0)
    return zipfile.ZipFile(source)


def _open(entry: OnDisk) -> IO[bytes]:
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0)
    if not entry.follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    return os.fdopen(os.open(entry.path, flags), "rb")
