"""Baselines: findings acknowledged once, so that only new leaks fail.

An entry holds the rule, the path (POSIX, relative to the baseline file's directory), the
finding's one-way fingerprint and an optional reason: never the token, never a line number,
never a timestamp. Entries are sorted, so the same findings always give the same bytes and
edits that move lines change nothing. An entry whose file no longer exists matches its
fingerprint anywhere: a file moved with `git mv` needs no new entry (one stat per entry).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from notion_leakguard.errors import LeakguardError, file_errors
from notion_leakguard.findings import Finding
from notion_leakguard.redaction import redact_text

DEFAULT_PATH = ".notion-leakguard-baseline.json"
FORMAT = 1


class Entry(NamedTuple):
    rule: str
    path: str
    fingerprint: str
    reason: str | None = None


class Baseline(NamedTuple):
    directory: str  # where entry paths start
    entries: tuple[Entry, ...]


def read_json(path: str, kind: str) -> Any:
    """The JSON document in a file the user named as a `kind`; LeakguardError, not a
    traceback, when it cannot be read or parsed."""
    import json  # only where a document is read or written

    try:
        with file_errors(f"cannot read {kind} {path}"), open(path, encoding="utf-8") as stream:
            return json.load(stream)
    except ValueError as error:
        raise LeakguardError(f"{path} is not a {kind}: it is not valid JSON ({error})") from None


def load(path: str) -> Baseline:
    return parse(read_json(path, "baseline"), path)


def parse(document: Any, path: str) -> Baseline:
    """A baseline from its JSON document; `path` is where it is (or would be) on disk."""
    if not isinstance(document, dict):
        document = {}
    entries = document.get("entries")
    if document.get("format") != FORMAT or not isinstance(entries, list):
        raise LeakguardError(f"{path} is not a notion-leakguard baseline (format {FORMAT})")
    loaded = []
    for index, entry in enumerate(entries):
        try:
            loaded.append(
                Entry(
                    str(entry["rule"]),
                    str(entry["path"]),
                    str(entry["fingerprint"]),
                    str(entry["reason"]) if entry.get("reason") is not None else None,
                )
            )
        except (KeyError, TypeError, AttributeError):
            raise LeakguardError(
                f"{path}: entries[{index}] needs rule, path and fingerprint"
            ) from None
    return Baseline(os.path.dirname(os.path.abspath(path)), tuple(loaded))


def render(entries: Iterable[Entry]) -> str:
    import json  # only where a document is read or written

    unique = sorted(set(entries), key=lambda e: (e.path, e.rule, e.fingerprint, e.reason or ""))
    document = {
        "tool": "notion-leakguard",
        "format": FORMAT,
        "entries": [
            {k: v for k, v in e._asdict().items() if v is not None or k != "reason"} for e in unique
        ],
    }
    return json.dumps(document, indent=2) + "\n"  # ASCII: any file name stays exact


def write(path: str, entries: Iterable[Entry]) -> None:
    text = render(entries)
    with (
        file_errors(f"cannot write baseline {path}"),
        open(path, "w", encoding="utf-8", newline="\n") as stream,
    ):
        stream.write(text)


def entry_for(finding: Finding, *, finding_root: str, directory: str) -> Entry:
    return Entry(
        finding.rule,
        _relative(os.path.join(finding_root, finding.path), directory),
        finding.fingerprint,
    )


def matches(
    baseline: Baseline, findings: Sequence[Finding], *, finding_root: str
) -> dict[int, Entry]:
    """For each finding (by index) that an entry acknowledges, that entry."""
    by_key = {(e.fingerprint, e.path): e for e in baseline.entries}
    by_fingerprint = {e.fingerprint: e for e in baseline.entries}
    moved: dict[str, Entry] = {}
    for candidate in baseline.entries:
        if not os.path.lexists(os.path.join(baseline.directory, candidate.path)):
            moved.setdefault(candidate.fingerprint, candidate)
    found = {}
    for index, finding in enumerate(findings):
        path = _relative(os.path.join(finding_root, finding.path), baseline.directory)
        entry = by_key.get((finding.fingerprint, path), moved.get(finding.fingerprint))
        if entry is None and finding.origin is not None and finding.origin.at_head:
            # A history finding names the path where the token came in; HEAD may hold it
            # under another name now, which is where the baseline recorded it.
            entry = by_fingerprint.get(finding.fingerprint)
        if entry is not None:
            found[index] = entry
    return found


def updated(
    baseline: Baseline, findings: Sequence[Finding], *, finding_root: str, add_new: bool
) -> list[Entry]:
    """Entries that still occur (a moved file's entry follows it, reason kept), plus, with
    add_new, entries for findings the baseline does not know yet."""
    matched = matches(baseline, findings, finding_root=finding_root)
    entries = []
    for index, finding in enumerate(findings):
        fresh = entry_for(finding, finding_root=finding_root, directory=baseline.directory)
        if index in matched:
            entries.append(fresh._replace(reason=matched[index].reason))
        elif add_new:
            entries.append(fresh)
    return entries


def under(baseline: Baseline, entry: Entry, roots: Sequence[str]) -> bool:
    """Whether the entry's file lies below one of `roots` (absolute paths)."""
    path = os.path.normpath(os.path.join(baseline.directory, entry.path))
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def _relative(path: str, directory: str) -> str:
    # A path that holds a token is stored with the token's preview (both when an entry is
    # written and when a finding is matched), so a baseline never holds one either.
    return redact_text(os.path.relpath(os.path.abspath(path), directory).replace(os.sep, "/"))
