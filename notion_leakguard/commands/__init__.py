"""One function per command: plain, keyword-only arguments in, a result out. The CLI
parses, calls one of these, renders the result and turns it into an exit code.

What every scanning command shares lives here: the configuration's excludes and the
acknowledgements (configuration, baseline) applied to a result.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple

from notion_leakguard import baseline as baselines
from notion_leakguard import config, suppress
from notion_leakguard.findings import Note, ScanResult
from notion_leakguard.sources import Fragment, Item


class Outcome(NamedTuple):
    result: ScanResult
    advice: str  # what the text report says to do about a token (reporters' *_ADVICE)
    subject: str = "tokens"  # what was looked for: "tokens", or "dotenv" (check-env)
    read_from: str = "files"  # where findings can be read again (recollect.READ_FROM)


def _lines(result: ScanResult, read_from: str) -> dict[tuple[str, int], str]:
    from notion_leakguard import recollect

    open_ones = [f for f in result.findings if f.suppressed is None]
    return recollect.lines(open_ones, root=result.root, read_from=read_from)


def excluded_count(items: Iterable[Item], settings: config.Config, root: str) -> Counted:
    """`items`, passed through, counting the files the configuration excludes."""
    if not settings.exclude:
        return Counted(items, _none_excluded)
    return Counted(items, lambda path: settings.excludes(os.path.join(root, path)))


class Counted:
    def __init__(self, items: Iterable[Item], excluded: Callable[[str], bool]) -> None:
        self.items = items
        self.excluded = excluded
        self.count = 0

    def __iter__(self) -> Iterator[Item]:
        if self.excluded is _none_excluded:  # the usual case: no step between walk and scan
            return iter(self.items)
        return self._counting()

    def _counting(self) -> Iterator[Item]:
        for item in self.items:
            if isinstance(item, Fragment) and self.excluded(item.path):
                self.count += 1
            yield item


def _none_excluded(path: str) -> bool:
    return False


def default_baseline(settings: config.Config) -> str:
    """Where `baseline create` writes, and every command looks, when nothing names a
    baseline: the top of the repository (where the configuration would be)."""
    return os.path.join(settings.root, baselines.DEFAULT_PATH)


def acknowledged(
    result: ScanResult,
    settings: config.Config,
    *,
    baseline: str | None = None,
    lift: bool = False,
    read_from: str = "files",
) -> ScanResult:
    """`result` with what the configuration and the baseline (`baseline`, else the
    configuration's, else one at the default place) acknowledge marked, and the
    configuration's notes; with `lift`, everything reported all the same (--no-suppress)."""
    notes = tuple(Note(text) for text in settings.notes)
    path = baseline or settings.baseline_path() or default_baseline(settings)
    if not baseline and not os.path.exists(path):
        known = None
        if settings.baseline:  # named, not written yet: say so, and go on without it
            notes += (
                Note(
                    f"{settings.source}: baseline {settings.baseline} does not exist yet "
                    "(notion-leakguard baseline create writes it)"
                ),
            )
    else:
        known = baselines.load(path)
    root = result.root

    def excluded(path: str) -> bool:
        return settings.excludes(os.path.join(root, path))

    def allowed_path(path: str, rule: str) -> bool:
        return settings.allows_path(os.path.join(root, path), rule)

    result = suppress.apply(
        result,
        allow=settings.allow,
        baseline=known,
        excluded=excluded,
        allowed_path=allowed_path,
    )
    patterns = [a.regex for a in settings.allow if a.regex is not None]
    if patterns:
        result, slow = suppress.by_line(result, patterns, _lines(result, read_from))
        notes += tuple(
            Note(f"{settings.source}: allow regex {p!r} took too long on a line; not applied")
            for p in slow
        )
    result = result._replace(notes=result.notes + notes)
    return suppress.lift(result) if lift else result
