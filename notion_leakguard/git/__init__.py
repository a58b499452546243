"""The only package that runs git. Machine-readable output only (-z), user configuration
neutralised. Here: running git, the work tree and the index; `objects`: reading objects
and history (re-exported here, so callers say `git.contents`)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import Any, Generic, NamedTuple, TypeVar

from notion_leakguard.errors import LeakguardError

# Options that make output independent of the user's configuration.
_NEUTRAL = (
    *("-c", "core.quotepath=false", "-c", "color.ui=false", "-c", "log.showSignature=false"),
)
# Environment variables that would change diff output (GIT_DIFF_OPTS even beats -U0) or
# how pathspecs match.
_USER_SETTINGS = (
    *("GIT_DIFF_OPTS", "GIT_EXTERNAL_DIFF", "GIT_LITERAL_PATHSPECS", "GIT_GLOB_PATHSPECS"),
    *("GIT_NOGLOB_PATHSPECS", "GIT_ICASE_PATHSPECS"),
)


T = TypeVar("T")


class Completed(NamedTuple):
    returncode: int
    stdout: bytes
    stderr: bytes


def run(
    args: Sequence[str], *, cwd: str, check: bool = True, stdin: bytes | None = None
) -> Completed:
    """Run `git ARGS` in `cwd`; raise LeakguardError if git is missing or (with check) fails."""
    return start(args, cwd=cwd, check=check, stdin=stdin).result()


def start(
    args: Sequence[str], *, cwd: str, check: bool = True, stdin: bytes | None = None
) -> Running:
    """`git ARGS` started in `cwd`, to be waited for with `result()` (as `run`): several can
    run at once while this process does something else."""
    if not os.path.isdir(cwd):
        raise LeakguardError(f"cannot run git in {cwd or '(no directory)'}: not a directory")
    try:
        return Running(args[0], check, _spawned(["git", *_NEUTRAL, *args], cwd, stdin))
    except FileNotFoundError:
        raise LeakguardError("git is not installed or not on PATH") from None
    except OSError as error:
        raise LeakguardError(f"could not run git: {error.strerror}") from None


class Running:
    """A git command started by `start`: its whole answer (`result`), or its output as git
    writes it (`output`)."""

    def __init__(self, name: str, check: bool, process: _Process) -> None:
        self.name = name
        self.check = check
        self.process = process
        self.done: Completed | None = None

    def result(self) -> Completed:
        """The finished command (LeakguardError when it failed and was checked)."""
        if self.done is None:
            try:
                out = b"".join(self.process.chunks())
            except OSError as error:
                raise LeakguardError(f"could not run git: {error.strerror}") from None
            self.done = self.process.completed._replace(stdout=out)
        return self._checked(self.done)

    def output(self) -> Iterator[bytes]:
        """What git writes to its standard output, in chunks as they come; then, when it
        failed and was checked, LeakguardError. Closing the iterator early stops git."""
        try:
            yield from self.process.chunks()
        except OSError as error:
            raise LeakguardError(f"could not run git: {error.strerror}") from None
        self.done = self.process.completed
        self._checked(self.done)

    def stop(self) -> None:
        """Stop a command whose answer is not wanted after all (before it was read)."""
        self.process.stop()

    def _checked(self, done: Completed) -> Completed:
        if self.check and done.returncode != 0:
            raise LeakguardError(f"git {self.name} failed: {_stderr(done)}")
        return done


class Answer(Generic[T]):
    """What a started git command will tell, worked out from its answer when asked for."""

    def __init__(self, running: Running, parse: Callable[[Completed], T]) -> None:
        self.running = running
        self.parse = parse

    def __call__(self) -> T:
        return self.parse(self.running.result())

    def stop(self) -> None:
        self.running.stop()


class _Process:
    """A started git: `chunks` yields its standard output as it comes and then leaves the
    exit status and standard error in `completed`."""

    completed = Completed(-1, b"", b"")

    def chunks(self) -> Iterator[bytes]:
        raise NotImplementedError

    def stop(self) -> None:
        pass


class _Finished(_Process):  # pragma: no cover (Windows)
    def __init__(self, completed: Completed) -> None:
        self.completed = completed._replace(stdout=b"")
        self.stdout = completed.stdout

    def chunks(self) -> Iterator[bytes]:
        if self.stdout:
            yield self.stdout


class Child:
    """A process this one started: waited for once, or killed and reaped once, whichever
    comes first (so that no stale pid is ever signalled). Until then it is in
    `_CHILDREN`, for `stop_started`."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.owner = os.getpid()  # (a forked worker inherits the set, not the children)
        self.done = False
        _CHILDREN.add(self)

    def wait(self) -> int:
        """Its exit status, once it ends."""
        import signal

        if sys.platform == "linux":  # wait (interruptibly) without reaping: pid still ours
            os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOWAIT)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:  # reaped and forgotten together: Ctrl-C never finds a reaped pid here
            _, status = os.waitpid(self.pid, 0)
            self._forget()
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        return status

    def kill(self) -> None:
        if self.done:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, 9)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)
        self._forget()

    def _forget(self) -> None:
        self.done = True
        _CHILDREN.discard(self)


