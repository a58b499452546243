"""The inventory as text, JSON, CSV or SARIF (HTML: `inventory.html`). Occurrences carry
only previews and fingerprints, and every path or name is shown redacted."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from notion_leakguard import __version__
from notion_leakguard.findings import (
    INVALID,
    LIVE,
    UNKNOWN,
    Finding,
    Origin,
    ScanResult,
    Verification,
)
from notion_leakguard.inventory.keys import timeline
from notion_leakguard.inventory.records import Inventory, Key, Occurrence
from notion_leakguard.redaction import redact_text, shown

FORMATS = ("text", "json", "csv", "sarif", "html")

ADVICE = """\
What to do now:
  1. Rotate each live key once: in Notion open Settings > Connections > Develop or manage
     integrations, pick the integration and press Refresh next to its secret. Every
     repository and environment listed for the key then needs the new key, one per
     environment.
  2. Review the workspace's recent activity for each integration whose key leaked (pages
     shared with it, the audit log on Enterprise plans).
  3. Then decide about history: a rotated key in old commits is harmless; rewrite history
     only where policy asks for it.
"""


def render(inventory: Inventory, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(document(inventory), indent=2) + "\n"
    if fmt == "csv":
        return render_csv(inventory)
    if fmt == "sarif":
        return render_sarif(inventory)
    if fmt == "html":
        from notion_leakguard.inventory.html import render_html

        return render_html(inventory)
    return render_text(inventory)


def state_text(key: Key) -> str:
    if key.verified is None:
        return ""
    if key.verified == "live" and key.verified_as:
        return f"live: {shown(key.verified_as)}"
    return f"{key.verified}: {key.verified_why}" if key.verified_why else key.verified


def place(occurrence: Occurrence) -> str:
    if occurrence.kind in ("file", "working tree"):
        return f"{shown(occurrence.path)}:{occurrence.line}:{occurrence.column}"
    return shown(occurrence.path)


def head_text(occurrence: Occurrence) -> str:
    if occurrence.kind == "working tree":
        return "uncommitted"
    return {True: "yes", False: "no", None: "-"}[occurrence.at_head]


def render_text(inventory: Inventory) -> str:
    out: list[str] = []
    for key in inventory.keys:
        state = state_text(key)
        out.append(f"{key.rule}  {key.preview}" + (f"  [{state}]" if state else ""))
        first = key.first
        if first.commit:
            out.append(
                f"  first seen  {first.date[:10]} in {shown(first.repository)}, commit "
                f"{first.commit[:12]} by {shown(first.author)} ({place(first)})"
            )
        out.append(f"  repositories  {', '.join(shown(r) for r in key.repositories)}")
        out += [f"  ! {shown(callout)}" for callout in key.callouts]
        rows = [("REPOSITORY", "WHERE", "COMMIT", "DATE", "AUTHOR", "AT HEAD")]
        rows += [
            (
                shown(o.repository),
                place(o),
                o.commit[:12] or "-",
                o.date[:10] or "-",
                shown(o.author) or "-",
                head_text(o),
            )
            for o in key.occurrences
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        out += ["  " + "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
        out.append("")
    out.append(summary(inventory))
    if inventory.keys:
        out += ["", ADVICE.rstrip("\n")]
    return "\n".join(out) + "\n"


def summary(inventory: Inventory) -> str:
    keys = inventory.keys
    held = {r for key in keys for r in key.repositories}
    places = sum(len(key.occurrences) for key in keys)
    count = len(inventory.repositories)
    text = (
        f"{len(keys)} distinct Notion key{'s' * (len(keys) != 1)} in {len(held)} of "
        f"{count} repositor{'ies' if count != 1 else 'y'} ({places} place{'s' * (places != 1)})"
    )
    if not keys:
        text = f"No Notion keys in {count} repositor{'ies' if count != 1 else 'y'}"
    reused = sum(1 for key in keys if key.callouts)
    if reused:
        text += f"; {reused} used in more than one repository or environment"
    live = sum(1 for key in keys if key.verified == "live")
    if any(key.verified for key in keys):
        text += f"; {live} live"
    if inventory.failed:
        text += f"; {len(inventory.failed)} could not be scanned"
    return text + "."


def _occurrence_json(o: Occurrence) -> dict[str, Any]:
    return {
        "repository": redact_text(o.repository),
        "kind": o.kind,
        "path": redact_text(o.path),
        "line": o.line,
        "column": o.column,
        "encoding": o.encoding,
        "commit": o.commit,
        "author": redact_text(o.author),
        "date": o.date,
        "at_head": o.at_head,
        "last_commit": o.last_commit,
        "last_date": o.last_date,
    }


def document(inventory: Inventory) -> dict[str, Any]:
    keys = []
    for key in inventory.keys:
        entry: dict[str, Any] = {
            "fingerprint": key.fingerprint,
            "rule": key.rule,
            "preview": key.preview,
            "message": key.message,
            "first_seen": _occurrence_json(key.first),
            "repositories": [redact_text(r) for r in key.repositories],
            "environments": list(key.environments),
            "callouts": [redact_text(c) for c in key.callouts],
            "occurrences": [_occurrence_json(o) for o in key.occurrences],
            "timeline": [
                {**span._asdict(), "repository": redact_text(span.repository)}
                for span in timeline(key)
            ],
        }
        if key.verified is not None:
            entry["verified"] = key.verified
            entry["verified_why"] = key.verified_why
            entry["verified_as"] = key.verified_as and redact_text(key.verified_as)
        keys.append(entry)
    repositories = []
    for scan in inventory.repositories:
        listed: dict[str, Any] = {"name": redact_text(scan.repository), "commits": scan.commits}
        if scan.error is not None:
            listed["error"] = scan.error
        if scan.unreadable:
            listed["unreadable_objects"] = list(scan.unreadable)
        repositories.append(listed)
    return {
        "tool": "notion-leakguard",
        "version": __version__,
        "repositories": repositories,
        "keys": keys,
        "notes": [redact_text(n) for n in inventory.notes],
    }


CSV_COLUMNS = (
    *("fingerprint", "rule", "preview", "state", "integration", "key_repositories"),
    *("key_environments", "reused", "repository", "kind", "path", "line", "column"),
    *("commit", "date", "author", "at_head", "last_commit", "last_date"),
)


def render_csv(inventory: Inventory) -> str:
    """One row per occurrence, the key's columns repeated on each: a table a spreadsheet
    filters and pivots as it is."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for key in inventory.keys:
        for o in key.occurrences:
            at_head = "" if o.at_head is None else str(o.at_head).lower()
            row = (
                *(key.fingerprint, key.rule, key.preview, key.verified or ""),
                key.verified_as or "",
                ";".join(key.repositories),
                ";".join(key.environments),
                " / ".join(key.callouts),
                *(o.repository, o.kind, o.path, str(o.line), str(o.column)),
                *(o.commit, o.date, o.author, at_head, o.last_commit, o.last_date),
            )
            writer.writerow([_cell(redact_text(value)) for value in row])
    return out.getvalue()


