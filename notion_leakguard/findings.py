"""The Finding record. It holds a redacted preview and a one-way fingerprint, never the token."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Literal, NamedTuple, Protocol, cast

PREVIEW_CHARS = 4

# Why a finding is not reported: an inline allow marker, an `allow` entry of the
# configuration, the baseline, or the configuration's `exclude` globs.
Suppression = Literal["inline", "config", "baseline", "exclude"]
INLINE: Suppression = "inline"
CONFIG: Suppression = "config"
BASELINE: Suppression = "baseline"
EXCLUDE: Suppression = "exclude"

# What the Notion API said of a key (--verify): it works, it is rejected, or no answer.
Verification = Literal["live", "invalid", "unknown"]
LIVE: Verification = "live"
INVALID: Verification = "invalid"
UNKNOWN: Verification = "unknown"


class Origin(NamedTuple):
    """Where in history a finding came from: the commit (or tag) that brought it."""

    commit: str  # a commit's sha, or an annotated tag object's
    author: str  # or the tagger
    date: str
    at_head: bool | None  # the token is still in HEAD's tree; None: not asked (pushes)
    also: tuple[str, ...] = ()  # other paths the same commit brought it in


class Finding(NamedTuple):
    rule: str
    path: str
    line: int  # 1-based; 0 for file-level findings
    column: int  # 1-based, in Unicode code points
    preview: str
    fingerprint: str
    message: str
    encoding: str = "plain"
    suppressed: Suppression | None = None  # why it is not reported; None: it is
    origin: Origin | None = None
    verified: Verification | None = None  # with --verify only
    verified_why: str | None = None  # why the state is unknown
    kind: str = "file"  # where it is: a file, or a commit or tag message (sources.*_MESSAGE)
    # with --verify, for a live key: which integration it is, as the Notion API names it
    # ("integration Sync bot in workspace Acme"); cleaned and redacted (verify.identity)
    verified_as: str | None = None

    @property
    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.line, self.column, self.rule)


def redact(prefix: str, body: str) -> str:
    """`ntn_4564…9XyZ`: the fixed prefix, then four characters from each end of the secret."""
    return f"{prefix}{body[:PREVIEW_CHARS]}…{body[-PREVIEW_CHARS:]}"


def fingerprint(text: str) -> str:
    """A one-way, stable identity for a token (or a file-level finding's rule and path)."""
    return "sha256:" + _sha256()(text.encode()).hexdigest()


class _Digest(Protocol):
    def hexdigest(self) -> str: ...


@functools.cache
def _sha256() -> Callable[[bytes], _Digest]:
    """CPython's own SHA-256 where it has one: hashlib loads OpenSSL first, which costs a
    pre-commit run, or a worker process of a large scan, 3-6 ms when it finds a key. Both
    give the same digest."""
    import importlib

    for name in ("_sha2", "_sha256"):  # CPython 3.12 and later, then up to 3.11
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        return cast("Callable[[bytes], _Digest]", module.sha256)
    import hashlib

    return hashlib.sha256


class Skipped(NamedTuple):
    """A file the scan could not read; reported as a warning, never silently."""

    display: str
    reason: str


class Note(NamedTuple):
    """Something the user should know that is neither a finding nor a skipped file."""

    text: str


class Tally(NamedTuple):
    """Things of one kind a part of a source passed over: the tallies of all parts add up
    to one note, `{number} {text}`."""

    number: int
    text: str


class ScanResult(NamedTuple):
    findings: tuple[Finding, ...]
    skipped: tuple[Skipped, ...] = ()
    files_scanned: int = 0
    notes: tuple[Note, ...] = ()
    root: str = ""  # the directory finding paths are relative to
    # Objects a history scan could not read (missing from the object store): the scan is
    # incomplete, and finding nothing then is not a clean result.
    unreadable: tuple[str, ...] = ()
    excluded: int = 0  # files the configuration's `exclude` covers (scanned; findings suppressed)

    @property
    def reported(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.suppressed is None)

    @property
    def suppressed(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.suppressed is not None)


def merge(results: Iterable[ScanResult]) -> ScanResult:
    findings: list[Finding] = []
    skipped: list[Skipped] = []
    notes: list[Note] = []
    scanned = 0
    root = ""
    unreadable: list[str] = []
    excluded = 0
    for result in results:
        root = root or result.root
        unreadable.extend(result.unreadable)
        excluded += result.excluded
        findings.extend(result.findings)
        skipped.extend(result.skipped)
        notes.extend(n for n in result.notes if n not in notes)
        scanned += result.files_scanned
    findings.sort(key=lambda f: f.sort_key)
    return ScanResult(
        tuple(dict.fromkeys(findings)),  # a key in a directory's name: once, not per file
        tuple(skipped),
        scanned,
        tuple(notes),
        root,
        tuple(unreadable),
        excluded,
    )
