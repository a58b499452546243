"""Hostile input (issue 10): fuzzing, odd filesystems, odd git set-ups, every error path.

Nothing here may crash: no traceback, exit codes as DESIGN.md fixes them (0 clean, 1
findings, 2 could not do its job, 130 interrupted), a warning for whatever was skipped.
Tokens are built at run time (tests/tokens.py); no full-format token is written here.
"""

from __future__ import annotations

import json
import os
import platform
import random
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from notion_leakguard import encodings, escapes, pipeline
from notion_leakguard.errors import LeakguardError
from notion_leakguard.findings import ScanResult, fingerprint
from notion_leakguard.redaction import redact_tokens
from notion_leakguard.scanner import scan_blocks, scan_bytes, token_spans, tokens_in
from notion_leakguard.sources import Fragment, history, staged
from notion_leakguard.sources import files as file_source
from tests import tokens
from tests.conftest import git, invoke

REPO = Path(__file__).resolve().parent.parent
# The module, not the console script: runs with any PATH, and as another user.
MODULE = [sys.executable, "-m", "notion_leakguard"]

FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _token(rule: str = "notion-api-token", seed: int = 0) -> str:
    return tokens.token(rule, random.Random(seed))


def _no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    assert "Traceback" not in result.stdout


def _cli(
    *args: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    stdin: bytes | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """The CLI in this process, strict UTF-8 output (as `_module`)."""
    return invoke(*args, cwd=cwd, env=env, stdin=stdin, timeout=timeout)


def _module(
    *args: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    stdin: bytes | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """The CLI as a module in a process (so PATH may lack everything), strict UTF-8 output."""
    result = subprocess.run(
        [*MODULE, *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
        timeout=timeout,
    )
    return subprocess.CompletedProcess(*_decoded(result))


def _decoded(result: subprocess.CompletedProcess[bytes]) -> tuple[object, ...]:
    # Strict: the reports must be valid UTF-8 whatever the file names held.
    return (
        result.args,
        result.returncode,
        result.stdout.decode("utf-8"),
        result.stderr.decode("utf-8"),
    )


# ---------------------------------------------------------------------------------------
# 1. Fuzzing
# ---------------------------------------------------------------------------------------

# Pieces that steer random bytes toward the scanner's special cases: token prefixes and
# near misses, escapes, encodings, byte order marks, base64 and hex runs, markers.
_SCANNER_PIECES = [
    b"ntn_",
    b"ntn_" + b"1" * 11,
    b"secret_",
    b"v02%3Auser_token_or_cookies%3A",
    b"v02%3auser_token_or_cookies%3a",
    b"v02:user_token_or_cookies:",
    b"token_v2=",
    b'TOKEN_V2": "',
    b"token_v2",
    b"0123456789abcdef" * 10,
    b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2",
    b"bnRuX",
    b"c2VjcmV0X",
    b"a" * 70,
    b"%5F",
    b"%5f",
    b"\\u005f",
    b"\\u005F",
    b"ntn%5F",
    b"secret\\u005f",
    b"\\n",
    b"\\t",
    b"\\u0022",
    b"%22",
    b"\x1b[31m",
    b"\0",
    b"\0\0\0",
    b"\n",
    b"\r\n",
    b"\r",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"\xfe\xff",
    b"\xff\xfe\0\0",
    b"\0\0\xfe\xff",
    b"notion-leakguard: allow",
    b"notion-leakguard: allow-next-line\n",
    b"pragma: allowlist secret",
    b"\xff",
    b"\xc3",
    b"\x80",
    b"\xed\xa0\x80",
    b"_",
    b"-",
    b"=",
    b"+/",
]
alnum_text = st.text(alphabet=tokens.ALNUM, max_size=60).map(str.encode)
hostile_bytes = st.one_of(
    st.binary(max_size=4096),
    st.lists(
        st.one_of(st.binary(max_size=64), st.sampled_from(_SCANNER_PIECES), alnum_text),
        max_size=60,
    ).map(b"".join),
)


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in zip(edges, edges[1:])]


def _key(findings: object) -> list[tuple[object, ...]]:
    return sorted(
        (f.rule, f.line, f.column, f.fingerprint, f.encoding, f.suppressed)  # type: ignore[attr-defined]
        for f in findings  # type: ignore[attr-defined]
    )


@FUZZ
@given(data=hostile_bytes, first_line=st.integers(min_value=1, max_value=5))
def test_scanner_functions_never_raise(data: bytes, first_line: int) -> None:
    scan_bytes(data, "fuzz", first_line=first_line)
    for span in token_spans(data):
        assert 0 <= span.start < span.end <= len(data)
    found = tokens_in(data)
    assert all(key.startswith("sha256:") for key in found)
    redacted = redact_tokens(data)
    # Redacting is idempotent and leaves no token behind.
    assert not tokens_in(redacted) or encodings.text_encoding(data) is not None
    assert redact_tokens(redacted) == redacted


@FUZZ
@given(data=hostile_bytes, cuts=st.lists(st.integers(min_value=0), max_size=12))
def test_scan_blocks_random_splits_never_raise_and_agree(data: bytes, cuts: list[int]) -> None:
    blocks = _split(data, cuts)
    assert b"".join(blocks) == data
    split = list(scan_blocks(iter(blocks), "fuzz"))
    assert _key(split) == _key(scan_bytes(data, "fuzz"))


@FUZZ
@given(
    data=hostile_bytes,
    cuts=st.lists(st.integers(min_value=0), max_size=8),
    lo=st.integers(min_value=0, max_value=5000),
    width=st.integers(min_value=0, max_value=5000),
    offsets=st.lists(st.integers(min_value=0, max_value=5000), max_size=5),
)
def test_encodings_never_raise(
    data: bytes, cuts: list[int], lo: int, width: int, offsets: list[int]
) -> None:
    codec = encodings.text_encoding(data)
    assert codec is None or codec.startswith("utf-")
    for name in ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"):
        decoded = b"".join(encodings.decode_stream(_split(data, cuts), name))
        decoded.decode("utf-8", "surrogatepass")
    lo = min(lo, len(data))
    hi = min(len(data), lo + width)
    for value in encodings.base64_values(data, lo, hi):
        assert isinstance(value.data, bytes)
        for offset in offsets:
            value.position(offset)
    unescaped, stretches = escapes.unescaped_forms(data, lo, hi)
    for stretch in stretches:
        assert stretch.position(len(stretch.data)) <= len(data)
    if unescaped is not None:
        for offset in offsets:
            assert unescaped.position(min(offset, len(unescaped.data))) >= 0


# What `git diff --cached --raw --patch -z` and `git log -z --raw` print, in pieces.
_OID = b"0123456789abcdef0123456789abcdef01234567"
_ZERO = b"0" * 40
_STAGED_PIECES = [
    b":100644 100644 " + _OID + b" " + _OID + b" M\0path.txt\0",
    b":000000 100644 " + _ZERO + b" " + _OID + b" A\0new.txt\0",
    b":100644 000000 " + _OID + b" " + _ZERO + b" D\0gone.txt\0",
    b":100644 100644 " + _OID + b" " + _OID + b" R100\0old.txt\0new.txt\0",
    b":100644 120000 " + _OID + b" " + _OID + b" T\0link\0",
    b":000000 000000 " + _ZERO + b" " + _ZERO + b" U\0conflict\0",
    b":160000 160000 " + _OID + b" " + _OID + b" M\0sub\0",
    b":",
    b":100644",
    b" ",
    b"\0",
    b"diff --git a/path.txt b/path.txt\n",
    b"--- a/path.txt\n+++ b/path.txt\n",
    b"@@ -1,2 +3,4 @@\n",
    b"@@ -0,0 +1 @@\n",
    b"@@ -1 +99999999999999999999 @@\n",
    b"+added line\n",
    b"-removed line\n",
    b" context\n",
    b"\\ No newline at end of file\n",
    b"\n",
    b"\xff\xfe",
    b"M",
    b"R",
]
_LOG_PIECES = [
    b"\x01" + _OID + b"\0Author Name\0" + b"2024-01-02T03:04:05+00:00\0",
    b"\x01",
    b"\n:100644 100644 " + _OID + b" " + _OID + b" M\0path.txt\0",
    b":000000 100644 " + _ZERO + b" " + _OID + b" A\0new.txt\0",
    b":100644 000000 " + _OID + b" " + _ZERO + b" D\0gone.txt\0",
    b":160000 160000 " + _OID + b" " + _OID + b" M\0sub\0",
    b":",
    b":1 2 3",
    b"\0",
    b"\n",
    b" ",
    b"\xff",
    b"\xc3\x28",
]


def _git_output(pieces: list[bytes]) -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(max_size=512),
        st.lists(st.one_of(st.sampled_from(pieces), st.binary(max_size=16)), max_size=30).map(
            b"".join
        ),
    )


@FUZZ
@given(output=_git_output(_STAGED_PIECES))
def test_staged_parse_raises_only_leakguard_error(output: bytes) -> None:
    """Garbage from git (a wrapper script, a new git version) is exit 2, not a traceback."""
    try:
        result = staged.parse(output)
    except LeakguardError:
        return
    for chunk in result.chunks:
        assert chunk.first_line >= 0


@FUZZ
@given(output=_git_output(_LOG_PIECES))
def test_history_parse_log_raises_only_leakguard_error(output: bytes) -> None:
    try:
        blobs, _commits, submodules, _copies = history._parse_log(output)
    except LeakguardError:
        return
    assert submodules >= 0
    assert len({blob.oid for blob in blobs}) == len(blobs)


@FUZZ
@given(
    prefix=st.binary(max_size=2000),
    suffix=st.binary(max_size=2000),
    rule=st.sampled_from(tokens.RULES),
    seed=st.integers(min_value=0, max_value=2**32),
    cuts=st.lists(st.integers(min_value=0), max_size=6),
)
def test_planted_token_in_random_bytes_is_found(
    prefix: bytes, suffix: bytes, rule: str, seed: int, cuts: list[int]
) -> None:
    """A NUL right before the token makes the data binary: no boundary is needed around it,
    so whatever random bytes surround it, it is found, in one piece or split anywhere."""
    token = _token(rule, seed)
    data = prefix + b"\0" + token.encode() + suffix
    assume(encodings.text_encoding(data) is None)  # UTF-16/32 would be decoded first
    key = fingerprint(token)
    assert key in {f.fingerprint for f in scan_bytes(data, "blob")}
    assert key in {f.fingerprint for f in scan_blocks(iter(_split(data, cuts)), "blob")}
    assert key in tokens_in(data)
    assert token.encode() not in redact_tokens(data)
    removed = prefix + b"\0" + suffix
    assert key not in {f.fingerprint for f in scan_bytes(removed, "blob")}
    assert key not in tokens_in(removed)


text_bytes = st.binary(max_size=1500).map(lambda b: b.replace(b"\0", b""))


@FUZZ
@given(
    prefix=text_bytes,
    suffix=text_bytes,
    rule=st.sampled_from(tokens.RULES),
    seed=st.integers(min_value=0, max_value=2**32),
    cuts=st.lists(st.integers(min_value=0), max_size=6),
)
def test_planted_token_in_random_text_is_found(
    prefix: bytes, suffix: bytes, rule: str, seed: int, cuts: list[int]
) -> None:
    """In text (no NUL), a token between spaces is at a boundary whatever else is there."""
    token = _token(rule, seed)
    data = prefix + b" " + token.encode() + b" " + suffix
    key = fingerprint(token)
    assert key in {f.fingerprint for f in scan_bytes(data, "text")}
    assert key in {f.fingerprint for f in scan_blocks(iter(_split(data, cuts)), "text")}
    removed = prefix + b"  " + suffix
    assert key not in {f.fingerprint for f in scan_bytes(removed, "text")}


# ---------------------------------------------------------------------------------------
# 2. Filesystem
# ---------------------------------------------------------------------------------------


def _tree_with_loops(root: Path, token: str) -> None:
    (root / "sub").mkdir()
    (root / "sub" / "leak.py").write_text(f"KEY = '{token}'\n")
    (root / "clean.txt").write_text("nothing here\n")
    os.symlink("b", root / "a")
    os.symlink("a", root / "b")
    os.symlink("..", root / "sub" / "up")  # a directory symlink to its parent
    os.symlink("sub", root / "down")


@pytest.mark.parametrize("in_git", [False, True], ids=["plain", "git"])
def test_symlink_loops_walked_and_named(tmp_path: Path, in_git: bool) -> None:
    root = tmp_path / "tree"
    root.mkdir()
    if in_git:
        git("init", "-q", "-b", "main", cwd=root)
    _tree_with_loops(root, _token())
    walked = _cli("scan", ".", cwd=root, timeout=60)
    _no_traceback(walked)
    assert walked.returncode == 1
    assert "sub/leak.py:1:" in walked.stdout
    assert walked.stdout.count("notion-api-token") == 1  # symlinks met on a walk: not followed

    named = _cli("scan", "a", "b", cwd=root, timeout=60)
    _no_traceback(named)
    assert named.returncode == 0, named.stderr  # nothing was read: warnings only
    for name in ("a", "b"):
        assert f"warning: {name}:" in named.stderr
        assert "skipped" in named.stderr

    up = _cli("scan", "sub/up", cwd=root, timeout=60)  # named: followed, once
    _no_traceback(up)
    assert up.returncode == 1, up.stderr
    assert up.stdout.count("notion-api-token") == 1

    everything = _cli("scan", "a", "sub/up", "down", "sub", ".", cwd=root, timeout=60)
    _no_traceback(everything)
    assert everything.returncode == 1
    assert "warning: a:" in everything.stderr


# --- as another user: permissions bite --------------------------------------------------

_SETPRIV = shutil.which("setpriv")


@pytest.fixture(scope="module")
def world_dir() -> Iterator[Path]:
    """A directory every user can read (pytest's own tmp directories are private)."""
    path = Path(tempfile.mkdtemp(prefix="leakguard-hostile-"))
    path.chmod(0o755)
    yield path
    for directory, dirs, _files in os.walk(path):
        for name in dirs:
            os.chmod(os.path.join(directory, name), 0o755)
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def as_nobody(world_dir: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the CLI as user nobody. sys.executable may live where nobody cannot go (a
    pyenv under /root), and so may the checkout (a private temporary directory), so an
    interpreter nobody can run is probed, with this package and click copied where nobody
    can read them."""
    if _SETPRIV is None or os.geteuid() != 0:
        pytest.skip("needs root and setpriv")
    import click

    site = world_dir / "site"
    shutil.copytree(
        REPO / "notion_leakguard",
        site / "notion_leakguard",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    shutil.copytree(Path(click.__file__).parent, site / "click")
    try:
        import tomli

        shutil.copytree(Path(tomli.__file__).parent, site / "tomli")
    except ImportError:
        pass
    for directory, dirs, files in os.walk(site):
        for name in dirs:
            os.chmod(os.path.join(directory, name), 0o755)
        for name in files:
            os.chmod(os.path.join(directory, name), 0o644)
    home = world_dir / "home"
    home.mkdir(mode=0o777)
    home.chmod(0o777)
    env = {
        **os.environ,
        "PYTHONPATH": str(site),
        "PYTHONDONTWRITEBYTECODE": "1",
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    prefix = [_SETPRIV, "--reuid=65534", "--regid=65534", "--clear-groups"]
    candidates = [
        sys.executable,
        shutil.which("python3"),
        "/usr/bin/python3",
        "/usr/local/bin/python3",
    ]
    for python in dict.fromkeys(c for c in candidates if c):
        probe = subprocess.run(
            [*prefix, python, "-c", "import notion_leakguard.cli"],
            cwd=world_dir,
            env=env,
            capture_output=True,
        )
        if probe.returncode == 0:
            break
    else:
        pytest.skip("no Python that user nobody can run notion_leakguard with")

    def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*prefix, python, "-m", "notion_leakguard", *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            timeout=120,
        )
        return subprocess.CompletedProcess(*_decoded(result))

    return run


@pytest.fixture
def shared_tree(world_dir: Path, request: pytest.FixtureRequest) -> Iterator[Path]:
    root = world_dir / f"t{abs(hash(request.node.nodeid))}"
    root.mkdir(mode=0o755)
    root.chmod(0o755)
    yield root
    for directory, dirs, _files in os.walk(root):
        for name in dirs:
            os.chmod(os.path.join(directory, name), 0o755)
    shutil.rmtree(root, ignore_errors=True)


def _readable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o644)


def _locked_tree(root: Path, token: str) -> None:
    _readable(root / "ok.txt", "nothing\n")
    locked_dir = root / "locked_dir"
    locked_dir.mkdir()
    (locked_dir / "inside.py").write_text(f"K = '{token}'\n")
    locked_dir.chmod(0o000)
    locked_file = root / "locked.py"
    locked_file.write_text(f"K = '{token}'\n")
    locked_file.chmod(0o000)


def test_unreadable_directory_and_file_walked_as_nobody(
    as_nobody: Callable[..., subprocess.CompletedProcess[str]], shared_tree: Path
) -> None:
    token = _token("notion-legacy-token", 3)
    _locked_tree(shared_tree, token)
    clean = as_nobody("scan", ".", cwd=shared_tree)
    _no_traceback(clean)
    assert clean.returncode == 0, clean.stderr
    assert "warning: locked_dir:" in clean.stderr
    assert "warning: locked.py:" in clean.stderr
    assert "No Notion credentials found" in clean.stdout

    _readable(shared_tree / "leak.py", f"K = '{token}'\n")
    found = as_nobody("scan", ".", "--format", "json", cwd=shared_tree)
    _no_traceback(found)
    assert found.returncode == 1, found.stderr
    assert [f["path"] for f in json.loads(found.stdout)["findings"]] == ["leak.py"]
    assert "warning: locked_dir:" in found.stderr  # the scan went on past it
    assert "warning: locked.py:" in found.stderr


@pytest.mark.parametrize("command", ["scan", "hook"])
def test_unreadable_file_named_as_nobody(
    as_nobody: Callable[..., subprocess.CompletedProcess[str]], shared_tree: Path, command: str
) -> None:
    """DESIGN.md: a file that cannot be read is a warning and does not change the exit code,
    also when named (pre-commit names the files for `hook`)."""
    token = _token("notion-legacy-token", 4)
    _locked_tree(shared_tree, token)
    clean = as_nobody(command, "locked.py", "ok.txt", cwd=shared_tree)
    _no_traceback(clean)
    assert clean.returncode == 0, clean.stderr
    assert "warning: locked.py:" in clean.stderr

    _readable(shared_tree / "leak.py", f"K = '{token}'\n")
    found = as_nobody(command, "locked.py", "leak.py", cwd=shared_tree)
    _no_traceback(found)
    assert found.returncode == 1, found.stderr
    assert "leak.py:1:6:" in found.stdout
    assert "warning: locked.py:" in found.stderr


# --- files that vanish or change between discovery and reading --------------------------


@pytest.mark.parametrize("in_git", [False, True], ids=["plain", "git"])
@pytest.mark.parametrize("change", ["deleted", "directory", "symlink", "fifo"])
def test_file_changes_between_discovery_and_reading(
    tmp_path: Path, in_git: bool, change: str
) -> None:
    root = tmp_path / "tree"
    root.mkdir()
    if in_git:
        git("init", "-q", "-b", "main", cwd=root)
    token = _token("notion-api-token", 7)
    secret = tmp_path / "outside.py"  # what a swapped-in symlink points at
    secret.write_text(f"K = '{token}'\n")
    (root / "stays.txt").write_text("nothing\n")
    (root / "victim.txt").write_text("nothing either\n")
    items = list(file_source.Walk(["."], cwd=str(root)))
    assert any(isinstance(i, Fragment) and i.path == "victim.txt" for i in items)
    victim = root / "victim.txt"
    victim.unlink()
    if change == "directory":
        victim.mkdir()
    elif change == "symlink":
        os.symlink(secret, victim)
    elif change == "fifo":
        os.mkfifo(victim)
    result = pipeline.scan(items, root=str(root), jobs=1)
    assert [s.display for s in result.skipped] == ["victim.txt"]
    assert result.findings == ()  # a symlink swapped in is not followed
    assert result.files_scanned == 1


def test_parallel_scan_reports_what_a_single_process_does(tmp_path: Path) -> None:
    # Enough files for worker processes; unreadable entries met while listing (a FIFO in the
    # tree) and while reading (one named on the command line), a token near the end.
    root = tmp_path / "tree"
    root.mkdir()
    for index in range(pipeline.PARALLEL_MIN_FILES + 50):
        (root / f"f{index:04}.txt").write_text("nothing\n")
    os.mkfifo(root / "f0200.fifo")
    (root / "f0440.py").write_text(f"K = '{_token('notion-legacy-token', 3)}'\n")
    os.mkfifo(tmp_path / "named")

    def scan(jobs: int) -> ScanResult:
        walk = file_source.Walk(["tree", "named"], cwd=str(tmp_path))
        return pipeline.scan(walk, root=str(tmp_path), jobs=jobs)

    single, parallel = scan(1), scan(2)
    assert [s.display for s in single.skipped] == ["tree/f0200.fifo", "named"]
    assert parallel == single


# --- names that are not plain text -------------------------------------------------------

ODD_NAMES = [b"new\nline.py", b"bad\xff\xfe.py", b"esc\x1b[31m.py", b"tab\there.py"]
SHOWN = ["new\\nline.py", "bad\\xff\\xfe.py", "esc\\x1b[31m.py", "tab\\there.py"]


@pytest.mark.parametrize("in_git", [False, True], ids=["plain", "git"])
def test_names_with_newlines_and_invalid_utf8(tmp_path: Path, in_git: bool) -> None:
    root = tmp_path / "tree"
    root.mkdir()
    if in_git:
        git("init", "-q", "-b", "main", cwd=root)
    token = _token("notion-api-token", 11)
    for name in ODD_NAMES:
        with open(os.fsencode(root) + b"/" + name, "w") as stream:
            stream.write(f"K = '{token}'\n")
    # An unreadable one too: its warning goes through the same escaping.
    fifo = os.fsencode(root) + b"/fifo\nname"
    os.mkfifo(fifo)
    if in_git:
        git("add", "-A", cwd=root)

    text = _cli("scan", ".", cwd=root)
    _no_traceback(text)
    assert text.returncode == 1
    assert "\x1b" not in text.stdout + text.stderr  # no terminal escape from a file name
    lines = [line for line in text.stdout.splitlines() if "notion-api-token" in line]
    assert len(lines) == len(ODD_NAMES)  # one line each
    for shown in SHOWN:
        assert any(line.startswith(f"{shown}:1:6: ") for line in lines), (shown, lines)
    if not in_git:  # git lists a FIFO as a file only when tracked; it cannot add one
        assert "warning: fifo\\nname:" in text.stderr

    report = _cli("scan", ".", "--format", "json", cwd=root)
    _no_traceback(report)
    assert report.returncode == 1
    paths = sorted(f["path"] for f in json.loads(report.stdout)["findings"])
    assert paths == sorted(os.fsdecode(name) for name in ODD_NAMES)

    sarif = _cli("scan", ".", "--format", "sarif", cwd=root)
    _no_traceback(sarif)
    assert sarif.returncode == 1
    results = json.loads(sarif.stdout)["runs"][0]["results"]
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results]
    assert len(uris) == len(ODD_NAMES)
    assert all(uri.isprintable() and "\n" not in uri for uri in uris)

    out = tmp_path / "report.json"
    written = _cli("scan", ".", "--format", "json", "--output", str(out), cwd=root)
    assert written.returncode == 1
    json.loads(out.read_bytes().decode("utf-8"))


@pytest.fixture
def roomy_tmp(tmp_path: Path) -> Iterator[Path]:
    """A directory for many small files: in memory (/dev/shm) when it has room, as creating
    20 000 files on a disk costs seconds of kernel time and what is tested is the scan;
    else tmp_path."""
    try:
        shm = os.statvfs("/dev/shm")
        room = shm.f_bavail * shm.f_frsize >= 1 << 30 and shm.f_favail >= 100_000
    except OSError:
        room = False
    if not room:
        yield tmp_path
        return
    path = Path(tempfile.mkdtemp(prefix="leakguard-many-", dir="/dev/shm"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def test_twenty_thousand_small_files(roomy_tmp: Path) -> None:
    root = roomy_tmp / "many"
    root.mkdir()
    for d in range(100):
        directory = root / f"d{d:03}"
        directory.mkdir()
        for f in range(200):
            (directory / f"f{f:03}.txt").write_bytes(b"x = %d\n" % f)
    started = time.monotonic()
    clean = _cli("scan", ".", "--quiet", cwd=root, timeout=60)
    _no_traceback(clean)
    assert clean.returncode == 0, clean.stderr
    (root / "d050" / "f100.txt").write_text(f"K = '{_token('notion-api-token', 13)}'\n")
    leak = _cli("scan", ".", "--format", "json", cwd=root, timeout=60)
    _no_traceback(leak)
    assert leak.returncode == 1
    assert [f["path"] for f in json.loads(leak.stdout)["findings"]] == ["d050/f100.txt"]
    assert time.monotonic() - started < 30


# ---------------------------------------------------------------------------------------
# 3. Git
# ---------------------------------------------------------------------------------------


def _repo(path: Path, files: dict[str, str] | None = None, *, commit: bool = True) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git("init", "-q", "-b", "main", cwd=path)
    for name, content in (files or {"README.md": "hello\n"}).items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(content)
    if commit:
        git("add", "-A", cwd=path)
        git("commit", "-q", "-m", "initial", cwd=path)
    return path


@pytest.fixture
def no_git_path(tmp_path: Path) -> dict[str, str]:
    """A PATH without git on it (nor anything else)."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    return {"PATH": str(empty)}


def test_without_git_plain_file_scans_still_work(
    tmp_path: Path, no_git_path: dict[str, str]
) -> None:
    repo = _repo(tmp_path / "repo", {"app.py": f"K = '{_token()}'\n", "ok.txt": "fine\n"})
    walked = _module("scan", ".", cwd=repo, env=no_git_path)
    _no_traceback(walked)
    assert walked.returncode == 1, walked.stderr
    assert "app.py:1:6:" in walked.stdout
    assert ".git/" not in walked.stdout
    named = _module("scan", "ok.txt", cwd=repo, env=no_git_path)
    assert named.returncode == 0, named.stderr
    piped = _module("scan", "-", cwd=repo, env=no_git_path, stdin=f"x {_token()}\n".encode())
    assert piped.returncode == 1


@pytest.mark.parametrize(
    "args",
    [("check-env",), ("scan", "--staged"), ("scan", "--history"), ("install-hook",)],
    ids=" ".join,
)
def test_without_git_commands_that_need_it_exit_2(
    tmp_path: Path, no_git_path: dict[str, str], args: tuple[str, ...]
) -> None:
    repo = _repo(tmp_path / "repo")
    result = _module(*args, cwd=repo, env=no_git_path)
    _no_traceback(result)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "git" in result.stderr
    assert not (repo / ".git" / "hooks" / "pre-commit").exists()


@pytest.mark.parametrize(
    "args",
    [("check-env",), ("scan", "--staged"), ("scan", "--history"), ("install-hook",)],
    ids=" ".join,
)
def test_not_a_repository_exits_2(tmp_path: Path, args: tuple[str, ...]) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    result = _cli(*args, cwd=plain, env={"GIT_CEILING_DIRECTORIES": str(tmp_path)})
    _no_traceback(result)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "git" in result.stderr


@pytest.fixture
def bare(tmp_path: Path) -> Path:
    source = _repo(tmp_path / "source", {"app.py": f"K = '{_token()}'\n"})
    git("clone", "-q", "--bare", str(source), str(tmp_path / "bare.git"), cwd=tmp_path)
    return tmp_path / "bare.git"


def test_bare_repository_history_works(bare: Path) -> None:
    result = _cli("scan", "--history", "--format", "json", cwd=bare)
    _no_traceback(result)
    assert result.returncode == 1, result.stderr
    (finding,) = json.loads(result.stdout)["findings"]
    assert finding["path"] == "app.py"
    assert finding["commit"]["present_at_head"] is True


@pytest.mark.parametrize("args", [("scan", "--staged"), ("check-env",)], ids=" ".join)
def test_bare_repository_needs_a_work_tree(bare: Path, args: tuple[str, ...]) -> None:
    """A bare repository has no index to scan: `git diff --cached` there lists every file
    as deleted and exits 0, which must not pass for "nothing staged"."""
    result = _cli(*args, cwd=bare)
    _no_traceback(result)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "work tree" in result.stderr or "bare" in result.stderr


def test_linked_worktree(tmp_path: Path) -> None:
    main = _repo(tmp_path / "main", {"old.py": f"K = '{_token('notion-api-token', 21)}'\n"})
    worktree = tmp_path / "linked"
    git("worktree", "add", "-q", "-b", "side", str(worktree), cwd=main)
    (worktree / "new.py").write_text(f"K = '{_token('notion-legacy-token', 22)}'\n")
    git("add", "new.py", cwd=worktree)
    (worktree / ".env").write_text("A=1\n")

    staged_scan = _cli("scan", "--staged", "--format", "json", cwd=worktree)
    _no_traceback(staged_scan)
    assert staged_scan.returncode == 1, staged_scan.stderr
    assert [f["path"] for f in json.loads(staged_scan.stdout)["findings"]] == ["new.py"]

    env_check = _cli("check-env", "--format", "json", cwd=worktree)
    _no_traceback(env_check)
    assert env_check.returncode == 1, env_check.stderr
    assert [f["path"] for f in json.loads(env_check.stdout)["findings"]] == [".env"]

    past = _cli("scan", "--history", "--format", "json", cwd=worktree)
    _no_traceback(past)
    assert past.returncode == 1, past.stderr
    assert [f["path"] for f in json.loads(past.stdout)["findings"]] == ["old.py"]


def test_submodule_files_are_scanned(tmp_path: Path) -> None:
    inner = _repo(tmp_path / "inner", {"lib/conf.py": f"K = '{_token()}'\n"})
    outer = _repo(tmp_path / "outer", {"main.py": "print(1)\n"})
    git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(inner), "sub", cwd=outer)
    git("commit", "-q", "-m", "submodule", cwd=outer)
    result = _cli("scan", ".", "--format", "json", cwd=outer)
    _no_traceback(result)
    assert result.returncode == 1, result.stderr
    assert [f["path"] for f in json.loads(result.stdout)["findings"]] == ["sub/lib/conf.py"]


def test_locked_index_staged_scan_is_read_only(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    (repo / "app.py").write_text(f"K = '{_token()}'\n")
    git("add", "app.py", cwd=repo)
    index = repo / ".git" / "index"
    before = index.read_bytes()
    lock = repo / ".git" / "index.lock"
    lock.write_bytes(b"")
    result = _cli("scan", "--staged", cwd=repo)
    _no_traceback(result)
    assert result.returncode == 1, result.stderr
    assert "app.py:1:6:" in result.stdout
    assert lock.exists() and lock.read_bytes() == b""
    assert index.read_bytes() == before


def test_git_dir_and_work_tree_from_the_environment(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    (repo / "app.py").write_text(f"K = '{_token()}'\n")
    git("add", "app.py", cwd=repo)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"GIT_DIR": str(repo / ".git"), "GIT_WORK_TREE": str(repo)}
    result = _cli("scan", "--staged", "--format", "json", cwd=elsewhere, env=env)
    _no_traceback(result)
    assert result.returncode == 1, result.stderr
    assert [f["path"] for f in json.loads(result.stdout)["findings"]] == ["app.py"]


@pytest.fixture
def foreign_repo(tmp_path: Path) -> Path:
    if os.geteuid() != 0:
        pytest.skip("needs root to chown a repository to another user")
    repo = _repo(tmp_path / "foreign")
    (repo / "app.py").write_text(f"K = '{_token()}'\n")
    git("add", "app.py", cwd=repo)
    for directory, dirs, files in os.walk(repo):
        for name in [*dirs, *files]:
            os.lchown(os.path.join(directory, name), 65534, 65534)
    os.chown(repo, 65534, 65534)
    return repo


def test_repository_owned_by_another_user_staged(foreign_repo: Path) -> None:
    """git refuses the repository (safe.directory); the user must learn why, from git's own
    message, not a misleading "not inside a git work tree"."""
    result = _cli("scan", "--staged", cwd=foreign_repo)
    _no_traceback(result)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "dubious ownership" in result.stderr or "safe.directory" in result.stderr


def test_repository_owned_by_another_user_check_env(foreign_repo: Path) -> None:
    result = _cli("check-env", cwd=foreign_repo)
    _no_traceback(result)
    assert result.returncode == 2, (result.stdout, result.stderr)


def test_repository_owned_by_another_user_files_still_scanned(foreign_repo: Path) -> None:
    result = _cli("scan", ".", cwd=foreign_repo)
    _no_traceback(result)
    assert result.returncode == 1, result.stderr
    assert "app.py:1:6:" in result.stdout
    assert ".git/" not in result.stdout


# ---------------------------------------------------------------------------------------
# 4. Every error path: exit 2 without a traceback; SIGINT is 130
# ---------------------------------------------------------------------------------------

ERROR_CASES: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {
    "missing path": (("scan", "no-such-file"), {}),
    "unknown format": (("scan", "--format", "yaml", "."), {}),
    "unknown option": (("scan", "--no-such-option"), {}),
    "unknown command": (("no-such-command",), {}),
    "staged with path": (("scan", "--staged", "x.py"), {}),
    "staged and history": (("scan", "--staged", "--history"), {}),
    "all-refs alone": (("scan", "--all-refs"), {}),
    "verify-all alone": (("scan", "--verify-all", "ok.txt"), {}),
    "jobs zero": (("scan", "--jobs", "0", "."), {}),
    "output in missing directory": (("scan", "--output", "no/such/dir/r.json", "."), {}),
    "output is a directory": (("scan", "--output", "sub", "."), {}),
    "baseline missing": (("scan", "--baseline", "missing.json", "."), {}),
    "baseline not json": (("scan", "--baseline", "garbage.json", "."), {}),
    "baseline wrong shape": (("scan", "--baseline", "list.json", "."), {}),
    "baseline update missing": (("baseline", "update", "--baseline", "missing.json"), {}),
    "bad revision": (("scan", "--history", "no-such-rev"), {}),
    "bad config": (("scan", "."), {"config": "this is = = not toml"}),
    "bad config key": (("scan", "."), {"config": "no-such-key = 1\n"}),
    "bad config type": (("scan", "."), {"config": "exclude = 3\n"}),
    "install-hook over foreign hook": (("install-hook",), {"hook": "#!/bin/sh\nexit 0\n"}),
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_exit_2_never_prints_a_traceback(tmp_path: Path, case: str) -> None:
    args, setup = ERROR_CASES[case]
    repo = _repo(tmp_path / "repo", {"ok.txt": "fine\n", "sub/x.txt": "x\n"})
    (repo / "garbage.json").write_bytes(b"\xff{not json")
    (repo / "list.json").write_text("[1, 2, 3]")
    if "config" in setup:
        (repo / ".notion-leakguard.toml").write_text(setup["config"])
    if "hook" in setup:
        (repo / ".git" / "hooks" / "pre-commit").write_text(setup["hook"])
    result = _cli(*args, cwd=repo)
    _no_traceback(result)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr.strip()


def _blocked_reading_stdin(pid: int) -> bool:
    """Whether the process sits in read(0, ...) (Linux: /proc/PID/syscall)."""
    numbers = {"x86_64": "0", "aarch64": "63"}
    number = numbers.get(platform.machine())
    try:
        fields = Path(f"/proc/{pid}/syscall").read_text().split()
    except OSError:
        return False
    return number is not None and fields[:2] == [number, "0x0"]


def test_sigint_exits_130(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [*MODULE, "scan", "-"],
        cwd=tmp_path,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        deadline = time.monotonic() + 20
        can_see = Path(f"/proc/{process.pid}/syscall").exists() and platform.machine() in (
            "x86_64",
            "aarch64",
        )
        if can_see:
            while not _blocked_reading_stdin(process.pid):
                assert process.poll() is None, process.communicate()
                assert time.monotonic() < deadline, "never started reading stdin"
                time.sleep(0.05)
        else:
            time.sleep(3)
        assert process.stdin is not None
        process.stdin.write(b"partial input, no newline yet")
        process.stdin.flush()
        time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    text = stderr.decode("utf-8")
    assert process.returncode == 130, text
    assert "interrupted" in text
    assert "Traceback" not in text
    assert stdout == b""


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_unreadable_files_do_not_change_the_exit_code(tmp_path: Path, fmt: str) -> None:
    """A FIFO, a socket and a dangling symlink, named: warnings, exit 0 (1 with a token)."""
    root = tmp_path / "tree"
    root.mkdir()
    os.mkfifo(root / "fifo")
    os.symlink("missing-target", root / "dangling")
    import socket

    sock = socket.socket(socket.AF_UNIX)
    short = Path(tempfile.mkdtemp(prefix="lg"))  # AF_UNIX paths are short
    try:
        sock.bind(str(short / "s"))
        os.symlink(short / "s", root / "socket-link")
        result = _cli("scan", "--format", fmt, "fifo", "dangling", "socket-link", cwd=root)
        _no_traceback(result)
        assert result.returncode == 0, result.stderr
        for name in ("fifo", "dangling", "socket-link"):
            assert f"warning: {name}:" in result.stderr
        (root / "leak.py").write_text(f"K = '{_token()}'\n")
        result = _cli("scan", "--format", fmt, "fifo", "leak.py", cwd=root)
        assert result.returncode == 1
        if fmt != "text":
            json.loads(result.stdout)
        assert stat.S_ISFIFO(os.lstat(root / "fifo").st_mode)
    finally:
        sock.close()
        shutil.rmtree(short, ignore_errors=True)
