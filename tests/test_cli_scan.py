"""`notion-leakguard scan` as a user runs it. Mostly in this process (`invoke`); the console
script in a subprocess where the process is the point: a report with a finding on a pipe,
standard input, usage errors, no git on PATH, --version."""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import sys
import sysconfig
from pathlib import Path

import pytest

from tests import tokens
from tests.conftest import FIXTURES, git, invoke, run_cli

PLACEHOLDERS = {
    "{{NOTION_API_TOKEN}}": ("notion-api-token", tokens.api_token),
    "{{NOTION_LEGACY_TOKEN}}": ("notion-legacy-token", tokens.legacy_token),
    "{{NOTION_COOKIE}}": ("notion-token-v2-cookie", tokens.cookie),
    "{{NOTION_COOKIE_HEX}}": ("notion-token-v2-cookie", tokens.hex_cookie),
}
Expected = set[tuple[str, str, int, int, str]]


def plant_tree(root: Path, rng: random.Random) -> Expected:
    """Copy fixtures/tree to root, filling every placeholder with a fresh token; return
    what a scan must report (rule, path, line, column, preview)."""
    expected: Expected = set()
    for template in sorted((FIXTURES / "tree").rglob("*")):
        if not template.is_file():
            continue
        relative = template.relative_to(FIXTURES / "tree").as_posix().replace("dot-", ".")
        text = template.read_text(encoding="utf-8")
        planted = []
        for placeholder, (rule, make) in PLACEHOLDERS.items():
            while placeholder in text:
                tok = make(rng)
                text = text.replace(placeholder, tok, 1)
                planted.append((rule, tok))
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text.encode())
        for rule, tok in planted:
            ((line, column),) = tokens.positions(text, tok)
            expected.add((rule, relative, line, column, tokens.preview(tok)))
    return expected


def add_binary_and_encodings(root: Path, rng: random.Random) -> Expected:
    expected: Expected = set()
    # a SQLite database, as an app that caches its settings would leave it
    tok = tokens.api_token(rng)
    database = root / "data" / "cache.sqlite3"
    database.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE settings (name TEXT, value TEXT)")
        connection.executemany(
            "INSERT INTO settings VALUES (?, ?)", [("filler", "x" * 500)] * 20 + [("notion", tok)]
        )
    connection.close()
    blob = database.read_bytes()
    offset = blob.index(tok.encode())
    line = blob.count(b"\n", 0, offset) + 1
    line_start = blob.rfind(b"\n", 0, offset) + 1
    column = len(blob[line_start:offset].decode("utf-8", "surrogateescape")) + 1
    if all(b < 0x80 or b >= 0xC0 for b in blob[line_start:offset]):
        expected.add(("notion-api-token", "data/cache.sqlite3", line, column, tokens.preview(tok)))
    else:  # columns inside binary count non-continuation bytes; only the line is compared
        expected.add(("notion-api-token", "data/cache.sqlite3", line, -1, tokens.preview(tok)))
    # a Windows file: UTF-8 BOM and CRLF
    tok = tokens.legacy_token(rng)
    text = f'\ufeff# Einstellungen\r\n$env:NOTION_TOKEN = "{tok}"\r\n'
    (root / "scripts" / "setup.ps1").write_bytes(text.encode())
    ((line, column),) = tokens.positions(text, tok)
    expected.add(("notion-legacy-token", "scripts/setup.ps1", line, column, tokens.preview(tok)))
    return expected


def reported(stdout: str) -> Expected:
    return {
        (f["rule"], f["path"], f["line"], f["column"], f["preview"])
        for f in json.loads(stdout)["findings"]
    }


def loosen(found: Expected, expected: Expected) -> Expected:
    """Drop the column where the expectation could not fix one (inside binary data)."""
    wildcards = {(r, p, ln, pv) for r, p, ln, c, pv in expected if c == -1}
    return {(r, p, ln, -1 if (r, p, ln, pv) in wildcards else c, pv) for r, p, ln, c, pv in found}


