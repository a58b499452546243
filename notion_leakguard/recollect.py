"""For --verify only: the tokens behind findings, read again from where they were found.

Findings never hold a token, so verification reads the file, the staged blob or the
historical blob once more and matches tokens to findings by fingerprint. Tokens live here
in memory only until they are sent. Standard input cannot be read twice: its findings are
not verified (a note says so).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from notion_leakguard import git
from notion_leakguard.findings import Finding
from notion_leakguard.scanner import tokens_in


class Candidate(NamedTuple):
    token: str
    mentions_notion: bool  # the file's path or content says "notion"


def from_files(findings: Sequence[Finding], *, root: str) -> dict[str, Candidate]:
    """Tokens of findings in files (paths relative to `root`); stdin's are left out."""
    found: dict[str, Candidate] = {}
    for path in sorted({f.path for f in findings if f.line and f.path != "-"}):
        try:
            with open(os.path.join(root, path), "rb") as stream:
                data = stream.read()
        except OSError:
            continue  # gone since the scan: nothing to verify
        found.update(_candidates(data, path, findings))
    return found


def from_git(findings: Sequence[Finding], *, cwd: str, revision: str = "") -> dict[str, Candidate]:
    """Tokens of findings in blobs: staged (`:path`) or historical (`commit:path`)."""
    specs: dict[str, str] = {}
    for f in findings:
        if f.line and "\n" not in f.path:
            commit = f.origin.commit if f.origin is not None else revision
            specs.setdefault(f"{commit}:{f.path}", f.path)
    found: dict[str, Candidate] = {}
    for spec, blocks in git.contents(cwd, list(specs)):
        if blocks is not None:  # a missing object holds nothing to verify
            found.update(_candidates(b"".join(blocks), specs[spec], findings))
    return found


def _candidates(data: bytes, path: str, findings: Iterable[Finding]) -> dict[str, Candidate]:
    wanted = {f.fingerprint for f in findings if f.path == path}
    mentions = "notion" in path.lower() or b"notion" in data.lower()
    return {
        key: Candidate(token, mentions) for key, token in tokens_in(data).items() if key in wanted
    }
