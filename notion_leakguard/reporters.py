"""Render a scan result as text, JSON or SARIF. Findings carry only redacted previews, so
nothing rendered here can show a full token."""

from __future__ import annotations

import shlex
from collections import Counter
from collections.abc import Mapping
from typing import Any

from notion_leakguard import __version__
from notion_leakguard.advice import SCAN_ADVICE, SHARED_ADVICE
from notion_leakguard.environments import sentence, shared_across
from notion_leakguard.findings import Finding, ScanResult
from notion_leakguard.redaction import printable, redact_text, shown_line
from notion_leakguard.rules import ENV_NOT_IGNORED, ENV_TRACKED, RULES

FORMATS = ("text", "json", "sarif")

# What a verification state means (kept here, not imported: reporters load no HTTP code).
_MEANINGS = {
    "live": "the key works: rotate it now",
    "invalid": "Notion rejects the key (revoked or never valid); still a leak, less urgent",
    "unknown": "no answer could be had; treat the key as live",
}
_SUPPRESSORS = {
    "baseline": "the baseline",
    "config": "the configuration",
    "inline": "inline markers",
    "exclude": "exclude",
}
_SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_INFORMATION_URI = "https://pypi.org/project/notion-leakguard/"


def render(
    result: ScanResult,
    fmt: str,
    *,
    color: bool = False,
    advice: str = SCAN_ADVICE,
    subject: str = "tokens",
    lines: Mapping[tuple[str, int], str] | None = None,
) -> str:
    if fmt == "json":
        return render_json(result)
    if fmt == "sarif":
        return render_sarif(result)
    return render_text(result, color=color, advice=advice, subject=subject, lines=lines)


