"""Git history as a source: every blob the chosen commits introduced, each read once.

One `git log --raw` lists, oldest first (parents before children), the blobs each commit
adds or changes, merges included (`-m`: a merge resolution's new blobs appear there); one
`git cat-file --batch` then streams their contents. No process per commit or per file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta, timezone
from typing import NamedTuple

from notion_leakguard import git
from notion_leakguard.errors import LeakguardError
from notion_leakguard.findings import Note, Origin, Skipped
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
    head = git.run(["rev-parse", "--verify", "-q", "HEAD"], cwd=cwd, check=False)
    if head.returncode and not all_refs and not revisions:
        git.top_level_or_bare(cwd)
        return Plan((), (), (), ("no commits yet: there is no history to scan",))
    if all_refs:
        return select(cwd, ["--all"])
    return select(cwd, ["--end-of-options", *(revisions or ["HEAD"])])


def select(cwd: str, selection: Sequence[str], tags: Sequence[Tag] | None = None) -> Plan:
    """The plan for the commits `selection` names (`git log` arguments). `tags`: the tag
    objects to read; by default every annotated tag that points at one of the commits."""
    notes = []
    state = git.run(["rev-parse", "--is-shallow-repository", "--git-common-dir"], cwd=cwd)
    shallow, _, common = state.stdout.rstrip(b"\n").partition(b"\n")
    if shallow == b"true":
        notes.append(
            "shallow clone: commits before the shallow boundary were not scanned "
            "(git fetch --unshallow, then scan again)"
        )
    blobs, commits, submodules, copies = _parse_log(git.log_raw(cwd, selection))
    if submodules:
        notes.append(f"{submodules} submodule change(s) skipped: scan each submodule on its own")
    if tags is None:
        shas = {commit.sha for commit in commits}
        tags = [Tag(oid, name) for oid, name, target in git.annotated_tags(cwd) if target in shas]
    partial = git.is_partial_clone(os.path.join(cwd, os.fsdecode(common)))
    return Plan(
        tuple(blobs), tuple(commits), tuple(tags), tuple(notes), partial, copies=tuple(copies)
    )


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


class Contents:
    """The plan as fragments through `git cat-file --batch`, oldest first: each commit's new
    blobs, then its message; then the tag messages; then (with `head`) the blobs only HEAD's
    tree holds, whose findings only tell which tokens are still there. `numbered` reads any
    slice of that order on its own, so that parts can be read and scanned in parallel."""

    def __init__(self, cwd: str, plan: Plan, *, head: bool = True) -> None:
        self.cwd = cwd
        self.plan = plan
        self.head = git.head_blobs(cwd) if head else set()
        by_commit: dict[str, list[Introduced | Renamed]] = {}
        for blob in plan.blobs:
            by_commit.setdefault(blob.commit, []).append(blob)
        for blob in plan.copies:
            by_commit.setdefault(blob.commit, []).append(Renamed(blob))
        introduced = {blob.oid for blob in plan.blobs}
        self.wanted: list[Introduced | Renamed | Commit | Tag | str] = []
        for commit in plan.commits:
            self.wanted += [*by_commit.get(commit.sha, ()), commit]
        self.wanted += [*plan.loose, *plan.tags, *sorted(self.head - introduced)]

    def __len__(self) -> int:
        return len(self.wanted)

    def __iter__(self) -> Iterator[Fragment | Skipped | Note]:
        self.prepare()
        return (item for _position, item in self.numbered(0, len(self.wanted)))

    def prepare(self) -> None:
        """What must happen once before any part is read: a partial clone fetches the blobs
        it lacks, all in one request."""
        if self.plan.partial:
            git.fetch_missing(
                self.cwd, [_spec(want) for want in self.wanted if not isinstance(want, Renamed)]
            )

    def numbered(self, start: int, stop: int) -> Iterator[tuple[int, Fragment | Skipped | Note]]:
        """wanted[start:stop] as (position in the whole order, item), one cat-file for them."""
        wanted = self.wanted[start:stop]
        store = lfs.Store(self.cwd)
        read = [want for want in wanted if not isinstance(want, Renamed)]
        objects = git.contents(self.cwd, [_spec(want) for want in read])
        for position, want in enumerate(wanted, start):
            if isinstance(want, Renamed):
                blob = want.blob
                origin = Origin(blob.commit, blob.author, blob.date, at_head=False)
                at_head = blob.oid in self.head
                yield position, Fragment(blob.path, b"", origin=origin, at_head=at_head)
                continue
            spec, blocks = next(objects)
            if blocks is None:
                yield position, Skipped(spec, MISSING)
            elif isinstance(want, (str, Introduced)):
                content, _pointer = store.content(blocks)
                if content is None:
                    yield position, LFS_NOTE
                elif isinstance(want, str):
                    yield position, Fragment(want, content, at_head=True)
                else:
                    origin = Origin(want.commit, want.author, want.date, at_head=False)
                    at_head = want.oid in self.head
                    yield position, Fragment(want.path, content, origin=origin, at_head=at_head)
            elif isinstance(want, Commit):
                origin = Origin(want.sha, want.author, want.date, at_head=False)
                text = message(blocks)
                yield position, Fragment(COMMIT_MESSAGE, text, origin=origin, kind=COMMIT_MESSAGE)
            else:
                headers, text = _split(blocks)
                tagger, date = _tagger(headers)
                origin = Origin(want.oid, tagger, date, at_head=False)
                name = f"{TAG_MESSAGE} ({want.name[len('refs/tags/') :]})"
                yield position, Fragment(name, text, origin=origin, kind=TAG_MESSAGE)


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


def message(blocks: Iterable[bytes]) -> bytes:
    """The message of a commit or tag object: what follows its headers."""
    return _split(blocks)[1]


def _split(blocks: Iterable[bytes]) -> tuple[bytes, bytes]:
    headers, _, text = b"".join(blocks).partition(b"\n\n")
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
