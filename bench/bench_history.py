"""History scan speed: `notion-leakguard scan --history` against reading every object.

Run:  python bench/bench_history.py [REPO] [--runs N] [--commits N]

Without REPO, builds a reproducible repository with `git fast-import`: COMMITS commits
(default 3000), each changing a few of 400 source files (a few KB each), plus one
planted token. Times, from one run and interleaved, the floor
`git cat-file --batch-all-objects --batch > /dev/null` and the history scan, and prints
medians and the ratio (target: <= 1.6x, issue 18); with betterleaks installed (on PATH, or
--betterleaks), `betterleaks git` with commit messages too, on the same repository.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from interleave import interleaved

TARGET = 1.6
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def build(root: Path, commits: int) -> None:
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    rng = random.Random(7)
    files = {f"src/pkg{i % 20}/module_{i}.py": _text(rng, 60) for i in range(400)}
    stream = []
    for number in range(commits):
        changed = rng.sample(sorted(files), 3) if number else sorted(files)
        for name in changed:
            lines = files[name].splitlines()
            lines[rng.randrange(len(lines))] = _line(rng)
            files[name] = "\n".join(lines) + "\n"
        if number == commits // 2:  # one token, removed again later
            token = "ntn_" + "".join(rng.choices(string.digits, k=11))
            token += "".join(rng.choices(string.ascii_letters + string.digits, k=35))
            files[changed[0]] += f'KEY = "{token}"\n'
        body = [f"commit refs/heads/main\nmark :{number + 1}\n"]
        body.append(f"committer Bench <bench@example.com> {1700000000 + number} +0000\n")
        message = f"change {number}"
        body.append(f"data {len(message)}\n{message}\n")
        for name in changed:
            data = files[name].encode()
            body.append(f"M 100644 inline {name}\ndata {len(data)}\n")
            stream.append("".join(body).encode() + data + b"\n")
            body = []
        if body:
            stream.append("".join(body).encode())
    subprocess.run(["git", "fast-import", "--quiet"], cwd=root, input=b"".join(stream), check=True)
    subprocess.run(["git", "checkout", "-q", "main"], cwd=root, check=True)


def _line(rng: random.Random) -> str:
    words = ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(2, 9))) for _ in range(6)]
    return f"    {words[0]}_{words[1]} = {words[2]}({words[3]!r}, {words[4]}_{words[5]})"


def _text(rng: random.Random, lines: int) -> str:
    return "\n".join(_line(rng) for _ in range(lines)) + "\n"


def timed(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", nargs="?")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--commits", type=int, default=3000)
    parser.add_argument("--betterleaks", help="betterleaks binary (default: on PATH, if any)")
    args = parser.parse_args(argv)
    scanner = shutil.which("notion-leakguard") or "notion-leakguard"
    with tempfile.TemporaryDirectory() as directory:
        root = Path(args.repo) if args.repo else Path(directory) / "repo"
        if not args.repo:
            build(root, args.commits)
        commands = {
            "floor": ["sh", "-c", "git cat-file --batch-all-objects --batch > /dev/null"],
            "ours": [scanner, "scan", "--history", "--quiet", "--output", os.devnull],
        }
        betterleaks = args.betterleaks or shutil.which("betterleaks")
        if betterleaks:  # every commit's patch, and the messages, as ours reads them
            commands["betterleaks"] = [
                *(betterleaks, "git", ".", "--no-banner", "--silent", "--exit-code=0"),
                "--include=commit-messages",
            ]
        count = subprocess.run(
            ["git", "rev-list", "--count", "HEAD"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
        check = subprocess.run(
            [scanner, "scan", "--history", "--quiet", "--format", "json"],
            cwd=root,
            capture_output=True,
            text=True,
        )
        if not args.repo and check.stdout.count('"rule"') != 1:
            sys.stderr.write(f"expected the planted token once:\n{check.stdout}{check.stderr}")
            return 2
        times = interleaved(commands, args.runs, lambda command: timed(command, root))
    floor = statistics.median(times["floor"])
    print(f"history: {count} commits; {args.runs} runs")
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"{name:<11} {median * 1000:9.1f} ms {median / floor:6.2f}x")
    ratio = statistics.median(times["ours"]) / floor
    print(f"ours/floor = {ratio:.2f}x (target <= {TARGET}x)")
    if "betterleaks" in times:
        than = statistics.median(times["betterleaks"]) / statistics.median(times["ours"])
        print(f"betterleaks/ours = {than:.2f}x (above 1: ours is faster)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
