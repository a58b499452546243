"""Dotenv hygiene: what counts as a dotenv file, whether git ignores or tracks it, and the
.gitignore lines that would keep it out of git.

Keys belong in environment variables or in a dotenv file that git ignores and does not
track. Templates (`.env.example`, ...) are meant to be committed and need no ignore rule.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from notion_leakguard import git
from notion_leakguard.config import glob_matcher
from notion_leakguard.errors import LeakguardError, file_errors
from notion_leakguard.findings import Finding, fingerprint
from notion_leakguard.git import ListedFile
from notion_leakguard.rules import ENV_NOT_IGNORED, ENV_TRACKED, RULES_BY_ID

TEMPLATE_WORDS = ("example", "sample", "template", "dist", "defaults")

NOT_IGNORED = ENV_NOT_IGNORED.id
TRACKED = ENV_TRACKED.id


# Named like dotenv files, committed by design, and sourced as shell scripts: direnv's
# `.envrc`, React Native's `ios/.xcode.env` (its `.xcode.env.local`, machine-local and
# ignored by RN's own .gitignore, is not named like a dotenv file either). A token inside
# them is a finding like in any file; the file itself is not.
NOT_DOTENV = (".envrc", ".xcode.env")

# What git lists when asked only for dotenv files (then filtered by is_dotenv), in the
# whole work tree (`top`) whatever the current directory.
PATHSPECS = (":(top,glob)**/*.env", ":(top,glob)**/.env.*")


class DotenvNames(NamedTuple):
    """Which files count as dotenv files: the standard names, plus the configuration's
    `extra-dotenv-patterns` (gitignore-style globs; one without a slash matches a name at
    any depth)."""

    extra: tuple[str, ...] = ()

    def matches(self, path: str) -> bool:
        if is_dotenv(path):
            return True
        matcher = glob_matcher(self.extra)
        return matcher is not None and matcher.match(path.lstrip("./")) is not None

    def pathspecs(self) -> tuple[str, ...]:
        extra = (
            f":(top,glob){p.lstrip('/')}" if "/" in p.rstrip("/") else f":(top,glob)**/{p}"
            for p in self.extra
        )
        return (*PATHSPECS, *extra)


STANDARD = DotenvNames()


def is_dotenv(path: str) -> bool:
    """`.env`, `.env.<anything>` and `<name>.env` (a file, by its name), but not the
    scripts of NOT_DOTENV."""
    if ".env" not in path:
        return False  # most paths: skip the rest
    name = posixpath.basename(path)
    return name not in NOT_DOTENV and (
        name == ".env"
        or name.startswith(".env.")
        or (name.endswith(".env") and len(name) > len(".env"))
    )


def is_template(path: str) -> bool:
    name = posixpath.basename(path)
    if name.startswith(".env."):
        return name.rsplit(".", 1)[-1] in TEMPLATE_WORDS
    if name.endswith(".env"):
        return name[: -len(".env")] in TEMPLATE_WORDS
    return False


def file_finding(rule: str, path: str) -> Finding:
    """A finding about a whole file: line 0, no preview; fingerprinted by rule and path."""
    return Finding(
        rule=rule,
        path=path,
        line=0,
        column=0,
        preview="",
        fingerprint=fingerprint(f"{rule}\0{path}"),
        message=RULES_BY_ID[rule].message,
    )


def hygiene(
    listed: Iterable[ListedFile],
    *,
    ignored_tracked: Iterable[str] = (),
    names: DotenvNames = STANDARD,
) -> list[tuple[str, str]]:
    """(rule, path) for each problem among files git listed (tracked, or untracked and not
    ignored). `ignored_tracked`: tracked dotenv files that an ignore rule does cover."""
    covered = set(ignored_tracked)
    problems = []
    for item in listed:
        if not names.matches(item.path) or is_template(item.path):
            continue
        if item.tracked:
            problems.append((TRACKED, item.path))
        if item.path not in covered:
            problems.append((NOT_IGNORED, item.path))
    return problems


def hygiene_findings(
    listed: Sequence[ListedFile], *, cwd: str, names: DotenvNames = STANDARD
) -> list[Finding]:
    """Findings for the dotenv files among those git listed in `cwd` (paths as listed)."""
    covered = git.ignored(_tracked_dotenv(listed, names), cwd=cwd)
    problems = hygiene(listed, ignored_tracked=covered, names=names)
    return [file_finding(rule, path) for rule, path in problems]


class Listing(NamedTuple):
    """The files git listed in one directory of a work tree (while a scan walked it)."""

    directory: str  # where git ran
    display: str  # that directory as reported
    files: list[ListedFile]


def listing_findings(listings: Iterable[Listing], names: DotenvNames = STANDARD) -> list[Finding]:
    """Findings for the dotenv files among what a scan's walk listed, paths as reported."""
    found = []
    for listing in listings:
        for finding in hygiene_findings(listing.files, cwd=listing.directory, names=names):
            path = finding.path if listing.display == "." else f"{listing.display}/{finding.path}"
            found.append(finding._replace(path=path))
    return found


