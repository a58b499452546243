"""The optional accelerator: one pass of hyperscan (the `fast` extra) over a buffer decides
whether any of the scanner's passes could find anything there. When it says no, they are
skipped; when it says yes, the unchanged pure passes run. The needles (needles.py) are a
superset of what every pass needs, so the findings are the same either way
(tests/test_accelerator.py compares them).

Only scans spread over worker processes use it (pipeline.py): importing hyperscan and
loading the compiled needles costs about 20 ms, a tenth of what a pre-commit run over a
handful of files takes in all, while a scan of 400 files or more pays it back many times
(bench/bench_scan.py). Compiling the needles takes about 2 s, so the compiled databases are
kept in the user's cache directory ($XDG_CACHE_HOME or ~/.cache, notion-leakguard/).
NOTION_LEAKGUARD_ACCELERATOR=0 turns it off.
"""

from __future__ import annotations

import functools
import os
import struct
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
    try:
        text, binary, kinds = _databases(hyperscan)
        scratches = {text: hyperscan.Scratch(text), binary: hyperscan.Scratch(binary)}
    except hyperscan.error:  # a processor hyperscan does not support: the pure scan runs
        return None
    terminated = hyperscan.ScanTerminated

    def on_text_match(needle: int, _start: int, _end: int, _flags: int, seen: set[str]) -> bool:
        """Stop at a needle that stands alone, or at the second kind of the other two."""
        kind = kinds[needle]
        if kind == needles.ANY:
            return True
        seen.add(kind)
        return len(seen) == 2  # KEY and NOTION

    def on_binary_match(*_: Any) -> bool:
        return True  # binary needles all stand alone

    text_scratch, binary_scratch = scratches[text], scratches[binary]

    def holds_needle(buffer: bytes, is_binary: bool) -> bool:
        # No function made per call: most buffers match nothing, and a history has many.
        try:
            if is_binary:
                binary.scan(buffer, match_event_handler=on_binary_match, scratch=binary_scratch)
            else:
                seen: set[str] = set()
                text.scan(
                    buffer, match_event_handler=on_text_match, context=seen, scratch=text_scratch
                )
        except terminated:
            return True
        return False

    return holds_needle


def _databases(hyperscan: Any) -> tuple[Any, Any, list[str]]:
    """The compiled needles for text and for binary data, and the kind of each text needle.
    The needles are a function of needles.py, patterns.py and cookies.py alone, so the
    cache is named by checksums of those (building the needles costs 30 ms, reading the
    cache 3 ms; hashlib and json would add 4 ms to every large scan); a cache that is
    missing, damaged or not for this version is rebuilt."""
    import zlib

    from notion_leakguard import cookies, patterns

    key = [zlib.crc32(hyperscan.__version__.encode())]
    for module in (needles, patterns, cookies):
        with open(str(module.__file__), "rb") as source:
            code = source.read()
        key += [zlib.crc32(code), zlib.adler32(code)]
    name = "-".join(f"{part:08x}" for part in key)
    cache = os.path.join(_cache_home(), "notion-leakguard", f"{name}.hsdb")
    try:
        with open(cache, "rb") as stored:
            data = stored.read()
        count, size, key_at, notion_at = _HEADER.unpack_from(data)
        if key_at == notion_at or count > len(data) or size > len(data):
            raise ValueError("a damaged cache")  # (a huge count would exhaust memory)
        kinds = [needles.ANY] * count
        kinds[key_at], kinds[notion_at] = needles.KEY, needles.NOTION
        start = _HEADER.size
        return (
            hyperscan.loadb(data[start : start + size], mode=hyperscan.HS_MODE_BLOCK),
            hyperscan.loadb(data[start + size :], mode=hyperscan.HS_MODE_BLOCK),
            kinds,
        )
    except (OSError, ValueError, IndexError, struct.error, hyperscan.error):
        pass
    found = needles.needles()
    text, binary = _compile(hyperscan, found), _compile(hyperscan, needles.needles(binary=True))
    kinds = [needle.kind for needle in found]  # the binary needles all stand alone
    assert kinds.count(needles.KEY) == kinds.count(needles.NOTION) == 1  # as _HEADER says
    text_bytes = hyperscan.dumpb(text)
    header = _HEADER.pack(
        len(kinds), len(text_bytes), kinds.index(needles.KEY), kinds.index(needles.NOTION)
    )
    _store(cache, header + text_bytes + hyperscan.dumpb(binary))
    return text, binary, kinds


# The cache file: how many text needles, the size of the text database, and which needle
# is the one of kind KEY and which of kind NOTION (all others stand alone), then the text
# and binary databases.
_HEADER = struct.Struct("<IIII")


def _compile(hyperscan: Any, found: list[needles.Needle]) -> Any:
    database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    database.compile(
        expressions=[needle.pattern for needle in found],
        ids=list(range(len(found))),
        flags=[
            hyperscan.HS_FLAG_SINGLEMATCH | (hyperscan.HS_FLAG_CASELESS if n.caseless else 0)
            for n in found
        ],
    )
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
