"""`scan`: files and directories, the staged changes, or history; then acknowledgements
and, when asked, verification."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence

from notion_leakguard import config, envfiles, filenames, git, pipeline
from notion_leakguard.advice import HISTORY_ADVICE, SCAN_ADVICE, STAGED_ADVICE
from notion_leakguard.commands import Outcome, acknowledged, excluded_count
from notion_leakguard.errors import LeakguardError
from notion_leakguard.findings import Note, ScanResult, merge
from notion_leakguard.sources import files, staged

# done, in all, bytes read, and what is counted (blobs, or commits: history.Parts)
Progress = Callable[[int, int, int, str], None]


def scan(
    *,
    cwd: str,
    paths: Sequence[str] = (),
    staged: bool = False,
    history: bool = False,
    all_refs: bool = False,
    jobs: int | None = None,
    use_git: bool = True,
    baseline: str | None = None,
    lift: bool = False,
    verify: bool = False,
    verify_all: bool = False,
    progress: Progress | None = None,
    file_progress: Callable[[int, int], None] | None = None,
    config_file: str | None = None,
) -> Outcome:
    settings = config.load(cwd, config_file)
    if staged:
        outcome = Outcome(scan_staged(cwd, settings=settings), STAGED_ADVICE, read_from="index")
    elif history:
        outcome = Outcome(
            scan_history(cwd, paths, all_refs=all_refs, progress=progress, jobs=jobs),
            HISTORY_ADVICE,
            read_from="history",
        )
    else:
        found = scan_paths(
            paths or (".",),
            cwd=cwd,
            settings=settings,
            jobs=jobs,
            use_git=use_git,
            progress=file_progress,
        )
        outcome = Outcome(found, SCAN_ADVICE)
    result = acknowledged(
        outcome.result, settings, baseline=baseline, lift=lift, read_from=outcome.read_from
    )
    if verify:
        result = verified(result, from_git=staged or history, verify_all=verify_all)
    return outcome._replace(result=result)


def scan_paths(
    paths: Sequence[str],
    *,
    cwd: str,
    settings: config.Config,
    jobs: int | None = None,
    use_git: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> ScanResult:
    """Files and directories (`-`: standard input), paths relative to `cwd`, with the dotenv
    hygiene of what the walk met inside git work trees (`use_git` False: every file below
    the paths, git's ignore rules set aside)."""
    results = []
    if files.STDIN in paths:
        results.append(pipeline.scan([files.stdin(sys.stdin.buffer)], root=cwd))
    names = envfiles.DotenvNames(settings.extra_dotenv_patterns)
    named = [p for p in paths if p != files.STDIN]
    walk = files.Walk(named, cwd=cwd, dotenv=names, use_git=use_git)
    counted = excluded_count(walk, settings, cwd)
    results.append(pipeline.scan(counted, root=cwd, jobs=jobs, progress=progress))
    results.append(ScanResult((), excluded=counted.count, root=cwd))
    dotenv = envfiles.listing_findings(walk.listings, names)
    results.append(ScanResult(tuple(dotenv), root=cwd))
    return merge(results)


def scan_staged(cwd: str, *, settings: config.Config) -> ScanResult:
    """Added lines of the staged changes, and staged dotenv files; paths from the root."""
    # The root first: it proves a work tree (a bare repository's index would read as all
    # deletions) and staged paths start there.
    root = git.top_level(cwd)
    changes = staged.staged_changes(cwd)
    paths = changes.paths
    excluded = sum(settings.excludes(os.path.join(root, path)) for path in paths)
    names = envfiles.DotenvNames(settings.extra_dotenv_patterns)
    dotenv = [
        envfiles.file_finding(envfiles.TRACKED, path)
        for path in paths
        if names.matches(path) and not envfiles.is_template(path)
    ]
    # A key as a file name, also of a file without added lines (empty, or only removals).
    named = tuple(finding for path in paths for finding in filenames.in_name(path))
    found = pipeline.scan(changes.chunks, root=root, jobs=1)
    whole = changes.whole
    return merge(
        [
            found._replace(files_scanned=0),
            _added_in_whole_files(cwd, whole, root=root),
            ScanResult((*dotenv, *named), files_scanned=len(paths), root=root, excluded=excluded),
        ]
    )


def _added_in_whole_files(cwd: str, whole: Sequence[staged.Whole], *, root: str) -> ScanResult:
    """Tokens of the staged files read whole that their HEAD versions did not hold."""
    if not whole:
        return ScanResult((), root=root)
    before = pipeline.scan(staged.previous(cwd, whole), root=root, jobs=1)
    known = {f.fingerprint for f in before.findings}
    after = pipeline.scan(staged.current(cwd, whole), root=root, jobs=1)
    added = tuple(f for f in after.findings if f.fingerprint not in known)
    return after._replace(findings=added, files_scanned=0)


def scan_history(
    cwd: str,
    revisions: Sequence[str],
    *,
    all_refs: bool,
    progress: Progress | None = None,
    jobs: int | None = None,
) -> ScanResult:
    from notion_leakguard.sources import history  # threads and all: only --history needs it

    source = history.source(cwd, revisions, all_refs=all_refs)
    try:
        root = git.top_level(cwd)
    except LeakguardError:
        root = cwd  # a bare repository: paths are from the top of the tree anyway
    told = [0, 0]  # done, bytes

    def shown(done: int, size: int) -> None:
        assert progress is not None
        told[:] = done, size
        progress(done, len(source), size, source.unit)

    result = pipeline.scan_history(source, root=root, progress=progress and shown, jobs=jobs)
    if progress is not None and told[0] != len(source):  # the line ends, whatever was counted
        progress(len(source), len(source), told[1], source.unit)
    return merge([result, ScanResult((), notes=tuple(map(Note, source.notes)))])


def verified(result: ScanResult, *, from_git: bool, verify_all: bool) -> ScanResult:
    """`result` with each reported key's state, asked of the Notion API."""
    # Imported only here: a scan never loads an HTTP client unless asked to verify.
    from notion_leakguard import recollect, verify

    if from_git:
        candidates = recollect.from_git(result.reported, cwd=result.root)
    else:
        candidates = recollect.from_files(result.reported, root=result.root)
    return verify.annotate(result, candidates, verify_all=verify_all)
