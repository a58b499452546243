"""The machinery of tests/test_never_leak.py: the corpus, the check, the runners and the
command matrix. The test module's docstring says what is checked and why.

Commands run in this process (`tests.conftest.invoke`, with the corpus's environment in
place of the test's) except those whose process is the point, which run as processes: the
console script on a terminal, `--version`, `python -m notion_leakguard`, `git commit` through
the installed hook, and detect-secrets (its own CLI, and `detect-secrets-audit`, which runs
detect-secrets' CLI code with its global state).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import io
import json
import logging
import os
import random
import re
import sqlite3
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from tests import tokens
from tests.conftest import CLI, UNSET, invoke, isolated_git_env
from tests.helpers.notion_api import FakeNotion, serve

FORMATS = ("text", "json", "sarif")
BIN = Path(sys.executable).parent
DETECT_SECRETS = BIN / "detect-secrets"
SHIM = ".detect-secrets/notion.py"
FILLER_FILES = 450  # above pipeline.PARALLEL_MIN_FILES: `scan .` uses worker processes
WINDOW = 12
PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")  # any case


# -- the corpus -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Planted:
    """One token and where the corpus keeps it."""

    name: str
    token: str
    files: tuple[str, ...] = ()  # working-tree files holding it (scanned by `scan .`)
    staged: bool = False  # on an added line of the staged changes
    history: str | None = "head"  # "head": reachable from HEAD; "other": another branch only
    suppressed: str | None = None  # inline, baseline or config

    @property
    def preview(self) -> str:
        return tokens.preview(self.token)


@dataclass
class Corpus:
    repo: Path
    root: Path  # everything the commands may write is below it
    out: Path  # --output files go here
    env: dict[str, str]
    planted: list[Planted]
    stdin: Planted  # the token piped to `scan -`

    def by_name(self, name: str) -> Planted:
        (found,) = [p for p in self.planted if p.name == name]
        return found

    def tokens(self) -> list[str]:
        return [p.token for p in self.planted]


def isolated_env(root: Path) -> dict[str, str]:
    """The whole environment of a command: no user or system git configuration (conftest's
    variables, HOME inside `root`), no proxy, no colour switch; TMPDIR inside `root` so that
    any temporary file a command leaves is captured too."""
    home, tmp = root / "home", root / "tmp"
    home.mkdir(exist_ok=True)
    tmp.mkdir(exist_ok=True)
    env = {
        k: v
        for k, v in os.environ.items()
        if k.lower() not in PROXY_VARS
        and k not in (*UNSET, "SKIP")
        and not k.startswith(("NOTION_LEAKGUARD_", "PYTEST_"))
    }
    env.update(isolated_git_env(home), TMPDIR=str(tmp), PYTHONDONTWRITEBYTECODE="1")
    return env


def _git(repo: Path, env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True
    ).stdout


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def build_corpus(root: Path, rng: random.Random) -> Corpus:
    env = isolated_env(root)
    repo, out = root / "repo", root / "out"
    repo.mkdir()
    out.mkdir()
    git = lambda *args: _git(repo, env, *args)  # noqa: E731
    git("init", "-q", "-b", "main")
    planted: list[Planted] = []

    def write(path: str, data: str | bytes) -> None:
        target = repo / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            data = data.encode()
        target.write_bytes(data)

    def plant(name: str, tok: str, path: str | None, **kwargs: Any) -> str:
        planted.append(Planted(name, tok, (path,) if path else (), **kwargs))
        return tok

    api, legacy = tokens.api_token, tokens.legacy_token

    # Committed on main, in the working tree.
    tok = plant("plain-api", api(rng), "src/settings.py")
    write("src/settings.py", f'import os\n\nNOTION_TOKEN = "{tok}"\n')
    tok = plant("plain-legacy", legacy(rng), "src/notion_legacy.py")
    write("src/notion_legacy.py", f"# Notion integration (legacy)\nNOTION_SECRET = '{tok}'\n")
    tok = plant("cookie-encoded", tokens.cookie(rng, encoded=True), "config/session.yaml")
    write("config/session.yaml", f"session:\n  token_v2: {tok}\n")
    tok = plant("cookie-decoded", tokens.cookie(rng, encoded=False), "config/cookies.txt")
    write("config/cookies.txt", f"Cookie: token_v2={tok}; theme=dark\n")
    tok = plant("hex-cookie", tokens.hex_cookie(rng), "config/old_session.json")
    write("config/old_session.json", json.dumps({"token_v2": tok}) + "\n")
    tok = plant("after-backslash-n", api(rng), "escapes/strings.c")
    write("escapes/strings.c", f'const char *s = "first line\\n{tok}";\n')
    tok = plant("after-ansi", legacy(rng), "escapes/colour.log")
    write("escapes/colour.log", f"notion: \x1b[32m{tok}\x1b[0m\n")
    tok = plant("after-percent", api(rng), "escapes/query.txt")
    write("escapes/query.txt", f"q=%22{tok}%22\n")
    tok = plant("utf-16", legacy(rng), "i18n/notes-utf16.txt")
    write("i18n/notes-utf16.txt", f"Notion key: {tok}\n".encode("utf-16"))
    tok = plant("utf-32", api(rng), "i18n/notes-utf32.txt")
    write("i18n/notes-utf32.txt", f"token {tok}\n".encode("utf-32"))
    tok = plant("base64", api(rng), "k8s/secret.yaml")
    write("k8s/secret.yaml", f"kind: Secret\ndata:\n  NOTION_TOKEN: {_b64(tok.encode())}\n")
    tok = plant("base64-nested", api(rng), "k8s/registry.yaml")
    docker = json.dumps(
        {"auths": {"registry.example.com": {"auth": _b64(f"notion-bot:{tok}".encode())}}}
    )
    write(
        "k8s/registry.yaml",
        "kind: Secret\ntype: kubernetes.io/dockerconfigjson\ndata:\n"
        f"  .dockerconfigjson: {_b64(docker.encode())}\n",
    )
    tok = plant("percent-underscore", api(rng), "logs/request.log")
    write("logs/request.log", f"GET /v1/search?key=ntn%5F{tok[4:]} HTTP/1.1\n")
    tok = plant("json-escape", legacy(rng), "data/escaped.json")
    write("data/escaped.json", f'{{"notion": "secret\\u005f{tok[7:]}"}}\n')
    tok = plant("sqlite", api(rng), "data/notion.sqlite")
    (repo / "data").mkdir(exist_ok=True)
    with contextlib.closing(sqlite3.connect(repo / "data/notion.sqlite")) as db:
        db.execute("CREATE TABLE integrations (name TEXT, token TEXT)")
        db.execute("INSERT INTO integrations VALUES (?, ?)", ("notion", tok))
        db.commit()
    tok = plant("dotenv-tracked", api(rng), ".env")
    write(".env", f"# local\nNOTION_TOKEN={tok}\n")
    tok = plant("inline-allow", api(rng), "allowed.py", suppressed="inline")
    write("allowed.py", f'EXAMPLE = "{tok}"  # notion-leakguard: allow\n')
    tok = plant("baseline", legacy(rng), "baselined.py", suppressed="baseline")
    write("baselined.py", f"# old Notion key, revoked\nKEY = '{tok}'\n")
    tok = plant("config-allow", api(rng), "configured.py", suppressed="config")
    write("configured.py", f"KEY = '{tok}'\n")
    from notion_leakguard.findings import fingerprint

    write(
        ".notion-leakguard.toml",
        'baseline = ".notion-leakguard-baseline.json"\n\n[[allow]]\n'
        f'fingerprint = "{fingerprint(tok)}"\nreason = "revoked test key"\n',
    )
    entry = {
        "rule": "notion-legacy-token",
        "path": "baselined.py",
        "fingerprint": fingerprint(corpus_token(planted, "baseline")),
    }
    baseline = {"tool": "notion-leakguard", "format": 1, "entries": [entry]}
    write(".notion-leakguard-baseline.json", json.dumps(baseline, indent=2) + "\n")
    tok = plant("legacy-without-notion", legacy(rng), "other/payments.py")
    write("other/payments.py", f'PAYMENT_KEY = "{tok}"\n')
    tok = plant("among-filler", api(rng), "filler/f0420.txt")
    for index in range(FILLER_FILES):
        write(f"filler/f{index:04d}.txt", f"filler {index}\n")
    write("filler/f0420.txt", f"filler 420 {tok}\n")
    write(".gitignore", "ignored/\n")
    git("add", "-A")
    git("commit", "-q", "-m", "initial")

    # Committed, then removed: history only.
    tok = plant("history-removed", api(rng), None)
    write("old/removed.py", f"TOKEN = '{tok}'\n")
    git("add", "-A")
    git("commit", "-q", "-m", "add a key")
    git("rm", "-q", "old/removed.py")
    git("commit", "-q", "-m", "remove the key")

    # On another branch only: --history --all-refs.
    git("checkout", "-q", "-b", "feature")
    tok = plant("other-branch", legacy(rng), None, history="other")
    write("feature/notion_feature.py", f"# Notion\nKEY = '{tok}'\n")
    git("add", "-A")
    git("commit", "-q", "-m", "feature")
    git("checkout", "-q", "main")

    # Not committed: an untracked dotenv file git does not ignore, and one it ignores.
    tok = plant("dotenv-untracked", api(rng), ".env.local", history=None)
    write(".env.local", f"NOTION_TOKEN={tok}\n")
    tok = plant("dotenv-ignored", api(rng), None, history=None)
    write("ignored/.env", f"NOTION_TOKEN={tok}\n")

    # Staged with one key, then edited on disk to hold another.
    tok = plant("staged", api(rng), None, staged=True, history=None)
    write("staged.py", f'KEY = "{tok}"\n')
    git("add", "staged.py")
    tok = plant("disk-only", api(rng), "staged.py", history=None)
    write("staged.py", f'KEY = "{tok}"\n')

    stdin = Planted("stdin", legacy(rng), history=None)
    return Corpus(repo, root, out, env, planted, stdin)


def corpus_token(planted: Sequence[Planted], name: str) -> str:
    (found,) = [p.token for p in planted if p.name == name]
    return found


# -- the check ---------------------------------------------------------------------------------


_RUN = re.compile(r"[A-Za-z0-9_%:+/=-]{12,}")


class Forbidden:
    """Every 12-character window of every token (and every 16-character base64 image of 12 of
    its bytes) that its preview does not show, to be looked up in runs of token characters."""

    def __init__(self, planted: Sequence[Planted]) -> None:
        self.plain: dict[str, tuple[str, int]] = {}
        self.encoded: dict[str, tuple[str, int]] = {}
        for p in planted:
            tok, preview = p.token, p.preview
            for start in range(len(tok) - WINDOW + 1):
                window = tok[start : start + WINDOW]
                if window not in preview:
                    self.plain.setdefault(window, (p.name, start))
            raw = tok.encode()
            for shift in range(3):
                for encode in (base64.b64encode, base64.urlsafe_b64encode):
                    image = encode(raw[shift:]).decode()
                    for group in range(0, (len(raw) - shift - WINDOW) // 3 + 1):
                        start = shift + 3 * group
                        if tok[start : start + WINDOW] in preview:
                            continue
                        quad = image[4 * group : 4 * group + 16]
                        self.encoded.setdefault(quad, (p.name, start))

    def find(self, text: str) -> list[tuple[str, str]]:
        """(description, token name) of each window found."""
        hits: list[tuple[str, str]] = []
        for run in _RUN.finditer(text):
            chars = run.group()
            for size, table, how in ((WINDOW, self.plain, ""), (16, self.encoded, "base64 ")):
                for i in range(len(chars) - size + 1):
                    hit = table.get(chars[i : i + size])
                    if hit is not None:
                        at = run.start() + i
                        context = text[max(0, at - 40) : at]  # not the token itself
                        hits.append(
                            (
                                f"{how}12 characters of {hit[0]} (from offset {hit[1]}) "
                                f"after {tokens.label(context)!r}",
                                hit[0],
                            )
                        )
                        break
        return hits


_UNICODE_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})")
_SIMPLE_ESCAPE = re.compile(r"\\([\"\\/bfnrt])")
_SIMPLE = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def _json_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _json_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _json_strings(item)


def views(data: bytes) -> dict[str, str]:
    """The ways captured output is read: raw bytes, JSON-unescaped (parsed when it is JSON,
    escapes undone anywhere), percent-decoded, and UTF-16/32 when it holds NUL bytes."""
    text = data.decode("utf-8", "replace")
    unescaped = _UNICODE_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    unescaped = _SIMPLE_ESCAPE.sub(lambda m: _SIMPLE.get(m.group(1), m.group(1)), unescaped)
    with contextlib.suppress(ValueError):
        unescaped += "\n" + "\n".join(_json_strings(json.loads(text)))
    found = {
        "raw bytes": data.decode("latin-1"),
        "JSON-unescaped": unescaped,
        "percent-decoded": unquote(text),
    }
    if b"\0" in data:
        for codec in ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"):
            found[codec] = data.decode(codec, "ignore")
    return found


@dataclass
class Capture:
    name: str
    argv: Sequence[str]
    code: int | None
    stdout: bytes = b""
    stderr: bytes = b""
    files: dict[str, bytes] = field(default_factory=dict)  # written or changed, by path
    expect: tuple[Planted, ...] = ()  # the previews this capture must show
    codes: tuple[int, ...] = (0, 1)  # the exit codes it may end with
    traceback: bool = False  # a traceback is tolerated (it is still checked for tokens)

    def pieces(self) -> dict[str, bytes]:
        pieces = {"stdout": self.stdout, "stderr": self.stderr}
        pieces.update({f"file {path}": data for path, data in self.files.items()})
        return pieces


def leaks(capture: Capture, forbidden: Forbidden) -> list[str]:
    """Each token that shows in a piece of the capture, once (in the first view showing it)."""
    found = []
    for where, data in capture.pieces().items():
        seen = set()
        for view, text in views(data).items():
            for hit, token in forbidden.find(text):
                if token not in seen:
                    seen.add(token)
                    found.append(f"{capture.name}: {where} ({view}): {hit}")
    return found


def missing_previews(capture: Capture) -> list[str]:
    shown = "\n".join(text for data in capture.pieces().values() for text in views(data).values())
    return [
        f"{capture.name}: no preview of {p.name} ({p.preview})"
        for p in capture.expect
        if p.preview not in shown
    ]


def check(captures: Sequence[Capture], corpus: Corpus) -> None:
    forbidden = Forbidden([*corpus.planted, corpus.stdin])
    problems = []
    for capture in captures:
        problems += leaks(capture, forbidden)
    assert not problems, "token text escaped:\n" + "\n".join(problems)
    problems = []
    for capture in captures:
        problems += missing_previews(capture)
        stderr = capture.stderr.decode(errors="replace")
        if "Traceback" in stderr and not capture.traceback:
            problems.append(f"{capture.name}: a traceback on stderr:\n{stderr}")
        if capture.code is not None and capture.code not in capture.codes:
            problems.append(
                f"{capture.name}: exit {capture.code}, expected {capture.codes}:\n{stderr}"
            )
    assert not problems, "\n".join(problems)


# -- running commands --------------------------------------------------------------------------


def snapshot(root: Path) -> dict[str, tuple[int, int, int]]:
    state = {}
    for directory, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(directory, name)
            try:
                info = os.lstat(path)
            except OSError:
                continue
            state[path] = (info.st_mtime_ns, info.st_size, info.st_ino)
    return state


def changed(root: Path, before: dict[str, tuple[int, int, int]]) -> dict[str, bytes]:
    files = {}
    for path, stamp in snapshot(root).items():
        if before.get(path) != stamp and not os.path.islink(path):
            try:
                files[os.path.relpath(path, root)] = Path(path).read_bytes()
            except OSError:
                continue
    return files


@contextlib.contextmanager
def environment(env: dict[str, str]) -> Iterator[None]:
    """os.environ is exactly `env` (and Python's temporary files go to its TMPDIR) until the
    block ends."""
    with pytest.MonkeyPatch.context() as patch:
        for name in set(os.environ) - set(env):
            patch.delenv(name)
        for name, value in env.items():
            patch.setenv(name, value)
        patch.setattr(tempfile, "tempdir", env.get("TMPDIR"))
        yield


def execute(
    argv: Sequence[str],
    corpus: Corpus,
    *,
    stdin: bytes | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    command: Sequence[str] | None = None,
) -> tuple[int | None, bytes, bytes]:
    """Exit code, stdout and stderr of `notion-leakguard ARGV` in this process, or of
    `COMMAND ARGV` as a process (`command=CLI`: the console script). An exception that
    escapes an in-process run is its stderr, traceback and all."""
    if command is not None:
        result = subprocess.run(
            [*command, *argv],
            cwd=cwd or corpus.repo,
            env=env or corpus.env,
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            timeout=300,
        )
        return result.returncode, result.stdout, result.stderr
    with environment(env or corpus.env):
        try:
            done = invoke(*argv, cwd=cwd or corpus.repo, stdin=stdin, text=False)
        except Exception:  # what escapes main() is output too, and a traceback there
            return None, b"", traceback.format_exc().encode("utf-8", "surrogateescape")
    return done.returncode, done.stdout, done.stderr


def leakguard(
    name: str,
    args: Sequence[str],
    corpus: Corpus,
    *,
    expect: Sequence[Planted] = (),
    codes: tuple[int, ...] = (0, 1),
    stdin: bytes | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    command: Sequence[str] | None = None,
) -> Capture:
    """Run one command (`execute`); capture its output and every file it wrote or changed."""
    before = snapshot(corpus.root)
    code, out, err = execute(args, corpus, stdin=stdin, env=env, cwd=cwd, command=command)
    argv = [*(command or ()), *args]
    return Capture(name, argv, code, out, err, changed(corpus.root, before), tuple(expect), codes)


def run_pty(name: str, args: Sequence[str], corpus: Corpus, expect: Sequence[Planted]) -> Capture:
    """The console script on a terminal: colour, and the progress display of --history."""
    master, slave = os.openpty()
    process = subprocess.Popen(
        [*CLI, *args],
        cwd=corpus.repo,
        env={**corpus.env, "TERM": "xterm-256color"},
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the other end is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    code = process.wait(timeout=300)
    os.close(master)
    return Capture(name, args, code, b"".join(chunks), b"", {}, tuple(expect))


@dataclass(frozen=True)
class Spec:
    """A read-only command: run with the others of its batch."""

    name: str
    args: tuple[str, ...]
    expect: tuple[Planted, ...]
    output: str | None = None  # --output FILE, below corpus.out
    stdin: bytes | None = None
    codes: tuple[int, ...] = (0, 1)
    env: dict[str, str] | None = None
    cwd: Path | None = None
    traceback: bool = False  # a traceback is tolerated (it is still checked for tokens)
    command: tuple[str, ...] | None = None  # a process: COMMAND ARGS, not `invoke`
    terminal: bool = False  # the console script on a terminal (`run_pty`)


def run_spec(spec: Spec, corpus: Corpus) -> Capture:
    if spec.terminal:
        return run_pty(spec.name, spec.args, corpus, spec.expect)
    code, out, err = execute(
        spec.args, corpus, stdin=spec.stdin, env=spec.env, cwd=spec.cwd, command=spec.command
    )
    return Capture(
        spec.name,
        spec.args,
        code,
        out,
        err,
        expect=spec.expect,
        codes=spec.codes,
        traceback=spec.traceback,
    )


def run_batch(specs: Sequence[Spec], corpus: Corpus, label: str = "") -> list[Capture]:
    """Read-only commands: those in this process one after the other, processes meanwhile
    in threads. Files are attributed to the command that was asked to write them, and any
    other file written meanwhile is captured on its own."""
    before = snapshot(corpus.root)
    with ThreadPoolExecutor(max_workers=2) as pool:
        started = {
            spec.name: pool.submit(run_spec, spec, corpus)
            for spec in specs
            if spec.command is not None or spec.terminal
        }
        done = {spec.name: run_spec(spec, corpus) for spec in specs if spec.name not in started}
        done.update((name, future.result()) for name, future in started.items())
    assert len(done) == len(specs), "each command of a batch has a name of its own"
    captures = [done[spec.name] for spec in specs]
    files = changed(corpus.root, before)
    for spec, capture in zip(specs, captures):
        if spec.output is not None:
            key = os.path.relpath(corpus.out / spec.output, corpus.root)
            data = files.pop(key, None)
            assert data is not None, f"{spec.name}: --output {spec.output} was not written"
            capture.files[key] = data
    captures.append(Capture(f"files written by no --output{label}", (), None, files=files))
    return captures


def visible(planted: Sequence[Planted], fmt: str, no_suppress: bool) -> tuple[Planted, ...]:
    """What a report shows: text lists reported findings only; JSON and SARIF list the
    suppressed ones too (under `suppressed`, with an `inSource` suppression)."""
    if fmt != "text" or no_suppress:
        return tuple(planted)
    return tuple(p for p in planted if p.suppressed is None)


def scan_specs(
    label: str,
    args: Sequence[str],
    expect: Sequence[Planted],
    *,
    stdin: bytes | None = None,
    full: bool = True,
) -> list[Spec]:
    """Every format, to stdout and to --output, with and without --no-suppress (not `full`:
    stdout as is, and --output with --no-suppress)."""
    specs = []
    for fmt in FORMATS:
        for output in (False, True):
            for no_suppress in (False, True):
                if not full and output != no_suppress:
                    continue
                name = f"{label} --format {fmt}"
                extra = ["--format", fmt]
                target = None
                if no_suppress:
                    name += " --no-suppress"
                    extra.append("--no-suppress")
                if output:
                    target = re.sub(r"[^\w.-]+", "_", name) + "." + fmt
                    name += " --output"
                    extra += ["--output", f"../out/{target}"]
                seen = visible(expect, fmt, no_suppress)
                specs.append(Spec(name, (*args, *extra), seen, target, stdin))
    return specs


def verdict(tok: str) -> str:
    """What the fake Notion API says of a key: live (200), invalid (401) or restricted (403),
    by its last character."""
    return ("live", "invalid", "restricted")[ord(tok[-1]) % 3]


# -- every command, in every format ---------------------------------------------------------------


@dataclass
class Session:
    corpus: Corpus
    groups: dict[str, list[Capture]]
    seconds: float = 0.0


def in_tree(corpus: Corpus) -> list[Planted]:
    return [p for p in corpus.planted if p.files]


def in_files(corpus: Corpus, paths: Sequence[str]) -> list[Planted]:
    return [p for p in corpus.planted if set(p.files) & set(paths)]


EXPLICIT = (
    "src/settings.py",
    "data/notion.sqlite",
    "i18n/notes-utf16.txt",
    "k8s/registry.yaml",
    ".env.local",
    "allowed.py",
    "ignored/.env",  # named on the command line: scanned although git ignores it
)


def scan_commands(corpus: Corpus) -> dict[str, list[Spec]]:
    tree = in_tree(corpus)
    explicit = [*in_files(corpus, EXPLICIT), corpus.by_name("dotenv-ignored")]
    staged = [p for p in corpus.planted if p.staged]
    head = [p for p in corpus.planted if p.history == "head"]
    every_ref = [p for p in corpus.planted if p.history]
    stdin = f"# piped\n{corpus.stdin.token}\n".encode()
    return {
        "scan": [
            *scan_specs("scan", ["scan"], tree),
            *scan_specs("scan PATHS", ["scan", *EXPLICIT], explicit, full=False),
            *scan_specs("scan -", ["scan", "-"], [corpus.stdin], stdin=stdin, full=False),
            *scan_specs("scan --jobs 1", ["scan", "--jobs", "1", "."], tree)[:2],
        ],
        "staged": scan_specs("scan --staged", ["scan", "--staged"], staged),
        "history": [
            *scan_specs("scan --history", ["scan", "--history"], head),
            *scan_specs(
                "scan --history --all-refs", ["scan", "--history", "--all-refs"], every_ref
            ),
            *scan_specs("scan --history RANGE", ["scan", "--history", "HEAD~1..HEAD"], [])[:2],
        ],
        "verify": [
            *scan_specs("scan --verify", ["scan", "--verify"], tree),
            *scan_specs(
                "scan --verify --verify-all",
                ["scan", "--verify", "--verify-all"],
                tree,
                full=False,
            ),
            *scan_specs(
                "scan --staged --verify", ["scan", "--staged", "--verify"], staged, full=False
            ),
            *scan_specs(
                "scan --history --all-refs --verify",
                ["scan", "--history", "--all-refs", "--verify"],
                every_ref,
                full=False,
            ),
            *scan_specs("scan - --verify", ["scan", "-", "--verify"], [corpus.stdin], stdin=stdin)[
                :1
            ],
        ],
        "check-env": [
            Spec(
                f"check-env --format {fmt}{' --output' if output else ''}",
                (
                    "check-env",
                    "--format",
                    fmt,
                    *(("--output", f"../out/env.{fmt}") if output else ()),
                ),
                (),
                f"env.{fmt}" if output else None,
            )
            for fmt in FORMATS
            for output in (False, True)
        ],
        "hook": [
            Spec(
                "hook FILES",
                ("hook", "--", "src/settings.py", ".env.local", "staged.py", "allowed.py"),
                tuple(in_files(corpus, ("src/settings.py", ".env.local", "staged.py"))),
            ),
            Spec("hook (no files)", ("hook",), ()),
        ],
    }


def stateful_commands(corpus: Corpus) -> dict[str, list[Capture]]:
    """Commands that write into the repository, one at a time, each file diffed."""
    tree = in_tree(corpus)
    groups: dict[str, list[Capture]] = {}
    run_ = lambda name, *args, **kw: leakguard(name, args, corpus, **kw)  # noqa: E731

    groups["baseline"] = [
        run_("baseline create --output", "baseline", "create", "--output", "../out/created.json"),
        run_(
            "baseline update --baseline",
            *("baseline", "update", "--baseline", "../out/created.json"),
        ),
        run_(
            "baseline update --add-new",
            *("baseline", "update", "--add-new", "--baseline", "../out/created.json"),
        ),
        run_("baseline create (configured path)", "baseline", "create"),
        run_("baseline update (configured path)", "baseline", "update", "--add-new"),
        run_("baseline create PATHS", "baseline", "create", *EXPLICIT[:4], "--output", "b2.json"),
        # With everything in the baseline, a scan shows them as suppressed.
        *(
            run_(
                f"scan after baseline --format {fmt}",
                *("scan", "--format", fmt),
                expect=visible(tree, fmt, False) if fmt != "text" else (),
            )
            for fmt in FORMATS
        ),
    ]

    groups["check-env --fix"] = [
        run_("check-env --fix", "check-env", "--fix"),
        run_("check-env --fix (again)", "check-env", "--fix", "--format", "json"),
        *(
            run_(
                f"check-env --fix --format {fmt} --output",
                *("check-env", "--fix", "--format", fmt, "--output", f"../out/fix.{fmt}"),
            )
            for fmt in FORMATS
        ),
    ]

    hooks = corpus.repo / ".git" / "hooks"
    groups["install-hook"] = [
        run_("install-hook", "install-hook"),
        run_("install-hook (again)", "install-hook"),
        leakguard(
            "git commit through the installed hook",
            ["commit", "-m", "add staged.py"],
            corpus,
            command=["git"],
            expect=[corpus.by_name("staged")],
            codes=(1,),
        ),
        run_("install-hook --uninstall", "install-hook", "--uninstall"),
        run_("install-hook --uninstall (none)", "install-hook", "--uninstall"),
    ]
    (hooks / "pre-commit").write_text("#!/bin/sh\nexit 0\n")
    groups["install-hook"] += [
        run_("install-hook over a foreign hook", "install-hook", codes=(2,)),
        run_("install-hook --uninstall a foreign hook", "install-hook", "--uninstall", codes=(0,)),
        run_("install-hook --force", "install-hook", "--force"),
        run_("install-hook --uninstall (forced)", "install-hook", "--uninstall"),
    ]

    captures = detect_secrets_commands(corpus)
    groups["detect-secrets"] = [c for c in captures if "--report" not in c.name]
    groups["detect-secrets-audit --report"] = [c for c in captures if "--report" in c.name]
    return groups


def detect_secrets_commands(corpus: Corpus) -> list[Capture]:
    run_ = lambda name, *args, **kw: leakguard(name, args, corpus, **kw)  # noqa: E731
    captures = [
        run_("detect-secrets-plugin", "detect-secrets-plugin"),
        run_("detect-secrets-plugin --shim", "detect-secrets-plugin", "--shim", SHIM),
    ]
    if not DETECT_SECRETS.exists():  # pragma: no cover - the test extra installs it
        return captures
    # detect-secrets' own output is out of scope: it only makes the baseline audited below.
    code, out, err = execute(["scan", "--plugin", SHIM], corpus, command=[str(DETECT_SECRETS)])
    assert code == 0, err.decode(errors="replace")
    (corpus.repo / ".secrets.baseline").write_bytes(out)
    document = json.loads(out)
    ours = {
        secret["hashed_secret"]
        for secrets in document["results"].values()
        for secret in secrets
        if secret["type"] == "Notion API Token"
    }
    import hashlib

    reported = [p for p in corpus.planted if hashlib.sha1(p.token.encode()).hexdigest() in ours]
    assert {p.name for p in reported} >= {"plain-api", "plain-legacy", "cookie-encoded"}
    captures.append(
        run_(
            "detect-secrets-plugin --shim --baseline",
            *("detect-secrets-plugin", "--shim", SHIM, "--baseline", ".secrets.baseline"),
        )
    )
    # The audits read the baseline and write nothing: one batch, at the same time.
    audit = functools.partial(Spec, command=tuple(CLI))
    audits = [
        audit(
            "detect-secrets-audit --report",
            ("detect-secrets-audit", "--report", ".secrets.baseline"),
            tuple(reported),
        ),
        audit(
            "detect-secrets-audit --report --only-real",
            ("detect-secrets-audit", "--report", "--only-real", ".secrets.baseline"),
            (),
        ),
        audit(
            "detect-secrets-audit --stats --json",
            ("detect-secrets-audit", "--stats", "--json", ".secrets.baseline"),
            (),
        ),
        audit(
            "detect-secrets-audit --diff",
            ("detect-secrets-audit", "--diff", ".secrets.baseline", ".secrets.baseline"),
            (),
            codes=(0, 1, 2),
        ),
    ]
    return captures + run_batch(audits, corpus, label=" (detect-secrets-audit)")


def error_commands(corpus: Corpus) -> list[Capture]:
    """Each error provoked: no message may carry the token that caused it."""
    api = tokens.api_token(random.Random("errors"))
    legacy = tokens.legacy_token(random.Random("errors legacy"))
    bad_input = Planted("in bad input", api, history=None)
    corpus.planted += [bad_input, Planted("in bad input (legacy)", legacy, history=None)]
    config = corpus.repo / ".notion-leakguard.toml"
    original = config.read_bytes()
    captures = []

    # One configuration at a time.
    def with_config(name: str, text: str, codes: tuple[int, ...] = (2,)) -> None:
        config.write_text(text)
        try:
            captures.append(
                leakguard(f"config: {name}", ["scan", "--format", "json"], corpus, codes=codes)
            )
        finally:
            config.write_bytes(original)

    with_config("invalid TOML at a token", f"allow = [\n  {{ fingerprint = {api} }}\n]\n")
    with_config("invalid TOML: a token alone", f"{api}\n")
    with_config("invalid TOML: an unterminated string", f'exclude = ["{api}\n')
    with_config(
        "token pasted as a fingerprint", f'[[allow]]\nfingerprint = "{api}"\nreason = "test"\n'
    )
    with_config("token as a reason", f'[[allow]]\nfingerprint = "{legacy}"\nreason = "{api}"\n')
    with_config("token under an unknown key", f'NOTION_TOKEN = "{api}"\n')
    with_config("token in a list of the wrong type", f'exclude = [1, "{api}"]\n')
    with_config("token as a wrong type", f'extra-dotenv-patterns = "{api}"\n')
    with_config("token in an allow entry's unknown key", f'[[allow]]\ntoken = "{api}"\n')
    # a configured baseline not written yet is a note, and the scan goes on (exit 1)
    with_config("configured baseline missing", 'baseline = "missing-baseline.json"\n', (1,))
    pyproject = corpus.repo / "pyproject.toml"
    pyproject.write_text(f'[tool.notion-leakguard]\nnotion_token = "{api}"\n')
    config.unlink()
    try:
        captures.append(
            leakguard("pyproject: token under an unknown key", ["scan"], corpus, codes=(2,))
        )
    finally:
        pyproject.unlink()
        config.write_bytes(original)

    # The rest changes nothing: one batch.
    specs = []
    for index, (label, text) in enumerate(
        (
            ("not JSON, holding a token", f'{{\n  "entries": [{api}]\n}}\n'),
            ("a token as a string", json.dumps(api)),
            ("wrong format", json.dumps({"format": 2, "entries": [api]})),
            ("an entry holding a token", json.dumps({"format": 1, "entries": [{"rule": api}]})),
            (
                "a token as a fingerprint",
                json.dumps(
                    {"format": 1, "entries": [{"rule": "r", "path": "p", "fingerprint": api}]}
                ),
            ),
        )
    ):
        bad = corpus.out / f"bad-baseline-{index}.json"
        bad.write_text(text)
        for fmt in FORMATS if index == 0 else ("json",):
            specs.append(
                Spec(
                    f"baseline {label} --format {fmt}",
                    ("scan", "--baseline", str(bad), "--format", fmt),
                    (),
                    codes=(1, 2),
                )
            )
        if "fingerprint" not in label:  # update keeps entries it does not own as they are
            specs.append(
                Spec(
                    f"baseline update of {label}",
                    ("baseline", "update", "--baseline", str(bad)),
                    (),
                    codes=(2,),
                )
            )
    directory = corpus.out / "a-directory"
    directory.mkdir()
    for fmt in FORMATS:
        for target in (str(directory), str(corpus.out / "no" / "such" / "dir" / "r.txt")):
            specs.append(
                Spec(
                    f"scan --format {fmt} --output unwritable {Path(target).name}",
                    ("scan", "--format", fmt, "--output", target),
                    (),
                    codes=(2,),
                )
            )
        specs.append(
            Spec(
                f"check-env --format {fmt} --output unwritable",
                ("check-env", "--format", fmt, "--output", str(directory)),
                (),
                codes=(2,),
            )
        )
    for args, codes in (
        (("scan", "--baseline", "missing.json"), (2,)),
        (("baseline", "create", "--output", str(directory)), (2,)),
        (("baseline", "create", "--output", str(corpus.out / "no" / "b.json")), (2,)),
        (("detect-secrets-plugin", "--shim", str(directory)), (2,)),
        (("detect-secrets-plugin", "--shim", "../out/s.py", "--baseline", ".env"), (2,)),
        (
            ("detect-secrets-plugin", "--shim", "../out/s.py", "--baseline", "data/escaped.json"),
            (2,),
        ),
        (("detect-secrets-plugin", "--baseline", ".env"), (2,)),
        (("scan", "no-such-file.py"), (2,)),
        (("scan", "--history", "no-such-revision"), (2,)),
        (("scan", "--staged", "src/settings.py"), (2,)),
        (("scan", "--all-refs"), (2,)),
        (("scan", "--verify-all"), (2,)),
        (("scan", "--format", "yaml"), (2,)),
        (("check-env", "--format", "yaml"), (2,)),
    ):
        specs.append(Spec(" ".join(args), args, (), codes=codes))
    # detect-secrets 1.5 itself raises UnableToReadBaselineError with a traceback here.
    for args in (
        ("detect-secrets-audit", "--report", ".env"),
        ("detect-secrets-audit", "--report", "src/settings.py"),
    ):
        specs.append(
            Spec(" ".join(args), args, (), codes=(1, 2), traceback=True, command=tuple(CLI))
        )
    specs.append(
        Spec(
            "scan --verify with a plain-http remote API",
            ("scan", "--verify", "--no-suppress", "src/settings.py"),
            (),
            codes=(2,),
            env={**corpus.env, "NOTION_LEAKGUARD_API_URL": "http://api.example.com"},
        )
    )
    specs.append(
        Spec(
            "scan --verify, API unreachable",
            (
                "scan",
                "--verify",
                "--no-suppress",
                "--format",
                "json",
                "src/settings.py",
                ".env.local",
            ),
            tuple(in_files(corpus, ("src/settings.py", ".env.local"))),
            env={**corpus.env, "NOTION_LEAKGUARD_API_URL": "http://127.0.0.1:9"},
        )
    )
    # git missing: PATH holds only an empty directory.
    empty = corpus.root / "no-git-here"
    empty.mkdir()
    no_git = {**corpus.env, "PATH": str(empty)}
    for args, codes in (
        (("scan", "--staged"), (2,)),
        (("scan", "--history"), (2,)),
        (("scan", "--history", "--all-refs", "--format", "json"), (2,)),
        (("check-env",), (2,)),
        (("check-env", "--fix"), (2,)),
        (("install-hook",), (2,)),
        (("scan", "--format", "sarif"), (1,)),  # walks the tree without git
        (("scan", "--verify", "--no-suppress", "--format", "json", "src/settings.py"), (1,)),
    ):
        specs.append(Spec(f"git missing: {' '.join(args)}", args, (), codes=codes, env=no_git))
    # Not a repository at all.
    outside = corpus.root / "outside"
    outside.mkdir()
    (outside / "notion.py").write_text(f'KEY = "{api}"\n')
    (outside / ".env").write_text(f"NOTION_TOKEN={legacy}\n")
    for args, codes in (
        (("scan", "--staged"), (2,)),
        (("scan", "--history"), (2,)),
        (("check-env",), (2,)),
        (("install-hook",), (2,)),
        (("scan", "--format", "json"), (1,)),
    ):
        specs.append(
            Spec(
                f"outside git: {' '.join(args)}",
                args,
                (bad_input,) if args[-1] == "json" else (),
                codes=codes,
                cwd=outside,
            )
        )
    captures += run_batch(specs, corpus, label=" (errors)")
    captures.append(
        leakguard(
            "git missing: baseline create",
            ["baseline", "create", "--output", "../out/no-git.json"],
            corpus,
            env=no_git,
            codes=(0,),
        )
    )
    return captures


def terminal_commands(corpus: Corpus) -> list[Spec]:
    tree = in_tree(corpus)
    history = [p for p in corpus.planted if p.history]
    return [
        Spec("scan (terminal)", ("scan",), visible(tree, "text", False), terminal=True),
        Spec(
            "scan --history --all-refs (terminal)",
            ("scan", "--history", "--all-refs"),
            visible(history, "text", False),
            terminal=True,
        ),
        Spec(
            "scan --verify (terminal)",
            ("scan", "--verify"),
            visible(tree, "text", False),
            terminal=True,
        ),
    ]


def other_commands(corpus: Corpus) -> list[Spec]:
    helped = (
        "scan",
        "baseline",
        "baseline create",
        "baseline update",
        "check-env",
        "hook",
        "install-hook",
        "detect-secrets-plugin",
    )
    return [
        Spec("--version", ("--version",), (), codes=(0,), command=tuple(CLI)),
        Spec("--help", ("--help",), (), codes=(0,)),
        *(Spec(f"{c} --help", (*c.split(), "--help"), (), codes=(0,)) for c in helped),
        Spec(
            "python -m notion_leakguard scan --format json",
            ("scan", "--format", "json"),
            tuple(in_tree(corpus)),
            command=(sys.executable, "-m", "notion_leakguard"),
        ),
    ]


def gate_commands(corpus: Corpus) -> list[Spec]:
    """The push and CI gates over the corpus: pre-push of HEAD to a remote that has nothing
    reads every commit HEAD reaches (what `scan --history` reports), in every format; ci and
    a commit message at the commit-msg stage are checked for leaks as well."""
    head = [p for p in corpus.planted if p.history == "head"]
    sha = _git(corpus.repo, corpus.env, "rev-parse", "HEAD").strip()
    pushed = f"refs/heads/main {sha} refs/heads/main {'0' * 40}\n".encode()
    specs = []
    for fmt in FORMATS:
        for output in (False, True):
            name = f"pre-push --format {fmt}" + (" --output" if output else "")
            target = re.sub(r"[^\w.-]+", "_", name) + "." + fmt if output else None
            extra = ("--format", fmt, *(("--output", f"../out/{target}") if target else ()))
            seen = visible(head, fmt, False)
            specs.append(Spec(name, ("pre-push", "origin", *extra), seen, target, pushed))
    specs.append(Spec("ci --range", ("ci", "--range", "HEAD~1..HEAD", "--format", "json"), ()))
    message = corpus.repo / ".git" / "COMMIT_EDITMSG"
    message.write_text(f"fix\n\nBearer {corpus.by_name('plain-api').token}\n")
    specs.append(
        Spec("hook: a commit message", ("hook", "--", ".git/COMMIT_EDITMSG"), (), codes=(1,))
    )
    return specs


def run_everything(corpus: Corpus) -> dict[str, list[Capture]]:
    groups: dict[str, list[Capture]] = {}
    with serve(FakeNotion(pick=verdict)) as api:
        corpus.env["NOTION_LEAKGUARD_API_URL"] = api.url
        specs = scan_commands(corpus)
        specs["terminal"] = terminal_commands(corpus)
        specs["other"] = other_commands(corpus)
        specs["gates"] = gate_commands(corpus)
        flat = [spec for group in specs.values() for spec in group]
        captures = run_batch(flat, corpus)
        by_name = {c.name: c for c in captures}
        for group, members in specs.items():
            groups[group] = [by_name[spec.name] for spec in members]
        groups["scan"].append(by_name["files written by no --output"])
        del corpus.env["NOTION_LEAKGUARD_API_URL"]
    groups.update(stateful_commands(corpus))
    groups["errors"] = error_commands(corpus)
    return groups


# -- in-process: what the debug-logging tests use -------------------------------------------------


class LogLines(logging.Handler):
    """Every record of every logger, formatted (tracebacks included)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
        if record.exc_info:
            self.lines.append("".join(traceback.format_exception(*record.exc_info)))


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def progress_reporter(stream: io.StringIO) -> Callable[[int, int, int, str], None]:
    from notion_leakguard import progress

    show = progress.reporter(stream)  # type: ignore[arg-type]
    assert show is not None
    return show