def render_text(
    result: ScanResult,
    *,
    color: bool = False,
    advice: str = SCAN_ADVICE,
    subject: str = "tokens",
    lines: Mapping[tuple[str, int], str] | None = None,
) -> str:
    """One line per finding (with `lines`, the finding's line below it, redacted), a
    summary, then once what to do (`advice` for tokens)."""

    def paint(text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if color else text

    shown_lines = lines or {}
    out: list[str] = []
    order = {"live": 0, "unknown": 1, "invalid": 2}
    for f in sorted(result.reported, key=lambda f: order.get(f.verified or "", 3)):
        rule = paint(f.rule, "31")
        path = paint(printable(redact_text(f.path)), "1")
        if _dotenv(f):
            out.append(f"{path}: {rule} ({f.message})")
            continue
        where = f"{path}:{f.line}:{f.column}" if f.line else f"{path} (in its name)"
        line = f"{where}: {rule} {f.preview}"
        if f.encoding != "plain":  # the preview is of the decoded key, not of the text there
            line += f" ({f.encoding})"
        if f.origin is not None:
            line += f" ({_origin_text(f)})"
        if f.verified is not None:
            state = f"{f.verified}: {f.verified_why}" if f.verified_why else f.verified
            if f.verified_as:
                state += f" — {printable(f.verified_as)}"
            line += f" [{paint(state, '1;31' if f.verified == 'live' else '33')}]"
        out.append(line)
        text = shown_lines.get((f.path, f.line))
        if text is not None:
            out.append(f"    {shown_line(text)}")
    out.append(summary(result, subject=subject))
    states = sorted({f.verified for f in result.reported if f.verified}, key=order.__getitem__)
    out += [f"  [{state}] {_MEANINGS[state]}" for state in states]
    out += _shared_text(result.reported)
    tokens = [f for f in result.reported if not _dotenv(f)]
    if tokens:
        out += ["", advice.rstrip("\n")]
    if len(tokens) < len(result.reported):
        out += ["", _env_advice(result.reported)]
    return "\n".join(out) + "\n"


def _shared_text(findings: tuple[Finding, ...]) -> list[str]:
    """Each key found in files of two environments or more, and what to do about it."""
    shared = shared_across(findings)
    if not shared:
        return []
    out = []
    for key in shared:
        text = sentence(key)
        paths = ", ".join(printable(redact_text(path)) for path in key.paths)
        out += ["", f"{text[0].upper()}{text[1:]}.", f"  {key.preview} in {paths}"]
    return [*out, SHARED_ADVICE.rstrip("\n")]


def _dotenv(finding: Finding) -> bool:
    """A dotenv file's finding, not a key's (a key in a file name is at line 0 too)."""
    return finding.rule in (ENV_NOT_IGNORED.id, ENV_TRACKED.id)


def _origin_text(finding: Finding) -> str:
    origin = finding.origin
    assert origin is not None
    what = "tag object" if finding.kind == "tag message" else "commit"
    text = f"{what} {origin.commit[:12]}, {printable(redact_text(origin.author))}, {origin.date}"
    if finding.kind == "file" and origin.at_head is not None:
        text += "; still at HEAD" if origin.at_head else "; no longer at HEAD"
    if origin.also:
        text += f"; also in {', '.join(printable(redact_text(path)) for path in origin.also)}"
    return text


def summary(result: ScanResult, *, subject: str = "tokens") -> str:
    """One line: what was found, what was suppressed, whether the scan is complete. For
    `subject` "dotenv" (check-env), of dotenv files only: it looks for no tokens."""
    tokens = [f for f in result.reported if not _dotenv(f)]
    dotenv = {f.path for f in result.reported if _dotenv(f)}
    files = len({f.path for f in tokens if f.kind == "file"})
    messages = len({(f.path, f.origin) for f in tokens if f.kind != "file"})
    places = [
        f"{count} {noun}{'s' * (count != 1)}"
        for count, noun in ((files, "file"), (messages, "message"))
        if count
    ]
    parts = []
    if subject == "dotenv" and not dotenv:
        parts.append("No dotenv file is tracked by git or left outside .gitignore")
    elif tokens or not dotenv:
        parts.append(
            f"{len(tokens)} Notion credential{'s' * (len(tokens) != 1)} found in "
            + " and ".join(places)
            if tokens
            else "No Notion credentials found"
        )
    if dotenv:
        parts.append(f"{len(dotenv)} dotenv file{'s' * (len(dotenv) != 1)} not kept out of git")
    text = "; ".join(parts)
    if result.unreadable:
        text += f" ({incomplete_text(result)})"
    if result.excluded:
        count = result.excluded
        text += f" ({count} file{'s' * (count != 1)} matched `exclude`)"
    if result.suppressed:
        kinds = Counter(f.suppressed for f in result.suppressed)
        detail = ", ".join(
            f"{n} by {_SUPPRESSORS.get(k or '', k)}" for k, n in sorted(kinds.items())
        )
        text += f" ({len(result.suppressed)} suppressed: {detail}; --no-suppress shows them)"
    return text + "."


def _env_advice(findings: tuple[Finding, ...]) -> str:
    lines = ["Dotenv files hold keys and belong outside git:"]
    if any(f.rule == ENV_NOT_IGNORED.id for f in findings):
        lines.append("  - Cover them with .gitignore: run  notion-leakguard check-env --fix")
        lines.append(
            "    (a file a nested `!` rule re-includes stays exposed: narrow that rule, or move "
            "the file)"
        )
    tracked = sorted({f.path for f in findings if f.rule == ENV_TRACKED.id})
    if tracked:
        lines.append("  - Stop tracking them (the files stay on disk), then commit:")
        lines += [
            f"      git rm --cached -- {printable(redact_text(shlex.quote(path)))}"
            for path in tracked
        ]
        lines.append("    Keys ever committed in them stay in git history: rotate them.")
    return "\n".join(lines)


def _finding_json(finding: Finding) -> dict[str, Any]:
    document: dict[str, Any] = {
        "rule": finding.rule,
        "path": redact_text(finding.path),
        "line": finding.line,
        "column": finding.column,
        "preview": finding.preview,
        "fingerprint": finding.fingerprint,
        "encoding": finding.encoding,
        "message": finding.message,
    }
    if finding.kind != "file":
        document["kind"] = finding.kind  # a commit or tag message, not a file
    if finding.origin is not None:
        document["commit"] = _origin(finding)
    if finding.verified is not None:
        document["verified"] = finding.verified
        if finding.verified_why:
            document["verified_why"] = finding.verified_why
        if finding.verified_as:
            document["verified_as"] = finding.verified_as
    return document


def _origin(finding: Finding) -> dict[str, Any]:
    assert finding.origin is not None
    document: dict[str, Any] = {
        "sha": finding.origin.commit,
        "author": redact_text(finding.origin.author),
        "date": finding.origin.date,
        "path": redact_text(finding.path),
        "present_at_head": finding.origin.at_head,
    }
    if finding.origin.also:  # the same commit brought it in these files too
        document["also_in"] = [redact_text(path) for path in finding.origin.also]
    return document


def render_rules(fmt: str) -> str:
    """Every rule: what it finds, its format, where that is documented, what to do."""
    import json  # only where a document is read or written

    if fmt == "json":
        rules = [rule._asdict() for rule in RULES]
        return json.dumps({"tool": "notion-leakguard", "rules": rules}, indent=2) + "\n"
    blocks = [
        f"{rule.id}\n  {rule.description}\n  format: {rule.shape}\n"
        f"  documented: {rule.documented}\n  what to do: {rule.remedy}"
        for rule in RULES
    ]
    return "\n\n".join(blocks) + "\n"


def render_json(result: ScanResult) -> str:
    import json  # only where a document is read or written

    document: dict[str, Any] = {
        "tool": "notion-leakguard",
        "version": __version__,
        "findings": [_finding_json(f) for f in result.reported],
        "suppressed": [{**_finding_json(f), "reason": f.suppressed} for f in result.suppressed],
    }
    shared = shared_across(result.reported)
    if shared:  # keys found in files of two environments or more
        document["shared_keys"] = [
            {**key._asdict(), "paths": [redact_text(p) for p in key.paths], "advice": sentence(key)}
            for key in shared
        ]
    if result.unreadable:  # the scan is incomplete: finding nothing is no clean result
        document["incomplete"] = {"unreadable_objects": list(result.unreadable)}
    # ASCII only: a file name that is not UTF-8 stays exact (as a \\udcXX escape).
    return json.dumps(document, indent=2) + "\n"


def incomplete_text(result: ScanResult) -> str:
    """What a history scan could not read, in one line (empty when it read everything)."""
    if not result.unreadable:
        return ""
    count = len(result.unreadable)
    listed = ", ".join(result.unreadable[:5]) + (", …" if count > 5 else "")
    return (
        f"the scan is incomplete: {count} object{'s' * (count != 1)} could not be read "
        f"(missing from the object store: {listed})"
    )


def _invocation(result: ScanResult) -> dict[str, Any]:
    invocation: dict[str, Any] = {"executionSuccessful": not result.unreadable}
    if result.unreadable:
        invocation["toolExecutionNotifications"] = [
            {"level": "error", "message": {"text": incomplete_text(result)}}
        ]
    return invocation


def render_sarif(result: ScanResult) -> str:
    import json  # only where a document is read or written
    from urllib.parse import quote  # 3 ms of imports: only SARIF needs it

    rule_index = {rule.id: index for index, rule in enumerate(RULES)}
    rules = [
        {
            "id": rule.id,
            "name": rule.name,
            "shortDescription": {"text": rule.description.split(". ")[0].rstrip(".") + "."},
            "fullDescription": {"text": rule.description},
            "help": {"text": rule.remedy},
            "defaultConfiguration": {"level": "error"},
            "properties": {"tags": ["security", "secrets"], "security-severity": "9.0"},
        }
        for rule in RULES
    ]
    results = []
    for finding in result.findings:
        location: dict[str, Any] = {
            "artifactLocation": {
                "uri": quote(redact_text(finding.path).encode("utf-8", "surrogateescape")),
                "uriBaseId": "%SRCROOT%",
            }
        }
        if finding.line > 0:
            location["region"] = {"startLine": finding.line, "startColumn": finding.column}
        entry: dict[str, Any] = {
            "ruleId": finding.rule,
            "ruleIndex": rule_index[finding.rule],
            "level": "error",
            "message": {"text": f"{finding.message}: {finding.preview}"},
            "locations": [{"physicalLocation": location}],
            "partialFingerprints": {"notionLeakguardToken/v1": finding.fingerprint},
        }
        properties: dict[str, Any] = {}
        if finding.origin is not None:
            properties["commit"] = _origin(finding)
        if finding.verified is not None:
            properties["verified"] = finding.verified
            if finding.verified_as:
                properties["verified_as"] = finding.verified_as
        if finding.kind != "file":
            properties["kind"] = finding.kind
        if properties:
            entry["properties"] = properties
        if finding.suppressed is not None:
            entry["suppressions"] = [{"kind": "inSource", "justification": finding.suppressed}]
        results.append(entry)
    document = {
        "version": "2.1.0",
        "$schema": _SARIF_SCHEMA,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "notion-leakguard",
                        "version": __version__,
                        "informationUri": _INFORMATION_URI,
                        "rules": rules,
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
                "invocations": [_invocation(result)],
            }
        ],
    }
    # ASCII only: a file name that is not UTF-8 stays exact (as a \\udcXX escape).
    return json.dumps(document, indent=2) + "\n"
