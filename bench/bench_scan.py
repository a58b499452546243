"""Benchmark notion-leakguard against a cat floor and grep on large real trees.

Run:  python bench/bench_scan.py [PATH ...] [--runs N] [--scanner CMD] [--json]
                                 [--trees all|standard|js] [--cache DIR] [--check]

Two standard trees, both timed in one run: `standard`, this Python's stdlib dir plus
purelib (site-packages) if it is not inside stdlib; and `js`, the stdlib's sources plus the
packages of an npm install of large JavaScript libraries (built once under --cache, see
js_tree.py). PATHs given instead make one tree. Each command gets one warm-up pass, then N
timed runs taken round-robin over every tree (floor, grep, ours of each, then again), so that
the ratios of a tree share the machine's noise. Exits non-zero only if a command fails or the
JavaScript tree cannot be built; missing the target is reported, not treated as an error.

`ours` is the scan as installed (with the accelerator when hyperscan is importable),
`pure` the same scan with NOTION_LEAKGUARD_ACCELERATOR=0. --check only scans each tree
both ways once and compares the findings (exit 1 when they differ).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import shutil
import stat
import statistics
import subprocess
import sys
import sysconfig
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from interleave import interleaved
from js_tree import default_cache, js_tree

TARGET = 1.5
NAMES = ("floor", "grep", "ours", "pure")
PURE = ["env", "NOTION_LEAKGUARD_ACCELERATOR=0"]
FLOOR_SCRIPT = 'find "$@" -type f -print0 | xargs -0 cat > /dev/null'


@dataclass
class Result:
    name: str
    median_s: float
    min_s: float
    max_s: float
    ratio: float  # median / floor median
    mb_per_s: float
    cpu_s: float  # median CPU seconds (user + system, all processes): what a busy machine
    cpu_ratio: float  # changes least; / floor's. With two idle cores wall ~ cpu / 2.


def default_paths() -> list[str]:
    paths = sysconfig.get_paths()
    stdlib = Path(paths["stdlib"]).resolve()
    purelib = Path(paths["purelib"]).resolve()
    result = [str(stdlib)]
    if purelib.is_dir() and stdlib not in purelib.parents and purelib != stdlib:
        result.append(str(purelib))
    return result


def default_scanner() -> list[str]:
    beside = Path(sys.executable).parent / "notion-leakguard"
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside)]
    found = shutil.which("notion-leakguard")
    if found:
        return [found]
    return [sys.executable, "-m", "notion_leakguard"]


def tree_size(paths: list[str]) -> tuple[int, int]:
    """Count regular files and bytes, not following symlinks (like find -type f)."""
    files = total = 0
    for root in paths:
        for dirpath, _dirs, names in os.walk(root, followlinks=False):
            for name in names:
                try:
                    st = os.lstat(os.path.join(dirpath, name))
                except OSError:
                    continue
                if stat.S_ISREG(st.st_mode):
                    files += 1
                    total += st.st_size
    return files, total


def run_once(cmd: list[str]) -> tuple[float, float, int, bytes]:
    """Wall seconds, CPU seconds of the command and every process it waited for, exit
    code, standard error."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    except OSError as exc:  # e.g. scanner executable not found
        sys.exit(f"error: cannot run {shlex.join(cmd)}: {exc}")
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return elapsed, cpu, proc.returncode, proc.stderr or b""