def test_tree_of_every_kind_of_file(tmp_path: Path, rng: random.Random) -> None:
    expected = plant_tree(tmp_path, rng) | add_binary_and_encodings(tmp_path, rng)
    result = invoke("scan", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert loosen(reported(result.stdout), expected) == expected
    templates = [p.read_text() for p in (FIXTURES / "tree").rglob("*") if p.is_file()]
    assert len(expected) == sum(t.count("{{") for t in templates) + 2 > 25
    # the same tree scanned file by file, and by the worker pool, gives the same report
    single = invoke("scan", "--format", "json", "--jobs", "1", ".", cwd=tmp_path)
    assert reported(single.stdout) == reported(result.stdout)


def test_many_files_use_workers_and_agree(tmp_path: Path, rng: random.Random) -> None:
    expected: Expected = set()
    for index in range(900):
        path = tmp_path / f"d{index % 7}" / f"f{index}.txt"
        path.parent.mkdir(exist_ok=True)
        tok = tokens.api_token(rng) if index % 50 == 0 else "nothing"
        path.write_text(f"line\nkey={tok}\n")
        if tok != "nothing":
            expected.add(
                ("notion-api-token", f"d{index % 7}/f{index}.txt", 2, 5, tokens.preview(tok))
            )
    for jobs in ("1", "2"):
        result = invoke("scan", "--format", "json", "--jobs", jobs, cwd=tmp_path)
        assert reported(result.stdout) == expected


def test_large_file_streams_and_finds_tokens_across_block_edges(
    tmp_path: Path, rng: random.Random
) -> None:
    block = 1 << 20
    planted = [tokens.api_token(rng) for _ in range(4)]
    data = bytearray(b"a" * 80 + b"\n") * (5 * block // 81)
    for index, tok in enumerate(planted):  # straddle each block edge differently
        at = (index + 1) * block - 10 - index * 13
        data[at - 1 : at + len(tok) + 1] = b" " + tok.encode() + b" "
    (tmp_path / "big.log").write_bytes(bytes(data))
    text = data.decode()
    expected = {
        ("notion-api-token", "big.log", *tokens.positions(text, tok)[0], tokens.preview(tok))
        for tok in planted
    }
    result = invoke("scan", "big.log", "--format", "json", cwd=tmp_path)
    assert reported(result.stdout) == expected


def test_stdlib_has_no_findings(tmp_path: Path) -> None:
    stdlib = Path(sysconfig.get_paths()["stdlib"]).resolve()
    # Every file of the standard library, not the third-party packages that the
    # interpreter's own site-packages (inside it) happens to hold on this machine.
    parts = sorted(str(p) for p in stdlib.iterdir() if p.name != "site-packages")
    # The interpreter may live inside a git work tree that ignores it (pyenv does): stop
    # git's repository discovery at the stdlib's parent so every file is scanned.
    env = {"GIT_CEILING_DIRECTORIES": str(stdlib.parent)}
    result = invoke("scan", *parts, "--format", "json", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stdout[:2000]
    assert json.loads(result.stdout)["findings"] == []
    assert sum(1 for _ in stdlib.rglob("*.py")) > 500


def test_stdin(tmp_path: Path, rng: random.Random) -> None:
    tok = tokens.api_token(rng)
    result = run_cli("scan", "-", "--format", "json", cwd=tmp_path, stdin=f"x\n  {tok}\n".encode())
    assert result.returncode == 1
    assert reported(result.stdout) == {("notion-api-token", "-", 2, 3, tokens.preview(tok))}


def test_text_report(tmp_path: Path, rng: random.Random) -> None:
    tok = tokens.api_token(rng)
    (tmp_path / "app.py").write_text(f'KEY = "{tok}"\n')
    result = run_cli("scan", cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0] == f"app.py:1:8: notion-api-token {tokens.preview(tok)}"
    assert lines[1] == "1 Notion credential found in 1 file."
    assert "Refresh" in result.stdout and "environment variable" in result.stdout
    assert "\x1b[" not in result.stdout  # piped: no colour
    assert tok not in result.stdout + result.stderr


def test_clean_tree_exits_0(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("NOTION_TOKEN=${NOTION_TOKEN}\n")
    result = invoke("scan", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, "No Notion credentials found.\n")


@pytest.mark.parametrize(
    "args",
    (["scan", "missing.txt"], ["scan", "--format", "xml"], ["scan", "--jobs", "0"], ["nope"]),
)
def test_usage_errors_exit_2_without_traceback(tmp_path: Path, args: list[str]) -> None:
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip()


def test_output_file(tmp_path: Path, rng: random.Random) -> None:
    tok = tokens.legacy_token(rng)
    (tmp_path / "a.env").write_text(f"K={tok}\n")
    result = invoke("scan", "a.env", "--format", "json", "--output", "out/r.json", cwd=tmp_path)
    assert result.returncode == 2 and "out/r.json" in result.stderr  # no such directory
    result = invoke("scan", "a.env", "--format", "json", "--output", "r.json", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (1, "")
    assert reported((tmp_path / "r.json").read_text()) == {
        ("notion-legacy-token", "a.env", 1, 3, tokens.preview(tok))
    }


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX only")
def test_odd_files_warn_and_the_scan_goes_on(tmp_path: Path, rng: random.Random) -> None:
    tok = tokens.api_token(rng)
    (tmp_path / "real.txt").write_text(tok)
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "dangling").symlink_to(tmp_path / "gone")
    (tmp_path / "link.txt").symlink_to(tmp_path / "real.txt")
    walked = invoke("scan", "--format", "json", cwd=tmp_path)
    assert walked.returncode == 1
    assert "pipe: not a regular file; skipped" in walked.stderr
    assert [f["path"] for f in json.loads(walked.stdout)["findings"]] == ["real.txt"]
    # named explicitly: a symlink is followed; a dangling one and a FIFO are warnings
    named = invoke("scan", "link.txt", "dangling", "pipe", "--format", "json", cwd=tmp_path)
    assert named.returncode == 1
    assert [f["path"] for f in json.loads(named.stdout)["findings"]] == ["link.txt"]
    assert "dangling:" in named.stderr and "pipe:" in named.stderr
    only_warnings = invoke("scan", "pipe", cwd=tmp_path)
    assert only_warnings.returncode == 0


def test_git_ignored_files_and_dot_git_are_skipped_when_walking(
    in_git_dir: Path, rng: random.Random
) -> None:
    ignored, tracked, untracked, in_dot_git = (tokens.api_token(rng) for _ in range(4))
    (in_git_dir / ".gitignore").write_text("build/\n")
    (in_git_dir / "build").mkdir()
    (in_git_dir / "build" / "out.js").write_text(ignored)
    (in_git_dir / "src").mkdir()
    (in_git_dir / "src" / "a.py").write_text(tracked)
    git("add", "src/a.py", cwd=in_git_dir)
    (in_git_dir / "new file.txt").write_text(untracked)
    (in_git_dir / ".git" / "notes.txt").write_text(in_dot_git)
    result = invoke("scan", "--format", "json", cwd=in_git_dir)
    assert sorted(f["path"] for f in json.loads(result.stdout)["findings"]) == [
        "new file.txt",
        "src/a.py",
    ]
    # from a subdirectory, paths stay relative to where the command runs
    result = invoke("scan", "--format", "json", cwd=in_git_dir / "src")
    assert [f["path"] for f in json.loads(result.stdout)["findings"]] == ["a.py"]
    result = invoke("scan", "..", "--format", "json", cwd=in_git_dir / "src")
    assert sorted(f["path"] for f in json.loads(result.stdout)["findings"]) == [
        "../new file.txt",
        "../src/a.py",  # as `grep -r ..` names them
    ]
    # named explicitly, an ignored file is scanned
    result = invoke("scan", "build/out.js", "--format", "json", cwd=in_git_dir)
    assert [f["path"] for f in json.loads(result.stdout)["findings"]] == ["build/out.js"]


def test_dot_git_skipped_outside_a_repository(tmp_path: Path, rng: random.Random) -> None:
    (tmp_path / "copy" / ".git").mkdir(parents=True)
    (tmp_path / "copy" / ".git" / "config").write_text(tokens.api_token(rng))
    result = invoke("scan", cwd=tmp_path)
    assert result.returncode == 0, result.stdout


def test_works_without_git(tmp_path: Path, rng: random.Random) -> None:
    (tmp_path / "a.txt").write_text(tokens.api_token(rng))
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "python").symlink_to(sys.executable)
    result = run_cli("scan", "a.txt", cwd=tmp_path, env={"PATH": str(bindir)})
    assert result.returncode == 1, result.stderr
    assert shutil.which("git", path=str(bindir)) is None


def test_version() -> None:
    result = run_cli("--version", cwd=Path.cwd())
    assert result.returncode == 0
    assert "0.1.0" in result.stdout
