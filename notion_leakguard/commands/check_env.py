"""`check-env`: dotenv hygiene for the current repository."""

from __future__ import annotations

from typing import NamedTuple

from notion_leakguard import config, envfiles
from notion_leakguard.commands import acknowledged
from notion_leakguard.findings import ScanResult


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
        return Checked(acknowledged(ScanResult(findings, root=cwd), settings))
    fixed = envfiles.fix_repository(cwd, names)
    result = acknowledged(ScanResult(fixed.remaining, root=cwd), settings)
    return Checked(result, fixed.gitignore if fixed.added else None, fixed.added, fixed.blockers)
