"""Dotenv hygiene (`check-env`, `check-env --fix`, and the dotenv part of `scan`), each case in
a real temporary repository, checked against what git itself says."""

from __future__ import annotations

import json
import os
import posixpath
import random
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import tokens
from tests.conftest import git, invoke

NI, TR = "env-file-not-ignored", "env-file-tracked"
TEMPLATE_WORDS = ("example", "sample", "template", "dist", "defaults")
Pairs = set[tuple[str, str]]


# -- what the tests consider a dotenv file (written out again, not imported) ---------------


def is_dotenv_name(name: str) -> bool:
    if name in (".envrc", ".xcode.env"):  # shell scripts, committed by design
        return False
    return name == ".env" or name.startswith(".env.") or (name.endswith(".env") and name != ".env")


def is_template_name(name: str) -> bool:
    if name.startswith(".env."):
        return name.rsplit(".", 1)[-1] in TEMPLATE_WORDS
    if name.endswith(".env") and name != ".env":
        return name[: -len(".env")] in TEMPLATE_WORDS
    return False


def work_tree_files(repo: Path) -> list[str]:
    found = []
    for directory, dirnames, filenames in os.walk(repo):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            found.append(Path(directory, name).relative_to(repo).as_posix())
    return sorted(found)


def secret_dotenv_files(repo: Path) -> list[str]:
    """Dotenv files that are not templates, by name, anywhere in the work tree."""
    return [
        p
        for p in work_tree_files(repo)
        if is_dotenv_name(posixpath.basename(p)) and not is_template_name(posixpath.basename(p))
    ]


def template_files(repo: Path) -> list[str]:
    return [
        p
        for p in work_tree_files(repo)
        if is_dotenv_name(posixpath.basename(p)) and is_template_name(posixpath.basename(p))
    ]


# -- what git says --------------------------------------------------------------------------


def tracked_files(repo: Path) -> set[str]:
    return {p for p in git("ls-files", "-z", cwd=repo).split("\0") if p}


def status(repo: Path) -> dict[str, set[str]]:
    """`git status --porcelain --ignored -z`: paths (directories end in /) by status code."""
    out = git("status", "--porcelain", "--ignored", "-z", cwd=repo)
    by_code: dict[str, set[str]] = {}
    for entry in out.split("\0"):
        if entry:
            by_code.setdefault(entry[:2], set()).add(entry[3:])
    return by_code


def covered_by(path: str, entries: set[str]) -> bool:
    return any(e == path or (e.endswith("/") and path.startswith(e)) for e in entries)


def git_ignores(repo: Path, path: str) -> bool:
    result = subprocess.run(
        ["git", "check-ignore", "-q", "--no-index", "--", path], cwd=repo, check=False
    )
    assert result.returncode in (0, 1)
    return result.returncode == 0


# -- running the command --------------------------------------------------------------------


def findings(result: subprocess.CompletedProcess[str]) -> Pairs:
    document = json.loads(result.stdout)
    for f in document["findings"]:
        assert f["line"] == 0 and f["preview"] == "" and f["fingerprint"].startswith("sha256:")
    return {(f["rule"], f["path"]) for f in document["findings"]}


def check_env(repo: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    result = invoke("check-env", *args, cwd=cwd or repo)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def gitignore_bytes(repo: Path) -> bytes | None:
    path = repo / ".gitignore"
    return path.read_bytes() if path.exists() else None


def write(repo: Path, relative: str, text: str = "NOTION_TOKEN=\n") -> None:
    path = repo / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode())


def commit(repo: Path, *paths: str, force: bool = False) -> None:
    git("add", *(["-f"] if force else []), "--", *paths, cwd=repo)
    git("commit", "-q", "-m", "add", cwd=repo)


# -- the scenarios --------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    setup: Callable[[Path], None]
    expected: Pairs  # (rule, path) before --fix
    tracked: frozenset[str] = frozenset()  # what keeps failing after --fix


def _root_env(repo: Path) -> None:
    write(repo, ".env")
    write(repo, "app.py", "import os\n")


def _subdir_production(repo: Path) -> None:
    write(repo, "services/api/.env.production")
    write(repo, "services/api/main.py", "\n")
    commit(repo, "services/api/main.py")


