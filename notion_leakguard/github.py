"""What a GitHub Actions job shows of a result: workflow annotations (`::error …`) and the
Markdown job summary. Pure: the CLI prints the one and appends the other to
$GITHUB_STEP_SUMMARY. Findings hold previews only; paths are shown redacted."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

from notion_leakguard.findings import ScanResult
from notion_leakguard.redaction import printable, shown

_SHORT = 12
ANNOTATIONS = 10  # GitHub shows no more than this many error annotations per step


class SummaryRow(NamedTuple):
    """One finding as the job summary shows it; `preview` is already redacted."""

    path: str
    line: int  # 0 for file-level findings
    rule: str
    preview: str
    commit: str | None = None


def annotation_lines(result: ScanResult) -> list[str]:
    """The first reported findings as `::error` lines (the summary and reports list all)."""
    lines = []
    for finding in result.reported[:ANNOTATIONS]:
        text = f"{finding.message}: {finding.preview}"
        if finding.origin is not None:
            text += f" (commit {finding.origin.commit[:12]}): rewrite the commit, rotate the key"
        title = f"notion-leakguard: {finding.rule}"
        lines.append(annotation(shown(finding.path), finding.line, finding.column, title, text))
    return lines


def summary(result: ScanResult, description: str, *, commits: int) -> str:
    rows = [
        SummaryRow(shown(f.path), f.line, f.rule, f.preview, f.origin.commit if f.origin else None)
        for f in result.reported
    ]
    return step_summary(description, rows, commits=commits, suppressed=len(result.suppressed))


def annotation(path: str, line: int, column: int, title: str, message: str) -> str:
    """One `::error` workflow command. Line 0 (a file-level finding) annotates the file."""
    properties = []
    if path:
        properties.append(f"file={_escape_property(path)}")
    if line > 0:
        properties.append(f"line={line}")
        if column > 0:
            properties.append(f"col={column}")
    if title:
        # Last: the runner trims the whole property list, so only the last value can lose
        # trailing spaces, and a title can spare them.
        properties.append(f"title={_escape_property(title)}")
    command = "::error " + ",".join(properties) if properties else "::error"
    return f"{command}::{_escape_data(message)}"


def _escape_data(text: str) -> str:
    # The runner unescapes %0D, %0A, then %25; so % goes first here (actions/runner).
    text = _printable_surrogates(text)
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    # Properties end at `,` and the property list at `::`, hence %2C and %3A as well.
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _printable_surrogates(text: str) -> str:
    """Undecodable bytes (surrogateescape) as `\\xNN`, so the line can be written as UTF-8."""
    if not any(0xDC80 <= ord(char) <= 0xDCFF for char in text):
        return text
    return "".join(
        f"\\x{ord(char) - 0xDC00:02x}" if 0xDC80 <= ord(char) <= 0xDCFF else char for char in text
    )


_CELL_CHARS = 200
_MARKDOWN_TEXT = re.compile(r"([\\`*_\[\]<>|~&!#])")

ROTATE_ADVICE = (
    "Rotate every key that was pushed: in Notion, Settings → Connections → Develop or manage "
    "integrations → the integration → **Refresh** the secret. A later commit that removes a "
    "key does not take it out of history."
)


def step_summary(
    description: str,
    rows: Sequence[SummaryRow],
    *,
    commits: int | None = None,
    suppressed: int = 0,
    max_rows: int = 100,
) -> str:
    """The Markdown job summary: what was scanned, what was found (at most `max_rows` rows;
    GitHub drops a summary over 1 MiB whole) and what to do about it."""
    scanned = f"Scanned: {_markdown_text(description)}"
    if commits is not None:
        scanned += f" ({_plural(commits, 'commit')})"
    lines = ["### notion-leakguard", "", scanned, ""]
    if not rows:
        lines.append("**No Notion credentials found.**")
    else:
        lines += [f"**{_plural(len(rows), 'finding')}.** {ROTATE_ADVICE}", ""]
        lines += ["| File | Line | Rule | Key | Commit |", "| --- | ---: | --- | --- | --- |"]
        for row in rows[:max_rows]:
            cells = (
                _code(row.path),
                str(row.line) if row.line > 0 else "",
                _code(row.rule),
                _code(row.preview),
                _code(row.commit[:_SHORT]) if row.commit else "",
            )
            lines.append("| " + " | ".join(cells) + " |")
        if len(rows) > max_rows:
            more = len(rows) - max_rows
            lines += ["", f"…and {more} more: see the job log or the SARIF report."]
    if suppressed:
        verb = "was" if suppressed == 1 else "were"
        lines += ["", f"{_plural(suppressed, 'finding')} {verb} suppressed (baseline or allow)."]
    return "\n".join(lines) + "\n"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _clip(text: str) -> str:
    text = printable(text)
    return text if len(text) <= _CELL_CHARS else text[: _CELL_CHARS - 1] + "…"


def _markdown_text(text: str) -> str:
    return _MARKDOWN_TEXT.sub(r"\\\1", _clip(text))


def _code(text: str) -> str:
    """`text` as a code span inside a table cell (GFM: `|` must be escaped even there)."""
    text = _clip(text)
    if not text:
        return ""
    runs = re.findall(r"`+", text)
    fence = "`" * (max((len(run) for run in runs), default=0) + 1)
    if text[0] in "` " or text[-1] in "` ":
        text = f" {text} "
    return fence + text.replace("|", "\\|") + fence
