"""A progress line on stderr for long scans: only on a terminal."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO


def reporter(stream: TextIO) -> Callable[[int, int, int, str], None] | None:
    """A callback (done, total, bytes, what is counted) that redraws one line, or None when
    `stream` is not a terminal (CI logs and pipes get nothing)."""
    isatty = getattr(stream, "isatty", None)
    if not (callable(isatty) and isatty()):
        return None
    started = time.monotonic()
    last = [0.0]

    def show(done: int, total: int, scanned: int, unit: str) -> None:
        now = time.monotonic()
        if now - last[0] < 0.2 and done < total:
            return
        last[0] = now
        elapsed = max(now - started, 1e-6)
        rate = scanned / elapsed / 1e6
        eta = elapsed / done * (total - done) if done else 0.0
        stream.write(
            f"\r{done}/{total} {unit}, {scanned / 1e6:.1f} MB, {rate:.1f} MB/s, ETA {eta:.0f} s "
        )
        if done == total:
            stream.write("\n")
        stream.flush()

    return show


class FileProgress:
    """A callback (files, bytes) for scans of files and directories: one line redrawn, and
    `finish` ends it with what was scanned."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.started = self.last = time.monotonic()
        self.files = self.size = 0

    def __call__(self, files: int, size: int) -> None:
        self.files, self.size = files, size
        now = time.monotonic()
        if now - self.last < 0.2:
            return
        self.last = now
        rate = size / max(now - self.started, 1e-6) / 1e6
        self.stream.write(f"\r{files} files, {size / 1e6:.1f} MB, {rate:.1f} MB/s ")
        self.stream.flush()

    def finish(self) -> None:
        elapsed = time.monotonic() - self.started
        self.stream.write(
            f"\rscanned {self.files} files, {self.size / 1e6:.1f} MB in {elapsed:.1f} s\n"
        )
        self.stream.flush()


def files_reporter(stream: TextIO) -> FileProgress | None:
    """A FileProgress on `stream`, or None when it is not a terminal."""
    isatty = getattr(stream, "isatty", None)
    return FileProgress(stream) if callable(isatty) and isatty() else None
