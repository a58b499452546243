"""A key as a file or directory name (issue 16): reported at line 0 of the path up to the
name that holds it, in `scan`, `--staged`, `--history` and the hook; and the path is shown
redacted in every output, the findings of the file's own contents included."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

from tests import tokens
from tests.conftest import git, invoke
from tests.helpers.never_leak import Capture, Forbidden, Planted, leaks

API = "notion-api-token"


def redacted(path: str, *toks: str) -> str:
    for tok in toks:
        path = path.replace(tok, tokens.preview(tok))
    return path


Found = set[tuple[str, str, int, int]]


def findings(*args: str, cwd: Path, env: dict[str, str] | None = None) -> tuple[int, Found]:
    result = invoke(*args, "--format", "json", cwd=cwd, env=env)
    assert "Traceback" not in result.stderr, result.stderr
    report = json.loads(result.stdout)["findings"]
    return result.returncode, {(f["rule"], f["path"], f["line"], f["column"]) for f in report}


def test_a_file_and_a_directory_named_with_a_key(in_git_dir: Path, rng: random.Random) -> None:
    file_key, dir_key = tokens.api_token(rng), tokens.legacy_token(rng)
    (in_git_dir / "cache").mkdir()
    (in_git_dir / "cache" / f"{file_key}.json").write_text("{}\n")
    sessions = in_git_dir / "sessions" / dir_key
    sessions.mkdir(parents=True)
    for name in ("a.json", "b.json", "c.json"):
        (sessions / name).write_text("[]\n")
    expected = {
        (API, redacted(f"cache/{file_key}.json", file_key), 0, 7),
        ("notion-legacy-token", redacted(f"sessions/{dir_key}", dir_key), 0, 10),
    }
    assert findings("scan", cwd=in_git_dir) == (1, expected)
    hook = invoke("hook", "--", f"cache/{file_key}.json", cwd=in_git_dir)
    assert hook.returncode == 1
    assert f"cache/{tokens.preview(file_key)}.json (in its name): {API}" in hook.stdout

    git("add", "-A", cwd=in_git_dir)
    assert findings("scan", "--staged", cwd=in_git_dir) == (1, expected)
    git("commit", "-q", "--no-verify", "-m", "cache", cwd=in_git_dir)
    git("rm", "-rq", "cache", "sessions", cwd=in_git_dir)
    git("commit", "-q", "--no-verify", "-m", "gone", cwd=in_git_dir)
    assert findings("scan", "--history", cwd=in_git_dir) == (1, expected)


def test_an_empty_file_named_with_a_key(in_git_dir: Path, rng: random.Random) -> None:
    """Empty: no added line to scan, and in history its blob is the empty blob, already met
    at another path."""
    tok = tokens.api_token(rng)
    (in_git_dir / "__init__.py").write_text("")
    git("add", "-A", cwd=in_git_dir)
    git("commit", "-q", "--no-verify", "-m", "package", cwd=in_git_dir)
    (in_git_dir / f"{tok}.lock").write_text("")
    git("add", "-A", cwd=in_git_dir)
    expected = {(API, redacted(f"{tok}.lock", tok), 0, 1)}
    assert findings("scan", "--staged", cwd=in_git_dir) == (1, expected)
    git("commit", "-q", "--no-verify", "-m", "lock", cwd=in_git_dir)
    assert findings("scan", "--history", cwd=in_git_dir) == (1, expected)


def test_placeholders_and_near_misses_in_names_are_not_findings(in_git_dir: Path) -> None:
    for name in ("ntn_" + "0" * 46 + ".json", "secret_" + "x" * 43, "my_secret_config.py"):
        (in_git_dir / name).write_text("{}\n")
    assert findings("scan", cwd=in_git_dir) == (0, set())


def test_the_name_never_shows_in_full(in_git_dir: Path, tmp_path: Path, rng: random.Random) -> None:
    """Every output of every command that shows the path: reports in every format, on
    stdout and in --output files, the baseline, GitHub annotations and job summary, notes
    and skipped-file warnings; the findings of the file's own contents too."""
    name_key, inner_key, dir_key = (tokens.api_token(rng) for _ in range(3))
    content_key = tokens.legacy_token(rng)
    planted = [Planted(n, t) for n, t in (("name", name_key), ("inner", inner_key))]
    planted += [Planted("dir", dir_key), Planted("content", content_key)]
    (in_git_dir / "README.md").write_text("readme\n")
    git("add", "-A", cwd=in_git_dir)
    git("commit", "-q", "--no-verify", "-m", "start", cwd=in_git_dir)
    (in_git_dir / "cache").mkdir()
    (in_git_dir / "cache" / f"{name_key}.json").write_text(f'{{"notion": "{content_key}"}}\n')
    (in_git_dir / "cache" / f"{inner_key}.zip").write_bytes(b"PK\x03\x04 damaged")
    (in_git_dir / dir_key).mkdir()
    (in_git_dir / dir_key / "notes.txt").write_text("nothing\n")
    git("add", "-A", cwd=in_git_dir)
    git("commit", "-q", "--no-verify", "-m", "keys", cwd=in_git_dir)
    outside = tmp_path / "outside" / dir_key
    outside.mkdir(parents=True)
    os.mkfifo(outside / f"{name_key}.pipe")

    out = tmp_path / "out"
    out.mkdir()
    summary = out / "summary.md"
    github = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    runs: list[tuple[str, list[str], Path, dict[str, str]]] = []
    for fmt in ("text", "json", "sarif"):
        for where in ("scan", "--staged", "--history"):
            args = ["scan", "--format", fmt] + ([where] if where != "scan" else [])
            runs.append((f"{where} {fmt}", args, in_git_dir, {}))
            target = out / f"{where.strip('-')}.{fmt}"
            runs.append((f"{where} {fmt} -o", [*args, "--output", str(target)], in_git_dir, {}))
        ci = ["ci", "--range", "HEAD~1..HEAD", "--format", fmt]
        runs.append((f"ci {fmt}", ci, in_git_dir, github))
    baseline = out / "baseline.json"
    runs.append(("baseline", ["baseline", "create", "--output", str(baseline)], in_git_dir, {}))
    runs.append(("outside", ["scan", "--no-git", "."], tmp_path / "outside", {}))
    runs.append(("outside json", ["scan", "--format", "json", "."], tmp_path / "outside", {}))
    runs.append(("hook", ["hook", "--", f"cache/{name_key}.json"], in_git_dir, {}))

    forbidden = Forbidden(planted)
    problems: list[str] = []
    shown_preview = False
    for label, args, cwd, env in runs:
        result = invoke(*args, cwd=cwd, env=env, text=False)
        assert b"Traceback" not in result.stderr, (label, result.stderr)
        capture = Capture(label, args, result.returncode, result.stdout, result.stderr)
        capture.files = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
        problems += leaks(capture, forbidden)
        shown_preview |= tokens.preview(name_key).encode() in result.stdout
    assert problems == []
    assert shown_preview
    assert tokens.preview(name_key) in summary.read_text()
    entries = json.loads(baseline.read_text())["entries"]
    assert f"../repo/{redacted(f'cache/{name_key}.json', name_key)}" in {e["path"] for e in entries}


