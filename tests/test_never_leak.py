"""The never-leak promise as a test (DESIGN.md "Never print a token"; issue 10).

No report, log line, error message, baseline or exception shows more of a token than its
prefix plus four characters and its last four characters.

A corpus repository holds tokens of every rule (`ntn_`, `secret_` in a file that mentions
Notion, `token_v2` cookies in both spellings, an old hex cookie under a `token_v2` key),
stored in every way the scanner understands: plain, right after escapes, UTF-16 and UTF-32,
base64 (and base64 inside base64 in a `.dockerconfigjson`), with an escaped underscore
(`%5F`, `\\u005f`), inside a SQLite database, in dotenv files (tracked, untracked, ignored),
committed and removed again, on another branch only, staged (and different on disk), under
an inline allow marker, in the baseline, allowed by fingerprint in `.notion-leakguard.toml`,
and among 450 files (so the scan runs in worker processes).

Every command then runs in every format, to standard output and with `--output`, with and
without `--no-suppress`; on a terminal too; errors are provoked (bad configuration, missing
and broken baselines, unwritable `--output`, git missing); the core runs in-process with
logging at debug level. Captured: standard output and error, every file written or changed
under the test's directory (reports, baselines, `.gitignore`, shims, the installed hook, and
TMPDIR), log records, warnings and exception messages.

The check: for every planted token, no 12-character window of it occurs in anything captured
unless that window lies within the preview a report may show; looked for in the raw bytes,
in JSON-unescaped and percent-decoded text, in UTF-16/32 decodings of output holding NUL
bytes, and as base64 (any alignment, standard or URL-safe). And it is not vacuous: each report
shows the preview of each token it is expected to report.

Paths are printed as they are; a path that itself holds a token is not part of this corpus.
detect-secrets' own CLI output is out of scope; `notion-leakguard detect-secrets-audit` is in.

The commands run in this process (`tests.conftest.invoke`), with the corpus's environment;
those whose process is the point run as processes: the console script on a terminal,
`--version`, `python -m notion_leakguard`, `git commit` through the installed hook, and
`detect-secrets-audit` (detect-secrets' own CLI code, with its global state). The corpus,
the check, the runners and the matrix are in tests/helpers/never_leak.py.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import logging
import random
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from tests import tokens
from tests.helpers.never_leak import (
    EXPLICIT,
    FORMATS,
    SHIM,
    Capture,
    Corpus,
    Forbidden,
    LogLines,
    Planted,
    Session,
    Terminal,
    build_corpus,
    check,
    in_files,
    in_tree,
    leaks,
    progress_reporter,
    run_everything,
    verdict,
    visible,
)
from tests.helpers.notion_api import FakeNotion, serve


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Session:
    started = time.monotonic()
    corpus = build_corpus(tmp_path_factory.mktemp("never-leak"), random.Random("never-leak"))
    groups = run_everything(corpus)
    return Session(corpus, groups, time.monotonic() - started)


GROUPS = (
    "scan",
    "gates",
    "staged",
    "history",
    "verify",
    "terminal",
    "check-env",
    "hook",
    "other",
    "baseline",
    "check-env --fix",
    "install-hook",
    "detect-secrets",
    "errors",
)  # "detect-secrets-audit --report": its own test, below


@pytest.mark.parametrize("group", GROUPS)
def test_no_token_escapes(session: Session, group: str) -> None:
    """Nothing any command prints or writes holds 12 characters of a token beyond its
    preview; each report shows the previews it should (the check is not vacuous)."""
    assert session.groups[group], group
    check(session.groups[group], session.corpus)


def test_every_command_and_format_ran(session: Session) -> None:
    """Coverage of the matrix: each command in each format, to stdout and --output, with
    and without --no-suppress."""
    names = {c.name for captures in session.groups.values() for c in captures}
    full = ("", " --no-suppress", " --output", " --no-suppress --output")
    for label, suffixes in (
        ("scan", full),
        ("scan PATHS", full[::3]),
        ("scan -", full[::3]),
        ("scan --staged", full),
        ("scan --history", full),
        ("scan --history --all-refs", full),
        ("scan --verify", full),
        ("scan --verify --verify-all", full[::3]),
        ("scan --staged --verify", full[::3]),
        ("scan --history --all-refs --verify", full[::3]),
    ):
        for fmt in FORMATS:
            for suffix in suffixes:
                assert f"{label} --format {fmt}{suffix}" in names
    for fmt in FORMATS:
        assert f"check-env --format {fmt}" in names
        assert f"check-env --format {fmt} --output" in names
        assert f"check-env --fix --format {fmt} --output" in names
    written = {
        path
        for captures in session.groups.values()
        for capture in captures
        for path in capture.files
    }
    for path in (
        "repo/.gitignore",
        "repo/.notion-leakguard-baseline.json",
        "repo/b2.json",
        "out/created.json",
        "repo/" + SHIM,
        "repo/.git/hooks/pre-commit",
    ):
        assert path in written, sorted(written)


def test_the_corpus_is_what_it_claims(session: Session) -> None:
    """Each storage way is really found (so the never-leak check covers it), with the
    encoding the README promises."""
    (capture,) = [c for c in session.groups["scan"] if c.name == "scan --format json --no-suppress"]
    report = json.loads(capture.stdout)
    found = {(f["preview"], f["encoding"]) for f in report["findings"]}
    expected = {
        "utf-16": "utf-16",
        "utf-32": "utf-32",
        "base64": "base64",
        "base64-nested": "base64",
        "percent-underscore": "percent",
        "json-escape": "json-escape",
        "sqlite": "plain",
        "after-backslash-n": "plain",
    }
    for name, encoding in expected.items():
        planted = session.corpus.by_name(name)
        assert (planted.preview, encoding) in found, name
    (verified,) = [c for c in session.groups["verify"] if c.name == "scan --verify --format json"]
    states = {f["preview"]: f.get("verified") for f in json.loads(verified.stdout)["findings"]}
    assert set(states.values()) >= {"live", "invalid"}
    assert states[session.corpus.by_name("cookie-encoded").preview] is None  # never sent
    rules = {f["rule"] for f in report["findings"]}
    assert rules >= {
        "notion-api-token",
        "notion-legacy-token",
        "notion-token-v2-cookie",
        "env-file-tracked",
        "env-file-not-ignored",
    }


# -- in-process: logging at debug level, exceptions, warnings -------------------------------------


@pytest.fixture
def debug_logging(caplog: pytest.LogCaptureFixture) -> Iterator[LogLines]:
    """`logging.basicConfig(level=logging.DEBUG)`, as a user debugging a run would set it,
    plus a handler that formats every record of every logger."""
    root = logging.getLogger()
    level = root.level
    logging.basicConfig(level=logging.DEBUG)
    root.setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    handler = LogLines()
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_in_process_with_debug_logging(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    debug_logging: LogLines,
) -> None:
    from notion_leakguard import baseline as baselines
    from notion_leakguard import cli, config, git, reporters, scanner
    from notion_leakguard.cli.options import View
    from notion_leakguard.commands import Outcome
    from notion_leakguard.commands.scan import scan_history, scan_paths
    from notion_leakguard.errors import LeakguardError
    from notion_leakguard.sources import files, history

    corpus = build_corpus(tmp_path, random.Random("in-process"))
    logging.getLogger("never-leak").debug("the handler sees debug records")
    for name, value in corpus.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(corpus.repo)
    tree = in_tree(corpus)
    captures: list[Capture] = []
    texts: list[str] = []

    def main(
        name: str,
        argv: list[str],
        *,
        expect: Sequence[Planted] = (),
        stdin: bytes = b"",
        codes: tuple[int, ...] = (0, 1),
    ) -> None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                code: int | None = cli.main(argv)
            except Exception:  # an exception that escapes is output too
                code = None
                texts.append(traceback.format_exc())
        out, err = capsys.readouterr()
        texts.extend(str(w.message) for w in caught)
        captures.append(
            Capture(name, argv, code, out.encode(), err.encode(), expect=tuple(expect), codes=codes)
        )

    with serve(FakeNotion(pick=verdict)) as api:
        monkeypatch.setenv("NOTION_LEAKGUARD_API_URL", api.url)
        for fmt in FORMATS:
            main(f"scan {fmt}", ["scan", "--format", fmt, "--no-suppress"], expect=tree)
            main(
                f"scan --verify --jobs 2 {fmt}",
                ["scan", "--verify", "--jobs", "2", "--format", fmt],
                expect=visible(tree, fmt, False),
            )
            main(
                f"scan --staged --verify {fmt}",
                ["scan", "--staged", "--verify", "--format", fmt],
                expect=[p for p in corpus.planted if p.staged],
            )
            main(
                f"scan --history --all-refs {fmt}",
                ["scan", "--history", "--all-refs", "--format", fmt, "--no-suppress"],
                expect=[p for p in corpus.planted if p.history],
            )
            main(
                f"scan - {fmt}",
                ["scan", "-", "--format", fmt],
                expect=[corpus.stdin],
                stdin=corpus.stdin.token.encode(),
            )
            main(f"check-env {fmt}", ["check-env", "--format", fmt])
        main(
            "hook",
            ["hook", "--", *EXPLICIT],
            expect=visible(in_files(corpus, EXPLICIT), "text", False),
        )
        main("baseline create", ["baseline", "create", "--output", str(corpus.out / "b.json")])
        main("baseline update", ["baseline", "update", "--baseline", str(corpus.out / "b.json")])
        main("install-hook", ["install-hook"])
        main("install-hook --uninstall", ["install-hook", "--uninstall"])
        main("output to a directory", ["scan", "--output", str(corpus.out)], codes=(2,))
        main("output to a missing directory", ["scan", "--output", "no/such/r"], codes=(2,))
        main("missing path", ["scan", "nope"], codes=(2,))

    # The core directly: results, their reprs and rendering (colour included), progress.
    settings = config.load(str(corpus.repo))
    result = scan_paths(["."], cwd=str(corpus.repo), settings=settings)
    texts += [repr(result), str(result)]
    for fmt in FORMATS:
        texts.append(reporters.render(result, fmt, color=True))
    for p in corpus.planted:
        for data in (p.token.encode(), f"x = '{p.token}'\n".encode("utf-16")):
            texts.append(repr(scanner.scan_bytes(data, "inline.txt")))
    texts.append(repr(list(files.Walk(["."], cwd=str(corpus.repo)))))
    progress = Terminal()
    show = progress_reporter(progress)
    scanned = scan_history(str(corpus.repo), (), all_refs=True, progress=show)
    texts += [repr(scanned), progress.getvalue()]

    # Exceptions, with their messages and tracebacks.
    config_file = corpus.repo / ".notion-leakguard.toml"
    token = corpus.by_name("plain-api").token
    failures: list[Callable[[], object]] = []
    for text in (
        f"allow = [{token}]\n",
        f'NOTION_TOKEN = "{token}"\n',
        f'[[allow]]\nfingerprint = "{token}"\nreason = "x"\n',
        f'[[allow]]\nfingerprint = "sha256:x"\n{token[:4]}x = "{token}"\n',
    ):
        failures.append(
            lambda text=text: (config_file.write_text(text), config.load(str(corpus.repo)))
        )
    bad = corpus.out / "bad.json"
    failures.append(lambda: (bad.write_text(f"[{token}]"), baselines.load(str(bad))))
    failures.append(
        lambda: (
            bad.write_text(json.dumps({"format": 1, "entries": [token]})),
            baselines.load(str(bad)),
        )
    )
    outcome = Outcome(result, reporters.SCAN_ADVICE)
    unwritable = View(fmt="json", output=str(corpus.out))
    failures.append(lambda: cli.report(outcome, unwritable))
    failures.append(lambda: history.plan(str(corpus.repo), ["no-such-rev"], all_refs=False))
    for failure in failures:
        try:
            failure()
        except LeakguardError as error:
            texts += [str(error), repr(error), traceback.format_exc()]
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    for failure in (
        lambda: git.top_level(str(corpus.repo)),
        lambda: git.staged_diff(str(corpus.repo)),
    ):
        with pytest.raises(LeakguardError) as caught:
            failure()
        error = caught.value
        texts += [str(error), "".join(traceback.format_exception(type(error), error, None))]

    captures.append(
        Capture(
            "in-process logs, reprs, renders and exceptions",
            (),
            None,
            stdout="\n".join(texts).encode("utf-8", "surrogateescape"),
            stderr="\n".join(
                [*debug_logging.lines, caplog.text, *(r.getMessage() for r in caplog.records)]
            ).encode("utf-8", "surrogateescape"),
        )
    )
    assert any("git is not installed" in t for t in texts)
    assert any("the handler sees debug records" in line for line in debug_logging.lines)
    check(captures, corpus)


# -- the detect-secrets plugin, in-process ---------------------------------------------------------


def test_plugin_in_process_with_debug_logging(
    tmp_path: Path, debug_logging: LogLines, caplog: pytest.LogCaptureFixture
) -> None:
    """The plugin hands detect-secrets the token (that is its job: detect-secrets hashes it);
    nothing it logs, raises or prints holds one."""
    from notion_leakguard import detect_secrets_plugin

    rng = random.Random("plugin")
    planted = [
        Planted("api", tokens.api_token(rng)),
        Planted("legacy", tokens.legacy_token(rng)),
        Planted("cookie", tokens.cookie(rng)),
    ]
    detector = detect_secrets_plugin.NotionTokenDetector()
    texts = []
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        for p in planted:
            line = f'notion = "{p.token}"'
            found = list(detector.analyze_string(line))
            assert found == [p.token]
            texts.append(repr(detector.verify(p.token)))
            texts.append(repr(detector))
    capture = Capture(
        "plugin",
        (),
        None,
        stdout=("\n".join(texts) + out.getvalue()).encode(),
        stderr="\n".join([err.getvalue(), *debug_logging.lines, caplog.text]).encode(),
    )
    corpus = Corpus(tmp_path, tmp_path, tmp_path, {}, planted, planted[0])
    check([capture], corpus)


def test_detect_secrets_audit_report_shows_previews_only(session: Session) -> None:
    """README: in `detect-secrets-audit` reports "Notion tokens appear only as previews".
    The report is JSON holding each flagged line and secret; the redaction runs over that
    JSON text, where escaping (`\\"`, `\\u001b`, `\\\\u005f`) hides a token's context, and
    the other plugins flag tokens stored in forms our plugin does not read line by line
    (the hex cookie, base64)."""
    captures = session.groups["detect-secrets-audit --report"]
    assert captures, "the test extra installs detect-secrets"
    check(captures, session.corpus)


def test_the_check_catches_a_leak() -> None:
    """The check itself: a token in any of the forms looked for is caught; its preview, a
    fingerprint and an unrelated token are not."""
    rng = random.Random("the check")
    tok = tokens.api_token(rng)
    cookie = tokens.cookie(rng, encoded=True)
    planted = [Planted("api", tok), Planted("cookie", cookie)]
    forbidden = Forbidden(planted)

    def caught(data: bytes) -> bool:
        capture = Capture("probe", (), None, stdout=data)
        return bool(leaks(capture, forbidden))

    from notion_leakguard.findings import fingerprint

    for harmless in (
        tokens.preview(tok),
        tokens.preview(cookie),
        json.dumps({"preview": tokens.preview(cookie)}),
        fingerprint(tok),
        tokens.api_token(rng),
        cookie[:34],
    ):
        assert not caught(harmless.encode()), harmless
    body = tok[4:]
    for leaked in (
        tok.encode(),
        tok[20:32].encode(),  # any 12 characters
        json.dumps({"x": "ntn\u005f" + body}).encode(),
        ("ntn%5F" + body).encode(),
        ("ntn_" + "".join(f"\\u{ord(c):04x}" for c in body)).encode(),
        tok.encode("utf-16"),
        tok.encode("utf-32-be"),
        base64.b64encode(b"user:" + tok.encode()),
        base64.urlsafe_b64encode(b"xy" + tok.encode()),
        cookie[:40].encode(),  # the prefix and 10 characters of the body
    ):
        assert caught(leaked), leaked
