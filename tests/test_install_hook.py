"""`install-hook`'s three plain git hooks (pre-commit, commit-msg, pre-push) in real
repositories: where they go, what they never clobber, what they run, and real `git commit`s
going through them."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from notion_leakguard import hookinstall
from notion_leakguard.errors import LeakguardError
from notion_leakguard.hookinstall import BACKUP_SUFFIX, HOOK_TYPES, MARKER, MISSING, Installed
from tests import tokens
from tests.conftest import git

FOREIGN = b"#!/bin/sh\r\n# the team's own hook\r\nexit 0\r\n\xff\n"
Snapshot = dict[str, tuple[int, bytes]]


def fake(name: str) -> str:
    """A stand-in for python or the console script: prints `name`, its arguments, its stdin."""
    return f"#!/bin/sh\nprintf '%s\\n' {name} \"$@\"\ncat\n"


def write(path: Path, data: str | bytes, mode: int = 0o755) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    path.chmod(mode)
    return path


def snapshot(directory: Path) -> Snapshot:
    """Every entry's mode and bytes (a symlink's target), to prove nothing changed."""
    entries: Snapshot = {}
    for entry in sorted(directory.iterdir()):
        mode = entry.lstat().st_mode
        data = os.fsencode(os.readlink(entry)) if entry.is_symlink() else entry.read_bytes()
        entries[entry.name] = (mode, data)
    return entries


def hooks_of(repo: Path) -> Path:
    return repo / ".git" / "hooks"


def ours() -> dict[str, bytes]:
    """The hooks install writes, as bytes."""
    return {t: hookinstall.hook_script(t, sys.executable).encode() for t in HOOK_TYPES}


def environment(**settings: str) -> dict[str, str]:
    """The test's environment, without a SKIP the developer's shell may hold, plus `settings`."""
    return {**{k: v for k, v in os.environ.items() if k != "SKIP"}, **settings}


def run_hook(
    hook: Path, *args: str, env: dict[str, str], stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """The hook as git runs it: executed directly, with the arguments and stdin git gives."""
    return subprocess.run(
        [str(hook), *args], input=stdin, capture_output=True, text=True, env=environment(**env)
    )


def script(tmp_path: Path, hook_type: str, python: str) -> Path:
    return write(tmp_path / "hooks" / hook_type, hookinstall.hook_script(hook_type, python))


def git_commit(repo: Path, *args: str, **env: str) -> tuple[int, str]:
    """`git commit ARGS` through the installed hooks: its exit code and all it printed."""
    result = subprocess.run(
        ["git", "commit", *args], cwd=repo, capture_output=True, text=True, env=environment(**env)
    )
    return result.returncode, result.stdout + result.stderr


def commits(repo: Path) -> list[str]:
    log = subprocess.run(["git", "log", "--format=%s"], cwd=repo, capture_output=True, text=True)
    return log.stdout.splitlines()


@pytest.fixture
def umask() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


# where the hooks go and what they look like


@pytest.mark.parametrize(
    "mask, mode",
    ((0o022, 0o755), (0o002, 0o775), (0o077, 0o700), (0o133, 0o755)),  # readable: runnable
    ids=oct,
)
def test_install_writes_three_executable_hooks(
    in_git_dir: Path, umask: None, mask: int, mode: int
) -> None:
    os.umask(mask)
    installed = hookinstall.install(str(in_git_dir))
    hooks = hooks_of(in_git_dir)
    assert installed == [Installed(str(hooks / t), None) for t in HOOK_TYPES]
    for hook_type, expected in ours().items():
        hook = hooks / hook_type
        assert hook.read_bytes() == expected
        assert (hook.stat().st_mode & 0o777, os.access(hook, os.X_OK)) == (mode, True)
    assert not [p.name for p in hooks.iterdir() if "notion-leakguard-" in p.name]


@pytest.mark.parametrize("hook_type", HOOK_TYPES)
def test_a_hook_is_posix_sh_with_our_marker(hook_type: str) -> None:
    text = hookinstall.hook_script(hook_type, "/venv/bin/python")
    assert text.startswith(f"#!/bin/sh\n{MARKER} ")
    assert "\r" not in text
    assert subprocess.run(["sh", "-n"], input=text, text=True).returncode == 0


@pytest.mark.parametrize(
    "hooks_path, where, expected",
    (
        (None, ".", ".git/hooks"),
        (None, "sub/dir", ".git/hooks"),
        ("myhooks", ".", "myhooks"),
        ("myhooks", "sub/dir", "myhooks"),  # relative to the top, where git runs hooks
        ("{tmp}/shared/hooks", "sub", "{tmp}/shared/hooks"),
    ),
)
def test_core_hooks_path_is_honoured(
    in_git_dir: Path, tmp_path: Path, hooks_path: str | None, where: str, expected: str
) -> None:
    if hooks_path:
        git("config", "core.hooksPath", hooks_path.format(tmp=tmp_path), cwd=in_git_dir)
    (in_git_dir / where).mkdir(parents=True, exist_ok=True)
    installed = hookinstall.install(str(in_git_dir / where))
    hooks = in_git_dir / expected.format(tmp=tmp_path)
    assert installed == [Installed(str(hooks / t), None) for t in HOOK_TYPES]
    assert all(os.access(hooks / t, os.X_OK) for t in HOOK_TYPES)
    if hooks_path:
        assert not [t for t in HOOK_TYPES if (hooks_of(in_git_dir) / t).exists()]


@pytest.mark.parametrize("call", (hookinstall.install, hookinstall.uninstall))
def test_outside_a_repository_is_an_error(tmp_path: Path, call: Callable[[str], object]) -> None:
    with pytest.raises(LeakguardError, match="not inside a git work tree"):
        call(str(tmp_path))


# foreign hooks: refused, or backed up and restored


def make_foreign(hooks: Path, hook_type: str, kind: str) -> None:
    hook = hooks / hook_type
    if kind == "file":
        write(hook, FOREIGN, 0o750)
    elif kind == "not executable":
        write(hook, FOREIGN, 0o640)
    elif kind == "pre-commit framework":
        write(hook, "#!/usr/bin/env bash\n# File generated by pre-commit: https://pre-commit.com\n")
    elif kind == "symlink":
        write(hooks.parent / "shared.sh", FOREIGN)
        hook.symlink_to("../shared.sh")
    else:  # a dangling symlink
        hook.symlink_to("../gone.sh")


@pytest.mark.parametrize(
    "foreign",
    (("pre-commit",), ("commit-msg",), ("pre-push",), ("pre-commit", "pre-push"), HOOK_TYPES),
)
def test_foreign_hooks_are_refused_and_nothing_is_written(
    in_git_dir: Path, foreign: tuple[str, ...]
) -> None:
    hooks = hooks_of(in_git_dir)
    hookinstall.install(str(in_git_dir))  # ours are replaced freely, foreign ones are not
    for hook_type in foreign:
        (hooks / hook_type).unlink()
        make_foreign(hooks, hook_type, "file")
    before = snapshot(hooks)
    with pytest.raises(LeakguardError) as refused:
        hookinstall.install(str(in_git_dir))
    named = {t for t in HOOK_TYPES if str(hooks / t) in str(refused.value)}
    assert named == set(foreign)
    assert "--force" in str(refused.value)
    assert snapshot(hooks) == before


@pytest.mark.parametrize(
    "kind", ("file", "not executable", "pre-commit framework", "symlink", "dangling symlink")
)
def test_force_keeps_a_backup_and_uninstall_restores_it_exactly(
    in_git_dir: Path, kind: str
) -> None:
    hooks = hooks_of(in_git_dir)
    for hook_type in ("pre-commit", "pre-push"):
        make_foreign(hooks, hook_type, kind)
    before = snapshot(hooks)
    installed = hookinstall.install(str(in_git_dir), force=True)
    backup = {t: f"{hooks / t}{BACKUP_SUFFIX}" for t in HOOK_TYPES}
    assert installed == [
        Installed(str(hooks / "pre-commit"), backup["pre-commit"]),
        Installed(str(hooks / "commit-msg"), None),
        Installed(str(hooks / "pre-push"), backup["pre-push"]),
    ]
    after = snapshot(hooks)
    for hook_type in ("pre-commit", "pre-push"):
        assert after[hook_type + BACKUP_SUFFIX] == before[hook_type]
    assert {t: (hooks / t).read_bytes() for t in HOOK_TYPES} == ours()

    assert hookinstall.uninstall(str(in_git_dir)) == [
        f"restored {hooks / 'pre-commit'} from {backup['pre-commit']}",
        f"removed {hooks / 'commit-msg'}",
        f"restored {hooks / 'pre-push'} from {backup['pre-push']}",
    ]
    assert snapshot(hooks) == before


def test_an_existing_backup_is_never_overwritten(in_git_dir: Path) -> None:
    hooks = hooks_of(in_git_dir)
    make_foreign(hooks, "pre-push", "file")
    write(hooks / f"pre-push{BACKUP_SUFFIX}", "#!/bin/sh\n# an older backup\n")
    before = snapshot(hooks)
    with pytest.raises(LeakguardError, match="move it away first") as refused:
        hookinstall.install(str(in_git_dir), force=True)
    assert f"{hooks / 'pre-push'}{BACKUP_SUFFIX}" in str(refused.value)
    assert snapshot(hooks) == before


def test_reinstalling_rewrites_our_hooks_and_backs_nothing_up(in_git_dir: Path) -> None:
    hooks = hooks_of(in_git_dir)
    make_foreign(hooks, "commit-msg", "file")
    hookinstall.install(str(in_git_dir), force=True)
    backup = snapshot(hooks)[f"commit-msg{BACKUP_SUFFIX}"]
    # an older notion-leakguard's hook, edited and no longer executable, is still ours
    write(hooks / "pre-commit", f"#!/bin/sh\n{MARKER} (old)\nexec notion-leakguard\n", 0o644)
    for _ in range(2):
        installed = hookinstall.install(str(in_git_dir))
        assert installed == [Installed(str(hooks / t), None) for t in HOOK_TYPES]
        assert {t: (hooks / t).read_bytes() for t in HOOK_TYPES} == ours()
        assert all(os.access(hooks / t, os.X_OK) for t in HOOK_TYPES)
        assert snapshot(hooks)[f"commit-msg{BACKUP_SUFFIX}"] == backup
        left = {p.name for p in hooks.iterdir() if "notion-leakguard" in p.name}
        assert left == {f"commit-msg{BACKUP_SUFFIX}"}


@pytest.mark.parametrize(
    "state, message, left",
    (
        ("none", None, set()),
        ("ours", "removed {hook}", set()),
        ("ours, backup", "restored {hook} from {backup}", {"pre-push"}),
        ("backup", "restored {hook} from {backup}", {"pre-push"}),
        ("foreign", "{hook} was not written by notion-leakguard; left as it is", {"pre-push"}),
        (
            "foreign, backup",
            "{hook} was not written by notion-leakguard; left as it is ({backup} kept)",
            {"pre-push", "pre-push" + BACKUP_SUFFIX},
        ),
    ),
)
def test_uninstall_removes_only_ours(
    in_git_dir: Path, state: str, message: str | None, left: set[str]
) -> None:
    hooks = hooks_of(in_git_dir)
    hook, backup = hooks / "pre-push", f"{hooks / 'pre-push'}{BACKUP_SUFFIX}"
    for sample in hooks.glob("*.sample"):
        sample.unlink()
    if "ours" in state:
        write(hook, hookinstall.hook_script("pre-push", sys.executable))
    if "foreign" in state:
        make_foreign(hooks, "pre-push", "file")
    if "backup" in state:
        write(Path(backup), FOREIGN)
    before = snapshot(hooks)
    expected = [message.format(hook=hook, backup=backup)] if message else []
    assert hookinstall.uninstall(str(in_git_dir)) == expected
    assert {p.name for p in hooks.iterdir()} == left
    if "foreign" in state:
        assert snapshot(hooks) == before
    elif left:
        assert hook.read_bytes() == FOREIGN


# what each hook runs


REFS = f"refs/heads/main {'1' * 40} refs/heads/main {'2' * 40}\n"


@pytest.mark.parametrize(
    "hook_type, args, stdin, command",
    (
        ("pre-commit", (), "", ["scan", "--staged"]),
        ("commit-msg", (".git/COMMIT_EDITMSG",), "", ["hook", "--", ".git/COMMIT_EDITMSG"]),
        (
            "pre-push",
            ("origin", "/srv/a repo.git"),
            REFS,
            ["pre-push", "origin", "/srv/a repo.git"],
        ),
    ),
)
@pytest.mark.parametrize(
    "runner, ran",
    (
        ("interpreter", ["python", "-m", "notion_leakguard"]),
        ("console script on PATH", ["console"]),  # the interpreter is gone
    ),
)
def test_each_hook_runs_its_command_with_gits_arguments_and_stdin(
    tmp_path: Path,
    hook_type: str,
    args: tuple[str, ...],
    stdin: str,
    command: list[str],
    runner: str,
    ran: list[str],
) -> None:
    python = tmp_path / "it's a $venv" / "bin" / "python"
    if runner == "interpreter":
        write(python, fake("python"))
    bin_dir = write(tmp_path / "bin" / "notion-leakguard", fake("console")).parent
    hook = script(tmp_path, hook_type, str(python))
    result = run_hook(hook, *args, stdin=stdin, env={"PATH": f"{bin_dir}:/usr/bin:/bin"})
    expected = "".join(f"{arg}\n" for arg in [*ran, *command]) + stdin
    assert (result.returncode, result.stdout, result.stderr) == (0, expected, "")


@pytest.mark.parametrize(
    "hook_type, skip, skipped",
    (
        ("pre-commit", None, False),
        ("pre-commit", "", False),
        ("pre-commit", "notion-leakguard", True),
        ("pre-commit", "flake8,notion-leakguard,mypy", True),
        ("pre-commit", "flake8, notion-leakguard ", True),
        ("pre-commit", "notion-leakguard-push", False),
        ("pre-commit", "notion-leakguard-env", False),
        ("pre-commit", "my-notion-leakguard", False),
        ("pre-commit", "notion-leakguard*", False),
        ("commit-msg", "notion-leakguard", True),
        ("commit-msg", "notion-leakguard-push", False),
        ("commit-msg", "other", False),
        ("pre-push", "notion-leakguard", True),
        ("pre-push", "notion-leakguard-push", True),
        ("pre-push", "x,notion-leakguard-push", True),
        ("pre-push", "notion-leakguard-env", False),
        ("pre-push", "notion-leakguard-pushed", False),
        ("pre-push", "", False),
    ),
)
def test_skip(tmp_path: Path, hook_type: str, skip: str | None, skipped: bool) -> None:
    hook = script(tmp_path, hook_type, str(write(tmp_path / "python", fake("python"))))
    result = run_hook(hook, "x", env={} if skip is None else {"SKIP": skip})
    assert result.returncode == 0
    assert (result.stdout == "") == skipped


@pytest.mark.parametrize("hook_type", HOOK_TYPES)
def test_without_python_or_console_script_a_hook_refuses_with_one_line(
    tmp_path: Path, hook_type: str
) -> None:
    hook = script(tmp_path, hook_type, str(tmp_path / "deleted-venv" / "bin" / "python"))
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_hook(hook, "x", "y", stdin="z\n", env={"PATH": str(empty)})
    assert (result.returncode, result.stdout, result.stderr) == (2, "", MISSING + "\n")


# real commits through the installed hooks


def stage(repo: Path, name: str, text: str) -> None:
    write(repo / name, text, 0o644)
    git("add", "--", name, cwd=repo)


def test_pre_commit_hook_refuses_a_staged_token(in_git_dir: Path, rng: random.Random) -> None:
    hookinstall.install(str(in_git_dir))
    stage(in_git_dir, "clean.py", "x = 1\n")
    assert git_commit(in_git_dir, "-m", "clean")[0] == 0
    for rule in tokens.RULES:
        tok = tokens.token(rule, rng)
        stage(in_git_dir, "leak.py", f"k = '{tok}'\n")
        code, printed = git_commit(in_git_dir, "-m", "leak")
        assert code == 1
        assert f"leak.py:1:6: {rule} {tokens.preview(tok)}" in printed
        assert tok not in printed
    assert commits(in_git_dir) == ["clean"]


@pytest.mark.parametrize("rule", tokens.RULES)
def test_commit_msg_hook_refuses_a_token_in_the_message(
    in_git_dir: Path, rng: random.Random, rule: str
) -> None:
    tok = tokens.token(rule, rng)
    hookinstall.install(str(in_git_dir))
    stage(in_git_dir, "clean.py", "x = 1\n")
    code, printed = git_commit(in_git_dir, "-m", f"deploy with {tok} for now")
    assert code == 1
    assert f"{rule} {tokens.preview(tok)}" in printed
    assert tok not in printed
    assert commits(in_git_dir) == []
    assert git_commit(in_git_dir, "-m", "deploy")[0] == 0
    assert commits(in_git_dir) == ["deploy"]


def test_a_commit_is_refused_when_the_virtualenv_is_gone(
    in_git_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = os.pathsep.join(os.path.dirname(shutil.which(p) or "") for p in ("git", "sh"))
    if shutil.which("notion-leakguard", path=path):
        pytest.skip(f"notion-leakguard is installed next to git, in {path}")
    monkeypatch.setattr(sys, "executable", str(tmp_path / "removed-venv" / "bin" / "python"))
    hookinstall.install(str(in_git_dir))
    stage(in_git_dir, "clean.py", "x = 1\n")
    code, printed = git_commit(in_git_dir, "-m", "clean", PATH=path)
    assert (code, printed) == (1, MISSING + "\n")  # git's own code, whatever the hook's
    assert commits(in_git_dir) == []
