"""`notion-leakguard scan --staged` and `install-hook` in real repositories: only the lines a
commit adds count, read from the index, whatever the user's git configuration says."""

from __future__ import annotations

import json
import os
import random
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests import tokens
from tests.conftest import git, invoke

API = "notion-api-token"
LEGACY = "notion-legacy-token"
TRACKED = "env-file-tracked"
Expected = set[tuple[str, str, int, int, str]]


def write(root: Path, relative: str, data: str | bytes) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def stage(root: Path, relative: str, data: str | bytes) -> None:
    write(root, relative, data)
    git("add", "--", relative, cwd=root)


def commit(root: Path, message: str = "c") -> None:
    git("commit", "-q", "--no-verify", "-m", message, cwd=root)


def found(text: str, path: str, tok: str, rule: str = API) -> Expected:
    """Where `tok` sits in `text`, as the report must list it."""
    return {(rule, path, ln, col, tokens.preview(tok)) for ln, col in tokens.positions(text, tok)}


def scan_staged(cwd: Path, env: dict[str, str] | None = None) -> tuple[int, Expected]:
    result = invoke("scan", "--staged", "--format", "json", cwd=cwd, env=env)
    assert "Traceback" not in result.stderr, result.stderr
    report = json.loads(result.stdout) if result.returncode in (0, 1) else {"findings": []}
    got = {(f["rule"], f["path"], f["line"], f["column"], f["preview"]) for f in report["findings"]}
    return result.returncode, got


def test_first_commit_of_a_new_repository(in_git_dir: Path, rng: random.Random) -> None:
    tok = tokens.api_token(rng)
    text = f"import os\n\n# settings\nclient = Client(auth='{tok}')\n"
    stage(in_git_dir, "src/app.py", text)
    assert scan_staged(in_git_dir) == (1, {(API, "src/app.py", 4, 23, tokens.preview(tok))})


def test_the_index_counts_not_the_work_tree(in_git_dir: Path, rng: random.Random) -> None:
    on_disk_only, staged_then_removed = tokens.api_token(rng), tokens.legacy_token(rng)
    stage(in_git_dir, "a.py", "x = 1\n")
    write(in_git_dir, "a.py", f"x = 1\ny = '{on_disk_only}'\n")
    assert scan_staged(in_git_dir) == (0, set())
    text = f"k = '{staged_then_removed}'\n"
    stage(in_git_dir, "b.py", text)
    write(in_git_dir, "b.py", "k = os.environ['K']\n")
    assert scan_staged(in_git_dir) == (1, found(text, "b.py", staged_then_removed, LEGACY))


def test_only_added_lines_count(in_git_dir: Path, rng: random.Random) -> None:
    old, new = tokens.api_token(rng), tokens.api_token(rng)
    lines = ["a = 1", f"old = '{old}'", "b = 2", "c = 3"]
    stage(in_git_dir, "conf.py", "\n".join(lines) + "\n")
    commit(in_git_dir)
    lines[3] = "c = 4"
    stage(in_git_dir, "conf.py", "\n".join(lines) + "\n")
    assert scan_staged(in_git_dir) == (0, set())
    lines.insert(1, f"new = '{new}'")
    text = "\n".join(lines) + "\n"
    stage(in_git_dir, "conf.py", text)
    assert scan_staged(in_git_dir) == (1, {(API, "conf.py", 2, 8, tokens.preview(new))})
    assert tokens.positions(text, old) == [(3, 8)]  # moved down, still not reported


def _rename(repo: Path, tok: str, new: str) -> Expected:
    (repo / "lib").mkdir()
    git("mv", "old.py", "lib/new.py", cwd=repo)
    return set()


def _rename_and_add(repo: Path, tok: str, new: str) -> Expected:
    (repo / "lib").mkdir()
    git("mv", "old.py", "lib/new.py", cwd=repo)
    text = (repo / "lib/new.py").read_text() + f"more = '{new}'\n"
    stage(repo, "lib/new.py", text)
    return found(text, "lib/new.py", new)


