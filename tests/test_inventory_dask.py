"""`inventory --scheduler`: a real Dask scheduler and two real workers on 127.0.0.1, started
as a user starts them (`dask scheduler`, `dask worker`). The result is the local one; a
worker killed while it scans a repository loses nothing and does not hang the client."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from notion_leakguard.inventory.collect import DELAY_ENV
from tests.conftest import CLI, invoke
from tests.test_inventory import make_org

DASK = str(Path(sys.executable).parent / "dask")
DELAY = 2.0  # seconds each repository's task waits on a worker: time to kill one mid-task


class Cluster(NamedTuple):
    address: str
    workers: dict[str, subprocess.Popen[bytes]]  # by name


def _wait_for(path: Path, process: subprocess.Popen[bytes], seconds: float) -> str:
    ends = time.monotonic() + seconds
    while time.monotonic() < ends:
        if path.exists():
            try:
                return str(json.loads(path.read_text())["address"])
            except (ValueError, KeyError):
                pass  # being written
        assert process.poll() is None, "the scheduler exited"
        time.sleep(0.1)
    raise AssertionError("the scheduler wrote no address")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    from distributed import Client

    started: list[subprocess.Popen[bytes]] = []
    logs = tmp_path / "dask-logs"
    logs.mkdir()
    where = tmp_path / "scheduler.json"

    def start(name: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        with open(logs / f"{name}.log", "wb") as log:
            process = subprocess.Popen(
                [DASK, *args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})},
                start_new_session=True,
            )
        started.append(process)
        return process

    try:
        scheduler = start(
            "scheduler",
            *("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard"),
            *("--scheduler-file", str(where)),
        )
        address = _wait_for(where, scheduler, 60)
        workers = {
            name: start(
                name,
                *("worker", "--scheduler-file", str(where), "--host", "127.0.0.1"),
                *("--nthreads", "1", "--no-nanny", "--no-dashboard", "--name", name),
                *("--local-directory", str(tmp_path / name)),
                env={DELAY_ENV: str(DELAY)},
            )
            for name in ("w1", "w2")
        }
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        yield Cluster(address, workers)
    finally:
        for process in started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in started:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _busy_workers(address: str, wanted: int, seconds: float) -> list[str]:
    """The names of the workers running a task, once `wanted` of them are."""
    from distributed import Client

    with Client(address, timeout="30s") as client:
        ends = time.monotonic() + seconds
        while time.monotonic() < ends:
            busy = [address for address, keys in client.processing().items() if keys]
            if len(busy) >= wanted:
                info = client.scheduler_info()["workers"]
                return [str(info[address]["name"]) for address in busy]
            time.sleep(0.05)
    raise AssertionError("the workers never got the tasks")


def test_dask_gives_the_local_inventory_and_survives_a_killed_worker(
    cluster: Cluster, tmp_path: Path, rng: random.Random
) -> None:
    org = make_org(_made(tmp_path), rng)
    local = invoke("inventory", *org.repos, "-f", "json", "--jobs", "2", cwd=org.root)
    assert local.returncode == 1, local.stderr
    run = subprocess.Popen(
        [*CLI, "inventory", *org.repos, "-f", "json", "-q", "--scheduler", cluster.address],
        cwd=org.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        victim = _busy_workers(cluster.address, 2, 60)[0]
        cluster.workers[victim].kill()  # mid-task: each task waits DELAY seconds first
        cluster.workers[victim].wait()
        out, err = run.communicate(timeout=180)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert run.returncode == 1, err
    remote = json.loads(out)
    assert remote == json.loads(local.stdout)
    assert [r["name"] for r in remote["repositories"]] == list(org.repos)
    assert all("error" not in r for r in remote["repositories"])


def test_an_unreachable_scheduler_is_exit_2(tmp_path: Path, rng: random.Random) -> None:
    org = make_org(_made(tmp_path), rng)
    result = invoke("inventory", "docs", "--scheduler", "tcp://127.0.0.1:9", cwd=org.root)
    assert result.returncode == 2
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in result.stderr


def _made(tmp_path: Path) -> Path:
    root = tmp_path / "org"
    root.mkdir()
    return root
