"""For --verify only: the tokens behind findings, read again from where they were found.

Findings never hold a token, so verification reads the file, the staged blob or the
historical blob once more and matches tokens to findings by fingerprint. Tokens live here
in memory only until they are sent. Standard input cannot be read twice: its findings are
not verified (a note says so).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

from notion_leakguard import encodings, git
from notion_leakguard.findings import Finding
from notion_leakguard.scanner import tokens_in


class Candidate(NamedTuple):
    token: str
    mentions_notion: bool  # the file's path or content says "notion"


def from_files(findings: Sequence[Finding], *, root: str) -> dict[str, Candidate]:
    """Tokens of findings in files (paths relative to `root`); stdin's are left out."""
    found: dict[str, Candidate] = {}
    for path, data in _files(findings, root):
        found.update(_candidates(data, path, findings))
    return found


def from_git(findings: Sequence[Finding], *, cwd: str, revision: str = "") -> dict[str, Candidate]:
    """Tokens of findings in blobs: staged (`:path`) or historical (`commit:path`)."""
    found: dict[str, Candidate] = {}
    for path, data in _blobs(findings, cwd, revision):
        found.update(_candidates(data, path, findings))
    return found


READ_FROM = ("files", "index", "history")  # where a result's findings can be read again


def lines(findings: Sequence[Finding], *, root: str, read_from: str) -> dict[tuple[str, int], str]:
    """The text of each file finding's line, read again (`read_from`: files under `root`,
    the index, or the commits the findings name), as the scanner saw it: a UTF-16/32 file
    decoded. Nothing for standard input or messages."""
    wanted = [f for f in findings if f.line and f.kind == "file" and f.path != "-"]
    if read_from == "files":
        read = _files(wanted, root)
    else:
        read = _blobs(wanted, root, "" if read_from == "index" else None)
    texts: dict[tuple[str, int], str] = {}
    for path, data in read:
        codec = encodings.text_encoding(data)
        if codec is not None:
            data = b"".join(encodings.decode_stream([data], codec))
        numbers = {f.line for f in wanted if f.path == path}
        for number, text in enumerate(data.split(b"\n"), 1):
            if number in numbers:
                texts[(path, number)] = text.rstrip(b"\r").decode("utf-8", "replace")
    return texts


def _files(findings: Sequence[Finding], root: str) -> Iterator[tuple[str, bytes]]:
    for path in sorted({f.path for f in findings if f.line and f.path != "-"}):
        try:
            with open(os.path.join(root, path), "rb") as stream:
                yield path, stream.read()
        except OSError:
            continue  # gone since the scan


def _blobs(
    findings: Sequence[Finding], cwd: str, revision: str | None
) -> Iterator[tuple[str, bytes]]:
    """Each finding's blob: `revision:path` (the index for ""), or with `revision` None the
    commit the finding names."""
    specs: dict[str, str] = {}
    for f in findings:
        if f.line and "\n" not in f.path:
            commit = f.origin.commit if f.origin is not None else revision or ""
            specs.setdefault(f"{commit}:{f.path}", f.path)
    for spec, data in git.contents(cwd, list(specs)):
        if data is not None:  # a missing object holds nothing to read
            yield specs[spec], data if isinstance(data, bytes) else b"".join(data)


def _candidates(data: bytes, path: str, findings: Iterable[Finding]) -> dict[str, Candidate]:
    wanted = {f.fingerprint for f in findings if f.path == path}
    mentions = "notion" in path.lower() or b"notion" in data.lower()
    return {
        key: Candidate(token, mentions) for key, token in tokens_in(data).items() if key in wanted
    }