_CHILDREN: set[Child] = set()


def stop_started() -> None:
    """Kill and reap every git this process started and has not waited for: after an
    interruption, what a suspended reader or a command started ahead left running
    (else it would be left to init, which in a container may never reap it)."""
    for child in list(_CHILDREN):
        if child.owner == os.getpid():
            child.kill()


def spawn(command: list[str], actions: list[tuple[Any, ...]]) -> Child:
    """`command` (git) started with posix_spawn with these file actions, and known as a
    Child at once: Ctrl-C waits until then, so that no git is lost to an interruption
    between the two (left to init, unreaped). git starts with no signal blocked, and
    SIGPIPE and SIGXFSZ back to their defaults, as subprocess would start it (Python
    ignores them, and ignored signals are inherited)."""
    import signal

    defaults = [getattr(signal, name) for name in ("SIGPIPE", "SIGXFSZ") if hasattr(signal, name)]
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        pid = os.posix_spawnp(
            command[0],
            command,
            _environment(),
            file_actions=actions,
            setsigmask=(),
            setsigdef=defaults,
        )
        return Child(pid)
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


class _Spawned(_Process):
    def __init__(self, child: Child, out_fd: int, err_fd: int, in_fd: int, stdin: bytes) -> None:
        self.child = child
        self.fds = (out_fd, err_fd, in_fd)
        self.stdin = stdin
        self.read = False  # chunks() took over the descriptors and the process

    def stop(self) -> None:
        if not self.read:
            self.read = True
            for fd in self.fds:
                if fd >= 0:
                    os.close(fd)
            self.child.kill()

    def chunks(self) -> Iterator[bytes]:
        assert not self.read, "read once"
        self.read = True
        try:
            err = yield from _relayed(*self.fds, self.stdin)
            status = self.child.wait()
        except BaseException:  # interrupted, or the reader stopped: git must not outlive us
            self.child.kill()
            raise
        self.completed = Completed(os.waitstatus_to_exitcode(status), b"", err)


