"""Occurrences grouped into keys (one per fingerprint), each with its first sighting, its
repositories and environments, and the reuse worth calling out."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import NamedTuple

from notion_leakguard.environments import Shared, environment_of, sentence
from notion_leakguard.inventory.records import Inventory, Key, Occurrence, RepoScan

_STATE_ORDER = {"live": 0, "unknown": 1, "invalid": 2}


def build(scans: Sequence[RepoScan], notes: Iterable[str] = ()) -> Inventory:
    """The inventory of what `scans` found: keys oldest first."""
    grouped: dict[str, list[Occurrence]] = {}
    for scan in scans:
        for occurrence in scan.occurrences:
            grouped.setdefault(occurrence.fingerprint, []).append(occurrence)
    keys = sorted((_key(found) for found in grouped.values()), key=_age)
    collected = list(notes)
    for scan in scans:
        collected += [f"{scan.repository}: {n}" for n in scan.notes]
    return Inventory(tuple(keys), tuple(scans), tuple(dict.fromkeys(collected)))


def moment(date: str) -> float:
    """An ISO 8601 date as seconds since the epoch; the working tree ("") is now."""
    if not date:
        return datetime.now(timezone.utc).timestamp()
    try:
        return datetime.fromisoformat(date).timestamp()
    except ValueError:
        return float("inf")


def _age(key: Key) -> tuple[float, str]:
    return (moment(key.first.date), key.fingerprint)


def _key(found: list[Occurrence]) -> Key:
    found.sort(key=lambda o: (o.repository, o.path, o.line, o.column))
    first = min(found, key=lambda o: (not o.commit, moment(o.date)))
    repositories = tuple(dict.fromkeys(o.repository for o in found))
    environments = tuple(sorted({e for o in found if (e := _environment(o)) is not None}))
    answered = sorted(
        (o for o in found if o.verified is not None),
        key=lambda o: _STATE_ORDER.get(o.verified or "", 3),
    )
    state = answered[0] if answered else None
    return Key(
        first.fingerprint,
        first.rule,
        first.preview,
        first.message,
        first,
        tuple(found),
        repositories,
        environments,
        callouts(repositories, environments),
        verified=state.verified if state else None,
        verified_why=state.verified_why if state else None,
        verified_as=state.verified_as if state else None,
    )


def callouts(repositories: Sequence[str], environments: Sequence[str]) -> tuple[str, ...]:
    said = []
    if len(repositories) > 1:
        said.append(
            f"the same key is in {len(repositories)} repositories ({', '.join(repositories)}): "
            "one rotation covers them all, and each needs the new key"
        )
    if len(environments) > 1:
        said.append(sentence(Shared("", "", tuple(environments), ())))
    return tuple(said)


def _environment(occurrence: Occurrence) -> str | None:
    if occurrence.kind not in ("file", "working tree"):
        return None
    return environment_of(occurrence.path)


class Span(NamedTuple):
    """When a key entered one repository, the last commit that still brought it, and
    whether the repository holds it now (HEAD, or the working tree)."""

    repository: str
    entered: str  # ISO 8601; "" when only the working tree holds it
    last_seen: str
    present: bool


def timeline(key: Key) -> list[Span]:
    spans = []
    for repository in key.repositories:
        here = [o for o in key.occurrences if o.repository == repository]
        dated = [o for o in here if o.date]
        entered = min((o.date for o in dated), key=moment, default="")
        last = max((o.last_date or o.date for o in dated), key=moment, default="")
        present = any(o.at_head or o.kind == "working tree" for o in here)
        spans.append(Span(repository, entered, last, present))
    return spans
