"""Configuration: `.notion-leakguard.toml`, or `[tool.notion-leakguard]` in pyproject.toml.

Both are looked for at the root of the repository holding the current directory (or in the
current directory outside git). When both exist, `.notion-leakguard.toml` wins and
pyproject.toml's table is ignored. Unknown keys and wrong types are errors that name the
file and the key.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from functools import cache
from typing import Any, NamedTuple

from notion_leakguard.errors import LeakguardError, file_errors

OWN_FILE = ".notion-leakguard.toml"
PYPROJECT = "pyproject.toml"
TABLE = "notion-leakguard"


class Allowed(NamedTuple):
    """An `[[allow]]` entry: one token (by fingerprint) or every finding in the files a
    gitignore-style glob names (`path`), with the reason."""

    fingerprint: str | None
    reason: str
    path: str | None = None
    regex: str | None = None  # matched against the finding's line
    rules: tuple[str, ...] = ()  # with path: only findings of these rules (none: every rule)


class Config(NamedTuple):
    root: str  # where relative paths in the configuration start
    source: str | None = None  # the file it came from
    exclude: tuple[str, ...] = ()  # gitignore-style globs, relative to root
    baseline: str | None = None  # path, relative to root
    extra_dotenv_patterns: tuple[str, ...] = ()  # more file names that hold keys
    allow: tuple[Allowed, ...] = ()
    notes: tuple[str, ...] = ()

    def excludes(self, path: str) -> bool:
        """Whether `path` (absolute, or relative to the working directory) is excluded."""
        matcher = glob_matcher(self.exclude)
        if matcher is None:
            return False
        relative = os.path.relpath(os.path.abspath(path), self.root).replace(os.sep, "/")
        return not relative.startswith("../") and matcher.match(relative) is not None

    def allows_path(self, path: str, rule: str) -> bool:
        """Whether an `[[allow]]` entry's `path` glob covers `path` (as for excludes) for
        findings of `rule`."""
        return self.allowing(path, rule) is not None

    def allowing(self, path: str, rule: str) -> Allowed | None:
        """The first `[[allow]]` entry whose `path` glob covers `path` for `rule`."""
        relative = os.path.relpath(os.path.abspath(path), self.root).replace(os.sep, "/")
        if relative.startswith("../"):
            return None
        for entry in self.allow:
            if entry.path is None or (entry.rules and rule not in entry.rules):
                continue
            matcher = glob_matcher((entry.path,))
            if matcher is not None and matcher.match(relative) is not None:
                return entry
        return None

    def baseline_path(self) -> str | None:
        return os.path.join(self.root, self.baseline) if self.baseline else None


def load(cwd: str, path: str | None = None) -> Config:
    """The configuration for `cwd`: `path` when given (a `.notion-leakguard.toml`-style file,
    or a pyproject.toml with the table; its directory is where its paths start), else the
    one found from `cwd` up to the top of the repository."""
    if path is not None:
        return _named(os.path.abspath(os.path.join(cwd, path)))
    root = _project_root(cwd)
    own = os.path.join(root, OWN_FILE)
    pyproject = os.path.join(root, PYPROJECT)
    if os.path.isfile(own):
        notes: tuple[str, ...] = ()
        if _has_table(pyproject):
            notes = (f"{OWN_FILE} is used; [tool.{TABLE}] in {PYPROJECT} is ignored",)
        return _parse(_read_toml(own), root=root, source=own)._replace(notes=notes)
    if os.path.isfile(pyproject):
        table = _read_toml(pyproject).get("tool", {}).get(TABLE)
        if table is not None:
            if not isinstance(table, dict):
                raise LeakguardError(f"{pyproject}: [tool.{TABLE}] must be a table")
            return _parse(table, root=root, source=pyproject, prefix=f"tool.{TABLE}.")
    return Config(root=root)


def _named(path: str) -> Config:
    root = os.path.dirname(path)
    if not os.path.isfile(path):
        raise LeakguardError(f"{path}: no such configuration file")
    document = _read_toml(path)
    if os.path.basename(path) == PYPROJECT:
        table = document.get("tool", {}).get(TABLE)
        if not isinstance(table, dict):
            raise LeakguardError(f"{path}: no [tool.{TABLE}] table")
        return _parse(table, root=root, source=path, prefix=f"tool.{TABLE}.")
    return _parse(document, root=root, source=path)


def from_commit(cwd: str, commit: str) -> Config:
    """The configuration as a commit holds it at the top of its tree (a server's view of a
    push: no work tree, the configuration of what is pushed). Paths start at `cwd`."""
    from notion_leakguard import git

    own = git.file_at(cwd, commit, OWN_FILE)
    if own is not None:
        return _parse(_toml(own, f"{commit[:12]}:{OWN_FILE}"), root=cwd, source=OWN_FILE)
    pyproject = git.file_at(cwd, commit, PYPROJECT)
    if pyproject is not None:
        table = _toml(pyproject, f"{commit[:12]}:{PYPROJECT}").get("tool", {}).get(TABLE)
        if isinstance(table, dict):
            return _parse(table, root=cwd, source=PYPROJECT, prefix=f"tool.{TABLE}.")
    return Config(root=cwd)


def _toml(data: bytes, source: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python < 3.11 only
        import tomli as tomllib
    try:
        return tomllib.loads(data.decode("utf-8", "replace"))
    except tomllib.TOMLDecodeError as error:
        raise LeakguardError(f"{source}: invalid TOML: {error}") from None


def _project_root(cwd: str) -> str:
    """The nearest directory up from cwd holding a configuration file, stopping at the top
    of the repository (a directory with `.git`), as ruff and black look for theirs; no git
    process is started for it."""
    directory = os.path.abspath(cwd)
    while True:
        if os.path.isfile(os.path.join(directory, OWN_FILE)) or _has_table(
            os.path.join(directory, PYPROJECT)
        ):
            return directory
        parent = os.path.dirname(directory)
        if os.path.exists(os.path.join(directory, ".git")) or parent == directory:
            return directory if os.path.exists(os.path.join(directory, ".git")) else cwd
        directory = parent


def _has_table(pyproject: str) -> bool:
    if not os.path.isfile(pyproject):
        return False
    try:
        return TABLE in _read_toml(pyproject).get("tool", {})
    except LeakguardError:
        return False


def _read_toml(path: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python < 3.11 only
        import tomli as tomllib
    try:
        with file_errors(f"cannot read {path}"), open(path, "rb") as stream:
            return tomllib.load(stream)
    except tomllib.TOMLDecodeError as error:
        raise LeakguardError(f"{path}: invalid TOML: {error}") from None


def _parse(table: dict[str, Any], *, root: str, source: str, prefix: str = "") -> Config:
    def fail(key: str, problem: str) -> LeakguardError:
        return LeakguardError(f"{source}: {prefix}{key}: {problem}")

    def strings(key: str) -> tuple[str, ...]:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise fail(key, "must be a list of strings")
        for pattern in value:
            if pattern.startswith("!"):
                raise fail(key, f"negations are not supported: {pattern}")
        return tuple(value)

    known = {"exclude", "baseline", "extra-dotenv-patterns", "allow"}
    for key in table:
        if key not in known:
            raise fail(key, f"unknown key (known: {', '.join(sorted(known))})")
    baseline = table.get("baseline")
    if baseline is not None and not isinstance(baseline, str):
        raise fail("baseline", "must be a string (a path)")
    allow = []
    entries = table.get("allow", [])
    if not isinstance(entries, list):
        raise fail("allow", "must be an array of tables ([[allow]])")
    for index, entry in enumerate(entries):
        key = f"allow[{index}]"
        if not isinstance(entry, dict):
            raise fail(key, "must be a table with fingerprint (or path) and reason")
        unknown = set(entry) - {"fingerprint", "path", "regex", "reason", "rule"}
        if unknown:
            raise fail(
                f"{key}.{sorted(unknown)[0]}",
                "unknown key (known: fingerprint, path, regex, reason, rule)",
            )
        fingerprint, path, regex = entry.get("fingerprint"), entry.get("path"), entry.get("regex")
        reason = entry.get("reason")
        if sum(value is not None for value in (fingerprint, path, regex)) > 1:
            raise fail(key, "takes one of fingerprint, path and regex, not several")
        if path is not None:
            if not isinstance(path, str) or not path.strip() or path.startswith("!"):
                raise fail(f"{key}.path", "must be a gitignore-style glob (no negation)")
        elif regex is not None:
            if not isinstance(regex, str) or not regex:
                raise fail(f"{key}.regex", "must be a regular expression (a string)")
            _check_regex(regex, fail(f"{key}.regex", "is not a valid regular expression"))
        elif not isinstance(fingerprint, str) or not fingerprint.startswith("sha256:"):
            raise fail(f"{key}.fingerprint", 'must be a string "sha256:…" from a report')
        if not isinstance(reason, str) or not reason.strip():
            raise fail(f"{key}.reason", "must be a non-empty string: say why it is allowed")
        allow.append(Allowed(fingerprint, reason, path, regex, _rules(entry, path, fail, key)))
    return Config(
        root=root,
        source=source,
        exclude=strings("exclude"),
        baseline=baseline,
        extra_dotenv_patterns=strings("extra-dotenv-patterns"),
        allow=tuple(allow),
    )


def _rules(
    entry: dict[str, Any], path: str | None, fail: Callable[[str, str], LeakguardError], key: str
) -> tuple[str, ...]:
    """An allow entry's `rule`: one rule id or a list of them, with `path` only."""
    from notion_leakguard.rules import RULES_BY_ID

    value = entry.get("rule")
    if value is None:
        return ()
    if path is None:
        raise fail(f"{key}.rule", "goes with path (a fingerprint names one finding already)")
    rules = [value] if isinstance(value, str) else value
    if not isinstance(rules, list) or not rules or not all(isinstance(r, str) for r in rules):
        raise fail(f"{key}.rule", "must be a rule id or a list of rule ids")
    for rule in rules:
        if rule not in RULES_BY_ID:
            raise fail(f"{key}.rule", f"unknown rule {rule} (notion-leakguard rules lists them)")
    return tuple(rules)


