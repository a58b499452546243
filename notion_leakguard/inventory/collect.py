"""One repository's keys: every ref's history and the working tree, in the process that
runs this (a local worker or a Dask worker). Only `Occurrence`s leave it; with verification
the keys are read again and sent to the Notion API from here, and only their states leave."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from typing import NamedTuple, Optional

from notion_leakguard import config, filenames, git, pipeline
from notion_leakguard.errors import LeakguardError
from notion_leakguard.findings import Finding, Note, Origin, ScanResult, Skipped
from notion_leakguard.inventory import mirror
from notion_leakguard.inventory.records import Occurrence, RepoScan, Target
from notion_leakguard.redaction import shown
from notion_leakguard.sources import FILE, Fragment, history

WORKING_TREE = "working tree"
# Seconds each repository's scan waits first: lets a test stop a worker mid-run.
DELAY_ENV = "NOTION_LEAKGUARD_INVENTORY_DELAY"


def scan_repository(target: Target, *, verify: bool = False, verify_all: bool = False) -> RepoScan:
    """Everything one repository holds, or why it could not be scanned."""
    delay = os.environ.get(DELAY_ENV)
    if delay:
        time.sleep(float(delay))
    try:
        return _scan(target, verify=verify, verify_all=verify_all)
    except LeakguardError as error:
        text = str(error)
        if not text.startswith(f"{target.name}: "):  # a git failure: say which repository
            text = f"{target.name}: {text}"
        return RepoScan(target.name, error=shown(text))


class _Seen(NamedTuple):
    first: Finding
    first_at: int  # the commit's place in history order
    last: Finding
    last_at: int


def _scan(target: Target, *, verify: bool, verify_all: bool) -> RepoScan:
    path = target.location
    if target.cache is not None:
        path = mirror.mirrored(target.location, target.cache)
    elif not os.path.isdir(path):
        raise LeakguardError(f"{target.name}: no such directory")
    bare = _repository(target.name, path)
    plan = history.plan(path, (), all_refs=True)
    seen, notes, unreadable = _history(path, plan)
    at_head = _at_head(path, {f.path for f, _ in _firsts(seen)})
    occurrences = [_occurrence(target.name, s.first, s.last, at_head) for s in seen.values()]
    extra: list[Finding] = []
    if not bare:
        top = git.top_level(path)
        known = {(f.fingerprint, f.path) for f, _ in _firsts(seen)}
        extra = [f for f in _working_tree(top) if (f.fingerprint, f.path) not in known]
        occurrences += [_uncommitted(target.name, f) for f in extra]
    if verify:
        states, more = _verified(path, [s.first for s in seen.values()], extra, verify_all)
        occurrences = [_answered(o, states) for o in occurrences]
        notes += [n for n in more if n not in notes]
    occurrences.sort(key=lambda o: (o.path, o.line, o.column, o.fingerprint))
    return RepoScan(
        target.name,
        tuple(occurrences),
        notes=tuple(notes),
        unreadable=tuple(unreadable),
        commits=len(plan.commits),
        bare=bare,
    )


def _repository(name: str, path: str) -> bool:
    """Whether `path` is a bare repository (or a work tree's `.git`, read as one); an error
    when it is no repository but a directory inside one, which git would take for it."""
    state = git.run(
        ["rev-parse", "--is-inside-work-tree", "--absolute-git-dir"],
        cwd=path,
        check=False,
    )
    if state.returncode:
        raise LeakguardError(f"{name}: not a git repository")
    work_tree, git_dir = os.fsdecode(state.stdout).splitlines()[:2]
    if work_tree == "true":
        top = git.top_level(path)
        if os.path.realpath(top) != os.path.realpath(path):
            raise LeakguardError(f"{name}: a directory inside the repository {top}, not one")
        return False
    if os.path.realpath(git_dir) != os.path.realpath(path):
        raise LeakguardError(f"{name}: a directory inside the repository {git_dir}, not one")
    return True  # bare, or the `.git` of a work tree: its history only


def _firsts(seen: Mapping[tuple[str, str, str], _Seen]) -> Iterable[tuple[Finding, int]]:
    return ((s.first, s.first_at) for s in seen.values())


def _history(
    cwd: str, plan: history.Plan
) -> tuple[dict[tuple[str, str, str], _Seen], list[str], list[str]]:
    """For each key and place (fingerprint, kind, path): the first and the last commit that
    brought it there, in history order (every ref)."""
    order = {commit.sha: index for index, commit in enumerate(plan.commits)}
    introduced = {(blob.path, blob.commit): blob.oid for blob in plan.blobs}
    copies: dict[str, list[history.Introduced]] = {}
    for copy in plan.copies:
        copies.setdefault(copy.oid, []).append(copy)
    seen: dict[tuple[str, str, str], _Seen] = {}
    notes: list[str] = []
    unreadable: list[str] = []

    def record(finding: Finding) -> None:
        assert finding.origin is not None
        at = order.get(finding.origin.commit, len(order))
        place = (finding.fingerprint, finding.kind, finding.path)
        known = seen.get(place)
        if known is None:
            seen[place] = _Seen(finding, at, finding, at)
        elif at < known.first_at:
            seen[place] = known._replace(first=finding, first_at=at)
        elif at > known.last_at:
            seen[place] = known._replace(last=finding, last_at=at)

    for item in history.Contents(cwd, plan, head=False):
        if isinstance(item, Skipped):
            unreadable.append(item.display)
        elif isinstance(item, Note):
            if item.text not in notes:
                notes.append(item.text)
        elif isinstance(item, Fragment) and item.origin is not None:
            found: list[Note] = []  # what an archive's limits cut short
            findings = pipeline.fragment_findings(item, found)
            notes.extend(note.text for note in found if note.text not in notes)
            for finding in findings:
                record(finding)
                oid = introduced.get((item.path, item.origin.commit))
                if item.kind != FILE or oid is None:
                    continue
                for copy in copies.get(oid, ()):
                    origin = Origin(copy.commit, copy.author, copy.date, at_head=False)
                    record(finding._replace(path=copy.path, origin=origin))
    notes += plan.notes
    return seen, notes, unreadable


def _at_head(cwd: str, paths: Iterable[str]) -> set[tuple[str, str]]:
    """(fingerprint, path) for each key HEAD still holds at one of `paths`: in a file's
    bytes, in an archive's member, or in the name of a file or directory."""
    files = git.head_files(cwd)
    wanted = set(paths)
    containers = sorted({path.partition("!")[0] for path in wanted} & files.keys())
    held: set[tuple[str, str]] = set()
    read = git.contents(cwd, [files[path] for path in containers])
    for path, (_oid, blocks) in zip(containers, read):
        if blocks is not None:
            found = pipeline.fragment_findings(Fragment(path, blocks))
            held.update((finding.fingerprint, finding.path) for finding in found)
    # A directory named with a key (`cache/ntn_…`) is still there when a file below it is.
    directories = [path + "/" for path in wanted if path not in files and "!" not in path]
    for file in files:
        if any(file.startswith(directory) for directory in directories):
            held.update((finding.fingerprint, finding.path) for finding in filenames.in_name(file))
    return held


def _working_tree(top: str) -> list[Finding]:
    """Keys in the checked-out files (what `scan` reports there), dotenv hygiene aside."""
    from notion_leakguard.commands.scan import scan_paths

    found = scan_paths(["."], cwd=top, settings=config.Config(top), jobs=1)
    return [f for f in found.findings if f.line > 0]


def _occurrence(
    repository: str, first: Finding, last: Finding, at_head: set[tuple[str, str]]
) -> Occurrence:
    assert first.origin is not None and last.origin is not None
    return Occurrence(
        first.fingerprint,
        first.rule,
        first.preview,
        first.message,
        repository,
        first.path,
        first.kind,
        first.origin.commit,
        first.origin.author,
        first.origin.date,
        first.line,
        first.column,
        (first.fingerprint, first.path) in at_head if first.kind == FILE else None,
        last_commit=last.origin.commit,
        last_date=last.origin.date,
        encoding=first.encoding,
    )


def _uncommitted(repository: str, found: Finding) -> Occurrence:
    return Occurrence(
        found.fingerprint,
        found.rule,
        found.preview,
        found.message,
        repository,
        found.path,
        WORKING_TREE,
        "",
        "",
        "",
        found.line,
        found.column,
        False,
        encoding=found.encoding,
    )


_State = tuple[Optional[str], Optional[str], Optional[str]]  # state, why, integration


def _verified(
    cwd: str, committed: list[Finding], uncommitted: list[Finding], verify_all: bool
) -> tuple[dict[str, _State], list[str]]:
    """Each key's state, asked of the Notion API from here; the keys are read again from
    the commits (or files) that hold them and never leave this function."""
    from notion_leakguard import recollect, verify

    committed = [f for f in committed if f.kind == FILE]  # a message cannot be read again
    candidates = recollect.from_git(committed, cwd=cwd)
    if uncommitted:
        candidates.update(recollect.from_files(uncommitted, root=git.top_level(cwd)))
    result = verify.annotate(
        ScanResult((*committed, *uncommitted)), candidates, verify_all=verify_all
    )
    states: dict[str, _State] = {}
    for f in result.findings:
        if f.verified is not None:
            states[f.fingerprint] = (f.verified, f.verified_why, f.verified_as)
    return states, [note.text for note in result.notes]


def _answered(occurrence: Occurrence, states: Mapping[str, _State]) -> Occurrence:
    state = states.get(occurrence.fingerprint)
    if state is None:
        return occurrence
    verified, why, who = state
    return occurrence._replace(verified=verified, verified_why=why, verified_as=who)