def _nested_gitignore(repo: Path) -> None:
    write(repo, "services/api/.gitignore", "# local\n.env.production\n")
    write(repo, "services/api/.env.production")
    write(repo, "services/web/.env.production")  # the nested rule does not reach here
    commit(repo, "services/api/.gitignore")


def _info_exclude(repo: Path) -> None:
    with open(repo / ".git" / "info" / "exclude", "a", encoding="utf-8") as stream:
        stream.write(".env\n")
    write(repo, ".env")
    write(repo, "sub/.env")
    write(repo, ".env.local")


def _global_excludes(repo: Path) -> None:
    excludes = repo.parent / "global-ignore"
    excludes.write_text(".env.local\nprod.env\n")
    git("config", "--global", "core.excludesFile", str(excludes), cwd=repo)
    write(repo, ".env.local")
    write(repo, "deploy/prod.env")
    write(repo, ".env")


def _root_negation(repo: Path) -> None:
    write(repo, ".gitignore", ".env*\n!.env\n")
    write(repo, ".env")
    write(repo, ".env.local")
    write(repo, "sub/.env")


def _force_added(repo: Path) -> None:
    write(repo, ".gitignore", ".env\n")
    write(repo, ".env")
    commit(repo, ".gitignore", ".env", force=True)


def _committed_not_ignored(repo: Path) -> None:
    write(repo, ".env.production")
    write(repo, "README.md", "# app\n")
    commit(repo, ".env.production", "README.md")
    write(repo, ".env.production", "NOTION_TOKEN=changed\n")  # modified in the work tree


def _scripts(repo: Path) -> None:
    """direnv's and React Native's scripts, committed by design, and RN's local override,
    which its template ignores for being machine-specific (here it is not ignored)."""
    write(repo, ".envrc", "use flake\nexport NOTION_TOKEN=\n")
    write(repo, "tools/.envrc", "source_up\n")
    write(repo, "ios/.xcode.env", "export NODE_BINARY=$(command -v node)\n")
    commit(repo, ".envrc", "ios/.xcode.env")
    write(repo, "ios/.xcode.env.local", "export NODE_BINARY=/opt/homebrew/bin/node\n")
    write(repo, "android/.xcode.env", "export NODE_BINARY=node\n")


def _prod_env(repo: Path) -> None:
    write(repo, "prod.env")
    write(repo, "config/staging.env")
    write(repo, "example.env")  # a template that `*.env` would catch
    commit(repo, "example.env")


def _virtualenv(repo: Path) -> None:
    write(repo, ".env/bin/activate", "# This file must be used with 'source bin/activate'\n")
    write(repo, ".env/bin/python", "")
    write(repo, ".env/pyvenv.cfg", "home = /usr/bin\n")
    write(repo, ".env/lib/python3.11/site-packages/pkg/__init__.py", "\n")


def _templates(repo: Path) -> None:
    for name in (".env.example", ".env.sample", ".env.template", ".env.dist", ".env.defaults"):
        write(repo, name, "NOTION_TOKEN=\n")
    write(repo, "config/.env.local.example")
    write(repo, "config/example.env")
    write(repo, "config/sample.env")
    commit(repo, ".env.example", "config/example.env")
    write(repo, ".env.local")
    write(repo, "config/dev.env")


def _no_commits(repo: Path) -> None:
    write(repo, ".env")
    git("add", ".env", cwd=repo)  # staged in a repository without a single commit
    write(repo, ".env.local")
    write(repo, ".env.example")


def _odd_paths(repo: Path) -> None:
    write(repo, "my app/.env")
    write(repo, "конфиг/prod café.env")
    write(repo, "données/.env.production")
    write(repo, "old stuff/.env.staging")
    commit(repo, "old stuff/.env.staging")


def _untracked_config_dir(repo: Path) -> None:
    write(repo, "config/.env.production")
    write(repo, "config/settings.py", "\n")
    write(repo, "config/deep/er/.env")


def _ignored_node_modules(repo: Path) -> None:
    write(repo, ".gitignore", "node_modules/\n")
    write(repo, "node_modules/.env")
    write(repo, "node_modules/pkg/.env.production")
    write(repo, "node_modules/pkg/test.env")
    commit(repo, ".gitignore")


