"""check-env speed: dotenv hygiene of a repository with many untracked files.

Run:  python bench/bench_envcheck.py [--runs N] [--files N] [--dotenv N]

Builds a repository with FILES untracked files (default 10,000) in nested directories and
DOTENV dotenv files (default 50: some ignored, some not, some templates), then times, from
one run and interleaved, the floor (`python -c "import click"` followed by the one git
command check-env needs: `git ls-files` asked only for dotenv names), `git status --porcelain
--ignored -z` for scale, and `notion-leakguard check-env`, and prints medians and the ratio
(target: <= 1.5x of the floor). Bare `git status` was the old floor; no Python program
reaches 2x of it, since starting the interpreter and importing click alone take 5x.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = 1.5
# What check-env asks git (notion_leakguard.envfiles): tracked, staged and untracked files
# that look like dotenv files, ignored ones left out by git itself.
LS_FILES = [
    "git",
    "ls-files",
    "-z",
    "-t",
    "--cached",
    "--others",
    "--exclude-standard",
    "--",
    ":(top,glob)**/*.env",
    ":(top,glob)**/.env.*",
]
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def build(root: Path, files: int, dotenv: int) -> None:
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    (root / ".gitignore").write_text("node_modules/\n*.log\nsecrets/.env\n")
    for index in range(files):
        path = root / f"pkg{index % 40}" / f"mod{index % 7}" / f"file{index}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n")
    for index in range(dotenv):
        folder = root / f"pkg{index % 40}"
        name = (".env", ".env.local", ".env.example", "prod.env", ".envrc")[index % 5]
        (folder / f"svc{index}").mkdir(parents=True, exist_ok=True)
        (folder / f"svc{index}" / name).write_text("KEY=value\n")
    for index in range(500):  # an ignored tree git never walks
        path = root / "node_modules" / f"m{index}" / "index.js"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("module.exports = 1\n")


def median_time(commands: list[list[str]], cwd: Path, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        for command in commands:
            subprocess.run(command, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, check=False)
        samples.append(time.perf_counter() - start)
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--dotenv", type=int, default=50)
    args = parser.parse_args(argv)
    # The scanner beside this Python (its venv), else the one on PATH.
    here = os.path.dirname(sys.executable)
    scanner = shutil.which("notion-leakguard", path=here) or shutil.which("notion-leakguard")
    if scanner is None:
        sys.exit("notion-leakguard is not installed beside this Python nor on PATH")
    commands: dict[str, list[list[str]]] = {
        "floor": [[sys.executable, "-c", "import click"], LS_FILES],
        "git-status": [["git", "status", "--porcelain", "--ignored", "-z"]],
        # What any click CLI pays before doing anything: shown to split the figure.
        "click": [[sys.executable, "-c", "import click"]],
        "ours": [[scanner, "check-env"]],
    }
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        build(root, args.files, args.dotenv)
        check = subprocess.run(commands["ours"][0], cwd=root, env=ENV, capture_output=True)
        if check.returncode not in (0, 1):
            sys.stderr.write(check.stderr.decode())
            return 2
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, command in commands.items():
                times[name] += median_time(command, root, 1)
    floor = statistics.median(times["floor"])
    print(f"repository: {args.files} untracked files, {args.dotenv} dotenv files; {args.runs} runs")
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"{name:<10} {median * 1000:8.1f} ms {median / floor:6.2f}x")
    ours, click = statistics.median(times["ours"]), statistics.median(times["click"])
    print(f"ours/floor = {ours / floor:.2f}x (target <= {TARGET}x)")
    print(f"(ours - click start-up)/floor = {(ours - click) / floor:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
