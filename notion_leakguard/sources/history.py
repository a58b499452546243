"""Git history as a source: every blob the chosen commits introduced, each read once.

One `git log --raw` lists, oldest first (parents before children), the blobs each commit
adds or changes, merges included (`-m`: a merge resolution's new blobs appear there); one
`git cat-file --batch` then streams their contents. No process per commit or per file.
A whole history is listed in parts instead (`Parts`), so that forked workers list and read
them side by side.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta, timezone
from typing import NamedTuple, Union

from notion_leakguard import git
from notion_leakguard.errors import LeakguardError
from notion_leakguard.findings import Note, Origin, Skipped, Tally
from notion_leakguard.sources import COMMIT_MESSAGE, TAG_MESSAGE, Fragment, lfs

_SUBMODULE = b"160000"
MISSING = "missing from the object store"


class Introduced(NamedTuple):
    """A blob and the first commit (in history order) that brought it in."""

    oid: str
    path: str  # at that commit, from the repository root
    commit: str
    author: str
    date: str  # ISO 8601


class Commit(NamedTuple):
    sha: str
    author: str
    date: str  # ISO 8601


class Tag(NamedTuple):
    """An annotated tag object: its message is pushed with it."""

    oid: str
    name: str  # refs/tags/…


class Plan(NamedTuple):
    blobs: tuple[Introduced, ...]
    commits: tuple[Commit, ...]  # oldest first: their messages are scanned too
    tags: tuple[Tag, ...]
    notes: tuple[str, ...]
    partial: bool = False  # a partial clone: blobs it lacks are fetched before reading
    # Blobs pushed outside any commit (a tag naming a blob or a tree): `commit` is what
    # carries them, `author` the ref.
    loose: tuple[Introduced, ...] = ()
    # A blob `blobs` holds, brought in under another path too (the first time at each path):
    # the same bytes, read once; what they hold is also at these paths (the inventory).
    copies: tuple[Introduced, ...] = ()


def empty(tags: Sequence[Tag] = ()) -> Plan:
    return Plan((), (), tuple(tags), ())


def plan(cwd: str, revisions: Sequence[str], *, all_refs: bool) -> Plan:
    """What `scan --history` reads for REV-RANGEs (default HEAD), or every ref with all_refs:
    the blobs the commits introduce, their messages, and the messages of annotated tags
    that point into them."""
    if _unborn(cwd, all_refs=all_refs, revisions=revisions):
        return Plan((), (), (), (NO_COMMITS,))
    if all_refs:
        return select(cwd, ["--all"])
    return select(cwd, ["--end-of-options", *(revisions or ["HEAD"])])


NO_COMMITS = "no commits yet: there is no history to scan"


def _unborn(cwd: str, *, all_refs: bool, revisions: Sequence[str]) -> bool:
    """Whether HEAD has no commit and nothing else was asked for (LeakguardError outside a
    repository)."""
    head = git.run(["rev-parse", "--verify", "-q", "HEAD"], cwd=cwd, check=False)
    if head.returncode and not all_refs and not revisions:
        git.top_level_or_bare(cwd)
        return True
    return False


def source(cwd: str, revisions: Sequence[str], *, all_refs: bool) -> Contents | Parts:
    """What `scan --history` reads. A whole history (HEAD's, or every ref's) is listed in
    parts; a range goes through one plan, which also knows the blobs of HEAD it does not
    bring in, and so does a partial clone, whose missing blobs are fetched all at once."""
    if revisions and not all_refs:
        return Contents(cwd, plan(cwd, revisions, all_refs=False))
    selection = ["--all"] if all_refs else ["--end-of-options", "HEAD"]
    # git starts listing first (the longest wait), and the checks run meanwhile.
    parts = Parts(cwd, selection)
    try:
        if _unborn(cwd, all_refs=all_refs, revisions=revisions):
            parts.stop()
            return Contents(cwd, Plan((), (), (), (NO_COMMITS,)))
        notes, partial = _state(cwd)
    except BaseException:
        parts.stop()
        raise
    if partial:
        parts.stop()
        return Contents(cwd, select(cwd, selection))
    parts.notes = tuple(notes)
    return parts


def select(cwd: str, selection: Sequence[str], tags: Sequence[Tag] | None = None) -> Plan:
    """The plan for the commits `selection` names (`git log` arguments). `tags`: the tag
    objects to read; by default every annotated tag that points at one of the commits."""
    notes, partial = _state(cwd)
    blobs, commits, submodules, copies = _parse_log(git.log_raw(cwd, selection))
    if submodules:
        notes.append(f"{submodules} {SUBMODULES}")
    if tags is None:
        tags = _tags(cwd, {commit.sha for commit in commits})
    return Plan(
        tuple(blobs), tuple(commits), tuple(tags), tuple(notes), partial, copies=tuple(copies)
    )


SUBMODULES = "submodule change(s) skipped: scan each submodule on its own"


def _state(cwd: str) -> tuple[list[str], bool]:
    """What to tell of the repository (a shallow clone), and whether it is a partial clone."""
    notes = []
    state = git.run(["rev-parse", "--is-shallow-repository", "--git-common-dir"], cwd=cwd)
    shallow, _, common = state.stdout.rstrip(b"\n").partition(b"\n")
    if shallow == b"true":
        notes.append(
            "shallow clone: commits before the shallow boundary were not scanned "
            "(git fetch --unshallow, then scan again)"
        )
    return notes, git.is_partial_clone(os.path.join(cwd, os.fsdecode(common)))


def _tags(cwd: str, commits: set[str]) -> list[Tag]:
    """The annotated tags that point at one of `commits`."""
    return [Tag(oid, name) for oid, name, target in git.annotated_tags(cwd) if target in commits]


_Parsed = tuple[list[Introduced], list[Commit], int, list[Introduced]]


def _parse_log(output: bytes) -> _Parsed:
    try:
        return _parse_log_records(output)
    except (ValueError, IndexError, UnicodeDecodeError):
        raise LeakguardError("unexpected output from git log --raw") from None


def _parse_log_records(output: bytes) -> _Parsed:
    seen: dict[str, Introduced] = {}
    copies: dict[tuple[str, str], Introduced] = {}
    commits: dict[str, Commit] = {}  # a merge is listed once per parent (-m)
    submodules = 0
    commit = author = date = ""
    fields = iter(output.split(b"\0"))
    for field in fields:
        if field.startswith(b"\x01"):
            commit = field[1:].decode()
            author = next(fields, b"").decode(errors="replace")
            date = next(fields, b"").decode()
            commits.setdefault(commit, Commit(commit, author, date))
            continue
        record = field.lstrip(b"\n")
        if not record.startswith(b":"):
            continue
        _old_mode, new_mode, _old, new, _status = record[1:].split(b" ")
        path = os.fsdecode(next(fields, b""))
        if new_mode == _SUBMODULE:
            submodules += 1
        elif new.strip(b"0"):  # all zeros: deleted
            oid = new.decode()
            if oid not in seen:
                seen[oid] = Introduced(oid, path, commit, author, date)
            elif path != seen[oid].path and (oid, path) not in copies:
                copies[oid, path] = Introduced(oid, path, commit, author, date)
    return list(seen.values()), list(commits.values()), submodules, list(copies.values())


_Wanted = Union["Introduced", "Renamed", Commit, Tag, str]
_Read = Union[Fragment, Skipped, Note]


class Contents:
    """The plan as fragments through `git cat-file --batch`, oldest first: each commit's new
    blobs, then its message; then the tag messages; then (with `head`) the blobs only HEAD's
    tree holds, whose findings only tell which tokens are still there. Any slice of that
    order can be read on its own, so that parts can be read and scanned in parallel."""

    unit = "blobs"
    parallel_from = 6000  # objects (bench/bench_history.py)

    def __init__(self, cwd: str, plan: Plan, *, head: bool = True) -> None:
        self.cwd = cwd
        self.plan = plan
        self.notes = plan.notes
        self.head = git.head_blobs(cwd) if head else set()
        introduced = {blob.oid for blob in plan.blobs}
        self.wanted = _in_order(plan.commits, plan.blobs, plan.copies)
        self.wanted += [*plan.loose, *plan.tags, *sorted(self.head - introduced)]

    def __len__(self) -> int:
        return len(self.wanted)

    def __iter__(self) -> Iterator[_Read]:
        self.prepare()
        return (item for _position, item in self.read((0, len(self.wanted))))

    def prepare(self, meanwhile: Callable[[], object] | None = None) -> None:
        """What must happen once before any part is read: a partial clone fetches the blobs
        it lacks, all in one request. (`meanwhile` is for sources that wait for git.)"""
        if self.plan.partial:
            git.fetch_missing(
                self.cwd, [_spec(want) for want in self.wanted if not isinstance(want, Renamed)]
            )

    def parts(self, count: int) -> Iterator[tuple[tuple[int, int], bool]]:
        """Slices of the order: `count` of them, or one below `parallel_from` objects."""
        total = len(self.wanted)
        count = count if total >= self.parallel_from else 1
        bounds = [total * index // count for index in range(count + 1)]
        return ((part, part[1] < total) for part in zip(bounds, bounds[1:]))

    def read(self, part: tuple[int, int]) -> Iterator[tuple[int, _Read]]:
        """wanted[start:stop] as (position in the whole order, item), one cat-file for them."""
        start, stop = part
        return enumerate(_read(self.cwd, self.wanted[start:stop], self.head), start)


class Listed(NamedTuple):
    """A part of `Parts`: consecutive commits as `git log --raw` lists them."""

    listing: bytes
    first: int  # the position of its first commit
    tags: tuple[Tag, ...]  # the last part's: the tags that point at a commit listed


class Parts:
    """A whole history (of HEAD, or of every ref) in parts of consecutive commits, oldest
    first, cut from one `git log --raw` as git writes it: a worker reads a part (as
    `Contents` does) while git still lists the next ones, instead of all of the listing
    being parsed first. A blob brought in again in a later part is read again there; only
    its first commit is reported. Every blob of HEAD's tree came in with a commit of the
    whole history, so there is nothing to read for HEAD alone. Positions count commits."""

    unit = "commits"
    records = 1000  # blob records in a part, about (bench/bench_history.py)

    def __init__(self, cwd: str, selection: Sequence[str]) -> None:
        self.cwd = cwd
        self.notes: tuple[str, ...] = ()
        # git lists the history, the tags and HEAD's tree while this process goes on.
        self._log = git.start_log(cwd, selection)
        self._tags, self._head = git.start_annotated_tags(cwd), git.start_head_blobs(cwd)
        self.head: set[str] = set()
        self.listed = 0  # commits listed so far
        self._prepared = False

    def __len__(self) -> int:
        return self.listed

    def stop(self) -> None:
        """Stop git: the history is not to be read after all."""
        for started in (self._log, self._tags, self._head):
            started.stop()

    def prepare(self, meanwhile: Callable[[], object] | None = None) -> None:
        """Wait for HEAD's tree, running `meanwhile` first."""
        if self._prepared:
            return
        if meanwhile is not None:
            meanwhile()
        self.head = self._head()
        self._prepared = True

    def parts(self, count: int) -> Iterator[tuple[Listed, bool]]:
        """The parts as git lists them, each with whether more follow: the first of about a
        quarter of `records` blobs, so that a worker starts soon, the others of about
        `records`; the last also holds the annotated tags that point at a commit listed.
        One part when `count` is 1."""
        self.prepare()
        shas: set[bytes] = set()
        size = self.records if count > 1 else -1
        last = Listed(b"", 0, ())
        for listing, commits, more in _cut(self._log.output(), size, shas, first=size // 4):
            part = Listed(listing, self.listed, ())
            self.listed += commits
            if more:
                yield part, True
            else:
                last = part
        tags = tuple(Tag(o, n) for o, n, target in self._tags() if target.encode() in shas)
        yield last._replace(tags=tags), False

    def read(self, part: Listed) -> Iterator[tuple[int, _Read | Tally]]:
        """What each commit of the part brought in, then its message, at the commit's
        position; then the tags it holds."""
        blobs, commits, submodules, copies = _parse_log(part.listing)
        if submodules:
            yield part.first, Tally(submodules, SUBMODULES)
        wanted = _in_order(commits, blobs, copies) + list(part.tags)
        position = part.first
        last = part.first + max(len(commits) - 1, 0)
        for want, item in zip(wanted, _read(self.cwd, wanted, self.head)):
            yield min(position, last), item
            position += isinstance(want, Commit)


# A commit's header in the listing (after the NUL that ends the field before it): its sha.
_HEADER = re.compile(rb"\0\x01([0-9a-f]{40}|[0-9a-f]{64})\0")
_RECORD = re.compile(rb"\n?:")


def _cut(
    output: Iterable[bytes], records: int, shas: set[bytes], *, first: int = -1
) -> Iterator[tuple[bytes, int, bool]]:
    """`git log --raw -z` output (`_parse_log`'s input), given in chunks of any size, cut at
    commits into pieces of at least `records` blob records, the first of at least `first`
    (one piece when `records` is negative), each with about the number of commits it lists
    (for progress) and whether more follow. `shas` gets every commit's sha (and any path
    or name that looks like one: what it is for, finding the tags to read, only reads a
    tag more then).

    A field that starts like a header is one unless the field before it is a raw record
    (then it is that record's path) or a header (then it is the author's name): a piece
    is cut only where that holds, so that no name cuts a commit in two. The two listings
    of a merge (-m) are not cut apart (were a name like a header between them, the merge
    would be read in both pieces, reported at the first). Headers and records are counted
    in C; only the few places to cut at are looked at in Python."""
    # The piece being gathered, after the NUL that ends the field before it (made up for
    # the first one).
    buffer = bytearray(b"\0")
    searched = 0  # where the next header may start
    counted, found = 1, 0  # the records in buffer[:counted]
    commits, last = 0, b""  # the headers in buffer[:searched] (a merge's once), the last
    looked = 1  # no place to cut before this (a commit of many files comes in many chunks)
    wanted = first if first > 0 else records
    for chunk in output:
        buffer += chunk
        complete = buffer.rfind(b"\0") + 1  # every field before this is whole
        headers = _HEADER.findall(buffer, searched, complete)
        shas.update(headers)
        new, last = _distinct(headers, last)
        commits += new
        searched = complete - 1
        found += _records(buffer, counted, complete)
        counted = complete
        if 0 <= wanted <= found:
            at = _last_commit(buffer, complete, looked)
            looked = max(looked, complete - 70)  # (a header is at most 67 bytes long)
            if at:
                rest = _distinct(_HEADER.findall(buffer, at - 1, complete), b"")[0]
                yield bytes(buffer[1:at]), commits - rest, True
                del buffer[: at - 1]
                searched, counted, commits = searched - at + 1, counted - at + 1, rest
                found = _records(buffer, 1, counted)
                wanted, looked = records, 1
    if len(buffer) > 1:
        yield bytes(buffer[1:]), commits, False


def _distinct(shas: list[bytes], last: bytes) -> tuple[int, bytes]:
    """How many commits these headers list (a merge's listings follow one another), after
    one listing `last`; and the last sha."""
    count = 0
    for sha in shas:
        count += sha != last
        last = sha
    return count, last


def _last_commit(listing: bytearray, stop: int, start: int = 1) -> int:
    """Where the last commit header in listing[start:stop] starts (0: none there but the
    piece's first): not a merge's listing against its second parent, nor a name that
    looks like a header."""
    at = stop
    while True:
        at = listing.rfind(b"\0\x01", max(0, start - 1), at - 1) + 1
        if at <= 1:
            return 0
        match = _HEADER.match(listing, at - 1, stop)
        if match is None:
            continue
        previous = listing[listing.rfind(b"\0", 0, at - 1) + 1 : at - 1]
        if _RECORD.match(previous) or _HEADER.fullmatch(b"\0" + previous + b"\0"):
            continue  # a path, or an author's name
        before = listing.rfind(b"\0\x01", 0, at - 1) + 1
        if before and listing[before : before + len(match.group(1)) + 1] == match.group()[1:-1]:
            continue  # a merge, listed again against its next parent
        return at


def _records(listing: bytes | bytearray, start: int, stop: int) -> int:
    """How many raw records start in listing[start:stop] (about: a name may look like
    one): each follows a NUL, the first of a commit a NUL and a line break."""
    return listing.count(b"\0:", start - 1, stop) + listing.count(b"\0\n:", start - 1, stop)


def _in_order(
    commits: Iterable[Commit], blobs: Iterable[Introduced], copies: Iterable[Introduced]
) -> list[_Wanted]:
    """Each commit's new blobs (and blobs at new paths), then the commit itself."""
    by_commit: dict[str, list[_Wanted]] = {}
    for blob in blobs:
        by_commit.setdefault(blob.commit, []).append(blob)
    for blob in copies:
        by_commit.setdefault(blob.commit, []).append(Renamed(blob))
    wanted: list[_Wanted] = []
    for commit in commits:
        wanted += [*by_commit.get(commit.sha, ()), commit]
    return wanted


def _read(cwd: str, wanted: Sequence[_Wanted], head: set[str]) -> Iterator[_Read]:
    """One item for each of `wanted`, in order, from one `git cat-file`: a blob (a str: a
    blob of HEAD's tree) or a message as a fragment, a missing object as Skipped, a blob
    whose git-lfs content is not here as a note."""
    if not wanted:
        return
    store = lfs.Store(cwd)
    objects = git.contents(cwd, [_spec(want) for want in wanted if not isinstance(want, Renamed)])
    for want in wanted:
        if isinstance(want, Renamed):
            blob = want.blob
            origin = Origin(blob.commit, blob.author, blob.date, at_head=False)
            yield Fragment(blob.path, b"", origin=origin, at_head=blob.oid in head)
            continue
        spec, blocks = next(objects)
        if blocks is None:
            yield Skipped(spec, MISSING)
        elif isinstance(want, (str, Introduced)):
            content, _pointer = store.content(blocks)
            if content is None:
                yield LFS_NOTE
            elif isinstance(want, str):
                yield Fragment(want, content, at_head=True)
            else:  # (positional arguments: a named tuple takes keywords slower)
                origin = Origin(want.commit, want.author, want.date, False)
                yield Fragment(want.path, content, 1, 1, origin, want.oid in head)
        elif isinstance(want, Commit):
            origin = Origin(want.sha, want.author, want.date, at_head=False)
            text = message(blocks)
            yield Fragment(COMMIT_MESSAGE, text, origin=origin, kind=COMMIT_MESSAGE)
        else:
            headers, text = _split(blocks)
            tagger, date = _tagger(headers)
            origin = Origin(want.oid, tagger, date, at_head=False)
            name = f"{TAG_MESSAGE} ({want.name[len('refs/tags/') :]})"
            yield Fragment(name, text, origin=origin, kind=TAG_MESSAGE)


LFS_NOTE = Note(
    "file versions tracked with git-lfs were not scanned: their content is not in "
    ".git/lfs/objects (git lfs fetch --all, then scan again)"
)


class Renamed(NamedTuple):
    """A blob at a further path: its name is scanned, its bytes were at the first one."""

    blob: Introduced


def _spec(want: Introduced | Commit | Tag | str) -> str:
    if isinstance(want, str):
        return want
    return want.sha if isinstance(want, Commit) else want.oid


def message(data: bytes | Iterable[bytes]) -> bytes:
    """The message of a commit or tag object (its bytes, or its blocks): what follows its
    headers."""
    return _split(data)[1]


def _split(data: bytes | Iterable[bytes]) -> tuple[bytes, bytes]:
    whole = data if isinstance(data, bytes) else b"".join(data)
    headers, _, text = whole.partition(b"\n\n")
    return headers, text


def _tagger(headers: bytes) -> tuple[str, str]:
    """The tagger's name and the date (ISO 8601) from a tag object's headers."""
    for line in headers.split(b"\n"):
        if line.startswith(b"tagger "):
            who, _, when = line[len(b"tagger ") :].rpartition(b"> ")
            name = who.partition(b" <")[0].decode(errors="replace")
            try:
                seconds, zone = when.split()
                sign = -1 if zone.startswith(b"-") else 1
                offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5])) * sign
                moment = datetime.fromtimestamp(int(seconds), timezone(offset))
            except (ValueError, OverflowError, OSError):
                return name, ""
            return name, moment.isoformat()
    return "", ""
