"""One function per command: plain, keyword-only arguments in, a result out. The CLI
parses, calls one of these, renders the result and turns it into an exit code.

What every scanning command shares lives here: the configuration's excludes and the
acknowledgements (configuration, baseline) applied to a result.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from notion_leakguard import baseline as baselines
from notion_leakguard import config, suppress
from notion_leakguard.findings import Note, ScanResult
from notion_leakguard.sources import Fragment, Item


class Outcome(NamedTuple):
    result: ScanResult
    advice: str  # what the text report says to do about a token (reporters' *_ADVICE)


def included(items: Iterable[Item], settings: config.Config, root: str) -> Iterator[Item]:
    """`items` without the fragments the configuration excludes (paths relative to root)."""
    for item in items:
        if not isinstance(item, Fragment) or not settings.excludes(os.path.join(root, item.path)):
            yield item


def acknowledged(
    result: ScanResult, settings: config.Config, *, baseline: str | None = None, lift: bool = False
) -> ScanResult:
    """`result` with what the configuration and the baseline (`baseline`, else the
    configuration's) acknowledge marked, and the configuration's notes; with `lift`,
    everything reported all the same (--no-suppress)."""
    path = baseline or settings.baseline_path()
    known = baselines.load(path) if path else None
    result = suppress.apply(result, allow=settings.allow, baseline=known)
    notes = tuple(Note(text) for text in settings.notes)
    result = result._replace(notes=result.notes + notes)
    return suppress.lift(result) if lift else result