def test_a_name_holding_a_key_in_another_form_is_found_and_never_shown(
    in_git_dir: Path, rng: random.Random
) -> None:
    """`ntn%5F….json` (a URL-encoded name) and a base64 name: found as in text, and the
    name part is shown only as the key's preview, in every report."""
    import base64

    percent_key, base64_key = tokens.api_token(rng), tokens.legacy_token(rng)
    percent_name = percent_key.replace("_", "%5F", 1) + ".json"
    base64_name = base64.urlsafe_b64encode(f"K={base64_key}".encode()).decode() + ".bin"
    (in_git_dir / percent_name).write_text("{}\n")
    (in_git_dir / base64_name).write_text("x\n")
    for fmt in ("text", "json", "sarif"):
        result = invoke("scan", "--format", fmt, cwd=in_git_dir)
        assert result.returncode == 1, result.stderr
        for secret in (percent_key, base64_key, percent_name, base64_name):
            assert secret not in result.stdout + result.stderr
    text = invoke("scan", cwd=in_git_dir).stdout
    assert f"[{tokens.preview(percent_key)}, encoded] (in its name)" in text
    assert f"[{tokens.preview(base64_key)}, encoded] (in its name)" in text


def test_an_author_named_with_a_key_is_redacted_in_history_reports(
    in_git_dir: Path, rng: random.Random
) -> None:
    key, author_key = tokens.api_token(rng), tokens.api_token(rng)
    (in_git_dir / "app.py").write_text(f'NOTION = "{key}"\n')
    git("add", "-A", cwd=in_git_dir)
    git(
        "commit",
        "-q",
        "--no-verify",
        f"--author=bot {author_key} <bot@example.com>",
        "-m",
        "x",
        cwd=in_git_dir,
    )
    for fmt in ("text", "json", "sarif"):
        result = invoke("scan", "--history", "--format", fmt, cwd=in_git_dir)
        assert result.returncode == 1
        assert author_key not in result.stdout + result.stderr
    assert f"bot {tokens.preview(author_key)}" in invoke("scan", "--history", cwd=in_git_dir).stdout
