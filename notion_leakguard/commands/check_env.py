"""`check-env`: dotenv hygiene for the current repository."""

from __future__ import annotations

import os
from typing import NamedTuple

from notion_leakguard import config, envfiles
from notion_leakguard.commands import acknowledged
from notion_leakguard.findings import BASELINE, CONFIG, Note, ScanResult


class Checked(NamedTuple):
    result: ScanResult
    gitignore: str | None = None  # the .gitignore --fix changed, if it did
    added: tuple[str, ...] = ()  # the lines --fix appended
    blockers: tuple[str, ...] = ()  # why --fix could not cover a file


def check_env(*, cwd: str, fix: bool = False, config_file: str | None = None) -> Checked:
    settings = config.load(cwd, config_file)
    names = envfiles.DotenvNames(settings.extra_dotenv_patterns)
    if not fix:
        findings = tuple(envfiles.check_repository(cwd, names))
        return Checked(_said(acknowledged(ScanResult(findings, root=cwd), settings), settings))
    fixed = envfiles.fix_repository(cwd, names)
    result = _said(acknowledged(ScanResult(fixed.remaining, root=cwd), settings), settings)
    return Checked(result, fixed.gitignore if fixed.added else None, fixed.added, fixed.blockers)


def _said(result: ScanResult, settings: config.Config) -> ScanResult:
    """`result` with a note for each dotenv file committed on purpose: what acknowledges it
    (the summary only counts suppressed findings)."""
    notes: dict[str, str] = {}
    for finding in result.findings:
        if finding.path in notes:
            continue
        if finding.suppressed == BASELINE:
            notes[finding.path] = "the baseline"
        elif finding.suppressed == CONFIG:
            entry = settings.allowing(os.path.join(result.root, finding.path), finding.rule)
            source = os.path.basename(settings.source or config.OWN_FILE)
            notes[finding.path] = f"{source} ({entry.reason})" if entry else source
    said = tuple(
        Note(f"{path}: committed on purpose, acknowledged by {by}") for path, by in notes.items()
    )
    return result._replace(notes=result.notes + said)
