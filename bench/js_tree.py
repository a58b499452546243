"""The JavaScript-heavy benchmark tree: the CPython standard library plus the packages of a
frontend-style `npm install` (large generated and minified JavaScript), about 8,800 files and
460 MB, built once into a cache directory and reused.

npm's `node_modules` directories are renamed `js_packages`, so that a scanner's ignore rules
for that name cannot make it read fewer files than `cat` does.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

# The top-level packages of issue 18, pinned to the versions the registry resolved when the
# tree was first measured, so that later runs read (nearly) the same bytes.
PACKAGES = (
    "typescript@5.9.3",
    "@notionhq/client@5.26.0",
    "googleapis@178.0.0",
    "aws-sdk@2.1693.0",
)
RENAMED = "js_packages"


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "notion-leakguard-bench"


def js_tree(cache: Path) -> list[str]:
    """The tree's top directories, built under `cache` unless already there."""
    python = "".join(map(str, sys.version_info[:2]))
    packages = hashlib.sha256(" ".join(PACKAGES).encode()).hexdigest()[:10]
    root = cache / f"js-tree-py{python}-{packages}"
    parts = [root / "stdlib", root / RENAMED]
    if not all(part.is_dir() for part in parts):
        build(root)
    return [str(part) for part in parts]


def build(root: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("error: the JavaScript tree needs npm to build (or pass --trees standard)")
    staging = root.with_name(root.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    print(f"building the JavaScript tree in {root} (npm install, once)", file=sys.stderr)
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    shutil.copytree(
        stdlib,
        staging / "stdlib",
        symlinks=True,
        ignore=shutil.ignore_patterns("site-packages", "__pycache__"),
    )
    command = [npm, "install", "--prefix", str(staging), "--no-audit", "--no-fund"]
    command += ["--ignore-scripts", "--no-save", *PACKAGES]
    done = subprocess.run(command, stdout=subprocess.DEVNULL, check=False)
    if done.returncode != 0:
        sys.exit(f"error: npm install failed ({done.returncode}); left {staging} to inspect")
    rename_node_modules(staging / "node_modules")
    os.rename(staging / "node_modules", staging / RENAMED)
    shutil.rmtree(root, ignore_errors=True)
    os.rename(staging, root)


def rename_node_modules(top: Path) -> None:
    """Rename every nested `node_modules` below `top`, deepest first."""
    for dirpath, dirnames, _files in os.walk(top, topdown=False):
        if "node_modules" in dirnames:
            os.rename(os.path.join(dirpath, "node_modules"), os.path.join(dirpath, RENAMED))