CASES = [
    Case("root .env", _root_env, {(NI, ".env")}),
    Case("subdir .env.production", _subdir_production, {(NI, "services/api/.env.production")}),
    Case("nested .gitignore", _nested_gitignore, {(NI, "services/web/.env.production")}),
    Case("info/exclude", _info_exclude, {(NI, ".env.local")}),
    Case("global excludesFile", _global_excludes, {(NI, ".env")}),
    Case("root negation", _root_negation, {(NI, ".env"), (NI, "sub/.env")}),
    Case("force-added ignored", _force_added, {(TR, ".env")}, frozenset({".env"})),
    Case(
        "committed, not ignored",
        _committed_not_ignored,
        {(TR, ".env.production"), (NI, ".env.production")},
        frozenset({".env.production"}),
    ),
    Case(".envrc and .xcode.env", _scripts, set()),
    Case("prod.env", _prod_env, {(NI, "prod.env"), (NI, "config/staging.env")}),
    Case("virtualenv named .env", _virtualenv, set()),
    Case("templates", _templates, {(NI, ".env.local"), (NI, "config/dev.env")}),
    Case(
        "no commits",
        _no_commits,
        {(TR, ".env"), (NI, ".env"), (NI, ".env.local")},
        frozenset({".env"}),
    ),
    Case(
        "spaces and non-ASCII",
        _odd_paths,
        {
            (NI, "my app/.env"),
            (NI, "конфиг/prod café.env"),
            (NI, "données/.env.production"),
            (NI, "old stuff/.env.staging"),
            (TR, "old stuff/.env.staging"),
        },
        frozenset({"old stuff/.env.staging"}),
    ),
    Case(
        "untracked config/",
        _untracked_config_dir,
        {(NI, "config/.env.production"), (NI, "config/deep/er/.env")},
    ),
    Case("ignored node_modules", _ignored_node_modules, set()),
]


def assert_status_agrees(repo: Path, not_ignored: set[str]) -> None:
    """`git status --porcelain --ignored -z` shows as untracked exactly the untracked dotenv
    files reported as not ignored, and as ignored every other untracked one."""
    codes = status(repo)
    tracked = tracked_files(repo)
    for path in secret_dotenv_files(repo):
        if path in tracked:
            continue
        # an ignored file inside an untracked directory is listed as `!!` on its own
        ignored = covered_by(path, codes.get("!!", set()))
        untracked = not ignored and covered_by(path, codes.get("??", set()))
        assert ignored or untracked, (path, codes)
        assert untracked == (path in not_ignored), (path, codes)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_check_env_then_fix(in_git_dir: Path, case: Case) -> None:
    repo = in_git_dir
    case.setup(repo)
    templates = template_files(repo)

    before = check_env(repo, "--format", "json")
    assert findings(before) == case.expected
    assert before.returncode == (1 if case.expected else 0), before.stderr
    assert_status_agrees(
        repo, {p for rule, p in case.expected if rule == NI and p not in case.tracked}
    )

    original = gitignore_bytes(repo)
    fixed = check_env(repo, "--fix")
    assert fixed.returncode == (1 if case.expected else 0), fixed.stderr
    after_fix = gitignore_bytes(repo)
    if any(rule == NI for rule, _ in case.expected):
        assert after_fix is not None and after_fix != original
        assert after_fix.startswith(original or b"")
        assert after_fix.endswith(b"\n")
    else:
        assert after_fix == original  # nothing to add: not even created
    for path in case.tracked:
        assert "git rm --cached -- " in fixed.stdout
        assert path in fixed.stdout
    assert tracked_files(repo) >= set(case.tracked)  # never untracks

    after = check_env(repo, "--format", "json")
    assert findings(after) == {(TR, p) for p in case.tracked}
    assert after.returncode == (1 if case.tracked else 0), after.stderr
    assert_status_agrees(repo, set())
    for path in secret_dotenv_files(repo):
        assert path in tracked_files(repo) or git_ignores(repo, path), path
    for path in templates:
        assert not git_ignores(repo, path), path

    again = check_env(repo, "--fix")
    assert again.returncode == (1 if case.tracked else 0), again.stderr
    assert gitignore_bytes(repo) == after_fix


def test_tracked_advice_quotes_the_exact_command(in_git_dir: Path) -> None:
    _odd_paths(in_git_dir)
    result = check_env(in_git_dir, "--fix")
    assert "git rm --cached -- 'old stuff/.env.staging'" in result.stdout
    assert "rotate" in result.stdout
    assert "old stuff/.env.staging" in git("ls-files", cwd=in_git_dir)