def _copy(repo: Path, tok: str, new: str) -> Expected:
    text = (repo / "old.py").read_text()
    stage(repo, "copy.py", text)  # the source is edited too, so copy detection could pair them
    stage(repo, "old.py", text + "x = 2\n")
    return found(text, "copy.py", tok)


def _copy_and_add(repo: Path, tok: str, new: str) -> Expected:
    text = (repo / "old.py").read_text() + f"more = '{new}'\n"
    stage(repo, "copy.py", text)
    return found(text, "copy.py", tok) | found(text, "copy.py", new)


def _chmod(repo: Path, tok: str, new: str) -> Expected:
    os.chmod(repo / "old.py", 0o755)
    git("add", "old.py", cwd=repo)
    assert git("diff", "--cached", "--name-status", cwd=repo) == "M\told.py\n"
    return set()


def _file_to_symlink(repo: Path, tok: str, new: str) -> Expected:
    (repo / "old.py").unlink()
    (repo / "old.py").symlink_to("elsewhere.py")
    git("add", "old.py", cwd=repo)
    return set()


def _symlink_to_file(repo: Path, tok: str, new: str) -> Expected:
    (repo / "link").symlink_to("old.py")
    git("add", "link", cwd=repo)
    commit(repo)
    (repo / "link").unlink()
    stage(repo, "link", f"k = '{new}'\n")
    return {(API, "link", 1, 6, tokens.preview(new))}


def _delete(repo: Path, tok: str, new: str) -> Expected:
    git("rm", "-q", "old.py", cwd=repo)
    return set()


@pytest.mark.parametrize(
    "change",
    (_rename, _rename_and_add, _copy, _copy_and_add, _chmod, _file_to_symlink,
     _symlink_to_file, _delete),
    ids=lambda f: f.__name__.strip("_"),
)  # fmt: skip
def test_renames_copies_modes_typechanges_deletions(
    in_git_dir: Path, rng: random.Random, change: Callable[[Path, str, str], Expected]
) -> None:
    tok, new = tokens.api_token(rng), tokens.api_token(rng)
    stage(in_git_dir, "old.py", f"import os\nkey = '{tok}'\nx = 1\n")
    commit(in_git_dir)
    expected = change(in_git_dir, tok, new)
    assert scan_staged(in_git_dir) == (1 if expected else 0, expected)


@pytest.mark.parametrize(
    "name",
    (
        "dir ü/naïve \"q\" 'x'.py",
        "new\nline.txt",
        "tab\there.txt",
        "back\\slash.txt",
        " lead and trail .txt",
        "日本語/設定.txt",
        "-dash:colon.txt",
        "diff --git a.txt",
    ),
    ids=repr,
)
def test_file_names_are_reported_exactly(in_git_dir: Path, rng: random.Random, name: str) -> None:
    tok = tokens.legacy_token(rng)
    text = f"first\n  token: {tok}\n"
    stage(in_git_dir, name, text)
    assert scan_staged(in_git_dir) == (1, found(text, name, tok, LEGACY))


@pytest.mark.parametrize(
    "before, after",
    (
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00", b"\x00\x00\nrest\x00\xff\xfe\n"),
        (b"line one\r\n\r\n  key = ", b"\r\nlast\r\n"),
        (b"first\nno newline at end: ", b""),
        (b"\x00\x00\x00\n\x00\x00", b""),
    ),
    ids=("binary", "crlf", "no-final-newline", "binary-no-final-newline"),
)
def test_binary_crlf_and_unterminated_files(
    in_git_dir: Path, rng: random.Random, before: bytes, after: bytes
) -> None:
    tok = tokens.api_token(rng)
    data = before + tok.encode() + after
    stage(in_git_dir, "blob.bin", data)
    line_start = before.rfind(b"\n") + 1
    expected = (API, "blob.bin", before.count(b"\n") + 1, len(before) - line_start + 1)
    assert scan_staged(in_git_dir) == (1, {(*expected, tokens.preview(tok))})


