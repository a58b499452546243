"""The inventory's records. What travels from a worker back to the client is a `RepoScan`:
previews, fingerprints and places, never a key."""

from __future__ import annotations

from typing import NamedTuple


class Target(NamedTuple):
    """A repository to scan: a local clone or bare repository, or a clone URL that is
    mirrored (bare) into `cache`."""

    name: str  # how reports name it: the path or URL as given (credentials removed)
    location: str  # a local path (absolute), or the clone URL
    cache: str | None = None  # where URLs are mirrored


class Occurrence(NamedTuple):
    """One place a key is at: a path (or a commit or tag message) of one repository, with
    the first commit that brought it there and the last that still did."""

    fingerprint: str
    rule: str
    preview: str
    message: str
    repository: str
    path: str  # a file's path from the repository root, or "commit message", ...
    kind: str  # "file", "commit message", "tag message", or "working tree" (uncommitted)
    commit: str  # the first commit (or tag) that brought it here; "" in the working tree
    author: str
    date: str  # ISO 8601; "" in the working tree
    line: int
    column: int
    at_head: bool | None  # HEAD's version of the path still holds it; None for messages
    last_commit: str = ""  # the last commit that brought it to this path (the same: once)
    last_date: str = ""
    encoding: str = "plain"
    verified: str | None = None  # live, invalid or unknown (--verify)
    verified_why: str | None = None
    verified_as: str | None = None  # for a live key: its integration and workspace


class RepoScan(NamedTuple):
    """What scanning one repository found; `error` when it could not be scanned."""

    repository: str
    occurrences: tuple[Occurrence, ...] = ()
    notes: tuple[str, ...] = ()
    unreadable: tuple[str, ...] = ()  # objects missing from the store
    error: str | None = None
    commits: int = 0  # how many commits were read
    bare: bool = False


class Key(NamedTuple):
    """One distinct key (by fingerprint) and every place it is at."""

    fingerprint: str
    rule: str
    preview: str
    message: str
    first: Occurrence  # the oldest commit that held it, in any repository
    occurrences: tuple[Occurrence, ...]  # by repository, then path
    repositories: tuple[str, ...]
    environments: tuple[str, ...]  # of the dotenv files that held it (development, ...)
    callouts: tuple[str, ...]  # reuse the user should know about
    verified: str | None = None
    verified_why: str | None = None
    verified_as: str | None = None


class Inventory(NamedTuple):
    keys: tuple[Key, ...]
    repositories: tuple[RepoScan, ...]  # every repository asked for, in the order given
    notes: tuple[str, ...] = ()

    @property
    def failed(self) -> tuple[RepoScan, ...]:
        return tuple(r for r in self.repositories if r.error is not None)

    @property
    def incomplete(self) -> bool:
        """Some repository could not be scanned, or not all of its objects read."""
        return any(r.error is not None or r.unreadable for r in self.repositories)
