"""Reading git objects and history: one `git cat-file --batch` for many objects, the log
of a range, tags, trees, and what a partial clone or git-lfs keep elsewhere."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import IO

from notion_leakguard.errors import LeakguardError
from notion_leakguard.git import (
    _NEUTRAL,
    Answer,
    Completed,
    Running,
    _environment,
    run,
    spawn,
    start,
)


def _batch_check(cwd: str, oids: Sequence[str], form: str) -> dict[str, str | None]:
    """`git cat-file --batch-check=FORM` for each object (an id or a revision); None for one
    the repository lacks. git answers one line per object, in order: FORM filled in, or
    `<what was asked> missing` (or `ambiguous`)."""
    if not oids:
        return {}
    result = run(
        ["cat-file", f"--batch-check={form}"],
        cwd=cwd,
        stdin="".join(f"{oid}\n" for oid in oids).encode(),
    )
    answers: dict[str, str | None] = {}
    for oid, line in zip(oids, result.stdout.decode(errors="replace").splitlines()):
        missing = line.endswith((" missing", " ambiguous"))
        answers[oid] = None if missing else line
    return answers


def is_partial_clone(common_dir: str) -> bool:
    """Whether the repository (its common git directory) has promisor packs: a partial
    clone (`--filter=blob:none`), which lacks objects its promisor remote can send."""
    try:
        return any(name.endswith(".promisor") for name in os.listdir(f"{common_dir}/objects/pack"))
    except OSError:
        return False


def fetch_missing(cwd: str, oids: Sequence[str]) -> None:
    """In a partial clone, fetch those of `oids` this repository lacks in one request, as git
    itself does for a checkout; reading them one by one would cost a round trip each."""
    if not oids:
        return
    promisors = run(
        ["config", "--get-regexp", r"^(remote\..*\.promisor|extensions\.partialclone)$"],
        cwd=cwd,
        check=False,
    )
    name = ""
    for line in promisors.stdout.decode(errors="replace").splitlines():
        key, _, value = line.partition(" ")
        if key == "extensions.partialclone":
            name = value
        elif value == "true":
            name = key[len("remote.") : -len(".promisor")]
    if not name:
        return
    listed = run(["cat-file", "--batch-all-objects", "--batch-check=%(objectname)"], cwd=cwd)
    present = set(listed.stdout.decode().split())
    missing = [oid for oid in oids if oid not in present]
    if missing:
        # If this fails (offline), reading the objects fails too and the scan says so.
        run(
            [
                *("-c", "fetch.negotiationAlgorithm=noop", "fetch", name, "--no-tags"),
                *("--no-write-fetch-head", "--recurse-submodules=no", "--filter=blob:none"),
                "--stdin",
            ],
            cwd=cwd,
            check=False,
            stdin="".join(f"{oid}\n" for oid in missing).encode(),
        )


def lfs_store(cwd: str) -> str:
    """Where git-lfs keeps this repository's objects (`.git/lfs/objects`)."""
    common = os.fsdecode(run(["rev-parse", "--git-common-dir"], cwd=cwd).stdout.rstrip(b"\n"))
    return os.path.join(cwd, common, "lfs", "objects")


_CHUNK = 1 << 20


def contents(
    cwd: str, specs: Sequence[str]
) -> Iterator[tuple[str, bytes | Iterator[bytes] | None]]:
    """Each object's bytes (`specs`: object ids or `rev:path`) from one `git cat-file
    --batch`: up to _CHUNK as they are, a larger object in blocks; None for an object the
    repository lacks (a broken clone, pruned objects). Each block iterator must be consumed
    before the next object is asked for."""
    # --buffer: one write per buffer, not one per object (all input is given at once);
    # 5% less time reading a history's objects.
    command = ["git", *_NEUTRAL, "cat-file", "--batch", "--buffer"]
    try:
        stream, stop = _started(command, cwd, "".join(f"{spec}\n" for spec in specs).encode())
    except FileNotFoundError:
        raise LeakguardError("git is not installed or not on PATH") from None
    except OSError as error:
        raise LeakguardError(f"could not run git: {error.strerror}") from None
    try:
        for spec in specs:
            header = stream.readline().split()
            if header[-1:] == [b"missing"]:
                yield spec, None
            elif len(header) == 3 and header[1] in (b"blob", b"commit", b"tag"):
                size = int(header[2])
                # Most objects are small: read at once, without a generator around them.
                yield spec, _whole(stream, size) if size <= _CHUNK else _blocks(stream, size)
            else:
                answer = b" ".join(header).decode(errors="replace") or "nothing"
                raise LeakguardError(f"git cat-file: unexpected answer for {spec}: {answer}")
    finally:
        stop()


