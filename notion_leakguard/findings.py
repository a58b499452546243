"""The Finding record. It holds a redacted preview and a one-way fingerprint, never the token."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

PREVIEW_CHARS = 4


@dataclass(frozen=True)
class Finding:
    rule: str
    path: str
    line: int  # 1-based; 0 for file-level findings
    column: int  # 1-based, in Unicode code points
    preview: str
    fingerprint: str
    message: str
    encoding: str = "plain"
    # Why the finding is not reported (e.g. "inline" for an allow marker), or None.
    suppressed: str | None = None

    @property
    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.line, self.column, self.rule)


def redact(prefix: str, body: str) -> str:
    """`ntn_4564…9XyZ`: the fixed prefix, then four characters from each end of the secret."""
    return f"{prefix}{body[:PREVIEW_CHARS]}…{body[-PREVIEW_CHARS:]}"


def fingerprint(token: str) -> str:
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Skipped:
    """A file the scan could not read; reported as a warning, never silently."""

    display: str
    reason: str


@dataclass(frozen=True)
class Note:
    """Something the user should know that is neither a finding nor a skipped file."""

    text: str


@dataclass(frozen=True)
class ScanResult:
    findings: tuple[Finding, ...]
    skipped: tuple[Skipped, ...] = ()
    files_scanned: int = 0
    notes: tuple[Note, ...] = ()

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
    for result in results:
        findings.extend(result.findings)
        skipped.extend(result.skipped)
        notes.extend(n for n in result.notes if n not in notes)
        scanned += result.files_scanned
    findings.sort(key=lambda f: f.sort_key)
    return ScanResult(tuple(findings), tuple(skipped), scanned, tuple(notes))
