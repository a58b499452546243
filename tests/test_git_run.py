"""How git is started (git.run): its output, errors and exit code as subprocess would
give them, large input and output at once without a deadlock, odd working directories, no
descriptor left open, and a clear error without git."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from notion_leakguard import git
from notion_leakguard.errors import LeakguardError

pytestmark = pytest.mark.usefixtures("hang_alarm")


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else -1


def test_output_errors_and_exit_code_are_those_subprocess_sees(in_git_dir: Path) -> None:
    for args in (
        ["rev-parse", "--show-toplevel"],
        ["rev-parse", "--verify", "no-such-revision"],
        ["no-such-command"],
        ["ls-files", "-z", "--others"],
    ):
        ours = git.run(args, cwd=str(in_git_dir), check=False)
        theirs = subprocess.run(
            ["git", *git._NEUTRAL, *args], cwd=in_git_dir, capture_output=True, check=False
        )
        assert (ours.returncode, ours.stdout, ours.stderr) == (
            theirs.returncode,
            theirs.stdout,
            theirs.stderr,
        )
    with pytest.raises(
        LeakguardError, match="git rev-parse failed: fatal: Needed a single revision"
    ):
        git.run(["rev-parse", "--verify", "no-such-revision"], cwd=str(in_git_dir))


def test_large_input_and_output_at_once_do_not_block(in_git_dir: Path) -> None:
    # check-ignore answers each path as it reads them: megabytes both ways at once.
    (in_git_dir / ".gitignore").write_text("*.log\n")
    paths = [f"dir{n % 97}/file-{n}.log" for n in range(60_000)]
    assert len(git.ignored(paths, cwd=str(in_git_dir))) == len(paths)
    rules = git.deciding_rules(paths[:20_000], cwd=str(in_git_dir))
    assert set(rules.values()) == {".gitignore:1:*.log"}


@pytest.mark.parametrize("name", ("-x y", "sp ace", "ünï", "--help"))
def test_odd_working_directories(tmp_path: Path, name: str) -> None:
    directory = tmp_path / name
    directory.mkdir()
    subprocess.run(["git", "init", "-q", str(directory)], check=True)
    assert git.top_level(str(directory)) == str(directory.resolve())


def test_no_descriptor_is_left_open(in_git_dir: Path) -> None:
    before = _open_fds()
    for _ in range(30):
        git.run(["rev-parse", "--git-dir"], cwd=str(in_git_dir))
        git.ignored(["a.log"], cwd=str(in_git_dir))
        with pytest.raises(LeakguardError):
            git.run(["rev-parse", "--verify", "nope"], cwd=str(in_git_dir))
    assert _open_fds() == before


def test_without_git_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    before = _open_fds()
    with pytest.raises(LeakguardError, match="git is not installed or not on PATH"):
        git.run(["--version"], cwd=str(tmp_path))
    assert _open_fds() == before


def test_a_working_directory_that_is_not_one_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    for cwd in (str(tmp_path / "missing"), str(tmp_path / "file"), ""):
        with pytest.raises(LeakguardError, match="not a directory"):
            git.run(["status"], cwd=cwd)


def test_started_commands_run_side_by_side_and_answer_as_run_does(in_git_dir: Path) -> None:
    (in_git_dir / "a.txt").write_text("a\n")
    cwd = str(in_git_dir)
    git.run(["add", "a.txt"], cwd=cwd)
    git.run(["-c", "user.name=T", "-c", "user.email=t@e", "commit", "-qm", "one"], cwd=cwd)
    before = _open_fds()
    # The second writes more than a pipe holds while the first is still unread.
    started = [
        git.start(["rev-parse", "HEAD"], cwd=cwd),
        git.start(["hash-object", "--stdin"], cwd=cwd, stdin=b"x" * 300_000),
        git.start(["rev-parse", "--verify", "no-such-revision"], cwd=cwd, check=False),
        git.start(["rev-parse", "--verify", "no-such-revision"], cwd=cwd),
    ]
    answers = [running.result() for running in started[:3]]
    assert answers[0] == git.run(["rev-parse", "HEAD"], cwd=cwd)
    expected = subprocess.run(
        ["git", "hash-object", "--stdin"], input=b"x" * 300_000, capture_output=True, check=True
    )
    assert answers[1].stdout == expected.stdout
    assert answers[2].returncode != 0 and b"Needed a single revision" in answers[2].stderr
    with pytest.raises(LeakguardError, match="git rev-parse failed: fatal: Needed a single"):
        started[3].result()
    assert started[0].result() is answers[0]  # asked again: the same answer, git not rerun
    assert _open_fds() == before


def test_starting_git_outside_a_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LeakguardError, match="not a directory"):
        git.start(["status"], cwd=str(tmp_path / "missing"))


def test_a_command_not_wanted_after_all_is_stopped_and_reaped(in_git_dir: Path) -> None:
    before = _open_fds()
    # cat-file waits for the input this process has not written yet.
    running = git.start(["cat-file", "--batch"], cwd=str(in_git_dir), stdin=b"HEAD\n")
    pid = running.process.child.pid  # type: ignore[attr-defined]
    running.stop()
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reaped already: no zombie left
    assert _open_fds() == before
    running.stop()  # twice: nothing more to do


def test_scanning_the_history_of_an_empty_repository_leaves_no_git_behind(
    in_git_dir: Path,
) -> None:
    from notion_leakguard.commands.scan import scan_history

    result = scan_history(str(in_git_dir), [], all_refs=False)
    assert [note.text for note in result.notes] == ["no commits yet: there is no history to scan"]
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # no child of this process left, ended or not


def test_objects_read_in_part_leave_no_git_behind(in_git_dir: Path) -> None:
    cwd = str(in_git_dir)
    for number in range(3):
        (in_git_dir / f"f{number}.txt").write_text(f"{number}\n" * 50_000)
    git.run(["add", "."], cwd=cwd)
    git.run(["-c", "user.name=T", "-c", "user.email=t@e", "commit", "-qm", "three"], cwd=cwd)
    specs = [f"HEAD:f{number}.txt" for number in range(3)] * 200  # more than a pipe holds
    before = _open_fds()
    read = git.contents(cwd, specs)
    spec, data = next(read)
    assert spec == "HEAD:f0.txt" and data == b"0\n" * 50_000
    read.close()  # stopped early: git is stopped and reaped
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)
    assert _open_fds() == before
    whole = list(git.contents(cwd, [*specs, "HEAD:missing.txt"]))
    assert [spec for spec, _data in whole] == [*specs, "HEAD:missing.txt"]
    assert whole[-1][1] is None and whole[4][1] == b"1\n" * 50_000


def test_stop_started_ends_every_git_this_process_left_running(in_git_dir: Path) -> None:
    cwd = str(in_git_dir)
    # Two left unread: one still waiting for its input, one ended and not reaped.
    waiting = git.start(["cat-file", "--batch"], cwd=cwd, stdin=b"HEAD\n")
    ended = git.start(["--version"], cwd=cwd)
    time.sleep(0.2)
    pids = [running.process.child.pid for running in (waiting, ended)]  # type: ignore[attr-defined]
    git.stop_started()
    for pid in pids:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
    assert git.run(["--version"], cwd=cwd).returncode == 0  # and git still runs after


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads /proc")
def test_git_starts_with_the_signals_python_ignores_back_to_their_defaults(
    in_git_dir: Path,
) -> None:
    # Python ignores SIGPIPE (and a caller may ignore SIGXFSZ); subprocess restores both for
    # the programs it starts, and so must git.run: a git that ignores SIGPIPE, and what it
    # runs, report EPIPE errors instead of ending quietly.
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    try:
        shown = git.run(
            ["-c", "alias.sig=!grep SigIgn /proc/self/status", "sig"], cwd=str(in_git_dir)
        ).stdout
    finally:
        signal.signal(signal.SIGXFSZ, previous)
    ignored = int(shown.split()[1], 16)
    assert signal.getsignal(signal.SIGPIPE) == signal.SIG_IGN  # (in this process)
    assert not ignored & (1 << (signal.SIGPIPE - 1)), shown
    assert not ignored & (1 << (signal.SIGXFSZ - 1)), shown


def test_objects_are_read_where_the_kernel_refuses_a_memory_file(
    in_git_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    cwd = str(in_git_dir)
    (in_git_dir / "a.txt").write_text("a\n")
    git.run(["add", "a.txt"], cwd=cwd)
    git.run(["-c", "user.name=T", "-c", "user.email=t@e", "commit", "-qm", "one"], cwd=cwd)

    def refused(name: str, flags: int = 0) -> int:
        raise OSError(errno.ENOSYS, "Function not implemented")

    monkeypatch.setattr(os, "memfd_create", refused, raising=False)
    assert list(git.contents(cwd, ["HEAD:a.txt", "HEAD:none"])) == [
        ("HEAD:a.txt", b"a\n"),
        ("HEAD:none", None),
    ]