def _started(command: list[str], cwd: str, given: bytes) -> tuple[IO[bytes], Callable[[], None]]:
    """`command` started in `cwd` with `given` as its input: what it writes, to read as it
    comes, and what stops it. On Linux the input waits in a memory file and git starts
    with posix_spawn: no thread to feed it, no `subprocess` for each worker to import."""
    given_fd = _memory_file()
    if given_fd >= 0:
        try:
            written = memoryview(given)
            while written:
                written = written[os.write(given_fd, written) :]
            os.lseek(given_fd, 0, os.SEEK_SET)
            read_fd, write_fd = os.pipe()
        except BaseException:
            os.close(given_fd)
            raise
        actions = [
            (os.POSIX_SPAWN_DUP2, given_fd, 0),
            (os.POSIX_SPAWN_DUP2, write_fd, 1),
            (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
        ]
        try:
            argv = [command[0], "-C", cwd, *command[1:]]
            child = spawn(argv, actions)
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(given_fd)
            os.close(write_fd)
        _widen(read_fd)
        stream = open(read_fd, "rb")  # noqa: SIM115 (closed by `stop`)

        def stop() -> None:
            stream.close()
            child.kill()  # (ended already, or stopped early)

        return stream, stop
    import subprocess  # elsewhere: a pre-commit run never reads objects this way

    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=_environment(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdin is not None and process.stdout is not None
    writer = threading.Thread(target=_feed, args=(process.stdin, given), daemon=True)
    writer.start()

    def ended() -> None:
        assert process.stdout is not None
        process.stdout.close()
        process.kill()
        process.wait()
        writer.join()

    return process.stdout, ended


def _memory_file() -> int:
    """A file in memory (Linux), or -1 where there is none (other systems, or a kernel or
    sandbox that refuses memfd_create)."""
    if sys.platform != "linux" or not hasattr(os, "memfd_create"):
        return -1
    try:
        return os.memfd_create("notion-leakguard-input")
    except OSError:
        return -1


def _widen(pipe: int) -> None:
    """Let the pipe hold 1 MiB (Linux; 64 KiB by default): git writes each object in two
    calls, and with room to write ahead it waits for the reader less often. A history's
    scan spends 4% less CPU time. Best effort: the system's limits may refuse."""
    if sys.platform != "linux":
        return
    import fcntl

    with contextlib.suppress(OSError):
        fcntl.fcntl(pipe, getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)


def _feed(stdin: IO[bytes], given: bytes) -> None:
    try:
        stdin.write(given)
        stdin.close()
    except (BrokenPipeError, ValueError):
        pass  # the reader stopped early


def _whole(stream: IO[bytes], size: int) -> bytes:
    data = stream.read(size)
    if len(data) < size:
        raise LeakguardError("git cat-file ended early")
    stream.read(1)  # the newline after each object
    return data


def _blocks(stream: IO[bytes], size: int) -> Iterator[bytes]:
    remaining = size
    while remaining:
        block = stream.read(min(_CHUNK, remaining))
        if not block:
            raise LeakguardError("git cat-file ended early")
        remaining -= len(block)
        yield block
    stream.read(1)  # the newline after each object


# The blobs each commit adds or changes, merges included (-m: a merge resolution's new blobs
# appear there), in `--raw` records after a `\x01sha\0author\0date` header.
_RAW = (
    *("-z", "--raw", "--no-abbrev", "--no-renames", "--root", "-m"),
    *("--no-ext-diff", "--no-textconv", "--no-color", "--format=%x01%H%x00%an%x00%aI"),
)


def log_raw(cwd: str, selection: Sequence[str]) -> bytes:
    """The `_RAW` listing of the commits `selection` names, oldest first (parents before
    children)."""
    return start_log(cwd, selection).result().stdout


def start_log(cwd: str, selection: Sequence[str]) -> Running:
    """`log_raw`'s git, started now: its `output()` is the listing as git writes it."""
    return start(["log", *_RAW, "--topo-order", "--reverse", *selection, "--"], cwd=cwd)


def object_types(cwd: str, oids: Sequence[str]) -> dict[str, str | None]:
    """Each object's type (`commit`, `tag`, ...), or None when this repository lacks it
    (`oids`: object ids or revisions)."""
    return _batch_check(cwd, oids, "%(objecttype)")


def file_at(cwd: str, commit: str, path: str) -> bytes | None:
    """The file at `path` in `commit`'s tree, or None when there is none."""
    result = run(["cat-file", "blob", f"{commit}:{path}"], cwd=cwd, check=False)
    return result.stdout if result.returncode == 0 else None


def shallow_commits(cwd: str) -> set[str]:
    """The commits at a shallow clone's boundary (their parents were not fetched)."""
    path = os.fsdecode(run(["rev-parse", "--git-path", "shallow"], cwd=cwd).stdout.rstrip(b"\n"))
    try:
        with open(os.path.join(cwd, path), encoding="ascii", errors="replace") as stream:
            return {line.strip() for line in stream if line.strip()}
    except FileNotFoundError:
        return set()
    except OSError as error:
        raise LeakguardError(f"cannot read {path}: {error.strerror}") from None


def annotated_tags(cwd: str) -> list[tuple[str, str, str]]:
    """(tag object id, ref name, the commit it points at) for each annotated tag."""
    return start_annotated_tags(cwd)()


def start_annotated_tags(cwd: str) -> Answer[list[tuple[str, str, str]]]:
    tags = "--format=%(objecttype)%00%(objectname)%00%(refname)%00%(*objectname)"
    return Answer(start(["for-each-ref", tags, "refs/tags"], cwd=cwd), _annotated)


def _annotated(result: Completed) -> list[tuple[str, str, str]]:
    found = []
    for line in result.stdout.decode(errors="replace").splitlines():
        kind, oid, name, target = line.split("\0")
        if kind == "tag":
            found.append((oid, name, target))
    return found


def tag_target(cwd: str, tag: str) -> tuple[str, str]:
    """The object an annotated tag points at, and its type."""
    headers = run(["cat-file", "tag", tag], cwd=cwd).stdout.partition(b"\n\n")[0]
    fields = dict(line.split(b" ", 1) for line in headers.split(b"\n") if b" " in line)
    try:
        return fields[b"object"].decode(), fields[b"type"].decode()
    except KeyError:
        raise LeakguardError(f"git cat-file: tag {tag} names no object") from None


def tree_blobs(cwd: str, tree: str) -> list[tuple[str, str]]:
    """(blob id, path) for every blob in a tree, recursively."""
    out = run(["ls-tree", "-r", "-z", tree], cwd=cwd).stdout
    blobs = []
    for entry in out.split(b"\0"):
        meta, _, path = entry.partition(b"\t")
        parts = meta.split(b" ")
        if len(parts) == 3 and parts[1] == b"blob":
            blobs.append((parts[2].decode(), os.fsdecode(path)))
    return blobs


def head_blobs(cwd: str) -> set[str]:
    """The blobs of HEAD's tree (empty when there is no HEAD)."""
    return start_head_blobs(cwd)()


def start_head_blobs(cwd: str) -> Answer[set[str]]:
    return Answer(
        start(["ls-tree", "-r", "-z", "--full-tree", "HEAD"], cwd=cwd, check=False), _blobs
    )


def _blobs(result: Completed) -> set[str]:
    if result.returncode:
        return set()
    found = set()
    for entry in result.stdout.split(b"\0"):
        meta, _, _path = entry.partition(b"\t")
        parts = meta.split(b" ")
        if len(parts) == 3 and parts[1] == b"blob":
            found.add(parts[2].decode())
    return found


def head_files(cwd: str) -> dict[str, str]:
    """Each file of HEAD's tree, by path, with its blob (empty when there is no HEAD)."""
    result = run(["ls-tree", "-r", "-z", "--full-tree", "HEAD"], cwd=cwd, check=False)
    if result.returncode:
        return {}
    files = {}
    for entry in result.stdout.split(b"\0"):
        meta, _, path = entry.partition(b"\t")
        parts = meta.split(b" ")
        if len(parts) == 3 and parts[1] == b"blob":
            files[os.fsdecode(path)] = parts[2].decode()
    return files
