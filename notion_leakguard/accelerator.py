"""The optional accelerator: one pass of hyperscan (the `fast` extra) over a buffer decides
whether any of the scanner's passes could find anything there. When it says no, they are
skipped; when it says yes, the unchanged pure passes run. The needles (needles.py) are a
superset of what every pass needs, so the findings are the same either way
(tests/test_accelerator.py compares them).

Only scans spread over worker processes use it (pipeline.py): importing hyperscan costs
6-13 ms and building the needles 15 ms, more than a third of what a pre-commit run over a
handful of files takes in all, while a scan of 400 files or more pays it back many times
(bench/bench_scan.py). Compiling them takes about 2 s, so the compiled database is kept in the
user's cache directory, named by a digest of the needles and the hyperscan version.
NOTION_LEAKGUARD_ACCELERATOR=0 turns it off.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Callable
from typing import Any

from notion_leakguard import needles

ENV = "NOTION_LEAKGUARD_ACCELERATOR"

Gate = Callable[[bytes, bool], bool]  # (buffer, binary) -> whether a pass may find anything


def enabled() -> bool:
    return os.environ.get(ENV, "1").strip().lower() not in ("0", "no", "off", "false")


def gate() -> Gate | None:
    """The pre-check, or None when it is turned off or hyperscan is not installed."""
    return _gate() if enabled() else None


@functools.cache
def _gate() -> Gate | None:
    try:
        import hyperscan
    except ImportError:
        return None
    found = needles.needles()
    text = _database(hyperscan, found)
    binary = _database(hyperscan, needles.needles(binary=True))
    scratches = {text: hyperscan.Scratch(text), binary: hyperscan.Scratch(binary)}
    kinds = [needle.kind for needle in found]  # the binary needles all stand alone
    terminated = hyperscan.ScanTerminated

    def holds_needle(buffer: bytes, is_binary: bool) -> bool:
        seen: set[str] = set()
        database = binary if is_binary else text

        def on_match(needle: int, *_: Any) -> bool:
            kind = needles.ANY if is_binary else kinds[needle]
            if kind == needles.ANY:
                return True
            seen.add(kind)
            return needles.KEY in seen and needles.NOTION in seen

        try:
            database.scan(buffer, match_event_handler=on_match, scratch=scratches[database])
        except terminated:
            return True
        return False

    return holds_needle


def _database(hyperscan: Any, found: list[needles.Needle]) -> Any:
    flags = [
        hyperscan.HS_FLAG_SINGLEMATCH | (hyperscan.HS_FLAG_CASELESS if needle.caseless else 0)
        for needle in found
    ]
    digest = hashlib.sha256(repr((hyperscan.__version__, found, flags)).encode()).hexdigest()
    cache = os.path.join(_cache_home(), "notion-leakguard", f"needles-{digest[:32]}.hsdb")
    try:
        with open(cache, "rb") as stored:
            return hyperscan.loadb(stored.read(), mode=hyperscan.HS_MODE_BLOCK)
    except (OSError, hyperscan.error):
        pass
    database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    database.compile(
        expressions=[needle.pattern for needle in found],
        ids=list(range(len(found))),
        flags=flags,
    )
    _store(cache, hyperscan.dumpb(database))
    return database


def _cache_home() -> str:
    return os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")


def _store(path: str, data: bytes) -> None:
    """Written whole or not at all; a cache that cannot be written is only slower."""
    import tempfile

    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except OSError:
        pass
