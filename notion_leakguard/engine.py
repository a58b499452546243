"""Run the scanner over sources: read each file, scan it, collect findings and skipped files.

Large file sets are split across processes: reading and the regular expression both hold
CPython's GIL, so threads do not scale, while forked workers do (see bench/bench_scan.py).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from typing import TYPE_CHECKING, Union

from notion_leakguard.findings import Finding, Note, Origin, ScanResult, Skipped, merge
from notion_leakguard.scanner import scan_blocks
from notion_leakguard.sources import FileEntry, Item, read_blocks
from notion_leakguard.staged import Chunk

if TYPE_CHECKING:
    from multiprocessing.context import BaseContext

    from notion_leakguard.history import Plan

# Below this many files a worker pool costs more than it saves.
PARALLEL_MIN_FILES = 400
_BATCH = 256


def scan_blocks_of(blocks: Iterable[bytes], display: str) -> ScanResult:
    return ScanResult(tuple(scan_blocks(blocks, display)), files_scanned=1)


def scan_chunks(chunks: Iterable[Chunk]) -> ScanResult:
    findings = [
        finding
        for chunk in chunks
        for finding in scan_blocks((chunk.data,), chunk.path, first_line=chunk.first_line)
        if finding.line >= chunk.first_added
    ]
    return merge([ScanResult(tuple(findings))])


def scan_files(items: Iterable[Item], *, jobs: int | None = None) -> ScanResult:
    """Scan files as `items` yields them (passing on what discovery found by itself); a
    large set is spread over worker processes while the rest is still being listed."""
    workers = jobs if jobs is not None else (os.cpu_count() or 1)
    pending = iter(items)
    head = list(islice(pending, PARALLEL_MIN_FILES))
    if workers < 2 or len(head) < PARALLEL_MIN_FILES:
        return _scan_batch([*head, *pending])
    # Imported here: a pre-commit run with a handful of files never pays for them.
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(workers, mp_context=_pool_context()) as pool:
        futures = []
        batch = head
        while batch:
            futures.append(pool.submit(_scan_sent, [_sendable(item) for item in batch]))
            batch = list(islice(pending, _BATCH))
        return merge(future.result() for future in futures)


# What travels to a worker: a file as a plain tuple (a named tuple takes four times as long
# to pickle and unpickle, and most items are files), anything else as it is.
_Sent = Union[tuple[str, str, bool], Finding, Skipped, Note]


def _sendable(item: Item) -> _Sent:
    if isinstance(item, FileEntry):
        return (item.path, item.display, item.follow_symlinks)
    return item


def _scan_sent(items: list[_Sent]) -> ScanResult:
    return _scan_batch(
        [i if isinstance(i, (Finding, Skipped, Note)) else FileEntry._make(i) for i in items]
    )


def _pool_context() -> BaseContext:
    import multiprocessing

    # fork starts a worker in about a millisecond; elsewhere the platform default is safer.
    if sys.platform == "linux":
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


def _scan_batch(items: Sequence[Item]) -> ScanResult:
    findings: list[Finding] = []
    skipped: list[Skipped] = []
    notes: list[Note] = []
    scanned = 0
    for item in items:
        if isinstance(item, FileEntry):
            try:
                findings.extend(scan_blocks(read_blocks(item), item.display))
                scanned += 1
            except OSError as error:
                skipped.append(Skipped(item.display, error.strerror or str(error)))
        elif isinstance(item, Finding):
            findings.append(item)
        elif isinstance(item, Skipped):
            skipped.append(item)
        else:
            notes.append(item)
    return ScanResult(tuple(findings), tuple(skipped), scanned, tuple(notes))


def scan_history(
    cwd: str, plan: Plan, *, progress: Callable[[int, int, int], None] | None = None
) -> ScanResult:
    """Scan each blob of the plan once; report each distinct token once, at the oldest
    commit that brought it in, and whether HEAD still holds it."""
    from notion_leakguard import history  # threads and all: only --history needs it

    head = history.head_blobs(cwd)
    introduced = {blob.oid: blob for blob in plan.blobs}
    oids = [blob.oid for blob in plan.blobs] + sorted(head - introduced.keys())
    first: dict[str, tuple[int, Finding]] = {}
    at_head: set[str] = set()
    scanned_bytes = 0
    for index, (oid, blocks) in enumerate(history.contents(cwd, oids)):
        blob = introduced.get(oid)
        counted = _counting(blocks)
        findings = list(scan_blocks(counted, blob.path if blob else oid))
        scanned_bytes += counted.total
        if oid in head:
            at_head.update(f.fingerprint for f in findings)
        if blob is not None:
            for finding in findings:
                known = first.get(finding.fingerprint)
                if known is None or blob.order < known[0]:
                    origin = Origin(blob.commit, blob.author, blob.date, at_head=False)
                    first[finding.fingerprint] = (blob.order, finding._replace(origin=origin))
        if progress is not None:
            progress(index + 1, len(oids), scanned_bytes)
    reported = []
    for _order, finding in first.values():
        assert finding.origin is not None
        origin = finding.origin._replace(at_head=finding.fingerprint in at_head)
        reported.append(finding._replace(origin=origin))
    notes = tuple(Note(text) for text in plan.notes)
    return merge([ScanResult(tuple(reported), files_scanned=len(plan.blobs), notes=notes)])


class _counting:
    """Passes blocks through, adding up their size."""

    def __init__(self, blocks: Iterable[bytes]) -> None:
        self.blocks = blocks
        self.total = 0

    def __iter__(self) -> Iterator[bytes]:
        for block in self.blocks:
            self.total += len(block)
            yield block
