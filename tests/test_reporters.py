"""Report formats: the JSON contract of DESIGN.md, SARIF 2.1.0 against the official schema,
and the text report's colour rules."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

import jsonschema
import pytest

from notion_leakguard.cli.options import wants_color
from notion_leakguard.findings import ScanResult
from notion_leakguard.reporters import render_json, render_sarif, render_text
from notion_leakguard.rules import RULES
from notion_leakguard.scanner import scan_bytes
from tests import tokens
from tests.conftest import FIXTURES


def sample(rng: random.Random) -> tuple[ScanResult, list[str]]:
    planted = [tokens.api_token(rng), tokens.legacy_token(rng), tokens.cookie(rng)]
    text = "\n".join(
        [f"a = '{planted[0]}'", f"b = {planted[1]}  # notion-leakguard: allow", f"c: {planted[2]}"]
    )
    findings = scan_bytes(text.encode(), "dir with space/ü.py")
    return ScanResult(tuple(findings), files_scanned=1), planted


def test_json_matches_the_contract(rng: random.Random) -> None:
    result, planted = sample(rng)
    document = json.loads(render_json(result))
    assert document["tool"] == "notion-leakguard"
    assert document["version"] == "0.1.0"
    assert [f["rule"] for f in document["findings"]] == [
        "notion-api-token",
        "notion-token-v2-cookie",
    ]
    first = document["findings"][0]
    assert set(first) == {
        "rule",
        "path",
        "line",
        "column",
        "preview",
        "fingerprint",
        "encoding",
        "message",
    }
    assert (first["path"], first["line"], first["column"], first["encoding"]) == (
        "dir with space/ü.py",
        1,
        6,
        "plain",
    )
    assert first["preview"] == tokens.preview(planted[0])
    assert first["fingerprint"].startswith("sha256:") and len(first["fingerprint"]) == 71
    assert [f["reason"] for f in document["suppressed"]] == ["inline"]


def test_sarif_is_valid_2_1_0(rng: random.Random) -> None:
    result, planted = sample(rng)
    document = json.loads(render_sarif(result))
    schema = json.loads((FIXTURES / "sarif" / "sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(document)
    run = document["runs"][0]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == [r.id for r in RULES]
    results = run["results"]
    assert [r["ruleId"] for r in results] == [
        "notion-api-token",
        "notion-legacy-token",
        "notion-token-v2-cookie",
    ]
    location = results[0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "dir%20with%20space/%C3%BC.py"
    assert location["region"] == {"startLine": 1, "startColumn": 6}
    assert results[0]["partialFingerprints"]
    assert results[1]["suppressions"] == [{"kind": "inSource", "justification": "inline"}]
    assert "suppressions" not in results[0]
    text = json.dumps(document)
    assert not any(tok in text or tok[-20:] in text for tok in planted)


def test_sarif_schema_rejects_a_broken_report(rng: random.Random) -> None:
    """The vendored schema is complete enough to catch mistakes."""
    result, _ = sample(rng)
    document = json.loads(render_sarif(result))
    document["runs"][0]["results"][0]["level"] = "fatal"
    schema = json.loads((FIXTURES / "sarif" / "sarif-schema-2.1.0.json").read_text())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(schema).validate(document)


def test_text_colour(rng: random.Random) -> None:
    result, _ = sample(rng)
    plain = render_text(result, color=False)
    coloured = render_text(result, color=True)
    assert "\x1b[" not in plain
    assert "\x1b[31mnotion-api-token\x1b[0m" in coloured
    assert coloured.replace("\x1b[1m", "").replace("\x1b[31m", "").replace("\x1b[0m", "") == plain
    assert "(1 suppressed: 1 by inline markers; --no-suppress shows them)" in plain


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("stream", "no_color", "expected"),
    ((Terminal(), False, True), (Terminal(), True, False), (io.StringIO(), False, False)),
)
def test_colour_only_on_a_terminal_without_no_color(
    stream: io.StringIO, no_color: bool, expected: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    assert wants_color(stream) is expected


def test_clean_sarif_has_no_results(tmp_path: Path) -> None:
    document = json.loads(render_sarif(ScanResult(())))
    assert document["runs"][0]["results"] == []


def test_a_path_that_holds_a_token_is_shown_redacted(rng: random.Random) -> None:
    tok, inner = tokens.api_token(rng), tokens.legacy_token(rng)
    findings = scan_bytes(inner.encode(), f"keys/{tok}/settings.py")
    result = ScanResult(tuple(findings), files_scanned=1)
    for rendered in (render_text(result), render_json(result), render_sarif(result)):
        assert tok not in rendered and tok[4:20] not in rendered
        assert inner not in rendered
    assert f"keys/{tokens.preview(tok)}/settings.py" in render_text(result)
