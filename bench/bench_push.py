"""Push hook speed: `notion-leakguard pre-push`, `pre-receive` against git reading the same objects.

Run:  python bench/bench_push.py [--repo PATH] [--runs N] [--commits N]

Without --repo, builds a reproducible repository with `git fast-import`: COMMITS commits
(default 3000) on one branch, each changing 1 to 5 of 300 source files (20 to 200 lines) with
a subject-and-body message, and one token planted 250 commits before the tip. With --repo,
uses PATH's HEAD and its first-parent chain instead (PATH is only read). Three cases:

  push 1      `pre-push bench1 URL` in a clone whose refs/remotes/bench1/main is HEAD~1,
              pushing HEAD (one commit of a few files; thousands already on the remote)
  push 500    the same with the remote-tracking ref at HEAD~500
  receive     `pre-receive` for a full-history push of HEAD into an empty bare repository,
              run the way git runs the hook: cwd the repository, GIT_DIR=., the pushed
              objects in a quarantine directory (GIT_OBJECT_DIRECTORY, GIT_QUARANTINE_PATH),
              stdin `<zeros> <HEAD> refs/heads/main`; the transfer itself is not timed

Each case has its own floor, git reading what the push brings:
`git rev-list --objects --no-object-names TIP --not KNOWN | git cat-file --batch > /dev/null`
with the same KNOWN as the command (the remote-tracking refs and the remote's old value, or
`--all`). The interpreter start-up, `python -c "import click"`, is timed too. All commands
run interleaved (one warm-up each, then rounds), so they share the machine's noise; ours runs
as a subprocess of the console script, start-up included as users see it. Prints medians and
ratios; target: ours <= 1.5x floor + start-up, i.e. (ours - start-up) / floor <= 1.5.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import string
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import NamedTuple

from interleave import interleaved

TARGET = 1.5
PLANTED = 250  # commits before the tip: inside the 500-commit push, outside the 1-commit one
ZEROS = "0" * 40
# As on a user's machine, compiled bytecode is cached.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
FLOOR = 'git rev-list --objects --no-object-names "$@" | git cat-file --batch > /dev/null'


class Run(NamedTuple):
    argv: list[str]
    cwd: Path
    env: dict[str, str]
    stdin: bytes = b""


class Case(NamedTuple):
    name: str
    revisions: list[str]  # what the floor lists: TIP --not KNOWN
    floor: Run
    ours: Run
    expected: int | None  # findings ours must report; None: not checked


def git(*args: str, cwd: Path, env: dict[str, str] | None = None, stdin: bytes = b"") -> str:
    result = subprocess.run(
        ["git", *args], cwd=cwd, env=env or ENV, input=stdin, capture_output=True, check=False
    )
    if result.returncode:
        raise SystemExit(f"git {' '.join(args)} failed: {result.stderr.decode().strip()}")
    return result.stdout.decode()


def build(root: Path, commits: int) -> None:
    """A bare repository of `commits` commits on main, one token planted PLANTED before the
    tip."""
    git("init", "-q", "--bare", str(root), cwd=root.parent)
    rng = random.Random(11)
    files = {
        f"src/pkg{i % 25}/{_word(rng)}_{i}.py": _text(rng, rng.randint(20, 200)) for i in range(300)
    }
    names = sorted(files)
    stream = []
    for number in range(commits):
        changed = rng.sample(names, rng.randint(1, 5)) if number else names
        for name in changed:
            lines = files[name].splitlines()
            for _ in range(rng.randint(1, 4)):
                at = rng.randrange(len(lines))
                if rng.random() < 0.5:
                    lines[at] = _line(rng)
                else:
                    lines.insert(at, _line(rng))
            files[name] = "\n".join(lines) + "\n"
        if number == commits - PLANTED:
            token = "ntn_" + "".join(rng.choices(string.digits, k=11))
            token += "".join(rng.choices(string.ascii_letters + string.digits, k=35))
            files[changed[0]] += f'NOTION_KEY = "{token}"\n'
        message = f"{_word(rng)}: {' '.join(_word(rng) for _ in range(rng.randint(3, 8)))}\n\n"
        message += " ".join(_word(rng) for _ in range(rng.randint(0, 40))) + "\n"
        header = f"commit refs/heads/main\nmark :{number + 1}\n"
        header += f"author Bench <bench@example.com> {1700000000 + 600 * number} +0100\n"
        header += f"committer Bench <bench@example.com> {1700000000 + 600 * number} +0100\n"
        header += f"data {len(message)}\n{message}\n"
        stream.append(header.encode())
        for name in changed:
            data = files[name].encode()
            stream.append(f"M 100644 inline {name}\ndata {len(data)}\n".encode() + data + b"\n")
    subprocess.run(["git", "fast-import", "--quiet"], cwd=root, input=b"".join(stream), check=True)
    git("symbolic-ref", "HEAD", "refs/heads/main", cwd=root)


def _word(rng: random.Random) -> str:
    return "".join(rng.choices(string.ascii_lowercase, k=rng.randint(2, 9)))


def _line(rng: random.Random) -> str:
    kind = rng.random()
    indent = " " * (4 * rng.randint(0, 3))
    if kind < 0.1:
        return f"{indent}# {' '.join(_word(rng) for _ in range(rng.randint(3, 10)))}"
    if kind < 0.2:
        return f"{indent}def {_word(rng)}_{_word(rng)}({_word(rng)}, {_word(rng)}=None):"
    if kind < 0.25:
        return ""
    words = [_word(rng) for _ in range(6)]
    return f"{indent}{words[0]}_{words[1]} = {words[2]}({words[3]!r}, {words[4]}_{words[5]})"


def _text(rng: random.Random, lines: int) -> str:
    return "\n".join(_line(rng) for _ in range(lines)) + "\n"


def scanner() -> list[str]:
    """The console script next to this interpreter, else the module."""
    script = Path(sys.executable).parent / "notion-leakguard"
    return [str(script)] if script.exists() else [sys.executable, "-m", "notion_leakguard"]


def cases(source: Path, work: Path) -> list[Case]:
    """Set up a clone (for pre-push) and an empty bare repository holding the quarantined
    objects of a full push (for pre-receive) in `work`; the three cases."""
    tip = git("rev-parse", "--verify", "HEAD^{commit}", cwd=source).strip()
    chain = git("rev-list", "--first-parent", "--max-count=501", tip, cwd=source).split()
    if len(chain) < 2:
        raise SystemExit(f"{source}: HEAD needs a parent")
    ours = scanner()

    client = work / "client"
    git("clone", "-q", "--shared", "--no-checkout", str(source), str(client), cwd=work)
    pushes = []
    for depth in sorted({1, min(500, len(chain) - 1)}):
        base, remote = chain[depth], f"bench{depth}"
        git("update-ref", f"refs/remotes/{remote}/main", base, cwd=client)
        line = f"refs/heads/main {tip} refs/heads/main {base}\n".encode()
        revisions = [tip, "--not", f"--remotes={remote}", base]
        floor = Run(["sh", "-c", FLOOR, "floor", *revisions], client, ENV)
        command = Run([*ours, "pre-push", remote, f"file://{source}"], client, ENV, line)
        pushes.append(Case(f"push {depth}", revisions, floor, command, int(depth >= PLANTED)))

    server = work / "server.git"
    git("init", "-q", "--bare", str(server), cwd=work)
    quarantine = server / "objects" / "incoming-bench"
    (quarantine / "pack").mkdir(parents=True)
    hook_env = {
        **ENV,
        "GIT_DIR": ".",
        "GIT_OBJECT_DIRECTORY": str(quarantine),
        "GIT_QUARANTINE_PATH": str(quarantine),
        "GIT_ALTERNATE_OBJECT_DIRECTORIES": str(server / "objects"),
    }
    sys.stderr.write("packing the pushed history into the quarantine ...\n")
    packer = subprocess.Popen(
        ["git", "pack-objects", "--revs", "--stdout", "-q"],
        cwd=source,
        env=ENV,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert packer.stdin is not None
    packer.stdin.write(f"{tip}\n".encode())
    packer.stdin.close()
    indexed = subprocess.run(
        ["git", "index-pack", "--stdin", "--fix-thin"],
        cwd=server,
        env=hook_env,
        stdin=packer.stdout,
        stdout=subprocess.DEVNULL,
        check=False,
    )
    if packer.wait() or indexed.returncode:
        raise SystemExit("could not pack the pushed history into the quarantine")
    revisions = [tip, "--not", "--all"]
    receive = Case(
        "receive",
        revisions,
        Run(["sh", "-c", FLOOR, "floor", *revisions], server, hook_env),
        Run([*ours, "pre-receive"], server, hook_env, f"{ZEROS} {tip} refs/heads/main\n".encode()),
        1,
    )
    return [*pushes, receive]


def objects(case: Case) -> Counter[str]:
    """How many commits, trees and blobs the floor reads."""
    run = case.floor
    listed = git(
        "rev-list", "--objects", "--no-object-names", *case.revisions, cwd=run.cwd, env=run.env
    )
    types = git(
        "cat-file", "--batch-check=%(objecttype)", cwd=run.cwd, env=run.env, stdin=listed.encode()
    )
    return Counter(types.split())


def check(case: Case) -> str | None:
    """Why our command's answer is wrong, if it is: exit code and the findings expected."""
    run = case.ours
    result = subprocess.run(
        [*run.argv, "--format", "json"],
        cwd=run.cwd,
        env=run.env,
        input=run.stdin,
        capture_output=True,
    )
    found = result.stdout.decode(errors="replace").count('"rule"')
    if result.returncode != (1 if found else 0) or case.expected not in (None, found):
        output = result.stdout.decode(errors="replace") + result.stderr.decode(errors="replace")
        return f"{case.name}: exit {result.returncode}, {found} finding(s):\n{output}"
    return None


