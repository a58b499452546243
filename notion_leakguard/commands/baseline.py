"""`baseline create` and `baseline update`."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import NamedTuple

from notion_leakguard import baseline as baselines
from notion_leakguard import config, suppress
from notion_leakguard.commands import default_baseline
from notion_leakguard.commands.scan import scan_paths
from notion_leakguard.findings import ScanResult


class Written(NamedTuple):
    path: str
    entries: int
    before: int | None = None  # entries the baseline had, when there was one
    added: int = 0
    dropped: int = 0


def create(
    paths: Sequence[str],
    *,
    cwd: str,
    output: str | None = None,
    config_file: str | None = None,
) -> Written:
    """Record every current finding under `paths` (default .) in a baseline. Over an
    existing baseline, the hand-written reasons of entries that still occur are kept."""
    settings = config.load(cwd, config_file)
    target = output or settings.baseline_path() or default_baseline(settings)
    result = _current(paths, cwd=cwd, settings=settings)
    directory = os.path.dirname(os.path.abspath(target))
    previous = baselines.load(target) if os.path.exists(target) else None
    if previous is None:
        entries = [
            baselines.entry_for(f, finding_root=result.root, directory=directory)
            for f in result.reported
        ]
    else:
        entries = baselines.updated(
            previous, result.reported, finding_root=result.root, add_new=True
        )
    baselines.write(target, entries)
    before = set(previous.entries) if previous is not None else set()
    kept = {(e.rule, e.path, e.fingerprint) for e in entries}
    was = {(e.rule, e.path, e.fingerprint) for e in before}
    return Written(
        target,
        len(kept),
        len(was) if previous is not None else None,
        added=len(kept - was),
        dropped=len(was - kept),
    )


def update(
    paths: Sequence[str],
    *,
    cwd: str,
    baseline: str | None = None,
    add_new: bool = False,
    config_file: str | None = None,
) -> Written:
    """Drop entries that no longer occur under `paths` (default .); add none unless add_new."""
    settings = config.load(cwd, config_file)
    target = baseline or settings.baseline_path() or default_baseline(settings)
    known = baselines.load(target)
    result = _current(paths, cwd=cwd, settings=settings)
    entries = baselines.updated(known, result.reported, finding_root=result.root, add_new=add_new)
    scanned = [os.path.abspath(p) for p in paths or (".",)]
    elsewhere = [e for e in known.entries if not baselines.under(known, e, scanned)]
    baselines.write(target, [*entries, *elsewhere])
    return Written(target, len(set(entries)), len(known.entries))


def _current(paths: Sequence[str], *, cwd: str, settings: config.Config) -> ScanResult:
    found = scan_paths(paths or (".",), cwd=cwd, settings=settings)
    return suppress.apply(found, allow=settings.allow)