def ignore_patterns(paths: Iterable[str], templates: Sequence[str]) -> list[str]:
    """The .gitignore lines that cover `paths`, plus `!` exceptions for the templates among
    `templates` that a new pattern would otherwise catch."""
    patterns: list[str] = []
    for path in paths:
        name = posixpath.basename(path)
        if name.startswith(".env."):
            pattern = ".env.*"
        elif name.endswith(".env") and name != ".env":
            pattern = "*.env"
        else:
            pattern = name
        if pattern not in patterns:
            patterns.append(pattern)
    exceptions = []
    for template in templates:
        name = posixpath.basename(template)
        caught = (".env.*" in patterns and name.startswith(".env.")) or (
            "*.env" in patterns and name.endswith(".env")
        )
        if caught and f"!{name}" not in exceptions:
            exceptions.append(f"!{name}")
    return patterns + exceptions


def append_lines(text: str, lines: Sequence[str]) -> str:
    """`text` (a .gitignore) with `lines` appended, keeping its line ending style and
    ending in a newline."""
    newline = "\r\n" if "\r\n" in text else "\n"
    if text and not text.endswith("\n"):
        text += newline
    block = ["# Dotenv files hold keys: keep them out of git (notion-leakguard check-env --fix)"]
    return text + newline.join([*block, *lines]) + newline


def check_repository(cwd: str, names: DotenvNames = STANDARD) -> list[Finding]:
    """Hygiene findings for the whole repository holding `cwd`, paths relative to `cwd`."""
    try:
        # Paths come relative to cwd, `../` and all.
        listed = git.listed_files(cwd, names.pathspecs())
    except LeakguardError:
        git.top_level(cwd)  # the clearer message when this is no work tree
        raise
    return hygiene_findings(listed, cwd=cwd, names=names)


class Fix(NamedTuple):
    added: tuple[str, ...]  # lines appended to the root .gitignore (none: nothing to do)
    gitignore: str
    remaining: tuple[Finding, ...]  # what --fix cannot mend: tracked files, nested negations
    blockers: tuple[str, ...]  # why a file is still not ignored: the rule that re-includes it


def fix_repository(cwd: str, names: DotenvNames = STANDARD) -> Fix:
    """Append to the root .gitignore what the untracked dotenv files need, then check again."""
    root = git.top_level(cwd)
    listed = git.listed_files(root, names.pathspecs())
    covered = git.ignored(_tracked_dotenv(listed, names), cwd=root)
    problems = hygiene(listed, ignored_tracked=covered, names=names)
    exposed = [path for rule, path in problems if rule == NOT_IGNORED]
    templates = [f.path for f in listed if is_dotenv(f.path) and is_template(f.path)]
    gitignore = os.path.join(root, ".gitignore")
    text = _read(gitignore)
    present = {line.strip() for line in text.splitlines()}
    added = [p for p in ignore_patterns(exposed, templates) if p not in present] if exposed else []
    if added:
        with file_errors(f"cannot write {gitignore}"), open(gitignore, "wb") as stream:
            stream.write(append_lines(text, added).encode("utf-8", "surrogateescape"))
    remaining = check_repository(cwd, names)
    still = [f.path for f in remaining if f.rule == NOT_IGNORED]
    blockers = [
        f"{path}: re-included by {rule}; a root .gitignore cannot override that: remove or "
        "narrow the `!` rule, or move the file"
        for path, rule in git.deciding_rules(still, cwd=cwd).items()
    ]
    return Fix(tuple(added), os.path.relpath(gitignore, cwd), tuple(remaining), tuple(blockers))


def _read(path: str) -> str:
    with file_errors(f"cannot read {path}"):
        try:
            with open(path, "rb") as stream:
                return stream.read().decode("utf-8", "surrogateescape")
        except FileNotFoundError:
            return ""


def _tracked_dotenv(listed: Sequence[ListedFile], names: DotenvNames) -> list[str]:
    return [
        f.path for f in listed if f.tracked and names.matches(f.path) and not is_template(f.path)
    ]