# A user configuration and environment that would change `git diff`'s output if it applied.
GARBAGE_DIFF = "#!/bin/sh\nprintf 'diff --git a/x b/x\\n@@ -1 +1 @@\\n+garbage\\n'\n"


@pytest.mark.parametrize(
    "config, env",
    (
        ({}, {}),
        ({"diff.external": "{tmp}/garbage.sh"}, {}),
        ({}, {"GIT_EXTERNAL_DIFF": "{tmp}/garbage.sh"}),
        ({"color.diff": "always"}, {}),
        ({"color.ui": "always"}, {}),
        ({"diff.noprefix": "true"}, {}),
        ({"diff.mnemonicPrefix": "true"}, {}),
        ({"core.quotepath": "true"}, {}),
        ({"diff.weird.textconv": "sh -c 'echo REDACTED'"}, {}),
        ({"diff.relative": "true"}, {}),
        ({"diff.orderFile": "{tmp}/order"}, {}),
        ({"diff.context": "5"}, {}),
        ({"diff.interHunkContext": "10"}, {}),
        ({"diff.interHunkContext": "10", "diff.suppressBlankEmpty": "true"}, {}),
        ({}, {"GIT_DIFF_OPTS": "--unified=3"}),
        ({"diff.suppressBlankEmpty": "true"}, {"GIT_DIFF_OPTS": "-u5"}),
        ({"diff.renames": "false"}, {}),
        ({"diff.renames": "copies"}, {}),
        ({"core.bigFileThreshold": "10"}, {}),
        ({"diff.algorithm": "patience", "diff.indentHeuristic": "false"}, {}),
    ),
    ids=lambda value: ",".join(f"{k}={v}" for k, v in value.items()) or "-",
)
def test_user_git_configuration_does_not_matter(
    in_git_dir: Path,
    tmp_path: Path,
    rng: random.Random,
    config: dict[str, str],
    env: dict[str, str],
) -> None:
    toks = [tokens.api_token(rng) for _ in range(5)]
    repo = in_git_dir
    base = "\n".join(["# app", "", "x = 1", "", "", "y = 2", "", "z = 3", "", "end"]) + "\n"
    stage(repo, "src/app.txt", base)
    stage(repo, "base.txt", f"header\nkey = {toks[0]}\n")
    commit(repo)
    expected: Expected = set()
    # two added lines five lines apart, blank unchanged lines between them
    lines = base.splitlines()
    lines.insert(8, f"b = '{toks[2]}'")
    lines.insert(2, f"a = '{toks[1]}'")
    text = "\n".join(lines) + "\n"
    stage(repo, "src/app.txt", text)
    expected |= found(text, "src/app.txt", toks[1]) | found(text, "src/app.txt", toks[2])
    # a copy of a committed file with a token, its source edited: a new file to scan
    copy = (repo / "base.txt").read_text()
    stage(repo, "copy.txt", copy)
    stage(repo, "base.txt", copy + "more\n")
    expected |= found(copy, "copy.txt", toks[0])
    for name, tok in (("top ü.txt", toks[3]), ("src/déjà vu.txt", toks[4])):
        stage(repo, name, f"k: {tok}\n")
        expected |= found(f"k: {tok}\n", name, tok)

    write(tmp_path, "garbage.sh", GARBAGE_DIFF).chmod(0o755)
    write(tmp_path, "order", "src/*\n*\n")
    write(repo, ".gitattributes", "*.txt diff=weird\n")  # in the work tree only
    for key, value in config.items():
        git("config", key, value.replace("{tmp}", str(tmp_path)), cwd=repo)
    env = {k: v.replace("{tmp}", str(tmp_path)) for k, v in env.items()}
    assert scan_staged(repo / "src", env=env) == (1, expected)