def timed(run: Run) -> float:
    start = time.perf_counter()
    subprocess.run(
        run.argv,
        cwd=run.cwd,
        env=run.env,
        input=run.stdin,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", help="a repository to push (default: a generated one)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--commits", type=int, default=3000)
    args = parser.parse_args(argv)
    if args.commits <= PLANTED:
        parser.error(
            f"--commits: more than {PLANTED}, the token is planted {PLANTED} before the tip"
        )
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        if args.repo:
            source = Path(args.repo).resolve()
        else:
            source = work / "source.git"
            sys.stderr.write(f"building {args.commits} commits with git fast-import ...\n")
            build(source, args.commits)
        all_cases = cases(source, work)
        if args.repo:
            all_cases = [c._replace(expected=None) for c in all_cases]
        for case in all_cases:
            problem = check(case)
            if problem:
                sys.stderr.write(problem)
                return 2
        counts = {case.name: objects(case) for case in all_cases}
        commands = {"start-up": Run([sys.executable, "-c", "import click"], work, ENV)}
        for case in all_cases:
            commands[f"{case.name}/floor"] = case.floor
            commands[f"{case.name}/ours"] = case.ours
        sys.stderr.write(f"timing: {len(commands)} commands, 1 + {args.runs} rounds ...\n")
        times = interleaved(commands, args.runs, timed)

    medians = {name: statistics.median(samples) for name, samples in times.items()}
    start_up = medians["start-up"]
    what = f"{args.repo} (HEAD)" if args.repo else "generated"
    what += f", {counts['receive']['commit']} commits"
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"repository: {what}; medians of {args.runs} interleaved runs; load average {load}")
    print(f'interpreter start-up (python -c "import click"): {start_up * 1000:.1f} ms')
    print(
        f"{'case':<9} {'commits':>7} {'trees':>6} {'blobs':>6} {'floor ms':>9} {'ours ms':>9}"
        f" {'ratio':>7} {'net ratio':>10}"
    )
    for case in all_cases:
        floor, ours = medians[f"{case.name}/floor"], medians[f"{case.name}/ours"]
        count = counts[case.name]
        print(
            f"{case.name:<9} {count['commit']:>7} {count['tree']:>6} {count['blob']:>6}"
            f" {floor * 1000:>9.1f} {ours * 1000:>9.1f} {ours / floor:>6.2f}x"
            f" {(ours - start_up) / floor:>9.2f}x"
        )
    print(f"net ratio = (ours - start-up) / floor; target: net ratio <= {TARGET}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
