"""Red-team cases for `inventory` (issue 20): what a security team meets on a real
organisation's list of repositories, and a Dask cluster with no worker."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from notion_leakguard.inventory import run
from tests.conftest import git, invoke
from tests.tokens import api_token

DASK = str(Path(sys.executable).parent / "dask")


def _repo(root: Path, name: str, files: dict[str, str]) -> Path:
    repo = root / name
    git("init", "-q", str(repo), cwd=root)
    for path, text in files.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
    if files:
        git("add", "-A", cwd=repo)
        git("commit", "-q", "--no-verify", "-m", "add", cwd=repo)
    return repo


def test_a_scheduler_without_workers_ends_with_a_clear_error(
    tmp_path: Path, rng: random.Random, monkeypatch: pytest.MonkeyPatch
) -> None:
    where = tmp_path / "scheduler.json"
    with open(tmp_path / "scheduler.log", "wb") as log:
        scheduler = subprocess.Popen(
            [
                DASK,
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(where),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        ends = time.monotonic() + 60
        while not where.exists() or "address" not in where.read_text():
            assert scheduler.poll() is None and time.monotonic() < ends, "no scheduler"
            time.sleep(0.1)
        address = json.loads(where.read_text())["address"]
        _repo(tmp_path, "app", {"config.py": f'KEY = "{api_token(rng)}"\n'})
        monkeypatch.setattr(run, "NO_WORKERS_WAIT", 3.0)
        start = time.monotonic()
        result = invoke("inventory", "app", "--scheduler", address, cwd=tmp_path, timeout=60)
        assert time.monotonic() - start < 30
        assert result.returncode == 2, result.stderr
        assert f"the Dask scheduler at {address} has had no worker for 3 seconds" in (result.stderr)
        assert "Traceback" not in result.stderr
    finally:
        os.killpg(scheduler.pid, signal.SIGTERM)
        scheduler.wait(timeout=30)
