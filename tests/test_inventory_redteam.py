"""Red-team cases for `inventory` (issue 20): what a security team meets on a real
organisation's list of repositories, and a Dask cluster with no worker."""

from __future__ import annotations

import http.server
import json
import os
import pty
import random
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from notion_leakguard.inventory import run
from tests import tokens
from tests.conftest import CLI, git, invoke
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


class _NeedsLogin(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="org"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_a_private_clone_url_fails_at_once_instead_of_prompting(tmp_path: Path) -> None:
    """Run from a terminal, git would stop and ask for a user name: with many repositories
    in worker processes nobody answers. The URL fails with git's reason; its user name (or
    password) never shows."""
    server = http.server.HTTPServer(("127.0.0.1", 0), _NeedsLogin)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://someone@127.0.0.1:{server.server_port}/org/private.git"
    pid, terminal = pty.fork()
    if pid == 0:  # the child, with the pseudo-terminal as its controlling terminal
        os.chdir(tmp_path)
        os.execv(CLI[0], [*CLI, "inventory", "-q", "--cache", "cache", url])
    output = b""
    ends = time.monotonic() + 60
    try:
        while time.monotonic() < ends:
            ready, _, _ = select.select([terminal], [], [], 0.5)
            if ready:
                try:
                    data = os.read(terminal, 4096)
                except OSError:  # the child closed the terminal
                    break
                if not data:
                    break
                output += data
            elif b"Password for" in output:
                break  # waiting for an answer
    finally:
        done, status = os.waitpid(pid, os.WNOHANG)
        while done == 0 and b"Password for" not in output and time.monotonic() < ends:
            time.sleep(0.05)  # its terminal is closed: it is exiting
            done, status = os.waitpid(pid, os.WNOHANG)
        if done == 0:  # still waiting for an answer
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        server.shutdown()
    text = output.decode(errors="replace")
    assert b"Password for" not in output, text
    assert done == pid and os.waitstatus_to_exitcode(status) == 2, text
    shown = f"http://127.0.0.1:{server.server_port}/org/private.git"
    assert f"{shown}: could not clone it into the cache" in text
    assert "Authentication failed" in text and "someone" not in text


def test_one_repository_named_several_ways_is_one_repository(
    tmp_path: Path, rng: random.Random
) -> None:
    """`app`, `./app/` and a symbolic link to it are one repository: one row for its key,
    not a false "the same key is in 3 repositories"."""
    _repo(tmp_path, "app", {"config.py": f'KEY = "{api_token(rng)}"\n'})
    (tmp_path / "current").symlink_to("app")
    result = invoke("inventory", "app", "./app/", "current", "-f", "json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert [r["name"] for r in report["repositories"]] == ["app"]
    ((key,),) = [[k["repositories"] for k in report["keys"]]]
    assert key == ["app"]


def test_a_directory_inside_a_repository_is_not_taken_for_it(
    tmp_path: Path, rng: random.Random
) -> None:
    """git would answer for the enclosing repository (a home directory under version
    control, say): the inventory says the path is no repository instead of scanning that."""
    _repo(tmp_path, "home", {"dotfiles/.bashrc": f"export NOTION_TOKEN={api_token(rng)}\n"})
    (tmp_path / "home" / "projects" / "app").mkdir(parents=True)
    bare = tmp_path / "mirror.git"
    git("clone", "-q", "--bare", str(tmp_path / "home"), str(bare), cwd=tmp_path)
    result = invoke("inventory", "home/projects/app", "mirror.git/refs", cwd=tmp_path)
    assert result.returncode == 2, result.stdout
    assert "No Notion keys" in result.stdout
    top, inside = os.path.realpath(tmp_path / "home"), os.path.realpath(bare)
    assert (
        f"warning: home/projects/app: a directory inside the repository {top}, not one"
    ) in result.stderr
    assert f"warning: mirror.git/refs: a directory inside the repository {inside}, not one" in (
        result.stderr
    )


def test_a_broken_repository_is_named_in_its_warning(tmp_path: Path, rng: random.Random) -> None:
    repo = _repo(tmp_path, "app", {"config.py": f'KEY = "{api_token(rng)}"\n'})
    head = git("rev-parse", "HEAD", cwd=repo).strip()
    (repo / ".git" / "objects" / head[:2] / head[2:]).unlink()  # the commit itself
    result = invoke("inventory", "app", cwd=tmp_path)
    assert result.returncode == 2
    assert "notion-leakguard: warning: app: git " in result.stderr, result.stderr


def test_a_repos_file_as_people_write_it(tmp_path: Path, rng: random.Random) -> None:
    """Saved by Notepad (a BOM, CRLF), with a comment after a path, and a path whose name
    is not UTF-8: every listed repository is scanned, no internal error."""
    key = api_token(rng)
    _repo(tmp_path, "app", {"config.py": f'KEY = "{key}"\n'})
    odd = os.fsencode(tmp_path) + b"/caf\xe9"
    os.rename(_repo(tmp_path, "cafe", {"k.py": f'K = "{key}"\n'}), odd)
    listing = b"\xef\xbb\xbf# our repositories\r\napp  # the main app\r\ncaf\xe9\r\n"
    (tmp_path / "repos.txt").write_bytes(listing)
    result = invoke("inventory", "--repos-file", "repos.txt", "-f", "json", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (1, "")
    report = json.loads(result.stdout)
    assert [r["name"] for r in report["repositories"]] == ["app", "caf\udce9"]
    assert [k["repositories"] for k in report["keys"]] == [["app", "caf\udce9"]]


def test_a_directory_named_with_a_key_keeps_its_repository(
    tmp_path: Path, rng: random.Random
) -> None:
    """HEAD:<directory> is a tree, not a blob: asking for it must not lose the repository,
    and a key in a name that HEAD still has is marked so."""
    dir_key, file_key = tokens.api_token(rng), tokens.legacy_token(rng)
    repo = _repo(
        tmp_path,
        "r",
        {f"cache/{dir_key}/x.json": "{}\n", "app.py": f'NOTION = "{file_key}"  # notion\n'},
    )
    result = invoke("inventory", "-q", "--jobs", "1", "--format", "json", repo.name, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    keys = json.loads(result.stdout)["keys"]
    assert {key["preview"] for key in keys} == {tokens.preview(dir_key), tokens.preview(file_key)}
    places = {(o["path"], o["at_head"]) for key in keys for o in key["occurrences"]}
    assert (f"cache/{tokens.preview(dir_key)}", True) in places
    assert dir_key not in result.stdout + result.stderr