def _check_regex(pattern: str, invalid: LeakguardError) -> None:
    import regex  # the `regex` package: its matching can time out (see suppress.py)

    try:
        regex.compile(pattern)
    except regex.error:
        raise invalid from None


@cache
def glob_matcher(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    """One regular expression for gitignore-style globs, matched against POSIX paths
    relative to the configuration root: `*` and `?` stay within a directory, `**` crosses
    directories, a pattern without a slash matches at any depth, a leading `/` anchors it,
    and a directory pattern covers everything below it."""
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{_glob_regex(p)})" for p in patterns))


def _glob_regex(pattern: str) -> str:
    if pattern.startswith("!"):
        raise LeakguardError(f"exclude: negations are not supported: {pattern}")
    anchored = "/" in pattern.rstrip("/")
    body = pattern.strip("/")
    out, i = [], 0
    while i < len(body):
        if body.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif body.startswith("**", i):
            out.append(".*")
            i += 2
        elif body[i] == "*":
            out.append("[^/]*")
            i += 1
        elif body[i] == "?":
            out.append("[^/]")
            i += 1
        elif body[i] == "[" and "]" in body[i + 1 :]:
            end = body.index("]", i + 1)
            members = body[i + 1 : end].replace("\\", "\\\\")
            out.append(f"[{'^' + members[1:] if members.startswith('!') else members}]")
            i = end + 1
        else:
            out.append(re.escape(body[i]))
            i += 1
    start = "^" if anchored else "^(?:.*/)?"
    return f"{start}{''.join(out)}(?:/.*)?$"