def test_paths_are_relative_to_where_the_command_runs(in_git_dir: Path) -> None:
    write(in_git_dir, ".env")
    write(in_git_dir, "src/pkg/.env.local")
    result = check_env(in_git_dir, "--format", "json", cwd=in_git_dir / "src")
    assert findings(result) == {(NI, "../.env"), (NI, "pkg/.env.local")}
    fixed = check_env(in_git_dir, "--fix", cwd=in_git_dir / "src")
    assert fixed.returncode == 1
    assert not (in_git_dir / "src" / ".gitignore").exists()  # the root .gitignore, always
    assert check_env(in_git_dir, cwd=in_git_dir / "src").returncode == 0


# -- the .gitignore --fix writes -----------------------------------------------------------


@pytest.mark.parametrize(
    "original",
    [
        b"build/\r\n*.log\r\n",
        b"build/\r\n*.log",  # CRLF, no final newline
        b"build/\n*.log",  # no final newline
        b"# comments stay\n\nbuild/  \n!keep.log\n*.log\n",
        b"",
        b"\xef\xbb\xbf# BOM\nbuild/\n",
    ],
    ids=["crlf", "crlf-no-eol", "no-eol", "content", "empty", "bom"],
)
def test_fix_keeps_gitignore_content_and_line_endings(in_git_dir: Path, original: bytes) -> None:
    (in_git_dir / ".gitignore").write_bytes(original)
    write(in_git_dir, ".env")
    write(in_git_dir, "sub/.env.production")
    write(in_git_dir, ".env.example")
    write(in_git_dir, "build/out.js", "x\n")
    assert check_env(in_git_dir, "--fix").returncode == 1
    text = (in_git_dir / ".gitignore").read_bytes()
    crlf = b"\r\n" in original
    completed = (
        original
        if not original or original.endswith(b"\n")
        else original + (b"\r\n" if crlf else b"\n")
    )
    assert text.startswith(completed)
    assert text.endswith(b"\r\n" if crlf else b"\n")
    if crlf:
        assert text.count(b"\n") == text.count(b"\r\n")
    else:
        assert b"\r" not in text
    assert git_ignores(in_git_dir, "build/out.js") == (b"build/" in original)
    assert not git_ignores(in_git_dir, ".env.example")
    assert check_env(in_git_dir).returncode == 0
    assert check_env(in_git_dir, "--fix").returncode == 0
    assert (in_git_dir / ".gitignore").read_bytes() == text


def test_fix_adds_exceptions_only_for_templates_it_would_catch(in_git_dir: Path) -> None:
    write(in_git_dir, ".env")
    write(in_git_dir, ".env.example")  # `.env` does not catch it: no exception needed
    assert check_env(in_git_dir, "--fix").returncode == 1
    lines = (in_git_dir / ".gitignore").read_text().splitlines()
    assert not [line for line in lines if line.startswith("!")], lines
    assert not git_ignores(in_git_dir, ".env.example")
    # a `.env.local` makes --fix add a pattern that would catch the template
    write(in_git_dir, ".env.local")
    assert check_env(in_git_dir, "--fix").returncode == 1
    assert git_ignores(in_git_dir, ".env.local")
    assert not git_ignores(in_git_dir, ".env.example")
    assert "!.env.example" in (in_git_dir / ".gitignore").read_text().splitlines()


def test_fix_is_idempotent_when_a_nested_negation_wins(in_git_dir: Path) -> None:
    """A nested `!.env` beats anything the root .gitignore says: --fix cannot mend it, keeps
    reporting it, and must not append the same lines again on every run."""
    write(in_git_dir, "web/.gitignore", "!.env\n")
    write(in_git_dir, "web/.env")
    first = check_env(in_git_dir, "--fix")
    assert first.returncode == 1
    text = gitignore_bytes(in_git_dir)
    assert text is not None
    second = check_env(in_git_dir, "--fix", "--format", "json")
    assert second.returncode == 1  # the finding remains
    assert findings(second) == {(NI, "web/.env")}
    assert gitignore_bytes(in_git_dir) == text


# -- formats ---------------------------------------------------------------------------------


def _tracked_and_exposed(repo: Path) -> None:
    write(repo, ".env.production")
    commit(repo, ".env.production")
    write(repo, "web/.env")


