"""The only module that runs git. Machine-readable output only (-z), user config neutralised."""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator, Sequence
from typing import IO, NamedTuple

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


def run(
    args: Sequence[str], *, cwd: str, check: bool = True, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run `git ARGS` in `cwd`; raise LeakguardError if git is missing or (with check) fails."""
    try:
        result = subprocess.run(
            ["git", *_NEUTRAL, *args],
            cwd=cwd,
            env=_environment(),
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            check=False,
        )
    except FileNotFoundError:
        raise LeakguardError("git is not installed or not on PATH") from None
    except OSError as error:
        raise LeakguardError(f"could not run git: {error.strerror}") from None
    if check and result.returncode != 0:
        raise LeakguardError(f"git {args[0]} failed: {_stderr(result)}")
    return result


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
    *("--no-abbrev", "--no-ext-diff", "--no-textconv", "--no-color", "--text", "--find-renames"),
    *("--no-relative", "-O/dev/null", "--src-prefix=a/", "--dst-prefix=b/"),
    "--ignore-submodules=none",
)
_PATCH = ("--patch", "--unified=1", "--inter-hunk-context=0")  # -U alone implies a patch


def staged_diff(cwd: str, *, patch: bool = True, leave_out: Sequence[str] = ()) -> bytes:
    """The staged changes as `--raw` records, then (with `patch`) a patch of the added lines
    with one line of context (where an allow-next-line marker may stand), without the paths
    in `leave_out`. `git diff --cached` needs no HEAD, so this works before the first
    commit."""
    args = [*_STAGED_DIFF, *(_PATCH if patch else ())]
    if leave_out:
        args += ["--", *(f":(top,exclude,literal){path}" for path in leave_out)]
    result = run(args, cwd=cwd, check=False)
    if result.returncode != 0:
        raise LeakguardError(f"git diff --cached failed: {_stderr(result)}")
    return result.stdout


def object_sizes(cwd: str, oids: Sequence[str]) -> dict[str, int]:
    """Each object's size in bytes (objects the repository lacks are left out)."""
    answers = _batch_check(cwd, oids, "%(objectsize)")
    return {oid: int(answer) for oid, answer in answers.items() if answer is not None}


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


def _environment() -> dict[str, str]:
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}
    for name in _USER_SETTINGS:
        env.pop(name, None)
    return env


_CHUNK = 1 << 20


def contents(cwd: str, specs: Sequence[str]) -> Iterator[tuple[str, Iterator[bytes] | None]]:
    """Each object's bytes (`specs`: object ids or `rev:path`), in blocks, from one
    `git cat-file --batch`; None for an object the repository lacks (a broken clone, pruned
    objects). Each block iterator must be consumed before the next object is asked for."""
    try:
        process = subprocess.Popen(
            ["git", *_NEUTRAL, "cat-file", "--batch"],
            cwd=cwd,
            env=_environment(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise LeakguardError("git is not installed or not on PATH") from None
    except OSError as error:
        raise LeakguardError(f"could not run git: {error.strerror}") from None
    assert process.stdin is not None and process.stdout is not None
    writer = threading.Thread(target=_feed, args=(process.stdin, specs), daemon=True)
    writer.start()
    try:
        for spec in specs:
            header = process.stdout.readline().split()
            if header[-1:] == [b"missing"]:
                yield spec, None
            elif len(header) == 3 and header[1] in (b"blob", b"commit", b"tag"):
                yield spec, _blocks(process.stdout, int(header[2]))
            else:
                answer = b" ".join(header).decode(errors="replace") or "nothing"
                raise LeakguardError(f"git cat-file: unexpected answer for {spec}: {answer}")
    finally:
        process.stdout.close()
        process.kill()
        process.wait()
        writer.join()


def _feed(stdin: IO[bytes], specs: Sequence[str]) -> None:
    try:
        for start in range(0, len(specs), 1024):
            stdin.write("".join(f"{spec}\n" for spec in specs[start : start + 1024]).encode())
        stdin.close()
    except (BrokenPipeError, ValueError):
        pass  # the reader stopped early


def _blocks(stream: IO[bytes], size: int) -> Iterator[bytes]:
    remaining = size
    while remaining:
        block = stream.read(min(_CHUNK, remaining))
        if not block:
            raise LeakguardError("git cat-file ended early")
        remaining -= len(block)
        yield block
    stream.read(1)  # the newline after each object


def log_raw(cwd: str, selection: Sequence[str]) -> bytes:
    r"""For the commits `selection` names, oldest first (parents before children), each
    commit's `\x01sha\0author\0date` and the `--raw` records of the blobs it adds or
    changes, merges included (`-m`: a merge resolution's new blobs appear there)."""
    return run(
        [
            *("log", "-z", "--raw", "--no-abbrev", "--no-renames", "--root", "-m"),
            *("--topo-order", "--reverse", "--no-ext-diff", "--no-textconv", "--no-color"),
            "--format=%x01%H%x00%an%x00%aI",
            *selection,
            "--",
        ],
        cwd=cwd,
    ).stdout


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
    out = run(
        [
            "for-each-ref",
            "--format=%(objecttype)%00%(objectname)%00%(refname)%00%(*objectname)",
            "refs/tags",
        ],
        cwd=cwd,
    ).stdout
    tags = []
    for line in out.decode(errors="replace").splitlines():
        kind, oid, name, target = line.split("\0")
        if kind == "tag":
            tags.append((oid, name, target))
    return tags


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
    result = run(["ls-tree", "-r", "-z", "--full-tree", "HEAD"], cwd=cwd, check=False)
    if result.returncode:
        return set()
    blobs = set()
    for entry in result.stdout.split(b"\0"):
        meta, _, _path = entry.partition(b"\t")
        parts = meta.split(b" ")
        if len(parts) == 3 and parts[1] == b"blob":
            blobs.add(parts[2].decode())
    return blobs


def _stderr(result: subprocess.CompletedProcess[bytes]) -> str:
    return result.stderr.decode(errors="replace").strip() or f"exit {result.returncode}"
