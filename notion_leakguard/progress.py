"""A progress line on stderr for long scans: only on a terminal."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO


def reporter(stream: TextIO) -> Callable[[int, int, int], None] | None:
    """A callback (done, total, bytes) that redraws one line, or None when `stream` is not
    a terminal (CI logs and pipes get nothing)."""
    isatty = getattr(stream, "isatty", None)
    if not (callable(isatty) and isatty()):
        return None
    started = time.monotonic()
    last = [0.0]

    def show(done: int, total: int, scanned: int) -> None:
        now = time.monotonic()
        if now - last[0] < 0.2 and done < total:
            return
        last[0] = now
        elapsed = max(now - started, 1e-6)
        rate = scanned / elapsed / 1e6
        eta = elapsed / done * (total - done) if done else 0.0
        stream.write(
            f"\r{done}/{total} blobs, {scanned / 1e6:.1f} MB, {rate:.1f} MB/s, ETA {eta:.0f} s "
        )
        if done == total:
            stream.write("\n")
        stream.flush()

    return show