@pytest.mark.parametrize(
    "path, committed, reported",
    (
        (".env", False, True),
        (".env.local", False, True),
        (".envrc", False, False),  # direnv's script: committed by design
        ("ios/.xcode.env", False, False),  # React Native's: versioned by design
        ("config/prod.env", False, True),
        (".env.example", False, False),
        ("deploy/.env.template", False, False),
        (".env/bin/activate", False, False),  # a virtualenv named .env
        ("config.envx", False, False),
        (".env", True, True),  # already tracked and changed again
    ),
)
def test_staged_dotenv_files(in_git_dir: Path, path: str, committed: bool, reported: bool) -> None:
    if committed:
        stage(in_git_dir, path, "DEBUG=0\n")
        commit(in_git_dir)
    stage(in_git_dir, path, "DEBUG=1\n")
    expected = {(TRACKED, path, 0, 0, "")} if reported else set()
    assert scan_staged(in_git_dir) == (int(reported), expected)


def test_untracking_a_dotenv_file_is_not_a_finding(in_git_dir: Path) -> None:
    stage(in_git_dir, ".env", "DEBUG=0\n")
    commit(in_git_dir)
    git("rm", "-q", "--cached", ".env", cwd=in_git_dir)
    stage(in_git_dir, ".gitignore", ".env\n")
    assert scan_staged(in_git_dir) == (0, set())


