"""Opening archives: what `archives.pieces` hands over once the first bytes said
"archive" (imported only then: tarfile and zipfile cost every scan 4 ms to import)."""

from __future__ import annotations

import io
import itertools
import os
import stat
import struct
import tarfile
import zipfile
from collections.abc import Iterator
from typing import IO, cast

from notion_leakguard.archives import (
    BZIP2,
    DEPTH,
    GZIP,
    SNIFF,
    TAR,
    XZ,
    ZIP,
    Piece,
    kind,
)
from notion_leakguard.archives.streams import (
    DAMAGED,
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
from notion_leakguard.sources import OnDisk

BUFFERED = 64 << 20
_TAIL = 1024  # where a zip's end record is looked for (a zip comment may push it back)

_SUFFIXES = {
    GZIP: ((".tgz", ".tar"), (".gz", ""), (".z", "")),
    BZIP2: ((".tbz2", ".tar"), (".tbz", ".tar"), (".bz2", "")),
    XZ: ((".txz", ".tar"), (".xz", "")),
}


def appended_zip(path: str, entry: OnDisk, notes: list[Note]) -> Iterator[Piece]:
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


def opened(
    path: str,
    found: str,
    head: bytes,
    rest: Iterator[bytes],
    notes: list[Note],
    on_disk: OnDisk | None,
) -> Iterator[Piece]:
    """The members of the archive at `path` whose first bytes announced `found`."""
    return _expand(path, found, head, rest, Budget(notes, path), 1, on_disk)


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
    if found == ZIP:
        yield from _zip(path, head, rest, budget, depth, on_disk)
        return
    raw = Reader(itertools.chain((head,), rest))
    try:
        if found == TAR:
            yield from _tar(path, raw, budget, depth)
            return
        stream = _decompressor(found, raw)
        inner = Guarded(stream, raw, budget, path)
        first = inner.read(SNIFF)
        nested = kind(first)
        if nested == TAR:
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
    if found == GZIP:
        return Gunzip(raw)
    if found == BZIP2:
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
    first = read_exactly(stream, SNIFF)
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