def _cell(value: str) -> str:
    """A value a spreadsheet shows as text, never runs as a formula (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def render_sarif(inventory: Inventory) -> str:
    """SARIF 2.1.0: one run per repository that holds a key, one result per occurrence."""
    from notion_leakguard.reporters import render_sarif as sarif_of

    runs = []
    for scan in inventory.repositories:
        findings = tuple(
            _finding(o, key)
            for key in inventory.keys
            for o in key.occurrences
            if o.repository == scan.repository
        )
        if not findings and scan.error is None:
            continue
        run = json.loads(sarif_of(ScanResult(findings)))["runs"][0]
        run["automationDetails"] = {
            "id": f"notion-leakguard-inventory/{redact_text(scan.repository)}/"
        }
        if scan.error is not None:
            run["invocations"] = [
                {
                    "executionSuccessful": False,
                    "toolExecutionNotifications": [
                        {"level": "error", "message": {"text": scan.error}}
                    ],
                }
            ]
        runs.append(run)
    sarif = json.loads(sarif_of(ScanResult(())))
    sarif["runs"] = runs or sarif["runs"]
    return json.dumps(sarif, indent=2) + "\n"


_STATES: dict[str, Verification] = {state: state for state in (LIVE, INVALID, UNKNOWN)}


def _finding(o: Occurrence, key: Key) -> Finding:
    origin = None
    if o.commit:
        origin = Origin(o.commit, o.author, o.date, at_head=o.at_head)
    kind = "file" if o.kind == "working tree" else o.kind
    return Finding(
        o.rule,
        o.path,
        o.line,
        o.column,
        o.preview,
        o.fingerprint,
        o.message,
        encoding=o.encoding,
        origin=origin,
        verified=_STATES.get(key.verified or ""),
        kind=kind,
    )