def check(cmd: list[str], code: int, ok: set[int], stderr: bytes) -> None:
    if code not in ok:
        print(f"error: exit {code}: {shlex.join(cmd)}", file=sys.stderr)
        sys.stderr.write(stderr.decode(errors="replace"))
        sys.exit(2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", metavar="PATH", help="one tree to scan instead")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per command")
    parser.add_argument("--scanner", help="scanner command (split with shlex)")
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    parser.add_argument(
        "--trees", choices=("all", "standard", "js"), default="all", help="standard trees to time"
    )
    parser.add_argument("--cache", type=Path, help="where the JavaScript tree is built")
    parser.add_argument(
        "--check", action="store_true", help="compare the findings with and without accelerator"
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be >= 1")

    if args.paths:
        trees: dict[str, list[str]] = {"paths": list(args.paths)}
    else:
        trees = {}
        if args.trees in ("all", "standard"):
            trees["standard"] = default_paths()
        if args.trees in ("all", "js"):
            trees["js"] = js_tree(args.cache or default_cache())
    # cat and grep read every file; so must we. An interpreter installed inside a git work
    # tree that ignores it (pyenv's) would otherwise be skipped as git-ignored.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # cache bytecode, as for a user
    os.environ["GIT_CEILING_DIRECTORIES"] = os.pathsep.join(
        str(Path(p).resolve().parent) for paths in trees.values() for p in paths
    )
    scanner = shlex.split(args.scanner) if args.scanner else default_scanner()
    # "tree/name" -> (command, accepted exit codes). xargs returns 123 if some cat
    # failed (e.g. an unreadable file); grep returns 1 on no match, 2 on such errors.
    commands: dict[str, tuple[list[str], set[int]]] = {}
    for tree, paths in trees.items():
        commands[f"{tree}/floor"] = (["bash", "-c", FLOOR_SCRIPT, "bench", *paths], {0, 123})
        commands[f"{tree}/grep"] = (
            ["grep", "-rF", "-e", "ntn_", "-e", "secret_", *paths],
            {0, 1, 2},
        )
        ours = [*scanner, "scan", *paths, "--format", "json", "--output", os.devnull]
        commands[f"{tree}/ours"] = (ours, {0, 1})
        commands[f"{tree}/pure"] = ([*PURE, *ours], {0, 1})
    if args.check:
        return check_findings(trees, scanner)

    sizes = {tree: tree_size(paths) for tree, paths in trees.items()}
    if not args.json:
        print(f"scanner: {shlex.join(scanner)}; runs: {args.runs}, rounds alternate every command")
        for tree, paths in trees.items():
            files, nbytes = sizes[tree]
            print(f"tree {tree}: {files} files, {nbytes / 1e6:.1f} MB in {' '.join(paths)}")
        print(f"load average at start: {loadavg()}")

    cpu: dict[str, list[float]] = {name: [] for name in commands}

    def once(name: str) -> float:
        cmd, ok = commands[name]
        elapsed, seconds, code, err = run_once(cmd)
        check(cmd, code, ok, err)
        cpu[name].append(seconds)
        return elapsed

    times = interleaved({name: name for name in commands}, args.runs, once)

    reports = []
    for tree, paths in trees.items():
        files, nbytes = sizes[tree]
        results = summarise(
            {name: times[f"{tree}/{name}"] for name in NAMES},
            {name: cpu[f"{tree}/{name}"][1:] for name in NAMES},  # [0]: the warm-up
            nbytes / 1e6,
        )
        reports.append(
            {
                "tree": tree,
                "paths": paths,
                "files": files,
                "bytes": nbytes,
                "results": [asdict(r) for r in results],
                "ours_over_floor": results[2].ratio,
                "pure_over_floor": results[3].ratio,
            }
        )
        if not args.json:
            print(f"\n{tree}: {files} files, {nbytes / 1e6:.1f} MB")
            print(
                f"{'name':<6} {'median s':>9} {'min s':>8} {'max s':>8} {'ratio':>7} "
                f"{'MB/s':>9} {'cpu s':>7} {'cpu ratio':>9}"
            )
            for r in results:
                print(
                    f"{r.name:<6} {r.median_s:>9.3f} {r.min_s:>8.3f} "
                    f"{r.max_s:>8.3f} {r.ratio:>6.2f}x {r.mb_per_s:>9.1f} "
                    f"{r.cpu_s:>7.3f} {r.cpu_ratio:>8.2f}x"
                )
            print(
                f"ours/floor = {results[2].ratio:.2f}x, pure/floor = {results[3].ratio:.2f}x "
                f"(target <= {TARGET}x)"
            )

    if args.json:
        document = {"runs": args.runs, "scanner": scanner, "target": TARGET, "load": loadavg()}
        print(json.dumps({**document, "trees": reports}, indent=2))
    else:
        print(f"\nload average at end: {loadavg()}")
    return 0


def check_findings(trees: dict[str, list[str]], scanner: list[str]) -> int:
    """Scan each tree, with planted keys added, with and without the accelerator; the
    findings must be the same."""
    import tempfile

    differ = 0
    with tempfile.TemporaryDirectory() as tmp:
        planted = os.path.join(tmp, "planted")
        plant(planted)
        for tree, paths in trees.items():
            paths = [*paths, planted]
            found = []
            for name, prefix in (("ours", []), ("pure", PURE)):
                out = os.path.join(tmp, f"{tree}-{name}.json")
                cmd = [*prefix, *scanner, "scan", *paths, "--format", "json", "--output", out]
                _, _, code, err = run_once(cmd)
                check(cmd, code, {0, 1}, err)
                with open(out, encoding="utf-8") as report:
                    found.append(json.load(report)["findings"])
            same = found[0] == found[1]
            differ += not same
            print(
                f"{tree}: {len(found[0])} findings with the accelerator, {len(found[1])} "
                f"without: {'the same' if same else 'DIFFERENT'}"
            )
    return 1 if differ else 0


def plant(directory: str, files: int = 500) -> None:
    """Files with keys made up at run time, stored in every way the scanner reads them."""
    import base64
    import random

    rng = random.Random(18)
    alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

    def pick(alphabet: str, n: int) -> str:
        return "".join(rng.choice(alphabet) for _ in range(n))

    os.makedirs(directory)
    for index in range(files):
        key = rng.choice(
            (
                "ntn_" + pick("0123456789", 11) + pick(alnum, 35),
                "secret_" + pick(alnum, 43),
                "v02%3Auser_token_or_cookies%3A" + pick(alnum + "-_", 132),
            )
        )
        head, _, tail = key.partition("_")
        env = f"# app\nNOTION_TOKEN={key}\nDEBUG=1\n".encode()
        raw = b"p" * (index % 3) + env
        encoded = base64.b64encode(raw) if index % 2 else base64.urlsafe_b64encode(raw)
        lines = [encoded[i : i + 64] for i in range(0, len(encoded), 64)]
        form = rng.choice(
            (
                key.encode(),
                f"{head}%5F{tail}".encode(),
                f"{head}\\u005f{tail}".encode(),
                "".join(f"%{byte:02X}" for byte in key.encode()).encode(),
                env.hex().encode(),
                encoded,
                base64.b64encode(b"auth:" + encoded),
                b"\n  ".join(lines),
                b"\r\n".join(lines),
            )
        )
        filler = pick(alnum + " \n", rng.randrange(0, 3000)).encode()
        with open(os.path.join(directory, f"f{index}.txt"), "wb") as out:
            out.write(filler + b"\nvalue: " + form + b"\n" + filler)


def loadavg() -> str:
    return " ".join(f"{load:.2f}" for load in os.getloadavg())


def summarise(
    times: dict[str, list[float]], cpu: dict[str, list[float]], mb: float
) -> list[Result]:
    floor = statistics.median(times["floor"])
    floor_cpu = statistics.median(cpu["floor"])
    results: list[Result] = []
    for name, ts in times.items():
        med = statistics.median(ts)
        ratio = med / floor if floor > 0 else float("inf")
        rate = mb / med if med > 0 else float("inf")
        seconds = statistics.median(cpu[name])
        cpu_ratio = seconds / floor_cpu if floor_cpu > 0 else float("inf")
        results.append(Result(name, med, min(ts), max(ts), ratio, rate, seconds, cpu_ratio))
    return results


if __name__ == "__main__":
    sys.exit(main())
