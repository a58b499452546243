"""Which findings are acknowledged, and by what: inline markers (marked by the scanner),
the configuration's `exclude` globs and allowed fingerprints, and the baseline. Suppression
is never silent: suppressed findings stay in the result, and reports count them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from notion_leakguard import baseline as baselines
from notion_leakguard.config import Allowed
from notion_leakguard.findings import BASELINE, CONFIG, EXCLUDE, ScanResult


def apply(
    result: ScanResult,
    *,
    allow: Sequence[Allowed] = (),
    baseline: baselines.Baseline | None = None,
    excluded: Callable[[str], bool] | None = None,
    allowed_path: Callable[[str, str], bool] | None = None,
) -> ScanResult:
    """`result` with the findings that `excluded` (a path), `allow` or `baseline`
    acknowledge marked (finding paths are relative to `result.root`)."""
    allowed = {a.fingerprint for a in allow if a.fingerprint is not None}
    findings = [
        f._replace(suppressed=CONFIG)
        if f.suppressed is None
        and (
            f.fingerprint in allowed
            or (allowed_path is not None and f.kind == "file" and allowed_path(f.path, f.rule))
        )
        else f
        for f in result.findings
    ]
    if excluded is not None:
        findings = [
            f._replace(suppressed=EXCLUDE)
            if f.suppressed is None and f.kind == "file" and excluded(f.path)
            else f
            for f in findings
        ]
    if baseline is not None:
        open_ones = [i for i, f in enumerate(findings) if f.suppressed is None]
        known = baselines.matches(
            baseline, [findings[i] for i in open_ones], finding_root=result.root
        )
        for position in known:
            index = open_ones[position]
            findings[index] = findings[index]._replace(suppressed=BASELINE)
    return result._replace(findings=tuple(findings))


REGEX_TIMEOUT = 0.1  # seconds a user's allow pattern may take on one line


def by_line(
    result: ScanResult, patterns: Sequence[str], lines: Mapping[tuple[str, int], str]
) -> tuple[ScanResult, list[str]]:
    """`result` with the findings whose line an allow pattern matches marked, and the
    patterns that took too long (catastrophic backtracking): they match nothing."""
    import regex  # its matching can time out, unlike re's

    compiled = [(pattern, regex.compile(pattern)) for pattern in patterns]
    slow: list[str] = []
    findings = []
    for finding in result.findings:
        text = lines.get((finding.path, finding.line))
        if finding.suppressed is None and text is not None:
            for pattern, matcher in compiled:
                if pattern in slow:
                    continue
                try:
                    hit = matcher.search(text, timeout=REGEX_TIMEOUT) is not None
                except TimeoutError:
                    slow.append(pattern)
                    continue
                if hit:
                    finding = finding._replace(suppressed=CONFIG)
                    break
        findings.append(finding)
    return result._replace(findings=tuple(findings)), slow


def lift(result: ScanResult) -> ScanResult:
    """Every finding reported, whatever would suppress it (--no-suppress)."""
    return result._replace(findings=tuple(f._replace(suppressed=None) for f in result.findings))
