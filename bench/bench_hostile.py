"""Hostile input: pathological inputs must scan in linear time, and memory stays bounded.

Run:  python bench/bench_hostile.py [--quick]

1. Throughput of the scanner core (in this process) on pathological inputs, each against
   the rate on normal text measured in the same run (Python files of the standard
   library): `ntn_` followed by a megabyte of digits, `secret_` repeated, prefixes with
   escaped underscores repeated, a long base64 run full of prefix images (also wrapped over
   lines, as `base64` and MIME write it), a 50 MB line.
   None may fall below a tenth of the normal rate.
2. Peak memory (max RSS of the `notion-leakguard scan` process, from /usr/bin/time or
   getrusage) scanning a 2 GB file, a 5 GB sparse file and a tree of 100,000 small files;
   the limit is 200 MB.
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import resource
import shutil
import string
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

from notion_leakguard.scanner import scan_blocks

BLOCK = 1 << 20
MEMORY_LIMIT_MB = 200


def rate(data: bytes) -> float:
    """MB/s of the scanner over data fed in 1 MiB blocks, best of three."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        list(scan_blocks((data[i : i + BLOCK] for i in range(0, len(data), BLOCK)), "x"))
        best = min(best, time.perf_counter() - start)
    return len(data) / best / 1e6


def normal_text(limit: int) -> bytes:
    pieces, size = [], 0
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).rglob("*.py")):
        data = path.read_bytes()
        pieces.append(data)
        size += len(data)
        if size >= limit:
            break
    return b"".join(pieces)


def pathological(scale: int) -> dict[str, bytes]:
    rng = random.Random(3)
    alnum = (string.ascii_letters + string.digits).encode()
    mb = 1 << 20
    return {
        "ntn_ + digits, no end": b"ntn_" + b"7" * mb * scale,
        "ntn_ + 11 digits, repeated": b"ntn_12345678901" * (mb * scale // 15),
        "secret_ repeated": b"secret_" * (mb * scale // 7),
        "secret_ + 43 alnum, repeated": (b"secret_" + b"Ab1" * 15) * (mb * scale // 52),
        "%5F / \\u005f prefixes repeated": b"ntn%5Fsecret%5Fntn\\u005f" * (mb * scale // 24),
        "token_v2= + endless hex": b"token_v2=" + b"ab" * (mb * scale // 2),
        "base64 of ntn_ repeated": base64.b64encode(b"ntn_" * (3 * mb * scale // 16)),
        "the same wrapped at 76 columns": base64.encodebytes(b"ntn_" * (3 * mb * scale // 16)),
        "50 MB single line": bytes(rng.choice(alnum) for _ in range(mb)) * (50 if scale > 1 else 5),
    }


def peak_rss_mb(command: list[str]) -> tuple[float, float]:
    """Wall time and peak RSS (MB) of a command, measured by the kernel."""
    time_binary = shutil.which("time") or "/usr/bin/time"
    start = time.perf_counter()
    if os.path.exists(time_binary):
        result = subprocess.run(
            [time_binary, "-f", "%M", *command],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
        code = result.returncode
        peak = float(result.stderr.strip().splitlines()[-1]) / 1024
    else:  # getrusage of children: the largest child so far
        code = subprocess.run(command, stdout=subprocess.DEVNULL, check=False).returncode
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if code not in (0, 1):  # a scanner that did not run has no peak worth reporting
        sys.exit(f"error: exit {code}: {' '.join(command)}")
    return time.perf_counter() - start, peak


def memory(root: Path, quick: bool) -> list[tuple[str, float, float]]:
    beside = Path(sys.executable).parent / "notion-leakguard"  # this venv's, as bench_scan
    scanner = (
        str(beside) if beside.is_file() else shutil.which("notion-leakguard") or "notion-leakguard"
    )
    results = []
    big = root / "big.log"
    line = b"2026-11-21 12:00:00 INFO request served in 12 ms id=" + b"x" * 40 + b"\n"
    with open(big, "wb") as stream:
        block = line * (BLOCK // len(line))
        for _ in range(64 if quick else 2048):
            stream.write(block)
    results.append(("2 GB text file" if not quick else "64 MB text file", big))
    sparse = root / "sparse.img"
    with open(sparse, "wb") as stream:
        stream.truncate((1 if quick else 5) << 30)
    results.append(("5 GB sparse file" if not quick else "1 GB sparse file", sparse))
    tree = root / "tree"
    count = 10_000 if quick else 100_000
    for index in range(count):
        folder = tree / f"d{index % 100}"
        if index < 100:
            folder.mkdir(parents=True)
        (folder / f"f{index}.txt").write_bytes(b"nothing to see\n")
    results.append((f"{count:,} small files", tree))
    measured = []
    for name, path in results:
        wall, peak = peak_rss_mb([scanner, "scan", str(path), "--output", os.devnull])
        measured.append((name, wall, peak))
        if path.is_file():
            path.unlink()
    measured.append(staged_memory(root, scanner, quick))
    return measured


def staged_memory(root: Path, scanner: str, quick: bool) -> tuple[str, float, float]:
    """`scan --staged` with one large file staged (read whole from the index, in blocks)."""
    repo = root / "repo"
    repo.mkdir()
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.com"}
    env.update(GIT_COMMITTER_NAME="b", GIT_COMMITTER_EMAIL="b@example.com")
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True, env=env)
    line = b"2026-11-21 12:00:00 INFO request served in 12 ms id=" + b"x" * 40 + b"\n"
    size = (64 if quick else 512) << 20
    with open(repo / "staged.log", "wb") as stream:
        block = line * (BLOCK // len(line))
        for _ in range(size // len(block) + 1):
            stream.write(block)
    subprocess.run(["git", "add", "staged.log"], cwd=repo, check=True, env=env)
    start = os.getcwd()
    os.chdir(repo)
    try:
        wall, peak = peak_rss_mb([scanner, "scan", "--staged", "--output", os.devnull])
    finally:
        os.chdir(start)
        shutil.rmtree(repo)
    return f"scan --staged, {size >> 20} MB staged", wall, peak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller inputs")
    args = parser.parse_args(argv)
    normal = rate(normal_text((8 if args.quick else 50) << 20))
    print(f"normal text: {normal:.0f} MB/s (floor for each case: {normal / 10:.0f} MB/s)")
    failed = False
    for name, data in pathological(1 if args.quick else 4).items():
        speed = rate(data)
        verdict = "ok" if speed >= normal / 10 else "TOO SLOW"
        failed |= speed < normal / 10
        size = len(data) / 1e6
        print(f"  {name:<32} {size:7.1f} MB {speed:8.0f} MB/s {speed / normal:6.2f}x  {verdict}")
    with tempfile.TemporaryDirectory() as directory:
        for name, wall, peak in memory(Path(directory), args.quick):
            verdict = "ok" if peak <= MEMORY_LIMIT_MB else "OVER"
            failed |= peak > MEMORY_LIMIT_MB
            print(f"  {name:<32} {wall:7.1f} s  peak RSS {peak:6.1f} MB  {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
