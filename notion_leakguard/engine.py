"""Run the scanner over sources: read each file, scan it, collect findings and skipped files.

Large file sets are split across processes: reading and the regular expression both hold
CPython's GIL, so threads do not scale, while forked workers do (see bench/bench_scan.py).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from itertools import islice
from typing import TYPE_CHECKING

from notion_leakguard.findings import Finding, ScanResult, Skipped, merge
from notion_leakguard.scanner import scan_blocks
from notion_leakguard.sources import FileEntry, read_blocks

if TYPE_CHECKING:
    from multiprocessing.context import BaseContext

# Below this many files a worker pool costs more than it saves.
PARALLEL_MIN_FILES = 400
_BATCH = 256


def scan_blocks_of(blocks: Iterable[bytes], display: str) -> ScanResult:
    return ScanResult(tuple(scan_blocks(blocks, display)), files_scanned=1)


def scan_files(items: Iterable[FileEntry | Skipped], *, jobs: int | None = None) -> ScanResult:
    """Scan files as `items` yields them; a large set is spread over worker processes while
    the rest of it is still being listed."""
    workers = jobs if jobs is not None else (os.cpu_count() or 1)
    pending = iter(items)
    head = list(islice(pending, PARALLEL_MIN_FILES))
    if workers < 2 or len(head) < PARALLEL_MIN_FILES:
        return _scan_batch([*head, *pending])
    # Imported here: a pre-commit run with a handful of files never pays for them.
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(workers, mp_context=_pool_context()) as pool:
        futures = [pool.submit(_scan_batch, head)]
        while batch := list(islice(pending, _BATCH)):
            futures.append(pool.submit(_scan_batch, batch))
        return merge(future.result() for future in futures)


def _pool_context() -> BaseContext:
    import multiprocessing

    # fork starts a worker in about a millisecond; elsewhere the platform default is safer.
    if sys.platform == "linux":
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


def _scan_batch(items: Sequence[FileEntry | Skipped]) -> ScanResult:
    findings: list[Finding] = []
    skipped: list[Skipped] = []
    for item in items:
        if isinstance(item, Skipped):
            skipped.append(item)
            continue
        try:
            findings.extend(scan_blocks(read_blocks(item), item.display))
        except OSError as error:
            skipped.append(Skipped(item.display, error.strerror or str(error)))
    return ScanResult(tuple(findings), tuple(skipped), len(items) - len(skipped))