def test_json_report(in_git_dir: Path) -> None:
    _tracked_and_exposed(in_git_dir)
    result = check_env(in_git_dir, "--format", "json")
    assert result.returncode == 1
    document = json.loads(result.stdout)
    assert document["tool"] == "notion-leakguard"
    assert findings(result) == {
        (TR, ".env.production"),
        (NI, ".env.production"),
        (NI, "web/.env"),
    }
    for f in document["findings"]:
        assert {"rule", "path", "line", "column", "preview", "fingerprint", "message"} <= set(f)
        assert f["message"]
    assert len({f["fingerprint"] for f in document["findings"]}) == 3


def test_sarif_report(in_git_dir: Path) -> None:
    _tracked_and_exposed(in_git_dir)
    result = check_env(in_git_dir, "--format", "sarif")
    assert result.returncode == 1
    document = json.loads(result.stdout)
    assert document["version"] == "2.1.0"
    (run,) = document["runs"]
    rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
    seen = set()
    for entry in run["results"]:
        assert entry["ruleId"] in (NI, TR)
        assert rules[entry["ruleIndex"]] == entry["ruleId"]
        (location,) = entry["locations"]
        physical = location["physicalLocation"]
        assert "region" not in physical  # line 0: the whole file
        seen.add((entry["ruleId"], physical["artifactLocation"]["uri"]))
    assert seen == {(TR, ".env.production"), (NI, ".env.production"), (NI, "web/.env")}


def test_text_report_and_output_file(in_git_dir: Path) -> None:
    _tracked_and_exposed(in_git_dir)
    result = check_env(in_git_dir)
    assert result.returncode == 1
    assert "web/.env: env-file-not-ignored" in result.stdout
    assert ".env.production: env-file-tracked" in result.stdout
    assert "check-env --fix" in result.stdout
    assert "git rm --cached -- .env.production" in result.stdout
    written = check_env(in_git_dir, "--format", "json", "--output", "report.json")
    assert (written.returncode, written.stdout) == (1, "")
    assert {
        (f["rule"], f["path"])
        for f in json.loads((in_git_dir / "report.json").read_text())["findings"]
    } == {(TR, ".env.production"), (NI, ".env.production"), (NI, "web/.env")}


def test_clean_repository(in_git_dir: Path) -> None:
    write(in_git_dir, "README.md", "hi\n")
    for fmt in ("text", "json", "sarif"):
        result = check_env(in_git_dir, "--format", fmt)
        assert result.returncode == 0, result.stdout
    assert json.loads(check_env(in_git_dir, "--format", "json").stdout)["findings"] == []


# -- outside a repository --------------------------------------------------------------------


@pytest.fixture
def outside(tmp_path: Path) -> dict[str, str]:
    """No repository above tmp_path can be found."""
    return {"GIT_CEILING_DIRECTORIES": str(tmp_path.parent)}


@pytest.mark.parametrize("args", [[], ["--fix"], ["--format", "json"]])
def test_check_env_outside_a_repository(
    tmp_path: Path, outside: dict[str, str], args: list[str]
) -> None:
    (tmp_path / ".env").write_text("K=\n")
    result = invoke("check-env", *args, cwd=tmp_path, env=outside)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "git" in result.stderr and (
        "repository" in result.stderr or "work tree" in result.stderr
    )
    assert result.stdout == ""
    assert not (tmp_path / ".gitignore").exists()


def test_scan_outside_a_repository_notes_once(
    tmp_path: Path, outside: dict[str, str], rng: random.Random
) -> None:
    tok = tokens.api_token(rng)
    write(tmp_path, ".env", f"NOTION_TOKEN={tok}\n")
    write(tmp_path, "a/.env.local")
    write(tmp_path, "a/prod.env")
    result = invoke("scan", "--format", "json", cwd=tmp_path, env=outside)
    assert result.returncode == 1, result.stderr
    assert {(f["rule"], f["path"]) for f in json.loads(result.stdout)["findings"]} == {
        ("notion-api-token", ".env")
    }
    notes = [line for line in result.stderr.splitlines() if "note" in line]
    assert len(notes) == 1 and "git" in notes[0], result.stderr
    assert tok not in result.stdout + result.stderr
    # no token: exit 0, still one note
    (tmp_path / ".env").write_text("NOTION_TOKEN=\n")
    clean = invoke("scan", cwd=tmp_path, env=outside)
    assert clean.returncode == 0
    assert len([line for line in clean.stderr.splitlines() if "note" in line]) == 1
    # no dotenv file: no note
    for name in (".env", "a/.env.local", "a/prod.env"):
        (tmp_path / name).unlink()
    assert invoke("scan", cwd=tmp_path, env=outside).stderr == ""


