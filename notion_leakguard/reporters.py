"""Render a scan result as text, JSON or SARIF. Findings carry only redacted previews, so
nothing rendered here can show a full token."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from notion_leakguard import __version__
from notion_leakguard.findings import Finding, ScanResult
from notion_leakguard.rules import RULES

FORMATS = ("text", "json", "sarif")

ADVICE = """\
What to do now:
  1. Remove the key from the file. Keep it in an environment variable, or in a .env file
     that .gitignore covers, and read it from there.
  2. Rotate it: in Notion open Settings > Connections > Develop or manage integrations,
     pick the integration and press Refresh next to its secret. The old key stops working.
  3. Review recent activity in the workspace (pages shared with the integration, the audit
     log on Enterprise plans) for anything done with the key.
"""

_SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_INFORMATION_URI = "https://pypi.org/project/notion-leakguard/"


def render(result: ScanResult, fmt: str, *, color: bool = False, advice: str = ADVICE) -> str:
    if fmt == "json":
        return render_json(result)
    if fmt == "sarif":
        return render_sarif(result)
    return render_text(result, color=color, advice=advice)


def render_text(result: ScanResult, *, color: bool = False, advice: str = ADVICE) -> str:
    def paint(text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if color else text

    lines = [
        f"{paint(f.path, '1')}:{f.line}:{f.column}: {paint(f.rule, '31')} {f.preview}"
        for f in result.reported
    ]
    lines.append(_summary(result))
    if result.reported:
        lines += ["", advice.rstrip("\n")]
    return "\n".join(lines) + "\n"


def _summary(result: ScanResult) -> str:
    reported = result.reported
    files = len({f.path for f in reported})
    text = (
        f"{len(reported)} Notion credential{'s' * (len(reported) != 1)} found in "
        f"{files} file{'s' * (files != 1)}"
        if reported
        else "No Notion credentials found"
    )
    suppressed = len(result.suppressed)
    if suppressed:
        text += f" ({suppressed} suppressed by inline allow markers)"
    return text + "."


def _finding_json(finding: Finding) -> dict[str, Any]:
    return {
        "rule": finding.rule,
        "path": finding.path,
        "line": finding.line,
        "column": finding.column,
        "preview": finding.preview,
        "fingerprint": finding.fingerprint,
        "encoding": finding.encoding,
        "message": finding.message,
    }


def render_json(result: ScanResult) -> str:
    document = {
        "tool": "notion-leakguard",
        "version": __version__,
        "findings": [_finding_json(f) for f in result.reported],
        "suppressed": [{**_finding_json(f), "reason": f.suppressed} for f in result.suppressed],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def render_sarif(result: ScanResult) -> str:
    rule_index = {rule.id: index for index, rule in enumerate(RULES)}
    rules = [
        {
            "id": rule.id,
            "name": rule.name,
            "shortDescription": {"text": rule.description.split(". ")[0].rstrip(".") + "."},
            "fullDescription": {"text": rule.description},
            "help": {"text": ADVICE},
            "defaultConfiguration": {"level": "error"},
            "properties": {"tags": ["security", "secrets"], "security-severity": "9.0"},
        }
        for rule in RULES
    ]
    results = []
    for finding in result.findings:
        location: dict[str, Any] = {
            "artifactLocation": {"uri": quote(finding.path), "uriBaseId": "%SRCROOT%"}
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
            }
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
