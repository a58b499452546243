from __future__ import annotations

import io
import os
import random
import shutil
import signal
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Literal, overload

import pytest

from tests.helpers.background import start_all
from tests.helpers.notion_api import FakeNotion, serve

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"

# What a fresh interpreter shows (python -W default is not set): `warnings.filters` at start-up.
_STARTUP_WARNING_FILTERS = (
    ("default", DeprecationWarning, "__main__"),
    ("ignore", DeprecationWarning, ""),
    ("ignore", PendingDeprecationWarning, ""),
    ("ignore", ImportWarning, ""),
    ("ignore", ResourceWarning, ""),
)


def _console_script() -> list[str]:
    beside = Path(sys.executable).parent / "notion-leakguard"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("notion-leakguard")
    return [found] if found else [sys.executable, "-m", "notion_leakguard"]


CLI = _console_script()

# No user or system git configuration leaks into a test (as pre-commit's tests do); HOME is
# per test. The same variables for in-process runs, subprocesses and environments built from
# scratch (tests/helpers/never_leak.py, tests/test_precommit.py).
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}
UNSET = ("NO_COLOR", "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE")


def isolated_git_env(home: Path) -> dict[str, str]:
    """The variables that isolate git (and the CLI) from the user's configuration."""
    return {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
        **GIT_IDENTITY,
    }


@pytest.fixture(autouse=True)
def _isolated_git(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every test, and every subprocess it starts with os.environ, is isolated."""
    for name, value in isolated_git_env(tmp_path_factory.mktemp("home")).items():
        monkeypatch.setenv(name, value)
    for name in UNSET:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def hang_alarm() -> Iterator[None]:
    """The test fails after 60 s instead of hanging the suite (for code that could
    deadlock on pipes)."""

    def expired(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError("the test hung")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="session", autouse=True)
def _prepared_in_background(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """Start the slow session set-ups the collected tests will need (tests/helpers/
    background.py); not under pytest-xdist, where each worker builds only what it needs."""
    xdist_worker = hasattr(request.config, "workerinput")
    started = [] if xdist_worker else start_all(request.session.items, tmp_path_factory)
    yield
    for prepared in started:
        prepared.wait()


@pytest.fixture
def notion_api() -> Iterator[FakeNotion]:
    """The fake Notion API (tests/helpers/notion_api.py), running for one test."""
    with serve() as api:
        yield api


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> random.Random:
    """Seeded per test, so a failure reproduces."""
    return random.Random(request.node.nodeid)


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def in_git_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    repo = tmp_path / "repo"
    repo.mkdir()
    git("init", "-q", "-b", "main", cwd=repo)
    monkeypatch.chdir(repo)
    yield repo


def run_main(argv: Sequence[str], *, cwd: Path) -> tuple[int, str, str]:
    """`notion-leakguard ARGV` in this process (through `invoke`): exit code, stdout, stderr."""
    result = invoke(*argv, cwd=cwd)
    return result.returncode, result.stdout, result.stderr


def run_cli(
    *args: str, cwd: Path, stdin: bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The installed console script, in a subprocess, as a user runs it. For what only a
    process shows (start-up, the interpreter's streams, signals, terminals, PATH); the rest
    uses `invoke`."""
    return subprocess.run(
        [*CLI, *args],
        cwd=cwd,
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={**os.environ, **(env or {})},
    )


class _TimedOut(BaseException):
    """Raised in a command that ran out of time: not an Exception, so that `main` does not
    turn it into an exit code."""

    @classmethod
    def raise_after(cls, seconds: float) -> Callable[[int, FrameType | None], None]:
        def handler(signum: int, frame: FrameType | None) -> None:
            raise cls(f"the command did not finish within {seconds} s")

        return handler


def _stream(data: bytes = b"", *, errors: str) -> io.TextIOWrapper:
    # As the interpreter sets up its standard streams under a UTF-8 locale on POSIX.
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors=errors, newline="\n")


@overload
def invoke(
    *args: str,
    cwd: Path,
    stdin: bytes | None = ...,
    env: dict[str, str] | None = ...,
    text: Literal[True] = ...,
    timeout: float | None = ...,
) -> subprocess.CompletedProcess[str]: ...
@overload
def invoke(
    *args: str,
    cwd: Path,
    stdin: bytes | None = ...,
    env: dict[str, str] | None = ...,
    text: Literal[False],
    timeout: float | None = ...,
) -> subprocess.CompletedProcess[bytes]: ...
def invoke(
    *args: str,
    cwd: Path,
    stdin: bytes | None = None,
    env: dict[str, str] | None = None,
    text: bool = True,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str] | subprocess.CompletedProcess[bytes]:
    """`notion-leakguard ARGS` in this process: `cli.main` in `cwd`, with `env` added to the
    environment, `stdin` (else nothing) as standard input and standard output and error
    captured. The same result as `run_cli`, without starting an interpreter: the output is
    the exact text written (strict UTF-8, newlines as written; the bytes with `text=False`),
    warnings a fresh interpreter would print are on stderr, and nothing outlives the call
    (cwd, environment, streams). After `timeout` seconds the command is interrupted and the
    test fails, as `subprocess.run(timeout=...)` would make it."""
    stdout, stderr = _stream(errors="surrogateescape"), _stream(errors="backslashreplace")
    with pytest.MonkeyPatch.context() as patch, warnings.catch_warnings(record=True) as shown:
        warnings.resetwarnings()
        for action, category, module in reversed(_STARTUP_WARNING_FILTERS):
            warnings.filterwarnings(action, category=category, module=module)
        patch.chdir(cwd)
        for name, value in (env or {}).items():
            patch.setenv(name, value)
        patch.setattr(sys, "stdin", _stream(stdin or b"", errors="surrogateescape"))
        patch.setattr(sys, "stdout", stdout)
        patch.setattr(sys, "stderr", stderr)
        from notion_leakguard import cli

        if timeout is not None:
            previous = signal.signal(signal.SIGALRM, _TimedOut.raise_after(timeout))
            signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            code = cli.main(list(args))
        except SystemExit as exit_:  # as the interpreter turns it into an exit status
            code = exit_.code if isinstance(exit_.code, int) else 0 if exit_.code is None else 1
            if not isinstance(exit_.code, (int, type(None))):
                print(exit_.code, file=sys.stderr)
        finally:
            if timeout is not None:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous)
        for warning in shown:
            stderr.write(
                warnings.formatwarning(
                    warning.message, warning.category, warning.filename, warning.lineno
                )
            )
        stdout.flush()
        stderr.flush()
    out: bytes = stdout.buffer.getvalue()  # type: ignore[attr-defined]
    err: bytes = stderr.buffer.getvalue()  # type: ignore[attr-defined]
    argv = ["notion-leakguard", *args]
    if not text:
        return subprocess.CompletedProcess(argv, code, out, err)
    return subprocess.CompletedProcess(argv, code, out.decode("utf-8"), err.decode("utf-8"))
