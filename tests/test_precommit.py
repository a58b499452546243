"""End to end with the real pre-commit framework: a throwaway repository whose
.pre-commit-config.yaml points at a snapshot of this project's working copy, and real
`git commit`, `git push` and `pre-commit run` calls in subprocesses.

The snapshot is a fresh git repository holding the working-tree version of every file git
would list here (tracked, or untracked and not ignored), committed once, so the hooks under
test are exactly the code on disk, uncommitted edits included. PRE_COMMIT_HOME is shared by
the whole session, so pre-commit builds the hook environment (a virtualenv with click from
PyPI) once, in the background as the session starts (tests/helpers/background.py); a
repository set up to use the hooks (`use_the_hooks`) is made then too, and each test's
`target` is a copy of it.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import tokens
from tests.conftest import GIT_IDENTITY, REPO, git, invoke
from tests.helpers.background import Prepared

# Taken at import, before any test's monkeypatching: building the hook environment needs
# the real HOME (pip's configuration lives there).
_BASE_ENV = dict(os.environ)
_DROPPED = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "SKIP", "PRE_COMMIT_HOME")
PRE_COMMIT = (sys.executable, "-m", "pre_commit")
SCAN_HOOK = "notion-leakguard (Notion API keys)"
ENV_HOOK = "notion-leakguard (.env files kept out of git)"
FULL_TOKEN = re.compile(
    r"(?<![A-Za-z0-9])(ntn_[0-9]{11}[A-Za-z0-9]{35}|secret_[A-Za-z0-9]{43})(?![A-Za-z0-9])"
    r"|v02(%3A|:)user_token_or_cookies(%3A|:)[A-Za-z0-9_-]{132}"
)
FINDING_LINE = re.compile(r"^(\S.*):(\d+):(\d+): (notion-[a-z0-9-]+) (\S+)$", re.MULTILINE)


@dataclass(frozen=True)
class HookRepo:
    path: Path
    rev: str
    home: Path  # PRE_COMMIT_HOME, shared by every test
    template: Path  # a repository set up to use the hooks; each test's `target` is a copy


def _run(
    args: list[str] | tuple[str, ...],
    *,
    cwd: Path,
    env: dict[str, str],
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    """stdout and stderr merged, as a user sees them in a terminal."""
    return subprocess.run(
        list(args),
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=timeout,
        check=False,
    )


def _must(result: subprocess.CompletedProcess[str], what: str) -> str:
    if result.returncode != 0:
        pytest.fail(f"{what} failed with exit {result.returncode}:\n{result.stdout}")
    return result.stdout


def _config(hook_repo: HookRepo) -> str:
    return (
        "repos:\n"
        f"  - repo: {hook_repo.path.as_posix()}\n"
        f"    rev: {hook_repo.rev}\n"
        "    hooks:\n"
        "      - id: notion-leakguard\n"
        "      - id: notion-leakguard-env\n"
    )


def isolated_env(root: Path) -> dict[str, str]:
    """The environment for git and pre-commit in a test: no user git config, a test
    identity, and a pre-commit cache under root (the real HOME stays, for pip's config)."""
    gitconfig = root / "gitconfig"
    gitconfig.write_text("")
    env = {k: v for k, v in _BASE_ENV.items() if k not in _DROPPED}
    env.update(GIT_IDENTITY)
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=str(gitconfig),
        PRE_COMMIT_HOME=str(root / "cache"),
    )
    return env


def snapshot_working_copy(root: Path, env: dict[str, str]) -> Path:
    """Every file git lists in this project's working copy, as it is on disk now (uncommitted
    edits included), copied to root/notion-leakguard."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        env=env,
        capture_output=True,
        check=True,
    ).stdout
    snapshot = root / "notion-leakguard"
    snapshot.mkdir()
    for name in sorted({os.fsdecode(n) for n in listed.split(b"\0") if n}):
        source = REPO / name
        if not (source.is_file() or source.is_symlink()):
            continue  # deleted on disk but not yet staged, or a submodule
        target = snapshot / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)
    return snapshot


def install_hooks(root: Path, env: dict[str, str], config: str) -> None:
    """Build the hook environments of `config` once, in a throwaway repository under root,
    rather than inside the first test's commit (pre-commit caches them in PRE_COMMIT_HOME)."""
    warmup = root / "warmup"
    warmup.mkdir()
    _must(_run(["git", "init", "-q"], cwd=warmup, env=env), "git init (warmup)")
    (warmup / ".pre-commit-config.yaml").write_text(config)
    _must(
        _run([*PRE_COMMIT, "install-hooks"], cwd=warmup, env=env, timeout=1200),
        "pre-commit install-hooks",
    )


