"""The streams archives are read through, and the limits on what they may expand to.

`Budget` is what one scanned file may still expand to, shared by all its members and
nesting levels; `Guarded` ends a decompressed stream where a limit is reached; the notes
say what was cut. Every reader here reads a bounded amount at a time.
"""

from __future__ import annotations

import struct
import tarfile
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from typing import Protocol

from notion_leakguard.findings import Note
from notion_leakguard.sources import BLOCK_SIZE

EXPANDED = 64 << 20  # bytes expanded from one file, all members and levels together
RATIO = 100  # past FREE bytes, a stream may not expand more than this many times
FREE = 1 << 20


class Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


class Budget:
    """The expanded bytes one file may still produce, and the notes of what was cut."""

    def __init__(self, notes: list[Note], top: str) -> None:
        self.left = EXPANDED
        self.notes = notes
        self.top = top
        self.spent = False  # the limit per file was reached: nothing more is expanded
        self.cut = False  # some stream was cut short (what follows it may look damaged)

    def note(self, text: str) -> None:
        note = Note(text)
        if note not in self.notes:
            self.notes.append(note)

    def damaged(self, text: str) -> None:
        if not self.cut:  # a stream cut short by a limit is not a damaged archive
            self.note(text)

    def exhausted(self, where: str) -> None:
        self.cut = True
        if not self.spent:
            self.spent = True
            self.note(
                f"{self.top}: stopped at {where}: the archive expands to more than "
                f"{EXPANDED >> 20} MiB (the limit per file); the rest was not scanned"
            )


DAMAGED: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile,
    tarfile.TarError,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    RuntimeError,
    struct.error,
)
try:
    import lzma as _lzma

    DAMAGED += (_lzma.LZMAError,)
except ImportError:  # pragma: no cover (a Python built without liblzma)
    pass
# A member zipfile cannot open: also one compressed in a way it does not support.
UNREADABLE: tuple[type[BaseException], ...] = (NotImplementedError, *DAMAGED)


def reason(error: BaseException) -> str:
    return str(error).splitlines()[0][:120] if str(error) else type(error).__name__


class Counted:
    """The compressed size of a zip member: what its ratio is measured against."""

    def __init__(self, size: int) -> None:
        self.consumed = size


class Reader:
    """Blocks as a readable stream; `consumed` counts the bytes handed out."""

    def __init__(self, blocks: Iterable[bytes]) -> None:
        self.blocks = iter(blocks)
        self.pending = b""
        self.offset = 0  # in `pending`: slicing off the rest at every read is quadratic
        self.consumed = 0

    def read(self, size: int = -1) -> bytes:
        while self.offset >= len(self.pending):
            block = next(self.blocks, None)
            if block is None:
                return b""
            self.pending, self.offset = block, 0
        start = self.offset
        self.offset = len(self.pending) if size < 0 else min(len(self.pending), start + size)
        data = self.pending[start : self.offset]
        self.consumed += len(data)
        return data


class Gunzip:
    """gzip members one after the other, inflated by zlib itself (which checks each
    member's CRC and size): a third faster than GzipFile's small reads."""

    def __init__(self, raw: Reader) -> None:
        self.raw = raw
        self.inflate = zlib.decompressobj(31)
        self.tail = b""  # compressed bytes not inflated yet
        self.done = False

    def read(self, size: int = -1) -> bytes:
        size = BLOCK_SIZE if size < 0 else size
        while not self.done:
            if not self.tail:
                self.tail = self.raw.read(BLOCK_SIZE)
                if not self.tail:
                    if not self.inflate.eof:
                        raise EOFError("the compressed stream ends before its end marker")
                    self.done = True
                    break
            data = self.inflate.decompress(self.tail, size)
            self.tail = self.inflate.unconsumed_tail
            if self.inflate.eof:
                self.tail = self.inflate.unused_data + self.tail
                if self.tail[:2] == b"\x1f\x8b":
                    self.inflate = zlib.decompressobj(31)  # the next member
                elif self.tail:
                    self.done = True  # trailing bytes (zeros, as gzip allows): ignored
            if data:
                return data
        return b""


class Guarded:
    """A decompressed stream that ends where a limit is reached (a note says so)."""

    def __init__(self, stream: Readable, raw: Reader | Counted, budget: Budget, where: str):
        self.stream = stream
        self.raw = raw  # the compressed bytes read so far: what the ratio is measured against
        self.budget = budget
        self.where = where
        self.expanded = 0
        self.cut = False

    def read(self, size: int = -1) -> bytes:
        if self.cut:
            return b""
        allowed = self.budget.left if size < 0 else min(size, self.budget.left)
        if allowed <= 0:
            self.cut = True
            self.budget.exhausted(self.where)
            return b""
        data = self.stream.read(min(allowed, BLOCK_SIZE))
        self.expanded += len(data)
        self.budget.left -= len(data)
        if self.expanded > FREE and self.expanded > RATIO * max(self.raw.consumed, 1):
            self.cut = self.budget.cut = True
            self.budget.note(
                f"{self.where}: stopped after {self.expanded >> 20} MiB: it expands more than "
                f"{RATIO} times (a decompression bomb?); the rest was not scanned"
            )
        return data


class Prefixed:
    """Bytes already read, then the rest of a stream."""

    def __init__(self, first: bytes, stream: Readable) -> None:
        self.first = first
        self.stream = stream

    def read(self, size: int = -1) -> bytes:
        if not self.first:
            return self.stream.read(size)
        if size < 0 or size >= len(self.first):
            data, self.first = self.first, b""
        else:
            data, self.first = self.first[:size], self.first[size:]
        return data


def read_exactly(stream: Readable, size: int) -> bytes:
    parts = []
    while size > 0:
        data = stream.read(size)
        if not data:
            break
        parts.append(data)
        size -= len(data)
    return b"".join(parts)


def chunks(stream: Readable) -> Iterator[bytes]:
    while True:
        block = stream.read(BLOCK_SIZE)
        if not block:
            return
        yield block


def guarded_blocks(first: bytes, stream: Readable, budget: Budget, where: str) -> Iterator[bytes]:
    if first:
        yield first
    try:
        yield from chunks(stream)
    except DAMAGED as error:
        budget.damaged(f"{where}: damaged ({reason(error)}): scanned up to there")
