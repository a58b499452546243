"""Hook latency: `notion-leakguard scan --staged` on a typical staged change.

Run:  python bench/bench_hook.py [--runs N] [--files N] [--lines N]

Builds a throwaway repository with one commit, then stages a change of FILES files and
about LINES added lines (default 20 and 500, no token), and times from one run, commands
interleaved so they share the machine's noise:

  floor    python -c "import click"  followed by  git diff --cached --no-ext-diff -z
  ours     notion-leakguard scan --staged
  ds-hook  detect-secrets-hook on the same files (if installed)

and prints medians with ratios against the floor (target: ours <= 1.5x floor).
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

TARGET = 1.5


def build_repo(root: Path, files: int, lines: int) -> list[str]:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)

    rng = random.Random(1)
    git("init", "-q")
    git("config", "user.email", "bench@example.com")
    git("config", "user.name", "bench")
    names = [f"src/module_{i}.py" for i in range(files)]
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"OLD_{i} = {i}\n" for i in range(200)))
    git("add", ".")
    git("commit", "-qm", "initial")
    per_file = max(1, lines // files)
    for name in names:
        added = "".join(
            f"value_{i} = '{''.join(rng.choices(string.ascii_letters, k=40))}'  # _x_\n"
            for i in range(per_file)
        )
        with open(root / name, "a") as stream:
            stream.write(added)
    git("add", ".")
    return names


# As on a user's machine, compiled bytecode is cached (pip writes it for installed
# packages; an editable install writes it on first use unless this is set).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def time_once(commands: list[list[str]], cwd: Path) -> float:
    start = time.perf_counter()
    for command in commands:
        subprocess.run(
            command, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--lines", type=int, default=500)
    args = parser.parse_args(argv)

    scanner = shutil.which("notion-leakguard") or "notion-leakguard"
    ds_hook = shutil.which("detect-secrets-hook")
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        names = build_repo(root, args.files, args.lines)
        check = subprocess.run([scanner, "scan", "--staged"], cwd=root, capture_output=True)
        if check.returncode != 0:
            sys.stderr.write(check.stdout.decode() + check.stderr.decode())
            return 2
        commands = {
            "floor": [
                [sys.executable, "-c", "import click"],
                ["git", "diff", "--cached", "--no-ext-diff", "-z"],
            ],
            "ours": [[scanner, "scan", "--staged"]],
        }
        if ds_hook:
            commands["ds-hook"] = [[ds_hook, *names]]
        times = interleaved(commands, args.runs, lambda command: time_once(command, root))

    floor = statistics.median(times["floor"])
    print(f"staged change: {args.files} files, ~{args.lines} added lines; {args.runs} runs")
    print(f"{'name':<8} {'median ms':>10} {'ratio':>7}")
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"{name:<8} {median * 1000:>10.1f} {median / floor:>6.2f}x")
    ours = statistics.median(times["ours"]) / floor
    print(f"ours/floor = {ours:.2f}x (target <= {TARGET}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