def build_hook_repo(root: Path) -> HookRepo:
    env = isolated_env(root)
    snapshot = snapshot_working_copy(root, env)
    assert (snapshot / ".pre-commit-hooks.yaml").is_file()
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["-c", "commit.gpgsign=false", "commit", "-q", "--no-verify", "-m", "working copy"],
    ):
        _must(_run(["git", *args], cwd=snapshot, env=env), f"git {args[0]} (snapshot)")
    rev = _must(_run(["git", "rev-parse", "HEAD"], cwd=snapshot, env=env), "rev-parse").strip()
    hooks = HookRepo(snapshot, rev, root / "cache", root / "target")

    install_hooks(root, env, _config(hooks))
    hooks.template.mkdir()
    _must(_run(["git", "init", "-q", "-b", "main"], cwd=hooks.template, env=env), "git init")
    use_the_hooks(Target(hooks.template, env), hooks)
    return hooks


HOOK_REPO = Prepared("precommit", build_hook_repo)  # started as the session begins


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> HookRepo:
    return HOOK_REPO.get(tmp_path_factory)


@dataclass
class Target:
    """A repository that uses the hooks through pre-commit."""

    path: Path
    env: dict[str, str]

    def run(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return _run(list(args), cwd=self.path, env={**self.env, **(env or {})})

    def git(self, *args: str) -> str:
        return _must(self.run("git", *args), f"git {' '.join(args)}")

    def commit(self, message: str = "change", **env: str) -> subprocess.CompletedProcess[str]:
        """A real `git commit`: the installed pre-commit hook runs inside it."""
        return self.run("git", "commit", "-m", message, env=env)

    def commit_unchecked(self, message: str) -> str:
        self.git("commit", "-q", "--no-verify", "-m", message)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()

    def commits(self) -> int:
        return int(self.git("rev-list", "--count", "HEAD"))

    def pre_commit(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run(*PRE_COMMIT, *args)

    def write(self, name: str, data: str | bytes) -> Path:
        path = self.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        return path


def use_the_hooks(repo: Target, hook_repo: HookRepo) -> None:
    """What a user does: commit the configuration, then `pre-commit install`."""
    repo.write(".pre-commit-config.yaml", _config(hook_repo))
    repo.git("add", ".pre-commit-config.yaml")
    repo.commit_unchecked("use notion-leakguard")
    _must(repo.pre_commit("install"), "pre-commit install")


@pytest.fixture
def target(in_git_dir: Path, hook_repo: HookRepo) -> Target:
    """A repository that uses the hooks: a copy of the one `use_the_hooks` set up once (the
    same commit, configuration and installed hook; a `git commit` here runs pre-commit)."""
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED}  # isolated by conftest
    env["PRE_COMMIT_HOME"] = str(hook_repo.home)
    shutil.rmtree(in_git_dir / ".git")
    shutil.copytree(hook_repo.template / ".git", in_git_dir / ".git", symlinks=True)
    shutil.copy2(hook_repo.template / ".pre-commit-config.yaml", in_git_dir)
    return Target(in_git_dir, env)


def assert_no_full_token(output: str, *planted: str) -> None:
    for tok in planted:
        assert tok not in output
    assert FULL_TOKEN.search(output) is None


def finding(path: str, text: str, tok: str, rule: str = "notion-api-token") -> str:
    """The report line for `tok` in a file holding `text`."""
    ((line, column),) = tokens.positions(text, tok)
    return f"{path}:{line}:{column}: {rule} {tokens.preview(tok)}"


def settings_py(tok: str) -> str:
    return f'import os\n\nDEBUG = False\n    # temporary\nNOTION_TOKEN = "{tok}"\n'


def test_commit_with_a_token_is_refused(target: Target, rng: random.Random) -> None:
    tok = tokens.api_token(rng)
    text = settings_py(tok)
    target.write("src/settings.py", text)
    target.git("add", "src/settings.py")
    before = target.head()

    result = target.commit("add settings")

    assert result.returncode == 1, result.stdout
    out = result.stdout
    assert re.search(rf"^{re.escape(SCAN_HOOK)}\.+Failed$", out, re.MULTILINE), out
    assert finding("src/settings.py", text, tok) in out.splitlines()
    assert "rotate" in out.lower()
    assert "environment variable" in out
    assert_no_full_token(out, tok)
    assert target.head() == before
    assert target.commits() == 1
    assert target.git("diff", "--cached", "--name-only").split() == ["src/settings.py"]


def test_clean_commit_passes(target: Target) -> None:
    text = (
        "import os\n\n"
        'NOTION_TOKEN = os.environ["NOTION_TOKEN"]\n'
        f"# the format: {'ntn_' + '0' * 46}\n"
    )
    target.write("src/settings.py", text)
    target.write("README.md", "# app\n\nPut the key in NOTION_TOKEN.\n")
    target.git("add", "-A")

    result = target.commit("add settings")

    assert result.returncode == 0, result.stdout
    assert re.search(rf"^{re.escape(SCAN_HOOK)}\.+Passed$", result.stdout, re.MULTILINE)
    assert re.search(rf"^{re.escape(ENV_HOOK)}\.+Passed$", result.stdout, re.MULTILINE)
    assert target.commits() == 2
    assert target.git("show", "--name-only", "--format=", "HEAD").split() == [
        "README.md",
        "src/settings.py",
    ]


def test_staged_dotenv_is_refused_and_an_ignored_one_is_not(
    target: Target, rng: random.Random
) -> None:
    target.write(".env", "NOTION_TOKEN=your-token-here\n")
    target.git("add", ".env")

    staged = target.commit("add .env")

    assert staged.returncode == 1, staged.stdout
    assert re.search(rf"^{re.escape(ENV_HOOK)}\.+Failed$", staged.stdout, re.MULTILINE)
    assert ".env: env-file-tracked" in staged.stdout
    assert target.commits() == 1

    # unstaged but not ignored: the always-run hygiene hook still refuses any commit
    target.git("rm", "-q", "--cached", ".env")
    target.write("app.py", "print('hi')\n")
    target.git("add", "app.py")
    exposed = target.commit("add app")
    assert exposed.returncode == 1, exposed.stdout
    assert ".env: env-file-not-ignored" in exposed.stdout
    assert target.commits() == 1

    # ignored and not staged: where a key belongs, even a real one
    tok = tokens.api_token(rng)
    target.write(".env", f"NOTION_TOKEN={tok}\n")
    target.write(".gitignore", ".env\n")
    target.git("add", ".gitignore")
    ignored = target.commit("ignore .env")
    assert ignored.returncode == 0, ignored.stdout
    assert_no_full_token(ignored.stdout, tok)
    assert target.commits() == 2
    assert ".env" not in target.git("ls-files").split()


def test_run_all_files_reports_an_old_committed_token(target: Target, rng: random.Random) -> None:
    tok = tokens.legacy_token(rng)
    text = f"# config\nclient:\n  secret: {tok}\n"
    target.write("config/notion.yaml", text)
    target.write("app.py", "print('hi')\n")
    target.git("add", "-A")
    target.commit_unchecked("long ago")
    target.write("later.py", "x = 1\n")
    target.git("add", "later.py")
    target.commit_unchecked("later")

    result = target.pre_commit("run", "--all-files")

    assert result.returncode == 1, result.stdout
    assert finding("config/notion.yaml", text, tok, "notion-legacy-token") in (
        result.stdout.splitlines()
    )
    assert_no_full_token(result.stdout, tok)
    assert target.pre_commit("run", "--files", "app.py", "later.py").returncode == 0


def test_token_only_in_the_working_tree_does_not_block(target: Target, rng: random.Random) -> None:
    clean = "import os\n\nTOKEN = os.environ['NOTION_TOKEN']\n"
    tok = tokens.api_token(rng)
    dirty = settings_py(tok)
    target.write("app.py", clean)
    target.git("add", "app.py")
    target.write("app.py", dirty)  # not staged: pre-commit stashes it during the commit

    result = target.commit("clean version")

    assert result.returncode == 0, result.stdout
    assert_no_full_token(result.stdout, tok)
    assert target.commits() == 2
    assert target.git("show", "HEAD:app.py") == clean
    assert (target.path / "app.py").read_text() == dirty  # restored after the hooks


def test_token_staged_but_removed_on_disk_is_refused(target: Target, rng: random.Random) -> None:
    tok = tokens.api_token(rng)
    staged = settings_py(tok)
    clean = "TOKEN = None\n"
    target.write("app.py", staged)
    target.git("add", "app.py")
    target.write("app.py", clean)  # the index still holds the token: it is what would land

    result = target.commit("looks clean on disk")

    assert result.returncode == 1, result.stdout
    assert finding("app.py", staged, tok) in result.stdout.splitlines()
    assert_no_full_token(result.stdout, tok)
    assert target.commits() == 1
    assert (target.path / "app.py").read_text() == clean
    assert target.git("show", ":app.py") == staged


def test_skip_lets_a_token_through(target: Target, rng: random.Random) -> None:
    tok = tokens.api_token(rng)
    target.write("app.py", settings_py(tok))
    target.write(".env", "NOTION_TOKEN=x\n")
    target.git("add", "-A")

    result = target.commit("on purpose", SKIP="notion-leakguard,notion-leakguard-env")

    assert result.returncode == 0, result.stdout
    assert re.search(rf"^{re.escape(SCAN_HOOK)}\.+Skipped$", result.stdout, re.MULTILINE)
    assert re.search(rf"^{re.escape(ENV_HOOK)}\.+Skipped$", result.stdout, re.MULTILINE)
    assert target.commits() == 2

    # SKIP names one hook: the other still runs
    target.write("b.py", settings_py(tokens.api_token(rng)))
    target.git("add", "b.py")
    partly = target.commit("only env skipped", SKIP="notion-leakguard-env")
    assert partly.returncode == 1, partly.stdout
    assert target.commits() == 2


def test_all_files_in_concurrent_batches(target: Target, rng: random.Random) -> None:
    count = 3000
    names = [
        f"pkg/module_{i // 100:02d}/component_{i:05d}_with_a_rather_long_file_name.txt"
        for i in range(count)
    ]
    # long names: more than one command line's worth, so pre-commit splits the list
    assert sum(len(n) + 1 for n in names) > 2**17
    chosen = sorted({0, count - 1, *rng.sample(range(1, count - 1), 3)})
    expected = set()
    for i, name in enumerate(names):
        if i in chosen:
            rule = tokens.RULES[len(expected) % len(tokens.RULES)]
            tok = tokens.token(rule, rng)
            text = f"line one\nkey = {tok}\n"
            ((line, column),) = tokens.positions(text, tok)
            expected.add((name, line, column, rule, tokens.preview(tok)))
        else:
            text = f"file {i}\nnothing here\n"
        target.write(name, text)
    target.git("add", "-A")
    target.commit_unchecked("many files")

    result = target.pre_commit("run", "--all-files")

    assert result.returncode == 1, result.stdout[-3000:]
    reported = [
        (m[1], int(m[2]), int(m[3]), m[4], m[5]) for m in FINDING_LINE.finditer(result.stdout)
    ]
    assert sorted(reported) == sorted(expected)  # each once, none missing
    assert_no_full_token(result.stdout)


def test_binary_and_nested_dotenv_files_reach_the_scanner(
    target: Target, rng: random.Random
) -> None:
    in_binary = tokens.api_token(rng)
    in_dotenv = tokens.legacy_token(rng)
    target.write(
        "assets/blob.bin", b"\x89PNG\r\n\x1a\n\x00\x00\x01" + in_binary.encode() + b"\0\xff"
    )
    dotenv = f"# production\nNOTION_TOKEN={in_dotenv}\n"
    target.write("deploy/config/.env.production", dotenv)
    target.git("add", "-A")

    result = target.commit("assets and deploy config")

    assert result.returncode == 1, result.stdout
    out = result.stdout
    assert re.search(rf"^{re.escape(SCAN_HOOK)}\.+Failed$", out, re.MULTILINE), out
    assert re.search(rf"^{re.escape(ENV_HOOK)}\.+Failed$", out, re.MULTILINE), out
    reported = {(m[1], m[4], m[5]) for m in FINDING_LINE.finditer(out)}
    assert ("assets/blob.bin", "notion-api-token", tokens.preview(in_binary)) in reported
    assert finding("deploy/config/.env.production", dotenv, in_dotenv, "notion-legacy-token") in (
        out.splitlines()
    )
    assert "deploy/config/.env.production: env-file-tracked" in out
    assert_no_full_token(out, in_binary, in_dotenv)
    assert target.commits() == 1


def test_pre_push_stage(target: Target, tmp_path: Path, rng: random.Random) -> None:
    remote = tmp_path / "remote.git"
    git("init", "-q", "--bare", str(remote), cwd=tmp_path)
    target.git("remote", "add", "origin", str(remote))
    _must(target.pre_commit("install", "--hook-type", "pre-push"), "install pre-push")
    start = target.head()
    target.write("app.py", "print('hi')\n")
    target.git("add", "app.py")
    clean = target.commit_unchecked("clean")
    pushed = target.run("git", "push", "-q", "origin", "main")  # a real `git push`
    assert pushed.returncode == 0, pushed.stdout

    tok = tokens.api_token(rng)
    text = settings_py(tok)
    target.write("src/settings.py", text)
    target.git("add", "src/settings.py")
    leaky = target.commit_unchecked("slipped past with --no-verify")

    passing = target.pre_commit(
        "run", "--hook-stage", "pre-push", "--from-ref", start, "--to-ref", clean
    )
    assert passing.returncode == 0, passing.stdout
    failing = target.pre_commit(
        "run", "--hook-stage", "pre-push", "--from-ref", clean, "--to-ref", leaky
    )
    assert failing.returncode == 1, failing.stdout
    assert finding("src/settings.py", text, tok) in failing.stdout.splitlines()
    assert_no_full_token(failing.stdout, tok)

    refused = target.run("git", "push", "origin", "main")
    assert refused.returncode != 0, refused.stdout
    assert finding("src/settings.py", text, tok) in refused.stdout.splitlines()
    assert_no_full_token(refused.stdout, tok)
    assert git("rev-parse", "refs/heads/main", cwd=remote).strip() == clean


@pytest.mark.parametrize("name", ["-", "--help", "-v.txt"])
def test_file_names_that_look_like_options(target: Target, rng: random.Random, name: str) -> None:
    """pre-commit appends file names to the entry as they are, without `--`: a root-level
    file named like an option or like stdin must still be scanned."""
    tok = tokens.api_token(rng)
    target.write(name, f"key = '{tok}'\n")
    target.git("add", "--", name)

    result = target.commit("odd name")

    assert result.returncode == 1, result.stdout
    assert f"notion-api-token {tokens.preview(tok)}" in result.stdout
    assert_no_full_token(result.stdout, tok)
    assert target.commits() == 1

    # and the same name holding nothing is a clean commit
    target.write(name, "nothing to see\n")
    target.git("add", "--", name)
    clean = target.commit("odd name, clean")
    assert clean.returncode == 0, clean.stdout
    assert target.commits() == 2


def test_env_hook_honours_a_dotenv_file_acknowledged_once(target: Target) -> None:
    """Vite's `.env.production` with public settings, committed on purpose: refused until
    the baseline acknowledges it, then every commit passes; `.envrc` never needed that."""
    target.write(".envrc", "use flake\n")
    target.write("web/.env.production", "VITE_API_URL=https://api.example.com\n")
    target.git("add", "-A")

    refused = target.commit("vite settings")

    assert refused.returncode == 1, refused.stdout
    assert re.search(rf"^{re.escape(ENV_HOOK)}\.+Failed$", refused.stdout, re.MULTILINE)
    assert "web/.env.production: env-file-tracked" in refused.stdout
    assert ".envrc" not in refused.stdout

    created = invoke("baseline", "create", cwd=target.path)
    assert created.returncode == 0, created.stderr
    target.git("add", "-A")

    accepted = target.commit("vite settings, acknowledged")

    assert accepted.returncode == 0, accepted.stdout
    assert re.search(rf"^{re.escape(ENV_HOOK)}\.+Passed$", accepted.stdout, re.MULTILINE)
    assert target.commits() == 2
    verbose = target.pre_commit("run", "--verbose", "notion-leakguard-env")
    assert verbose.returncode == 0, verbose.stdout
    assert "web/.env.production: committed on purpose, acknowledged by the baseline" in (
        verbose.stdout
    )


def test_a_key_inside_a_committed_archive_is_refused(target: Target, rng: random.Random) -> None:
    """A real `zip` of a config directory and a `gzip`ped backup, committed through the
    installed hook: both refused, each at its member, line and column; and a key as a file
    name too."""
    zipped_key, gzipped_key, name_key = (tokens.api_token(rng) for _ in range(3))
    env_text = f"DEBUG=1\nNOTION_TOKEN={zipped_key}\n"
    target.write("work/config/.env", env_text)
    subprocess.run(
        ["zip", "-q", "-r", "../export.zip", "config"], cwd=target.path / "work", check=True
    )
    shutil.rmtree(target.path / "work")
    backup = f"# backup\nNOTION={gzipped_key}\n"
    target.write("env.bak", backup)
    _must(target.run("gzip", "env.bak"), "gzip")
    target.write(f"cache/{name_key}.json", "{}\n")
    target.git("add", "export.zip", "env.bak.gz", "cache")
    before = target.head()

    result = target.commit("add backups")

    assert result.returncode == 1, result.stdout
    lines = result.stdout.splitlines()
    assert finding("export.zip!config/.env", env_text, zipped_key) in lines
    assert finding("env.bak.gz!env.bak", backup, gzipped_key) in lines
    shown_name = f"cache/{tokens.preview(name_key)}.json (in its name): notion-api-token"
    assert any(line.startswith(shown_name) for line in lines), result.stdout
    assert_no_full_token(result.stdout, zipped_key, gzipped_key, name_key)
    assert target.head() == before