# -- scan inside a repository ----------------------------------------------------------------


def scanned(result: subprocess.CompletedProcess[str]) -> set[tuple[str, str, int]]:
    return {(f["rule"], f["path"], f["line"]) for f in json.loads(result.stdout)["findings"]}


def test_scan_reports_token_and_exposed_dotenv(in_git_dir: Path, rng: random.Random) -> None:
    tok = tokens.legacy_token(rng)
    write(in_git_dir, ".env", f"# keys\nNOTION_TOKEN={tok}\n")
    result = invoke("scan", "--format", "json", cwd=in_git_dir)
    assert result.returncode == 1
    assert scanned(result) == {("notion-legacy-token", ".env", 2), (NI, ".env", 0)}
    assert tok not in result.stdout + result.stderr
    text = invoke("scan", cwd=in_git_dir)
    assert "1 Notion credential found in 1 file" in text.stdout
    assert "1 dotenv file not kept out of git" in text.stdout


def test_scan_skips_token_in_ignored_untracked_dotenv(in_git_dir: Path, rng: random.Random) -> None:
    write(in_git_dir, ".gitignore", ".env\n*.env\n")
    write(in_git_dir, ".env", f"NOTION_TOKEN={tokens.api_token(rng)}\n")
    write(in_git_dir, "svc/prod.env", f"NOTION_TOKEN={tokens.api_token(rng)}\n")
    write(in_git_dir, "svc/app.py", "import os\n")
    for cwd, args in ((in_git_dir, []), (in_git_dir, ["svc"]), (in_git_dir / "svc", [])):
        result = invoke("scan", *args, "--format", "json", cwd=cwd)
        assert (result.returncode, json.loads(result.stdout)["findings"]) == (0, []), cwd


def test_scan_reports_tracked_ignored_dotenv_and_its_token(
    in_git_dir: Path, rng: random.Random
) -> None:
    tok = tokens.api_token(rng)
    write(in_git_dir, ".gitignore", ".env\n")
    write(in_git_dir, ".env", f"NOTION_TOKEN={tok}\n")
    commit(in_git_dir, ".gitignore", ".env", force=True)
    result = invoke("scan", "--format", "json", cwd=in_git_dir)
    assert result.returncode == 1
    assert scanned(result) == {("notion-api-token", ".env", 1), (TR, ".env", 0)}


def test_scan_of_a_subdirectory(in_git_dir: Path, rng: random.Random) -> None:
    write(in_git_dir, "svc/.env.production", f"K={tokens.api_token(rng)}\n")
    write(in_git_dir, "svc/.env.example", f"K={tokens.api_token(rng)}\n")  # a real token
    write(in_git_dir, "other/.env")
    result = invoke("scan", "svc", "--format", "json", cwd=in_git_dir)
    assert result.returncode == 1
    assert scanned(result) == {
        ("notion-api-token", "svc/.env.production", 1),
        ("notion-api-token", "svc/.env.example", 1),  # templates are still scanned
        (NI, "svc/.env.production", 0),
    }


def test_scan_does_not_report_a_virtualenv_or_ignored_node_modules(in_git_dir: Path) -> None:
    _virtualenv(in_git_dir)
    _ignored_node_modules(in_git_dir)
    result = invoke("scan", "--format", "json", cwd=in_git_dir)
    assert (result.returncode, json.loads(result.stdout)["findings"]) == (0, [])


# -- scripts named like dotenv files; dotenv files committed on purpose ---------------------


def scan_json(repo: Path, *args: str) -> tuple[int, set[tuple[str, str, int]]]:
    result = invoke("scan", "--format", "json", *args, cwd=repo)
    assert "Traceback" not in result.stderr, result.stderr
    found = {(f["rule"], f["path"], f["line"]) for f in json.loads(result.stdout)["findings"]}
    return result.returncode, found


