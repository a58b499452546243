"""Daily use as people expect it: a baseline at its default place needs no set-up."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from notion_leakguard.findings import fingerprint
from tests import tokens
from tests.conftest import git, run_main


def test_a_baseline_at_its_default_place_is_used_by_every_command(
    in_git_dir: Path,
    rng: random.Random,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tok = tokens.api_token(rng)
    (in_git_dir / "src").mkdir()
    (in_git_dir / "src" / "settings.py").write_text(f'NOTION_TOKEN = "{tok}"\n')
    (in_git_dir / ".env").write_text("NOTION_TOKEN=\n")
    code, _, err = run_main(["baseline", "create"], cwd=in_git_dir)
    assert code == 0
    assert err == ".notion-leakguard-baseline.json: 2 entries\n"
    assert (in_git_dir / ".notion-leakguard-baseline.json").is_file()
    git("add", "src/settings.py", cwd=in_git_dir)
    for argv, where in (
        (["scan"], in_git_dir),
        (["scan", "."], in_git_dir / "src"),
        (["scan", "--staged"], in_git_dir),
        (["hook", "--", "src/settings.py"], in_git_dir),
        (["check-env"], in_git_dir),
    ):
        code, out, _ = run_main(argv, cwd=where)
        assert code == 0, (argv, out)
        assert "suppressed" in out or argv == ["scan", "--staged"], (argv, out)


def test_a_configured_baseline_not_written_yet_is_a_note_not_a_failure(
    in_git_dir: Path,
    rng: random.Random,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tok = tokens.legacy_token(rng)
    (in_git_dir / ".notion-leakguard.toml").write_text('baseline = "ci/known.json"\n')
    (in_git_dir / "app.py").write_text(f"K = '{tok}'\n")
    code, out, err = run_main(["scan", "app.py"], cwd=in_git_dir)
    assert code == 1 and f"app.py:1:6: notion-legacy-token {tokens.preview(tok)}" in out
    assert "baseline ci/known.json does not exist yet" in err
    (in_git_dir / "ci").mkdir()
    assert run_main(["baseline", "create"], cwd=in_git_dir)[0] == 0
    assert (in_git_dir / "ci" / "known.json").is_file()
    assert run_main(["scan", "app.py"], cwd=in_git_dir)[0] == 0


def _leak(repo: Path, rng: random.Random) -> str:
    tok = tokens.api_token(rng)
    (repo / "app.py").write_text(f'KEY = "{tok}"\n')
    return tok


@pytest.mark.parametrize(
    ("argv", "code"),
    (
        (["scan", "app.py"], 1),
        (["scan", "app.py", "--exit-zero"], 0),
        (["scan", "-q", "app.py"], 1),
    ),
)
def test_exit_zero_and_quiet(
    in_git_dir: Path,
    rng: random.Random,
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    code: int,
) -> None:
    tok = _leak(in_git_dir, rng)
    (in_git_dir / ".notion-leakguard.toml").write_text('baseline = "missing.json"\n')
    got, out, err = run_main(argv, cwd=in_git_dir)
    assert got == code
    assert f"app.py:1:8: notion-api-token {tokens.preview(tok)}" in out
    assert "note:" in err  # the missing baseline's note, quiet or not


@pytest.mark.parametrize(
    ("flag", "environment", "coloured"),
    (
        ("--color=always", {}, True),
        ("--color=never", {"FORCE_COLOR": "1"}, False),
        ("--color=auto", {"FORCE_COLOR": "1"}, True),
        ("--color=auto", {"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),
        ("--color=auto", {}, False),  # captured output is no terminal
    ),
)
def test_colour_choice(
    in_git_dir: Path,
    rng: random.Random,
    monkeypatch: pytest.MonkeyPatch,
    flag: str,
    environment: dict[str, str],
    coloured: bool,
) -> None:
    _leak(in_git_dir, rng)
    for name in ("NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    _, out, _ = run_main(["scan", flag, "app.py"], cwd=in_git_dir)
    assert ("\x1b[31m" in out) is coloured


def test_output_file_keeps_the_summary_on_stderr(
    in_git_dir: Path,
    rng: random.Random,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tok = _leak(in_git_dir, rng)
    code, out, err = run_main(["scan", "-f", "sarif", "-o", "r.sarif", "app.py"], cwd=in_git_dir)
    assert (code, out) == (1, "")
    assert err == "notion-leakguard: 1 Notion credential found in 1 file. Report: r.sarif\n"
    assert tok not in (in_git_dir / "r.sarif").read_text()


def test_the_text_report_names_an_encoding(
    in_git_dir: Path,
    rng: random.Random,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import base64

    tok = tokens.legacy_token(rng)
    encoded = base64.b64encode(f"NOTION_TOKEN={tok}\n".encode()).decode()
    (in_git_dir / "secret.yaml").write_text(f"data:\n  env: {encoded}\n")
    _, out, _ = run_main(["scan", "secret.yaml"], cwd=in_git_dir)
    assert out.splitlines()[0] == (
        f"secret.yaml:2:25: notion-legacy-token {tokens.preview(tok)} (base64)"
    )


def test_rules_lists_every_rule_with_its_remedy(
    in_git_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from notion_leakguard.rules import RULES

    code, out, _ = run_main(["rules", "-f", "json"], cwd=in_git_dir)
    document = json.loads(out)
    assert code == 0
    assert [r["id"] for r in document["rules"]] == [rule.id for rule in RULES]
    remedies = {r["id"]: r["remedy"] for r in document["rules"]}
    assert "Refresh" in remedies["notion-api-token"]
    assert "Log out of all devices" in remedies["notion-token-v2-cookie"]
    assert "Refresh" not in remedies["notion-token-v2-cookie"]
    assert "git rm --cached" in remedies["env-file-tracked"]
    code, out, _ = run_main(["rules"], cwd=in_git_dir)
    assert code == 0 and all(f"\n{rule.id}\n" in f"\n{out}" for rule in RULES)
    _, sarif, _ = run_main(["scan", "-f", "sarif", "."], cwd=in_git_dir)
    rules = json.loads(sarif)["runs"][0]["tool"]["driver"]["rules"]
    assert {r["id"]: r["help"]["text"] for r in rules} == remedies


def test_baseline_create_over_an_existing_one_keeps_reasons_and_says_what_changed(
    in_git_dir: Path,
    rng: random.Random,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import json

    first, second, third = (tokens.api_token(rng) for _ in range(3))
    (in_git_dir / "a.py").write_text(f"A = '{first}'\nB = '{second}'\n")
    run_main(["baseline", "create"], cwd=in_git_dir)
    path = in_git_dir / ".notion-leakguard-baseline.json"
    document = json.loads(path.read_text())
    kept, gone = fingerprint(first), fingerprint(second)
    for entry in document["entries"]:
        if entry["fingerprint"] == kept:
            entry["reason"] = "revoked test key"
    path.write_text(json.dumps(document))
    (in_git_dir / "a.py").write_text(f"A = '{first}'\nC = '{third}'\n")
    code, _, err = run_main(["baseline", "create"], cwd=in_git_dir)
    assert code == 0
    assert err == ".notion-leakguard-baseline.json: 2 entries (was 2: 1 added, 1 dropped)\n"
    entries = json.loads(path.read_text())["entries"]
    assert {e["fingerprint"]: e.get("reason") for e in entries}[kept] == "revoked test key"
    assert gone not in {e["fingerprint"] for e in entries}


def test_check_env_speaks_of_dotenv_files_and_fix_prints_its_change(
    in_git_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run_main(["check-env"], cwd=in_git_dir)
    assert (code, out) == (0, "No dotenv file is tracked by git or left outside .gitignore.\n")
    (in_git_dir / ".env").write_text("NOTION_TOKEN=\n")
    code, out, _ = run_main(["check-env", "--fix"], cwd=in_git_dir)
    assert code == 1
    assert out.splitlines()[0] == ".gitignore: added .env"
    assert "Notion credential" not in out
    code, out, _ = run_main(["check-env"], cwd=in_git_dir)
    assert (code, out) == (0, "No dotenv file is tracked by git or left outside .gitignore.\n")


def test_exclude_is_never_silent_and_holds_for_staged_and_history(
    in_git_dir: Path,
    rng: random.Random,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tok = tokens.api_token(rng)
    (in_git_dir / ".notion-leakguard.toml").write_text('exclude = ["fixtures/**"]\n')
    (in_git_dir / "fixtures").mkdir()
    (in_git_dir / "fixtures" / "sample.py").write_text(f"K = '{tok}'\n")
    git("add", ".", cwd=in_git_dir)
    for argv in (["scan"], ["scan", "fixtures/sample.py"], ["scan", "--staged"]):
        code, out, _ = run_main(argv, cwd=in_git_dir)
        assert code == 0, argv
        assert "(1 suppressed: 1 by exclude; --no-suppress shows them)" in out, argv
        assert "(1 file matched `exclude`)" in out, argv
        code, out, _ = run_main([*argv, "--no-suppress"], cwd=in_git_dir)
        assert code == 1 and f"sample.py:1:6: notion-api-token {tokens.preview(tok)}" in out
    git("commit", "-q", "-m", "fixture", "--no-verify", cwd=in_git_dir)
    code, out, _ = run_main(["scan", "--history", "-q"], cwd=in_git_dir)
    assert code == 0 and "1 by exclude" in out


def test_verify_says_why_a_state_is_unknown(
    in_git_dir: Path,
    rng: random.Random,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import json
    import socket
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Busy(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(503)
            self.send_header("Retry-After", "0")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    tok = _leak(in_git_dir, rng)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Busy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    try:
        for url, why in (
            (f"http://127.0.0.1:{server.server_address[1]}", "server error 503"),
            (f"http://127.0.0.1:{closed}", "connection refused"),
        ):
            monkeypatch.setenv("NOTION_LEAKGUARD_API_URL", url)
            code, out, _ = run_main(["scan", "--verify", "app.py"], cwd=in_git_dir)
            assert code == 1
            assert f"app.py:1:8: notion-api-token {tokens.preview(tok)} [unknown: {why}]" in out
            _, out, _ = run_main(["scan", "--verify", "-f", "json", "app.py"], cwd=in_git_dir)
            [finding] = json.loads(out)["findings"]
            assert (finding["verified"], finding["verified_why"]) == ("unknown", why)
    finally:
        server.shutdown()


def test_config_names_the_configuration_file(
    in_git_dir: Path,
    rng: random.Random,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    tok = _leak(in_git_dir, rng)
    (in_git_dir / ".notion-leakguard.toml").write_text("exclude = []\n")
    elsewhere = tmp_path / "ci" / "leakguard.toml"
    elsewhere.parent.mkdir()
    elsewhere.write_text(f'[[allow]]\nfingerprint = "{fingerprint(tok)}"\nreason = "test key"\n')
    assert run_main(["scan", "app.py"], cwd=in_git_dir)[0] == 1
    for argv in (["scan", "app.py"], ["hook", "--", "app.py"], ["check-env"]):
        code, out, _ = run_main([argv[0], "--config", str(elsewhere), *argv[1:]], cwd=in_git_dir)
        assert code == 0, (argv, out)
    code, _, err = run_main(["scan", "--config", "nope.toml"], cwd=in_git_dir)
    assert code == 2 and "nope.toml: no such configuration file" in err


def test_allow_by_path_glob(
    in_git_dir: Path,
    rng: random.Random,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tok, other = tokens.api_token(rng), tokens.legacy_token(rng)
    (in_git_dir / "docs").mkdir()
    (in_git_dir / "docs" / "example.md").write_text(f"NOTION_TOKEN={tok}\n")
    (in_git_dir / "app.py").write_text(f"K = '{other}'\n")
    (in_git_dir / ".notion-leakguard.toml").write_text(
        '[[allow]]\npath = "docs/**"\nreason = "revoked keys in the docs"\n'
    )
    code, out, _ = run_main(["scan"], cwd=in_git_dir)
    assert code == 1
    assert [line.split(":")[0] for line in out.splitlines() if ": notion-" in line] == ["app.py"]
    assert "1 by the configuration" in out
    for text, problem in (
        ('[[allow]]\npath = "docs/**"\n', "allow[0].reason"),
        (
            f'[[allow]]\npath = "x"\nfingerprint = "{fingerprint(tok)}"\nreason = "r"\n',
            "not several",
        ),
        ('[[allow]]\npath = "!x"\nreason = "r"\n', "allow[0].path"),
    ):
        (in_git_dir / ".notion-leakguard.toml").write_text(text)
        code, _, err = run_main(["scan"], cwd=in_git_dir)
        assert code == 2 and problem in err, err


def test_verbose_shows_each_line_redacted(
    in_git_dir: Path,
    rng: random.Random,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import base64

    tok, other = tokens.api_token(rng), tokens.legacy_token(rng)
    (in_git_dir / "app.py").write_text(f'client = Client(auth="{tok}")\n')
    encoded = base64.b64encode(f"NOTION_TOKEN={other}".encode()).decode()
    (in_git_dir / "secret.yaml").write_text(f"data:\n  env: {encoded}\n")
    code, out, _ = run_main(["scan", "-v", "app.py", "secret.yaml"], cwd=in_git_dir)
    assert code == 1
    lines = out.splitlines()
    assert lines[1] == f'    client = Client(auth="{tokens.preview(tok)}")'
    assert lines[3] == "    (the line holds the key in an encoded form: not shown)"
    assert tok not in out and encoded not in out and other not in out
    git("add", "app.py", cwd=in_git_dir)
    code, out, _ = run_main(["scan", "--staged", "-v"], cwd=in_git_dir)
    assert out.splitlines()[1] == f'    client = Client(auth="{tokens.preview(tok)}")'


def test_allow_by_regex_on_the_line_with_a_timeout(
    in_git_dir: Path,
    rng: random.Random,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    test_key, real = tokens.api_token(rng), tokens.api_token(rng)
    (in_git_dir / "tests.py").write_text(
        f'FAKE = "{test_key}"  # sandbox workspace\nREAL = "{real}"\n'
    )
    config = in_git_dir / ".notion-leakguard.toml"
    config.write_text('[[allow]]\nregex = "#\\\\s*sandbox"\nreason = "sandbox key"\n')
    code, out, _ = run_main(["scan", "tests.py"], cwd=in_git_dir)
    assert code == 1
    assert [line.split(":")[1] for line in out.splitlines() if ": notion-" in line] == ["2"]
    assert "1 by the configuration" in out
    # a pattern that backtracks for ever is named and applies to nothing; the scan goes on
    config.write_text('[[allow]]\nregex = "(a|aa)+c"\nreason = "slow"\n')
    (in_git_dir / "tests.py").write_text(f'X = "{real}"  ' + "a" * 60 + "\n")
    code, out, err = run_main(["scan", "tests.py"], cwd=in_git_dir)
    assert code == 1 and "allow regex '(a|aa)+c' took too long" in err
    config.write_text('[[allow]]\nregex = "(unclosed"\nreason = "r"\n')
    code, _, err = run_main(["scan", "tests.py"], cwd=in_git_dir)
    assert code == 2 and "allow[0].regex: is not a valid regular expression" in err


@pytest.mark.parametrize("jobs", (1, 2))
def test_a_long_file_scan_reports_progress_and_ends_with_what_it_read(
    tmp_path: Path, jobs: int
) -> None:
    import io

    from notion_leakguard import pipeline, progress
    from notion_leakguard.sources import files

    count = pipeline.PARALLEL_MIN_FILES + 300
    for index in range(count):
        (tmp_path / f"f{index:04}.txt").write_bytes(b"x" * 100)
    calls: list[tuple[int, int]] = []
    result = pipeline.scan(
        files.Walk(["."], cwd=str(tmp_path)),
        root=str(tmp_path),
        jobs=jobs,
        progress=lambda done, size: calls.append((done, size)),
    )
    assert result.files_scanned == count
    assert calls[-1] == (count, count * 100) if jobs == 1 else max(calls) == (count, count * 100)
    assert len(calls) > 2  # along the way, not only at the end

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert progress.files_reporter(io.StringIO()) is None  # pipes and CI logs get nothing
    screen = Terminal()
    shown = progress.files_reporter(screen)
    assert shown is not None
    shown(count, count * 100)
    shown.finish()
    assert re.search(rf"\rscanned {count} files, 0\.1 MB in \d+\.\d s\n$", screen.getvalue())
