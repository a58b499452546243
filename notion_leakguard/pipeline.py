"""Run the scanner over any stream of fragments: read each one's bytes, scan them, collect
findings, skipped files and notes into one result.

Large sets of files are split across processes: reading and the regular expression both
hold CPython's GIL, so threads do not scale, while forked workers do (see
bench/bench_scan.py). A fragment whose bytes are a stream in this process (a git blob) is
scanned here.
"""

from __future__ import annotations

import functools
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from itertools import chain, islice
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, Union

from notion_leakguard import archives, filenames
from notion_leakguard.findings import Finding, Note, ScanResult, Skipped, Tally, merge
from notion_leakguard.scanner import gated_out, scan_blocks
from notion_leakguard.sources import FILE, Fragment, Item, OnDisk, blocks

if TYPE_CHECKING:
    from notion_leakguard.accelerator import Gate

# Below this many fragments a worker pool costs more than it saves.
PARALLEL_MIN_FILES = 400
_BATCH = 256


def scan(
    items: Iterable[Item],
    *,
    root: str,
    jobs: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ScanResult:
    """Every finding in the fragments as `items` yields them (passing on what the source
    found by itself), paths relative to `root`. A large set of files is spread over worker
    processes while the rest is still being listed. `progress` is told the files and bytes
    read so far, now and then."""
    workers = jobs if jobs is not None else (os.cpu_count() or 1)
    pending = iter(items)
    if workers < 2:
        return merge([_scan_batch(pending, progress)[0]])._replace(root=root)
    # Take the first items while they can travel to a worker; a stream (a git blob) must be
    # read before the next item is asked for, so it ends the look-ahead at once.
    head: list[Item] = []
    for item in pending:
        head.append(item)
        if not _can_send(item) or len(head) == PARALLEL_MIN_FILES:
            break
    if len(head) < PARALLEL_MIN_FILES or not _can_send(head[-1]):
        return merge([_scan_batch(chain(head, pending), progress)[0]])._replace(root=root)
    from notion_leakguard import forkpool  # a pre-commit run never pays for it

    _gate()  # loaded before the workers fork, so that each inherits it
    read = [0, 0]  # files, bytes: added up as batches come back

    def done(answer: tuple[ScanResult, int]) -> None:
        assert progress is not None
        read[0] += answer[0].files_scanned
        read[1] += answer[1]
        progress(read[0], read[1])

    count = progress is not None

    def batches() -> Iterator[tuple[list[_Sent], bool]]:
        batch = head
        while batch:
            yield [_sendable(item) for item in batch], count
            batch = list(islice(pending, _BATCH))

    answers = forkpool.run(_scan_sent, batches(), workers, done if count else None)
    return merge(answer[0] for answer in answers)._replace(root=root)


_HistoryItem = Union[Fragment, Skipped, Note, Tally]


class History(Protocol):
    """A history source (sources.history) in parts that can each be read on its own, each
    item at its position in the whole order."""

    def prepare(self, meanwhile: Callable[[], object] | None = None) -> None:
        """What must happen before any part is read (`meanwhile` runs while git works)."""

    def parts(self, count: int) -> Iterator[tuple[Any, bool]]:
        """The parts, about `count` of them (one when there is too little to share), as
        they become known, each with whether more follow; each must pickle."""

    def read(self, part: Any) -> Iterator[tuple[int, _HistoryItem]]: ...


# Each part has its own git processes; more parts even out parts of unequal weight.
_PARTS_PER_WORKER = 2


def scan_history(
    source: History,
    *,
    root: str,
    progress: Callable[[int, int], None] | None = None,
    at_head: bool = True,
    jobs: int | None = None,
) -> ScanResult:
    """Each distinct token once, at the first fragment (oldest first) that has an origin
    and holds it, marked as still at HEAD when any fragment of HEAD's tree holds it (without
    `at_head`, HEAD is not asked about). Fragments without an origin only tell what HEAD
    holds. A Skipped item is an object that could not be read: the result says so. A long
    history is read in parts by forked workers, each with its own `git cat-file`."""
    workers = jobs if jobs is not None else (os.cpu_count() or 1)
    may_fork = workers >= 2 and sys.platform == "linux"
    gates: list[Gate | None] = []  # loaded while git lists the history, if the source waits
    source.prepare(_before_forking(gates) if may_fork else None)
    listed = source.parts(workers * _PARTS_PER_WORKER if may_fork else 1)
    opening = next(listed, None)
    pending = chain([opening[0]] if opening else [], (part for part, _more in listed))
    if not may_fork or not (opening and opening[1]):  # one part: read here
        gate = gates[0] if gates else None
        parts = [_scan_part(source.read(part), progress, gate) for part in pending]
    else:  # the workers start on the first part while the source still lists the next
        parts = _scan_parts(source, pending, workers, progress)
    first: dict[str, Finding] = {}
    head: set[str] = set()
    for part in parts:  # in order: positions ascend across parts
        for finding in part.found:
            _attribute(first, finding)
        head |= part.head
    reported = []
    for finding in first.values():
        assert finding.origin is not None
        origin = finding.origin._replace(at_head=finding.fingerprint in head if at_head else None)
        reported.append(finding._replace(origin=origin))
    found = ScanResult(
        tuple(reported),
        files_scanned=sum(part.scanned for part in parts),
        notes=_tallied(parts),
        # (a blob that parts bring in again is missing in each of them)
        unreadable=tuple(dict.fromkeys(oid for part in parts for oid in part.unreadable)),
    )
    return merge([found])._replace(root=root)


def _tallied(parts: Iterable[_Part]) -> tuple[Note, ...]:
    """The parts' notes, each once, after their tallies, each kind added up into one."""
    counts: dict[str, int] = {}
    notes: list[Note] = []
    for part in parts:
        for tally in part.tallies:
            counts[tally.text] = counts.get(tally.text, 0) + tally.number
        notes += part.notes
    tallies = [Note(f"{count} {text}") for text, count in counts.items()]
    return tuple(dict.fromkeys([*tallies, *notes]))


def _before_forking(gates: list[Gate | None]) -> Callable[[], None]:
    """What workers inherit, to be done while a source waits for git: the accelerator
    loaded (into `gates`), and the pool's own preparations."""

    def prepare() -> None:
        from notion_leakguard import forkpool

        gates.append(_gate())
        forkpool.prepare()

    return prepare


class _Part(NamedTuple):
    found: list[Finding]  # of fragments with an origin, in order
    head: set[str]  # fingerprints found in HEAD's tree
    unreadable: list[str]
    notes: list[Note]
    tallies: list[Tally]
    scanned: int
    size: int  # bytes read
    read: int  # positions read


def _scan_part(
    items: Iterable[tuple[int, _HistoryItem]],
    progress: Callable[[int, int], None] | None = None,
    gate: Gate | None = None,
) -> _Part:
    part = _Part([], set(), [], [], [], 0, 0, 0)
    scanned = size = 0
    first = last = -1  # the position of the items before: told to `progress` once all read
    for position, item in items:
        if first < 0:
            first = position
        if progress is not None and position != last and last >= 0:
            progress(last + 1, size)
        last = position
        if isinstance(item, Skipped):
            part.unreadable.append(item.display)
        elif isinstance(item, Tally):
            part.tallies.append(item)
        elif isinstance(item, Note):
            if item not in part.notes:
                part.notes.append(item)
        else:
            if isinstance(item.content, bytes):  # most blobs: read whole, counted at once
                findings = list(_findings(item, (item.content,), part.notes, gate))
                size += len(item.content)
            else:
                counted = _Counting(blocks(item.content))
                findings = list(_findings(item, counted, part.notes, gate))
                size += counted.total
            if item.at_head:
                part.head.update(f.fingerprint for f in findings)
            if item.origin is not None:
                scanned += 1
                part.found.extend(findings)
    if progress is not None and last >= 0:
        progress(last + 1, size)
    return part._replace(scanned=scanned, size=size, read=last - first + 1 if last >= 0 else 0)


_SOURCE: History | None = None  # what forked workers read their parts of


def _scan_parts(
    source: History,
    parts: Iterator[Any],
    workers: int,
    progress: Callable[[int, int], None] | None,
) -> list[_Part]:
    from notion_leakguard import forkpool

    global _SOURCE
    _SOURCE = source  # inherited by the forked workers, not pickled
    _gate()  # loaded before the workers fork
    read = [0, 0]  # positions, bytes

    def done(part: _Part) -> None:
        assert progress is not None
        read[0] += part.read
        read[1] += part.size
        progress(read[0], read[1])

    try:
        tasks = ((part,) for part in parts)
        # One part at a time for each worker: parts are long, and at the end of a history
        # a part waiting at a busy worker would leave another one idle.
        return forkpool.run(_scan_slice, tasks, workers, done if progress else None, ahead=1)
    finally:
        _SOURCE = None


def _scan_slice(part: Any) -> _Part:
    assert _SOURCE is not None
    try:
        return _scan_part(_SOURCE.read(part), gate=_gate())
    except BaseException:  # interrupted: the part's git must not be left to init
        from notion_leakguard import git

        git.stop_started()
        raise


def _rank(path: str) -> int:
    """Where a token is least useful to report when one commit brought it in several
    files: editor swap and backup files (2), then build output and binary formats (1)."""
    editor, binary = _least_useful()
    lowered = path.lower()
    return 2 if editor.search(lowered) else 1 if binary.search(lowered) else 0


@functools.cache
def _least_useful() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Compiled on first use: only history needs them, and a pre-commit run would pay
    half a millisecond for them."""
    return (
        re.compile(r"(\.sw[a-p]|~|\.bak|\.orig|\.rej|\.tmp)$|(^|/)\.?#[^/]*$"),
        re.compile(
            r"\.(pyc|pyo|class|o|so|dll|dylib|exe|bin|db|sqlite3?|zip|gz|tgz|jar|whl|png"
            r"|jpe?g|gif|pdf)$"
        ),
    )


def _attribute(first: dict[str, Finding], finding: Finding) -> None:
    """Keep the oldest commit's finding of each token; within that commit the most useful
    path (a source file over a swap file or a binary), the others listed as `also`."""
    known = first.get(finding.fingerprint)
    if known is None:
        first[finding.fingerprint] = finding
        return
    assert known.origin is not None and finding.origin is not None
    if known.origin.commit != finding.origin.commit or finding.path == known.path:
        return
    if finding.path in known.origin.also:
        return
    better, other = (
        (finding, known) if _rank(finding.path) < _rank(known.path) else (known, finding)
    )
    assert better.origin is not None and other.origin is not None
    also = tuple(sorted({*better.origin.also, *other.origin.also, other.path}))
    first[finding.fingerprint] = better._replace(origin=better.origin._replace(also=also))


@functools.lru_cache(maxsize=1 << 12)
def _in_name(path: str, gate: Gate | None) -> tuple[Finding, ...]:
    """filenames.in_name, remembered: a history reads the same paths over and over."""
    return tuple(filenames.in_name(path, gate))


def fragment_findings(fragment: Fragment, notes: list[Note] | None = None) -> list[Finding]:
    """The findings of one fragment, read here (a caller that keeps its own order)."""
    return list(_findings(fragment, blocks(fragment.content), [] if notes is None else notes))


def _findings(
    fragment: Fragment,
    data: Iterable[bytes],
    notes: list[Note],
    gate: Gate | None = None,
) -> Iterator[Finding]:
    """The fragment's findings; a file is looked into when it is an archive (what a limit
    or damage cut short goes to `notes`; each member goes through the `gate` too), and its
    path is a place too (`cache/ntn_….json`)."""
    content = fragment.content
    if gate is not None and isinstance(content, bytes) and fragment.first_line == 1:
        if fragment.kind != FILE:  # a message: nothing inside, nothing at all
            if gated_out(content, gate):
                return
        elif archives.kind(content) is None and gated_out(content, gate):
            # No archive, and nothing inside: only its path can hold a key.
            for finding in _in_name(fragment.path, gate):
                yield (
                    finding if fragment.origin is None else finding._replace(origin=fragment.origin)
                )
            return
    if fragment.kind != FILE or fragment.first_line != 1:
        pieces: Iterable[archives.Piece] = (archives.Piece(fragment.path, data),)
    else:
        pieces = archives.pieces(fragment.path, data, notes, fragment.content)
    members: set[str] = set()  # what an archive's members hold
    for path, piece in pieces:
        found = scan_blocks(piece, path, first_line=fragment.first_line, gate=gate)
        if fragment.kind == FILE:
            found = chain(_in_name(path, gate), found)
        container = path == fragment.path  # the file itself (after its members, if any)
        for finding in found:
            if container and finding.fingerprint in members:
                continue  # also in a member's bytes, reported there
            if not container:
                members.add(finding.fingerprint)
            if finding.line >= fragment.first_reported or not finding.line:
                if fragment.origin is not None or fragment.kind != FILE:
                    finding = finding._replace(origin=fragment.origin, kind=fragment.kind)
                yield finding


# What travels to a worker: a file as a plain tuple (a named tuple takes four times as long
# to pickle and unpickle, and most items are files), anything else as it is.
_Sent = Union[tuple[str, str, bool], Fragment, Skipped, Note]


def _can_send(item: Item) -> bool:
    return not isinstance(item, Fragment) or isinstance(item.content, (bytes, OnDisk))


def _sendable(item: Item) -> _Sent:
    if isinstance(item, Fragment) and isinstance(item.content, OnDisk) and item.first_line == 1:
        return (item.path, item.content.path, item.content.follow_symlinks)
    return item


def _scan_sent(items: list[_Sent], count: bool) -> tuple[ScanResult, int]:
    gate = _gate()  # a scan large enough for workers: worth the pre-check
    return _scan_batch([_received(item) for item in items], None, count=count, gate=gate)


def _gate() -> Gate | None:
    """The accelerator's pre-check, for scans that go parallel only (imported here: it
    costs 10 ms to import and more to load, which a pre-commit run never pays)."""
    from notion_leakguard import accelerator

    return accelerator.gate()


def _received(item: _Sent) -> Item:
    if isinstance(item, (Fragment, Skipped, Note)):
        return item
    path, file, follow = item
    return Fragment(path, OnDisk(file, follow))


_PROGRESS_EVERY = 64  # files between two calls of a progress callback


def _scan_batch(
    items: Iterable[Item],
    progress: Callable[[int, int], None] | None,
    *,
    count: bool = False,
    gate: Gate | None = None,
) -> tuple[ScanResult, int]:
    """The result, and the bytes read when they were counted (for progress only: counting
    wraps every file's blocks)."""
    findings: list[Finding] = []
    skipped: list[Skipped] = []
    notes: list[Note] = []
    scanned = size = 0
    count = count or progress is not None
    for item in items:
        if isinstance(item, Fragment):
            try:
                if count:
                    counted = _Counting(blocks(item.content))
                    findings.extend(_findings(item, counted, notes, gate))
                    size += counted.total
                else:
                    findings.extend(_findings(item, blocks(item.content), notes, gate))
                scanned += 1
            except OSError as error:
                skipped.append(Skipped(item.path, error.strerror or str(error)))
            if progress is not None and scanned % _PROGRESS_EVERY == 0:
                progress(scanned, size)
        elif isinstance(item, Skipped):
            skipped.append(item)
        else:
            notes.append(item)
    if progress is not None:
        progress(scanned, size)
    return ScanResult(tuple(findings), tuple(skipped), scanned, tuple(notes)), size


class _Counting:
    """Passes blocks through, adding up their size."""

    def __init__(self, blocks: Iterable[bytes]) -> None:
        self.blocks = blocks
        self.total = 0

    def __iter__(self) -> Iterator[bytes]:
        for block in self.blocks:
            self.total += len(block)
            yield block