def test_not_a_repository_and_usage_errors_exit_2(tmp_path: Path, in_git_dir: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    result = invoke("scan", "--staged", cwd=outside, env={"GIT_CEILING_DIRECTORIES": str(tmp_path)})
    assert result.returncode == 2
    assert result.stderr == "notion-leakguard: error: not inside a git work tree\n"
    assert result.stdout == ""
    result = invoke("scan", "--staged", "somepath", cwd=in_git_dir)
    assert result.returncode == 2
    assert "--staged" in result.stderr and "Traceback" not in result.stderr


def test_text_report_refuses_the_commit_and_hides_the_token(
    in_git_dir: Path, rng: random.Random
) -> None:
    tok = tokens.api_token(rng)
    stage(in_git_dir, "app.py", f'KEY = "{tok}"\n')
    result = invoke("scan", "--staged", cwd=in_git_dir)
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == f"app.py:1:8: {API} {tokens.preview(tok)}"
    assert "Refused: a Notion key is about to be committed" in result.stdout
    output = result.stdout + result.stderr  # the preview shows 8 + 4 characters at most
    assert not [tok[i : i + 12] for i in range(len(tok) - 11) if tok[i : i + 12] in output]


def test_merge_with_an_unmerged_path(in_git_dir: Path, rng: random.Random) -> None:
    tok = tokens.legacy_token(rng)
    stage(in_git_dir, "f.txt", "base\n")
    commit(in_git_dir)
    git("checkout", "-q", "-b", "other", cwd=in_git_dir)
    stage(in_git_dir, "f.txt", "theirs\n")
    commit(in_git_dir)
    git("checkout", "-q", "main", cwd=in_git_dir)
    stage(in_git_dir, "f.txt", "ours\n")
    commit(in_git_dir)
    merge = subprocess.run(["git", "merge", "other"], cwd=in_git_dir, capture_output=True)
    assert merge.returncode == 1  # f.txt conflicts
    stage(in_git_dir, "g.txt", f"k: {tok}\n")
    assert scan_staged(in_git_dir) == (1, {(LEGACY, "g.txt", 1, 4, tokens.preview(tok))})


# install-hook and the hook in real `git commit`s


def git_commit(
    repo: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "commit", "-m", "msg", *args], cwd=repo, capture_output=True, text=True,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


def test_install_hook_writes_an_executable_hook(in_git_dir: Path) -> None:
    result = invoke("install-hook", cwd=in_git_dir)
    hook = in_git_dir / ".git" / "hooks" / "pre-commit"
    assert result.returncode == 0
    hooks = hook.parent
    assert result.stdout == "".join(
        f"installed {hooks / name}\n" for name in ("pre-commit", "commit-msg", "pre-push")
    )
    assert os.access(hook, os.X_OK)
    assert "scan --staged" in hook.read_text()


@pytest.mark.parametrize("where", (".", "sub/dir"))
def test_install_hook_honours_core_hooks_path(in_git_dir: Path, where: str) -> None:
    git("config", "core.hooksPath", "myhooks", cwd=in_git_dir)
    (in_git_dir / where).mkdir(parents=True, exist_ok=True)
    assert invoke("install-hook", cwd=in_git_dir / where).returncode == 0
    hook = in_git_dir / "myhooks" / "pre-commit"  # git runs hooks from the top of the tree
    assert os.access(hook, os.X_OK)
    assert not (in_git_dir / ".git" / "hooks" / "pre-commit").exists()


def test_hook_refuses_a_token_and_lets_clean_commits_through(
    in_git_dir: Path, rng: random.Random
) -> None:
    tok = tokens.api_token(rng)
    assert invoke("install-hook", cwd=in_git_dir).returncode == 0
    stage(in_git_dir, "clean.py", "x = 1\n")
    assert git_commit(in_git_dir).returncode == 0
    stage(in_git_dir, "leak.py", f"k = '{tok}'\n")
    refused = git_commit(in_git_dir)
    assert refused.returncode != 0
    assert "Refused: a Notion key is about to be committed" in refused.stdout + refused.stderr
    assert f"leak.py:1:6: {API} {tokens.preview(tok)}" in refused.stdout + refused.stderr
    assert git("log", "--format=%s", cwd=in_git_dir) == "msg\n"
    # `commit -a` stages through a temporary index: the hook scans that one
    git("reset", "-q", cwd=in_git_dir)
    write(in_git_dir, "clean.py", f"x = '{tok}'\n")
    assert git_commit(in_git_dir, "-a").returncode != 0
    assert git_commit(in_git_dir, "-a", env={"SKIP": "other,notion-leakguard"}).returncode == 0
    assert git("show", "--format=", "--name-only", "HEAD", cwd=in_git_dir) == "clean.py\n"


FOREIGN = "#!/bin/sh\necho mine\n"


@pytest.mark.parametrize(
    "args, code, left",
    (
        ([], 2, FOREIGN),
        (["--uninstall"], 0, FOREIGN),  # named and left alone
        (["--force"], 0, "ours"),
    ),
)
def test_foreign_hooks_are_left_alone_unless_forced(
    in_git_dir: Path, args: list[str], code: int, left: str
) -> None:
    hook = write(in_git_dir, ".git/hooks/pre-commit", FOREIGN)
    result = invoke("install-hook", *args, cwd=in_git_dir)
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    if left == "ours":
        assert "notion-leakguard: generated hook" in hook.read_text()
        assert os.access(hook, os.X_OK)
    else:
        assert hook.read_text() == left
        assert str(hook) in result.stdout + result.stderr


def test_uninstall_removes_only_our_hook(in_git_dir: Path) -> None:
    hook = in_git_dir / ".git" / "hooks" / "pre-commit"
    result = invoke("install-hook", "--uninstall", cwd=in_git_dir)
    assert (result.returncode, result.stdout) == (0, "no notion-leakguard hook installed\n")
    assert invoke("install-hook", cwd=in_git_dir).returncode == 0
    assert invoke("install-hook", cwd=in_git_dir).returncode == 0  # reinstalling is fine
    result = invoke("install-hook", "--uninstall", cwd=in_git_dir)
    assert result.returncode == 0
    assert f"removed {hook}" in result.stdout.splitlines()
    assert not hook.exists()
    assert not (hook.parent / "pre-push").exists()
