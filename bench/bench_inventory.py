"""Inventory speed: many repositories in local processes against one process, and the Dask
path's overhead over the local one, measured in the same run.

Run:  python bench/bench_inventory.py [--repos N] [--commits N] [--runs N] [--workers N]

Builds REPOS (default 50) reproducible repositories with `git fast-import`, each with
COMMITS commits (default 150) changing a few of 60 source files, some holding a key (one
key shared by several repositories). Then times, interleaved, `notion-leakguard inventory`
with --jobs WORKERS (default: the CPUs), with --jobs 1, and with --scheduler pointing at a
`distributed.LocalCluster` of WORKERS single-threaded worker processes on 127.0.0.1
(started once, outside the timings). Prints medians, the local speed-up and the Dask
overhead, and checks that the three reports are the same.
"""

from __future__ import annotations

import argparse
import json
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

ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ALNUM = string.ascii_letters + string.digits


def _token(rng: random.Random) -> str:
    return "ntn_" + "".join(rng.choices(string.digits, k=11)) + "".join(rng.choices(ALNUM, k=35))


def _line(rng: random.Random) -> str:
    words = ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(2, 9))) for _ in range(8)]
    return f"    {words[0]} = {' + '.join(words[1:])}"


def build(root: Path, index: int, commits: int, shared: str) -> None:
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    rng = random.Random(index)
    files = {
        f"src/module_{i}.py": "\n".join(_line(rng) for _ in range(60)) + "\n" for i in range(60)
    }
    planted = {commits // 3: shared if index % 5 == 0 else None, commits // 2: _token(rng)}
    stream = []
    for number in range(commits):
        changed = rng.sample(sorted(files), 3) if number else sorted(files)
        for name in changed:
            lines = files[name].splitlines()
            lines[rng.randrange(len(lines))] = _line(rng)
            files[name] = "\n".join(lines) + "\n"
        key = planted.get(number)
        if key is not None and index % 2 == 0:
            files[changed[0]] += f'NOTION = "{key}"\n'
        head = f"commit refs/heads/main\nmark :{number + 1}\n"
        head += f"committer Bench <bench@example.com> {1700000000 + number * 60} +0000\n"
        message = f"change {number}"
        head += f"data {len(message)}\n{message}\n"
        stream.append(head.encode())
        for name in changed:
            data = files[name].encode()
            stream.append(f"M 100644 inline {name}\ndata {len(data)}\n".encode() + data + b"\n")
    subprocess.run(["git", "fast-import", "--quiet"], cwd=root, input=b"".join(stream), check=True)
    subprocess.run(["git", "checkout", "-q", "main"], cwd=root, check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repos", type=int, default=50)
    parser.add_argument("--commits", type=int, default=150)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    options = parser.parse_args()
    from distributed import LocalCluster

    work = Path(tempfile.mkdtemp(prefix="bench-inventory-"))
    try:
        shared = _token(random.Random("shared"))
        names = []
        for index in range(options.repos):
            build(work / f"repo{index:03d}", index, options.commits, shared)
            names.append(f"repo{index:03d}")
        cli = [sys.executable, "-m", "notion_leakguard", "inventory", *names, "-q", "-f", "json"]
        with LocalCluster(
            n_workers=options.workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster:
            commands = {
                "local": [*cli, "--jobs", str(options.workers)],
                "one process": [*cli, "--jobs", "1"],
                "dask": [*cli, "--scheduler", cluster.scheduler_address],
            }
            reports = {}

            def once(command: list[str]) -> float:
                started = time.perf_counter()
                done = subprocess.run(command, cwd=work, capture_output=True, env=ENV)
                elapsed = time.perf_counter() - started
                if done.returncode != 1:
                    raise SystemExit(f"{command[-2:]} exited {done.returncode}: {done.stderr!r}")
                reports[tuple(command)] = json.loads(done.stdout)
                return elapsed

            times = interleaved(commands, options.runs, once)
        same = len({json.dumps(report, sort_keys=True) for report in reports.values()}) == 1
        keys = len(next(iter(reports.values()))["keys"])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(
        f"{options.repos} repositories x {options.commits} commits, {keys} distinct keys, "
        f"{options.workers} workers, median of {options.runs} runs:"
    )
    for name, value in medians.items():
        print(f"  {name:12} {value:7.2f} s")
    print(
        f"local processes vs one process: {medians['one process'] / medians['local']:.2f}x faster"
    )
    overhead = medians["dask"] / medians["local"]
    print(f"Dask (LocalCluster) vs local processes: {overhead:.2f}x the time")
    print(f"the same report all three ways: {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