def _spawned(argv: list[str], cwd: str, stdin: bytes | None) -> _Process:
    """The process started. Where posix_spawn exists (Linux, macOS) git starts without the
    `subprocess` module, whose import is 3.5 ms of a 70 ms pre-commit run; `_relayed`
    does what subprocess.run(capture_output=True, input=...) does."""
    if not hasattr(os, "posix_spawnp"):  # pragma: no cover (Windows)
        import subprocess

        done = subprocess.run(
            argv,
            cwd=cwd,
            env=_environment(),
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            check=False,
        )
        return _Finished(Completed(done.returncode, done.stdout, done.stderr))
    fds: list[int] = []
    try:
        fds += os.pipe()
        fds += os.pipe()
        fds += os.pipe() if stdin else (-1, -1)
    except OSError:  # out of descriptors: none left open
        for fd in fds:
            os.close(fd)
        raise
    out_read, out_write, err_read, err_write, in_read, in_write = fds
    actions: list[tuple[Any, ...]] = [
        (os.POSIX_SPAWN_DUP2, out_write, 1),
        (os.POSIX_SPAWN_DUP2, err_write, 2),
        (os.POSIX_SPAWN_DUP2, in_read, 0)
        if stdin
        else (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
    ]
    # git -C: before Python 3.13 posix_spawn cannot set the working directory itself.
    command = [argv[0], "-C", cwd, *argv[1:]]
    try:
        child = spawn(command, actions)
    except BaseException:
        for fd in (out_read, in_write):
            if fd >= 0:
                os.close(fd)
        os.close(err_read)
        raise
    finally:
        for fd in (out_write, err_write, in_read):
            if fd >= 0:
                os.close(fd)
    return _Spawned(child, out_read, err_read, in_write, stdin or b"")


def _relayed(out_fd: int, err_fd: int, in_fd: int, stdin: bytes) -> Generator[bytes, None, bytes]:
    """What the process writes to `out_fd`, yielded as it comes, until it closes it and
    `err_fd`, while `stdin` is written to `in_fd` (-1: none) as fast as the process reads
    it; returns what it wrote to `err_fd`. Closes all three."""
    import select

    errors: list[bytes] = []
    pending = memoryview(stdin)
    poller = select.poll()
    try:
        for fd in (out_fd, err_fd):
            poller.register(fd, select.POLLIN)
        if in_fd >= 0:
            os.set_blocking(in_fd, False)
            poller.register(in_fd, select.POLLOUT)
        reading = 2
        while reading:
            for fd, _event in poller.poll():
                if fd != in_fd:
                    data = os.read(fd, 1 << 16)
                    if not data:
                        poller.unregister(fd)
                        reading -= 1
                    elif fd == out_fd:
                        yield data
                    else:
                        errors.append(data)
                    continue
                try:
                    pending = pending[os.write(in_fd, pending[: 1 << 16]) :]
                except BlockingIOError:
                    continue
                except BrokenPipeError:  # git stopped reading; its stderr says why
                    pending = pending[:0]
                if not pending:
                    poller.unregister(in_fd)
                    os.close(in_fd)
                    in_fd = -1
    finally:
        for fd in (out_fd, err_fd, in_fd):
            if fd >= 0:
                os.close(fd)
    return b"".join(errors)


class ListedFile(NamedTuple):
    path: str  # relative to the directory git listed
    tracked: bool  # in the index (committed or staged), as opposed to untracked


def listed_files(directory: str, pathspecs: Sequence[str] = ()) -> list[ListedFile]:
    """Files below `directory` (matching `pathspecs`, if given) that git does not ignore:
    tracked and untracked ones. Directories git ignores wholesale are not even read."""
    out = run(
        ["ls-files", "-z", "-t", "--cached", "--others", "--exclude-standard", "--", *pathspecs],
        cwd=directory,
    ).stdout
    listed: dict[str, bool] = {}
    for record in out.split(b"\0"):
        if record:
            tag, name = record[:1], os.fsdecode(record[2:])
            listed[name] = listed.get(name, False) or tag != b"?"
    return [ListedFile(name, tracked) for name, tracked in listed.items()]


def ignored(paths: Sequence[str], *, cwd: str) -> set[str]:
    """Those of `paths` that an ignore rule covers, whether or not git tracks them."""
    if not paths:
        return set()
    result = run(
        ["check-ignore", "--no-index", "--stdin", "-z"],
        cwd=cwd,
        check=False,
        stdin=b"".join(os.fsencode(p) + b"\0" for p in paths),
    )
    if result.returncode not in (0, 1):  # 1: none of them is ignored
        raise LeakguardError(f"git check-ignore failed: {_stderr(result)}")
    return {os.fsdecode(name) for name in result.stdout.split(b"\0") if name}


def deciding_rules(paths: Sequence[str], *, cwd: str) -> dict[str, str]:
    """For each of `paths` that an ignore or negation rule decides: `source:line:pattern`."""
    if not paths:
        return {}
    result = run(
        ["check-ignore", "-v", "-n", "--no-index", "--stdin", "-z"],
        cwd=cwd,
        check=False,
        stdin=b"".join(os.fsencode(p) + b"\0" for p in paths),
    )
    fields = [os.fsdecode(field) for field in result.stdout.split(b"\0")]
    rules = {}
    for source, line, pattern, path in zip(*[iter(fields)] * 4):
        if source:
            rules[path] = f"{source}:{line}:{pattern}"
    return rules


def top_level(cwd: str) -> str:
    """The root of the work tree holding `cwd`; LeakguardError when there is none (with
    git's own words when it refuses the repository, e.g. for safe.directory)."""
    result = run(["rev-parse", "--show-toplevel"], cwd=cwd, check=False)
    root = os.fsdecode(result.stdout.rstrip(b"\n"))
    if result.returncode == 0 and root:
        return root
    message = _stderr(result)
    if "safe.directory" in message or "dubious ownership" in message:
        raise LeakguardError(message)
    raise LeakguardError("not inside a git work tree")


def top_level_or_bare(cwd: str) -> None:
    """LeakguardError unless `cwd` is inside a repository, bare or not."""
    if run(["rev-parse", "--git-dir"], cwd=cwd, check=False).returncode:
        run(["--version"], cwd=cwd)  # the clearer error when git itself is missing
        raise LeakguardError("not inside a git repository")


def git_dir(cwd: str) -> str:
    """The repository's git directory (a worktree's own), absolute."""
    return os.fsdecode(run(["rev-parse", "--absolute-git-dir"], cwd=cwd).stdout.rstrip(b"\n"))


def hooks_dir(cwd: str) -> str:
    """Where git looks for hooks, honouring core.hooksPath."""
    out = run(["rev-parse", "--git-path", "hooks"], cwd=cwd).stdout
    return os.path.join(cwd, os.fsdecode(out.rstrip(b"\n")))


# `git diff --cached` with every option that user configuration could change pinned:
# diff drivers and textconv, colour, prefixes, context, rename detection, order file,
# diff.relative, blank-line suppression. Binary files are diffed as text, so their added
# bytes are scanned too.
_STAGED_DIFF = (
    *("-c", "diff.suppressBlankEmpty=false", "diff", "--cached", "--raw", "-z"),
    *("--no-abbrev", "--no-ext-diff", "--no-textconv", "--no-color", "--find-renames"),
    *("--no-relative", "-O/dev/null", "--src-prefix=a/", "--dst-prefix=b/"),
    "--ignore-submodules=none",
)
_PATCH = ("--patch", "--unified=1", "--inter-hunk-context=0")  # -U alone implies a patch


def staged_diff(cwd: str, *, binary_over: int = 4 << 20) -> bytes:
    """The staged changes as `--raw` records, then a patch of the added lines with one line
    of context (where an allow-next-line marker may stand). Files git takes for binary, and
    files over `binary_over` bytes, get "Binary files ... differ" instead of lines, so the
    output stays small whatever is staged. `git diff --cached` needs no HEAD, so this works
    before the first commit."""
    threshold = ("-c", f"core.bigFileThreshold={binary_over}")
    result = run([*threshold, *_STAGED_DIFF, *_PATCH], cwd=cwd, check=False)
    if result.returncode != 0:
        raise LeakguardError(f"git diff --cached failed: {_stderr(result)}")
    return result.stdout


def _environment() -> dict[str, str]:
    # GIT_FLUSH=0: into a pipe, `git log` and `diff-tree` would otherwise write each commit
    # as it goes, one system call per commit: a fifth of a long history's listing time.
    # No caller waits for one record while git holds back the next: all input is given
    # at once.
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C", "GIT_FLUSH": "0"}
    for name in _USER_SETTINGS:
        env.pop(name, None)
    return env


def _stderr(result: Completed) -> str:
    return result.stderr.decode(errors="replace").strip() or f"exit {result.returncode}"


# Reading objects and history; imported last, as it uses run() above.
from notion_leakguard.git.objects import (  # noqa: E402
    annotated_tags,
    contents,
    fetch_missing,
    file_at,
    head_blobs,
    head_files,
    is_partial_clone,
    lfs_store,
    log_raw,
    object_types,
    shallow_commits,
    start_annotated_tags,
    start_head_blobs,
    start_log,
    tag_target,
    tree_blobs,
)

__all__ = [
    "Answer",
    "Child",
    "ListedFile",
    "Running",
    "annotated_tags",
    "contents",
    "deciding_rules",
    "fetch_missing",
    "file_at",
    "git_dir",
    "head_blobs",
    "head_files",
    "hooks_dir",
    "ignored",
    "is_partial_clone",
    "lfs_store",
    "listed_files",
    "log_raw",
    "object_types",
    "run",
    "shallow_commits",
    "staged_diff",
    "start",
    "start_annotated_tags",
    "start_head_blobs",
    "start_log",
    "stop_started",
    "tag_target",
    "top_level",
    "top_level_or_bare",
    "tree_blobs",
]
