"""`baseline create` and `baseline update`."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import NamedTuple

from notion_leakguard import baseline as baselines
from notion_leakguard import config, suppress
from notion_leakguard.commands.scan import scan_paths
from notion_leakguard.findings import ScanResult


class Written(NamedTuple):
    path: str
    entries: int
    before: int | None = None  # entries the baseline had (update)


def create(paths: Sequence[str], *, cwd: str, output: str | None = None) -> Written:
    """Record every current finding under `paths` (default .) in a baseline."""
    settings = config.load(cwd)
    target = output or settings.baseline_path() or baselines.DEFAULT_PATH
    result = _current(paths, cwd=cwd, settings=settings)
    directory = os.path.dirname(os.path.abspath(target))
    entries = [
        baselines.entry_for(f, finding_root=result.root, directory=directory)
        for f in result.reported
    ]
    baselines.write(target, entries)
    return Written(target, len(set(entries)))


def update(
    paths: Sequence[str], *, cwd: str, baseline: str | None = None, add_new: bool = False
) -> Written:
    """Drop entries that no longer occur under `paths` (default .); add none unless add_new."""
    settings = config.load(cwd)
    target = baseline or settings.baseline_path() or baselines.DEFAULT_PATH
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