def test_a_token_in_envrc_or_xcode_env_is_still_a_finding(
    in_git_dir: Path, rng: random.Random
) -> None:
    api, legacy = tokens.api_token(rng), tokens.legacy_token(rng)
    write(in_git_dir, ".envrc", f"use flake\nexport NOTION_TOKEN={api}\n")
    write(in_git_dir, "ios/.xcode.env", f"export NODE_BINARY=node\nexport KEY={legacy}\n")
    commit(in_git_dir, ".envrc", "ios/.xcode.env")

    assert check_env(in_git_dir).returncode == 0
    assert scan_json(in_git_dir) == (
        1,
        {("notion-api-token", ".envrc", 2), ("notion-legacy-token", "ios/.xcode.env", 2)},
    )
    assert scan_json(in_git_dir, "--history") == (
        1,
        {("notion-api-token", ".envrc", 2), ("notion-legacy-token", "ios/.xcode.env", 2)},
    )


def _vite_app(repo: Path) -> None:
    """Vite's public build settings, committed on purpose, next to a local .env that is
    ignored as it should be."""
    write(repo, ".gitignore", ".env\n.env.local\n")
    write(repo, "web/.env.production", "VITE_API_URL=https://api.example.com\n")
    write(repo, ".env", "NOTION_TOKEN=\n")
    commit(repo, ".gitignore", "web/.env.production")


def test_a_dotenv_file_acknowledged_in_the_baseline(in_git_dir: Path, rng: random.Random) -> None:
    _vite_app(in_git_dir)
    before = check_env(in_git_dir, "--format", "json")
    assert before.returncode == 1
    assert findings(before) == {(TR, "web/.env.production"), (NI, "web/.env.production")}

    created = invoke("baseline", "create", cwd=in_git_dir)
    assert created.returncode == 0, created.stderr

    after = check_env(in_git_dir)
    assert after.returncode == 0, after.stdout + after.stderr
    assert (
        "note: web/.env.production: committed on purpose, acknowledged by the baseline"
        in after.stderr
    )
    assert scan_json(in_git_dir) == (0, set())
    # a key that lands in it later is a new finding
    tok = tokens.api_token(rng)
    write(in_git_dir, "web/.env.production", f"VITE_API_URL=x\nVITE_NOTION_TOKEN={tok}\n")
    assert scan_json(in_git_dir) == (1, {("notion-api-token", "web/.env.production", 2)})
    assert check_env(in_git_dir).returncode == 0
    # and another dotenv file is not covered by that acknowledgement
    write(in_git_dir, "web/.env.staging", "VITE_API_URL=y\n")
    assert findings(check_env(in_git_dir, "--format", "json")) == {(NI, "web/.env.staging")}


def test_a_dotenv_file_acknowledged_in_the_configuration(
    in_git_dir: Path, rng: random.Random
) -> None:
    _vite_app(in_git_dir)
    write(
        in_git_dir,
        ".notion-leakguard.toml",
        "[[allow]]\n"
        'path = "web/.env.production"\n'
        'rule = ["env-file-tracked", "env-file-not-ignored"]\n'
        'reason = "public build settings (VITE_*), committed on purpose"\n',
    )

    result = check_env(in_git_dir)

    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        "note: web/.env.production: committed on purpose, acknowledged by .notion-leakguard.toml "
        "(public build settings (VITE_*), committed on purpose)" in result.stderr
    )
    assert "2 suppressed: 2 by the configuration" in result.stdout
    assert scan_json(in_git_dir) == (0, set())
    # the entry names rules: a token in the file is still reported
    tok = tokens.legacy_token(rng)
    write(in_git_dir, "web/.env.production", f"VITE_NOTION={tok}\n")
    assert scan_json(in_git_dir) == (1, {("notion-legacy-token", "web/.env.production", 1)})
    assert check_env(in_git_dir).returncode == 0


@pytest.mark.parametrize(
    "entry, problem",
    [
        ('rule = "env-file-tracked"\nfingerprint = "sha256:00"', "rule: goes with path"),
        ('path = ".env.production"\nrule = "env-file-committed"', "unknown rule"),
        ('path = ".env.production"\nrule = []', "must be a rule id or a list of rule ids"),
        ('path = ".env.production"\nrule = 3', "must be a rule id or a list of rule ids"),
    ],
)
def test_allow_rule_must_be_known(in_git_dir: Path, entry: str, problem: str) -> None:
    write(in_git_dir, ".notion-leakguard.toml", f'[[allow]]\n{entry}\nreason = "r"\n')

    result = check_env(in_git_dir)

    assert result.returncode == 2
    assert ".notion-leakguard.toml: allow[0]" in result.stderr and problem in result.stderr
