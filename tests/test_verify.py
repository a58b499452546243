"""Opt-in key verification (`scan --verify`, the detect-secrets plugin's `verify()`), against
a real HTTP server on 127.0.0.1 that imitates `GET /v1/users/me` of the Notion API.

The server (tests/helpers/notion_api.py, the `notion_api` fixture) records every request
(path, method, headers, arrival time) and checks the headers; each token it is sent picks a
behaviour from a table. The CLI runs in this process (`invoke`) with NOTION_LEAKGUARD_API_URL
pointing at the server; detect-secrets runs as its own CLI. Cases that must wait out a
deadline or a timeout call `verify.verify` with short limits, so the CLI cases stay fast.
Every credential is built at run time (tests/tokens.py).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from notion_leakguard import verify
from notion_leakguard.errors import LeakguardError
from tests import tokens
from tests.conftest import git, invoke
from tests.helpers.notion_api import API_PATH, PROXY_VARS, FakeNotion

OURS = "Notion API Token"  # the plugin's secret_type


@pytest.fixture
def raw_server() -> Iterator[Callable[[bytes], str]]:
    """A TCP server on 127.0.0.1 that answers every connection with fixed bytes."""
    sockets: list[socket.socket] = []

    def start(payload: bytes) -> str:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        sockets.append(listener)

        def serve() -> None:
            while True:
                try:
                    connection, _ = listener.accept()
                except OSError:
                    return
                with connection:
                    connection.settimeout(5)
                    try:
                        connection.recv(65536)
                        connection.sendall(payload)
                    except OSError:
                        pass

        threading.Thread(target=serve, daemon=True).start()
        return f"http://127.0.0.1:{listener.getsockname()[1]}"

    yield start
    for listener in sockets:
        listener.close()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    for name in ("NOTION_LEAKGUARD_VERIFY", "NOTION_LEAKGUARD_VERIFY_ALL", verify.API_ENV):
        monkeypatch.delenv(name, raising=False)


# -- helpers ----------------------------------------------------------------------------------


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def scan_json(
    *args: str, cwd: Path, env: dict[str, str]
) -> tuple[dict[str, Any], subprocess.CompletedProcess[str]]:
    result = invoke("scan", "--format", "json", *args, cwd=cwd, env=env)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return json.loads(result.stdout), result


def verified_by_path(report: dict[str, Any]) -> dict[str, str | None]:
    return {f["path"]: f.get("verified") for f in report["findings"]}


def assert_no_token(text: str, *planted: str, where: str = "output") -> None:
    """No 12-character piece of any token, beyond what its preview shows (the prefix and
    the next four characters; the last four are fewer than 12)."""
    for tok in planted:
        shown = tokens.prefix_length(tok) + 4
        for start in range(len(tok) - 11):
            if start + 12 <= shown:
                continue
            if tok[start : start + 12] in text:
                pytest.fail(f"{where}: 12 characters of {tokens.label(tok)} from offset {start}")


def sha1(secret: str) -> str:
    return hashlib.sha1(secret.encode()).hexdigest()


# -- 1. scan --verify: each answer, one request per token, bounded concurrency ------------------


def test_scan_verify_maps_each_answer_to_a_state(
    tmp_path: Path, rng: random.Random, notion_api: FakeNotion
) -> None:
    cases = {
        "live": "live",
        "invalid": "invalid",
        "restricted": "live",
        "rate-limited": "live",
        "flaky": "live",
        "malformed": "unknown",
        "not-user": "unknown",
        "redirect": "unknown",
    }
    made = {kind: tokens.api_token(rng) for kind in cases}
    legacy = tokens.legacy_token(rng)
    encoded = tokens.api_token(rng)
    notion_api.behaviours = {made[kind]: kind for kind in cases}
    notion_api.behaviours |= {legacy: "live", encoded: "invalid"}
    files = {f"src/{kind}.py": f'TOKEN = "{made[kind]}"\n' for kind in cases}
    files["copy/live_again.py"] = f'AGAIN = "{made["live"]}"\n'  # the same token elsewhere
    files["config/legacy.py"] = f'# Notion integration\nKEY = "{legacy}"\n'
    files["deploy/values.yaml"] = (
        f"key: {base64.b64encode(encoded.encode()).decode()}\n"  # found base64-encoded
    )
    write(tmp_path, files)

    started = time.monotonic()
    report, _ = scan_json("--verify", cwd=tmp_path, env=notion_api.env())
    elapsed = time.monotonic() - started

    expected = {f"src/{kind}.py": state for kind, state in cases.items()}
    expected |= {
        "copy/live_again.py": "live",
        "config/legacy.py": "live",
        "deploy/values.yaml": "invalid",
    }
    # every finding still reported, each with its state
    assert verified_by_path(report) == expected
    assert len(report["findings"]) == len(expected)
    notion_api.check()
    # one request per distinct token; only 429 and 5xx are asked again
    retries = {"rate-limited": 2, "flaky": 3}
    assert notion_api.requests() == Counter(
        {made[kind]: retries.get(kind, 1) for kind in cases} | {legacy: 1, encoded: 1}
    )
    # Retry-After: 1 was honoured; then back-off 1 s, 2 s for the 500s (lower bounds only)
    first, second = notion_api.arrivals(made["rate-limited"])
    assert second - first >= 0.9
    a, b, c = notion_api.arrivals(made["flaky"])
    assert b - a >= 0.9 and c - b >= 1.9
    # the redirect was not followed: /elsewhere never saw a request
    assert [h for h in notion_api.hits if h.path != API_PATH] == []
    assert elapsed < 30, elapsed


def test_scan_verify_sarif_carries_the_state(
    tmp_path: Path, rng: random.Random, notion_api: FakeNotion
) -> None:
    live, dead = tokens.api_token(rng), tokens.api_token(rng)
    notion_api.behaviours = {live: "live", dead: "invalid"}
    write(tmp_path, {"a.py": f'A = "{live}"\n', "b.py": f'B = "{dead}"\n'})

    result = invoke("scan", "--verify", "--format", "sarif", cwd=tmp_path, env=notion_api.env())

    assert result.returncode == 1, result.stderr
    (run,) = json.loads(result.stdout)["runs"]
    states = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r["properties"][
            "verified"
        ]
        for r in run["results"]
    }
    assert states == {"a.py": "live", "b.py": "invalid"}


def test_scan_verify_bounds_concurrency(
    tmp_path: Path, rng: random.Random, notion_api: FakeNotion
) -> None:
    made = [tokens.api_token(rng) for _ in range(10)]
    notion_api.behaviours = {tok: "slow" for tok in made}
    write(tmp_path, {f"f{i}.py": f'T = "{tok}"\n' for i, tok in enumerate(made)})

    report, _ = scan_json("--verify", cwd=tmp_path, env=notion_api.env())

    assert set(verified_by_path(report).values()) == {"live"}
    assert notion_api.requests() == Counter({tok: 1 for tok in made})
    assert 2 <= notion_api.max_in_flight <= verify.CONCURRENCY == 4
    notion_api.check()


def test_scan_verify_survives_a_server_that_is_not_http(
    tmp_path: Path, rng: random.Random, raw_server: Callable[[bytes], str]
) -> None:
    """An answer that is not HTTP at all (a wrong port, a broken proxy) is `unknown`; the
    scan still reports its findings and exits 1, it does not crash."""
    url = raw_server(b"SSH-2.0-OpenSSH_9.6\r\n")
    tok = tokens.api_token(rng)
    write(tmp_path, {"app.py": f'T = "{tok}"\n'})

    result = invoke("scan", "--verify", "--format", "json", cwd=tmp_path, env={verify.API_ENV: url})

    assert "Traceback" not in result.stderr, result.stderr[-600:]
    assert result.returncode == 1, result.stderr[-600:]
    assert verified_by_path(json.loads(result.stdout)) == {"app.py": "unknown"}
    assert_no_token(result.stdout + result.stderr, tok)


# -- 2. never by default ------------------------------------------------------------------------


def test_scan_without_verify_sends_nothing(
    tmp_path: Path, rng: random.Random, notion_api: FakeNotion
) -> None:
    api, legacy, cookie = tokens.api_token(rng), tokens.legacy_token(rng), tokens.cookie(rng)
    write(
        tmp_path,
        {
            "notion.py": f'A = "{api}"\nB = "{legacy}"\n',
            "session.yaml": f"token_v2: {cookie}\n",
        },
    )
    # not even the plugin's opt-in variables turn it on for the CLI
    env = notion_api.env() | {"NOTION_LEAKGUARD_VERIFY": "1", "NOTION_LEAKGUARD_VERIFY_ALL": "1"}

    for fmt in ("json", "text", "sarif"):
        result = invoke("scan", "--format", fmt, cwd=tmp_path, env=env)
        assert result.returncode == 1, result.stderr
        assert "verified" not in result.stdout
    assert notion_api.hits == []

    # --verify-all alone is a usage error, and sends nothing either
    result = invoke("scan", "--verify-all", cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert "--verify" in result.stderr
    assert notion_api.hits == []


def test_cookies_are_never_sent(tmp_path: Path, rng: random.Random, notion_api: FakeNotion) -> None:
    api = tokens.api_token(rng)
    cookies = [tokens.cookie(rng, encoded=True), tokens.cookie(rng, encoded=False)]
    write(
        tmp_path,
        {
            "notion_client.py": f'TOKEN = "{api}"\n',
            "notion_session.yaml": "".join(f"token_v2: {c}\n" for c in cookies),
        },
    )

    for extra in ((), ("--verify-all",)):
        report, result = scan_json("--verify", *extra, cwd=tmp_path, env=notion_api.env())

        cookie_findings = [f for f in report["findings"] if f["rule"] == "notion-token-v2-cookie"]
        assert len(cookie_findings) == 2
        assert all("verified" not in f for f in cookie_findings)
        assert verified_by_path(report)["notion_client.py"] == "live"
        assert "session cookies (token_v2) are never verified" in result.stderr
    assert set(notion_api.requests()) == {api}
    assert all(c[-20:] not in (h.authorization or "") for c in cookies for h in notion_api.hits)
    notion_api.check()


def test_legacy_tokens_are_sent_only_when_notion_is_mentioned(
    tmp_path: Path, rng: random.Random, notion_api: FakeNotion
) -> None:
    other, by_path, by_content = (tokens.legacy_token(rng) for _ in range(3))
    write(
        tmp_path,
        {
            "billing/settings.py": f'STRIPE_KEY = "{other}"\n',  # another service's secret_
            "integrations/notion/config.py": f'KEY = "{by_path}"\n',
            "app/settings.py": f'# the Notion integration\nKEY = "{by_content}"\n',
        },
    )

    report, result = scan_json("--verify", cwd=tmp_path, env=notion_api.env())

    assert verified_by_path(report) == {
        "billing/settings.py": None,
        "integrations/notion/config.py": "live",
        "app/settings.py": "live",
    }
    assert "billing/settings.py" in {f["path"] for f in report["findings"]}  # still reported
    assert set(notion_api.requests()) == {by_path, by_content}
    (note,) = [line for line in result.stderr.splitlines() if "not verified" in line]
    assert "1 secret_ token" in note and "--verify-all" in note

    report, result = scan_json("--verify", "--verify-all", cwd=tmp_path, env=notion_api.env())

    assert set(verified_by_path(report).values()) == {"live"}
    assert notion_api.requests() == Counter({by_path: 2, by_content: 2, other: 1})
    assert "--verify-all sends" not in result.stderr
    notion_api.check()


def test_standard_input_is_not_verified(
    tmp_path: Path, rng: random.Random, notion_api: FakeNotion
) -> None:
    tok = tokens.api_token(rng)

    result = invoke(
        "scan", "--verify", "--format", "json", "-",
        cwd=tmp_path, env=notion_api.env(), stdin=f"NOTION={tok}\n".encode(),
    )  # fmt: skip

    assert result.returncode == 1, result.stderr
    (finding,) = json.loads(result.stdout)["findings"]
    assert "verified" not in finding
    assert "standard input" in result.stderr
    assert notion_api.hits == []


# -- 3. https only, unless loopback -------------------------------------------------------------


def test_plain_http_to_a_remote_host_is_refused(
    tmp_path: Path, rng: random.Random, notion_api: FakeNotion
) -> None:
    tok = tokens.api_token(rng)
    write(tmp_path, {"app.py": f'T = "{tok}"\n'})

    result = invoke("scan", "--verify", cwd=tmp_path, env=notion_api.env("http://example.com"))

    assert result.returncode == 2, result.stdout
    assert "Traceback" not in result.stderr
    assert "NOTION_LEAKGUARD_API_URL=http://example.com" in result.stderr
    assert "https only" in result.stderr
    assert_no_token(result.stdout + result.stderr, tok)
    assert notion_api.hits == []


def test_plain_http_to_localhost_is_accepted(
    tmp_path: Path, rng: random.Random, notion_api: FakeNotion
) -> None:
    tok = tokens.api_token(rng)
    notion_api.behaviours = {tok: "invalid"}
    write(tmp_path, {"app.py": f'T = "{tok}"\n'})

    report, _ = scan_json(
        "--verify", cwd=tmp_path, env=notion_api.env(f"http://localhost:{notion_api.port}/")
    )

    assert verified_by_path(report) == {"app.py": "invalid"}
    assert notion_api.requests() == Counter({tok: 1})
    notion_api.check()


@pytest.mark.parametrize(
    "url",
    [
        "https://api.notion.com",
        "https://proxy.example.com/notion",
        "http://127.0.0.1:8080",
        "http://127.9.9.9",
        "http://localhost:3000",
        "http://[::1]:8080",
    ],
)
def test_api_base_accepts(url: str) -> None:
    assert verify.api_base({verify.API_ENV: url}) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com",
        "http://api.notion.com",
        "http://localhost.example.com",
        "http://127.0.0.1.example.com",
        "http://127.0.0.1@example.com",
        "http://0.0.0.0:8080",
        "http://10.0.0.1",
        "ftp://127.0.0.1",
        "https://",
        "api.notion.com",
    ],
)
def test_api_base_refuses(url: str) -> None:
    with pytest.raises(LeakguardError, match="https only"):
        verify.api_base({verify.API_ENV: url})


def test_api_base_defaults_to_notion() -> None:
    assert verify.api_base({}) == "https://api.notion.com"


# -- 4. staged and history ---------------------------------------------------------------------


def test_staged_verify_reads_the_index(
    in_git_dir: Path, rng: random.Random, notion_api: FakeNotion
) -> None:
    live, dead, legacy = tokens.api_token(rng), tokens.api_token(rng), tokens.legacy_token(rng)
    notion_api.behaviours = {live: "live", dead: "invalid", legacy: "restricted"}
    write(
        in_git_dir,
        {
            "src/app.py": f'LIVE = "{live}"\nDEAD = "{dead}"\n',
            "src/notion_keys.py": f'OLD = "{legacy}"\n',
        },
    )
    git("add", "-A", cwd=in_git_dir)
    # the working tree no longer holds the keys: only the index does
    write(in_git_dir, {"src/app.py": "LIVE = os.environ['X']\n", "src/notion_keys.py": ""})

    for cwd in (in_git_dir, in_git_dir / "src"):
        report, _ = scan_json("--staged", "--verify", cwd=cwd, env=notion_api.env())
        states = sorted((f["path"], f["line"], f.get("verified")) for f in report["findings"])
        assert states == [
            ("src/app.py", 1, "live"),
            ("src/app.py", 2, "invalid"),
            ("src/notion_keys.py", 1, "live"),
        ]
    assert notion_api.requests() == Counter({live: 2, dead: 2, legacy: 2})
    notion_api.check()


def test_history_verify_reads_old_blobs(
    in_git_dir: Path, rng: random.Random, notion_api: FakeNotion
) -> None:
    gone, kept, legacy = tokens.api_token(rng), tokens.api_token(rng), tokens.legacy_token(rng)
    notion_api.behaviours = {gone: "live", kept: "invalid", legacy: "live"}
    write(in_git_dir, {"old.py": f'T = "{gone}"\n', "keep.py": f'K = "{kept}"\n'})
    git("add", "-A", cwd=in_git_dir)
    git("commit", "-q", "-m", "one", cwd=in_git_dir)
    (in_git_dir / "old.py").unlink()
    write(
        in_git_dir,
        {
            "keep.py": f'# changed\nK = "{kept}"\n',  # a second blob with the same token
            "stripe.py": f'S = "{legacy}"\n',  # secret_ without Notion: held back
        },
    )
    git("add", "-A", cwd=in_git_dir)
    git("commit", "-q", "-m", "two", cwd=in_git_dir)

    report, result = scan_json(
        "--history", "--quiet", "--verify", cwd=in_git_dir, env=notion_api.env()
    )

    states = {(f["path"], f.get("verified")) for f in report["findings"]}
    assert states == {("old.py", "live"), ("keep.py", "invalid"), ("stripe.py", None)}
    assert all("commit" in f for f in report["findings"])
    assert notion_api.requests() == Counter({gone: 1, kept: 1})
    assert "--verify-all" in result.stderr

    report, _ = scan_json(
        "--history", "--quiet", "--verify", "--verify-all", cwd=in_git_dir, env=notion_api.env()
    )
    assert ("stripe.py", "live") in {(f["path"], f.get("verified")) for f in report["findings"]}
    notion_api.check()


# -- 5. the text report ------------------------------------------------------------------------


def test_text_report_lists_live_keys_first_and_explains_states(
    tmp_path: Path, rng: random.Random, notion_api: FakeNotion
) -> None:
    dead, odd, live, other = (
        tokens.api_token(rng),
        tokens.api_token(rng),
        tokens.api_token(rng),
        tokens.legacy_token(rng),
    )
    notion_api.behaviours = {dead: "invalid", odd: "malformed", live: "restricted"}
    # alphabetical order would be the reverse of urgency
    write(
        tmp_path,
        {
            "a_dead.py": f'T = "{dead}"\n',
            "b_odd.py": f'T = "{odd}"\n',
            "c_live.py": f'T = "{live}"\n',
            "0_stripe.py": f'T = "{other}"\n',
        },
    )

    result = invoke("scan", "--verify", cwd=tmp_path, env=notion_api.env())

    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()

    def at(tok: str) -> int:
        (index,) = [i for i, line in enumerate(lines) if tokens.preview(tok) in line]
        return index

    assert at(live) < at(odd) < at(dead) < at(other)
    assert lines[at(live)].endswith("[live]")
    assert lines[at(odd)].endswith("[unknown: the answer was not a Notion user]")  # and why
    assert lines[at(dead)].endswith("[invalid]")
    assert "[" not in lines[at(other)]
    legend = [line for line in lines if line.startswith("  [")]
    assert [line.split("]")[0] for line in legend] == ["  [live", "  [unknown", "  [invalid"]
    assert "rotate" in legend[0]
    assert "treat the key as live" in legend[1]
    assert "revoked" in legend[2] and "still a leak" in legend[2]
    assert at(other) < lines.index(legend[0])  # the legend follows the findings
    assert_no_token(result.stdout + result.stderr, dead, odd, live, other)


# -- 6. nothing leaks ------------------------------------------------------------------------


def test_no_token_in_any_output_or_file_written(
    tmp_path: Path, rng: random.Random, notion_api: FakeNotion
) -> None:
    project = tmp_path / "project"
    made = {
        "live": tokens.api_token(rng),
        "invalid": tokens.api_token(rng),
        "restricted": tokens.api_token(rng),
        "malformed": tokens.api_token(rng),
        "redirect": tokens.api_token(rng),
    }
    legacy, held, cookie = tokens.legacy_token(rng), tokens.legacy_token(rng), tokens.cookie(rng)
    notion_api.behaviours = {tok: kind for kind, tok in made.items()} | {legacy: "invalid"}
    sources = {f"src/{kind}.py": f'T = "{tok}"\n' for kind, tok in made.items()}
    sources |= {
        "notion/legacy.py": f'L = "{legacy}"\n',
        "other/held.py": f'H = "{held}"\n',
        "session.yaml": f"token_v2: {cookie}\n",
    }
    write(project, sources)
    planted = [*made.values(), legacy, held, cookie]
    reports = tmp_path / "reports"
    reports.mkdir()

    runs = [
        ("scan", "--verify"),
        ("scan", "--verify", "--verify-all"),
        ("scan", "--verify", "--format", "json", "--output", str(reports / "report.json")),
        ("scan", "--verify", "--format", "sarif", "--output", str(reports / "report.sarif")),
        ("scan", "--verify", "--format", "text", "--output", str(reports / "report.txt")),
        ("scan", "--verify", "--verify-all", "--format", "json"),
    ]
    for args in runs:
        result = invoke(*args, cwd=project, env=notion_api.env())
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr
        assert_no_token(result.stdout, *planted, where=f"stdout of {args[1:]}")
        assert_no_token(result.stderr, *planted, where=f"stderr of {args[1:]}")

    written = sorted(p for p in reports.iterdir())
    assert [p.name for p in written] == ["report.json", "report.sarif", "report.txt"]
    assert "verified" in (reports / "report.json").read_text(encoding="utf-8")
    # every file anywhere under the test's directories, and in HOME, except the sources
    roots = [tmp_path, Path(os.environ["HOME"])]
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and path.relative_to(root).as_posix() not in {
                f"project/{name}" for name in sources
            }:
                text = path.read_bytes().decode("utf-8", "replace")
                assert_no_token(text, *planted, where=str(path.relative_to(root)))
    notion_api.check()


# -- 7. the detect-secrets plugin ---------------------------------------------------------------


def _detect_secrets(
    plugin: str, cwd: Path, env: dict[str, str]
) -> tuple[dict[str, Any], subprocess.CompletedProcess[str]]:
    exe = Path(sys.executable).parent / "detect-secrets"
    assert exe.exists(), "the test extra installs detect-secrets"
    base = {k: v for k, v in os.environ.items() if not k.startswith("NOTION_LEAKGUARD_")}
    result = subprocess.run(
        [str(exe), "scan", "--plugin", plugin],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={**base, **env},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout), result


def test_detect_secrets_plugin_verifies_only_when_asked(
    in_git_dir: Path, rng: random.Random, notion_api: FakeNotion
) -> None:
    made = invoke("detect-secrets-plugin", cwd=in_git_dir)
    assert made.returncode == 0, made.stderr
    plugin = made.stdout.strip()
    live, dead = tokens.api_token(rng), tokens.api_token(rng)
    held, nearby, cookie = tokens.legacy_token(rng), tokens.legacy_token(rng), tokens.cookie(rng)
    notion_api.behaviours = {live: "live", dead: "invalid", nearby: "live", held: "live"}
    write(
        in_git_dir,
        {
            "app.py": (
                f'LIVE = "{live}"\n'
                f'DEAD = "{dead}"\n'
                "x = 1\n"
                f'AGAIN = "{live}"\n'
                "\n\n\n\n\n\n\n\n\n\n"
                f'DEAD_AGAIN = "{dead}"\n'
            ),
            "billing.py": "\n" * 12 + f'STRIPE = "{held}"\n',
            "legacy.py": f'# Notion integration\nKEY = "{nearby}"\n',
            "session.yaml": f"token_v2: {cookie}\n",
        },
    )
    git("add", "-A", cwd=in_git_dir)

    baseline, result = _detect_secrets(
        plugin, in_git_dir, notion_api.env() | {"NOTION_LEAKGUARD_VERIFY": "1"}
    )

    ours = {
        (name, s["line_number"]): (s["hashed_secret"], s["is_verified"])
        for name, secrets in baseline["results"].items()
        for s in secrets
        if s["type"] == OURS
    }
    # (detect-secrets reports a secret once per file, at its first line)
    assert ours == {
        ("app.py", 1): (sha1(live), True),
        ("app.py", 2): (sha1(dead), False),  # reported, not dropped
        ("billing.py", 13): (sha1(held), False),  # not sent: no Notion nearby
        ("legacy.py", 2): (sha1(nearby), True),
        ("session.yaml", 1): (sha1(cookie), False),  # never sent
    }
    # once per token, though each appears on several lines and verify() is asked twice a line
    assert notion_api.requests() == Counter({live: 1, dead: 1, nearby: 1})
    assert_no_token(result.stderr, live, dead, held, nearby, cookie, where="stderr")
    notion_api.check()

    # without the opt-in: not a single request
    notion_api.hits.clear()
    baseline, _ = _detect_secrets(plugin, in_git_dir, notion_api.env())
    assert notion_api.hits == []
    assert not any(s["is_verified"] for secrets in baseline["results"].values() for s in secrets)
    ours_again = [s for v in baseline["results"].values() for s in v if s["type"] == OURS]
    assert len(ours_again) == len(ours)


# -- verify.verify in-process: deadlines, timeouts, back-off -----------------------------------


def test_a_server_that_keeps_failing_is_unknown_within_the_deadline(
    notion_api: FakeNotion, rng: random.Random
) -> None:
    tok = tokens.api_token(rng)
    notion_api.behaviours = {tok: "down"}

    started = time.monotonic()
    states = verify.verify({"k": tok}, base=notion_api.url, deadline=3, timeout=1)
    elapsed = time.monotonic() - started

    assert states == {"k": "unknown"}
    assert elapsed < 3.5, elapsed
    arrivals = notion_api.arrivals(tok)
    assert len(arrivals) >= 2  # retried with back-off before giving up
    assert all(b - a >= 0.9 for a, b in zip(arrivals, arrivals[1:]))
    notion_api.check()


def test_a_server_that_never_answers_is_unknown(notion_api: FakeNotion, rng: random.Random) -> None:
    quiet, fine = tokens.api_token(rng), tokens.api_token(rng)
    notion_api.behaviours = {quiet: "silent", fine: "live"}

    started = time.monotonic()
    states = verify.verify({"a": quiet, "b": fine}, base=notion_api.url, deadline=3, timeout=1)
    elapsed = time.monotonic() - started

    assert states == {"a": "unknown", "b": "live"}
    assert 0.9 <= elapsed < 3.5, elapsed
    notion_api.check()


def test_back_off_doubles_and_retry_after_is_honoured(
    notion_api: FakeNotion, rng: random.Random
) -> None:
    flaky, told, dated, too_late = (tokens.api_token(rng) for _ in range(4))
    notion_api.behaviours = {
        flaky: "flaky",
        told: "retry-after:7",
        dated: "retry-date:20",
        too_late: "retry-after:120",
    }

    def run(tok: str) -> tuple[str, list[float]]:
        slept: list[float] = []
        state = verify.verify({"k": tok}, base=notion_api.url, deadline=60, sleep=slept.append)
        return state["k"], slept

    assert run(flaky) == ("live", [1.0, 2.0])
    assert run(told) == ("live", [7.0])
    state, slept = run(dated)
    assert state == "live" and len(slept) == 1 and 15 <= slept[0] <= 21, slept
    # a Retry-After beyond the deadline: unknown at once, no waiting
    assert run(too_late) == ("unknown", [])
    assert notion_api.requests() == Counter({flaky: 3, told: 2, dated: 2, too_late: 1})
    notion_api.check()


def test_answers_in_process(notion_api: FakeNotion, rng: random.Random) -> None:
    kinds = ["live", "invalid", "restricted", "malformed", "not-user", "redirect"]
    made = {kind: tokens.api_token(rng) for kind in kinds}
    notion_api.behaviours = {tok: kind for kind, tok in made.items()}
    keys = {f"key-{kind}": tok for kind, tok in made.items()}
    keys["key-live-twice"] = made["live"]  # two fingerprints, one token: one request

    states = verify.verify(keys, base=notion_api.url, deadline=10, timeout=2)

    assert states == {
        "key-live": "live",
        "key-live-twice": "live",
        "key-invalid": "invalid",
        "key-restricted": "live",
        "key-malformed": "unknown",
        "key-not-user": "unknown",
        "key-redirect": "unknown",
    }
    assert notion_api.requests() == Counter({tok: 1 for tok in made.values()})
    assert [h.path for h in notion_api.hits if h.path != API_PATH] == []
    notion_api.check()


def test_concurrency_parameter_bounds_requests(notion_api: FakeNotion, rng: random.Random) -> None:
    made = {f"k{i}": tokens.api_token(rng) for i in range(6)}
    notion_api.behaviours = {tok: "slow" for tok in made.values()}

    states = verify.verify(made, base=notion_api.url, concurrency=2)

    assert set(states.values()) == {"live"}
    assert notion_api.max_in_flight <= 2


def test_nothing_to_verify_sends_nothing(notion_api: FakeNotion) -> None:
    assert verify.verify({}, base=notion_api.url) == {}
    assert notion_api.hits == []


def test_connection_refused_is_unknown(rng: random.Random) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()  # nothing listens there now

    states = verify.verify({"k": tokens.api_token(rng)}, base=f"http://127.0.0.1:{port}")

    assert states == {"k": "unknown"}


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b"SSH-2.0-OpenSSH_9.6\r\n", id="not-http"),
        pytest.param(
            b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n{"object": "us',
            id="chunked-body-cut-short",
        ),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nX-Pad: " + b"a" * 70000 + b"\r\n\r\n", id="header-too-long"
        ),
    ],
)
def test_a_broken_http_answer_is_unknown(
    raw_server: Callable[[bytes], str], rng: random.Random, payload: bytes
) -> None:
    """Answers http.client refuses raise http.client.HTTPException, which is neither
    URLError nor OSError: they must be `unknown`, not an exception out of verify()."""
    url = raw_server(payload)

    states = verify.verify({"k": tokens.api_token(rng)}, base=url, deadline=5, timeout=2)

    assert states == {"k": "unknown"}


# -- 8. which integration: the bot user's name and workspace -----------------------------------

SYNC_BOT = "integration Sync bot in workspace Acme"  # tests/helpers/notion_api.py's USER


def test_a_live_key_names_its_integration_in_every_format(
    tmp_path: Path, rng: random.Random, notion_api: FakeNotion
) -> None:
    live, restricted, dead = tokens.api_token(rng), tokens.api_token(rng), tokens.api_token(rng)
    notion_api.behaviours = {live: "live", restricted: "restricted", dead: "invalid"}
    write(
        tmp_path,
        {"live.py": f'T = "{live}"\n', "restricted.py": f'T = "{restricted}"\n'}
        | {"dead.py": f'T = "{dead}"\n'},
    )

    report, _ = scan_json("--verify", cwd=tmp_path, env=notion_api.env())
    text = invoke("scan", "--verify", cwd=tmp_path, env=notion_api.env())
    sarif = invoke("scan", "--verify", "--format", "sarif", cwd=tmp_path, env=notion_api.env())

    by_path = {f["path"]: (f["verified"], f.get("verified_as")) for f in report["findings"]}
    # a 403 is live but names no one: its body is an error, not the bot user
    assert by_path == {
        "live.py": ("live", SYNC_BOT),
        "restricted.py": ("live", None),
        "dead.py": ("invalid", None),
    }
    lines = {line.split(":")[0]: line for line in text.stdout.splitlines() if ".py:" in line}
    assert lines["live.py"].endswith(f"[live — {SYNC_BOT}]")
    assert lines["restricted.py"].endswith("[live]")
    assert lines["dead.py"].endswith("[invalid]")
    (run,) = json.loads(sarif.stdout)["runs"]
    properties = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r["properties"]
        for r in run["results"]
    }
    assert properties["live.py"] == {"verified": "live", "verified_as": SYNC_BOT}
    assert properties["dead.py"] == {"verified": "invalid"}
    notion_api.check()


def test_without_verify_no_integration_is_named(
    tmp_path: Path, rng: random.Random, notion_api: FakeNotion
) -> None:
    write(tmp_path, {"app.py": f'T = "{tokens.api_token(rng)}"\n'})

    for fmt in ("text", "json", "sarif"):
        result = invoke("scan", "--format", fmt, cwd=tmp_path, env=notion_api.env())
        assert result.returncode == 1, result.stderr
        assert "Sync bot" not in result.stdout and "verified_as" not in result.stdout
    assert notion_api.hits == []


def _bot(name: object, workspace: object = "Acme") -> dict[str, Any]:
    return {
        "object": "user",
        "id": "6794760a-1f15-45cd-9c65-0dfe42f5135a",
        "type": "bot",
        "name": name,
        "bot": {"owner": {"type": "workspace", "workspace": True}, "workspace_name": workspace},
    }


# (a user document built from a token, the identity expected of it, built from the token)
IDENTITIES: list[tuple[str, Callable[[str], dict[str, Any]], Callable[[str], str | None]]] = [
    ("plain", lambda t: _bot("Sync bot"), lambda t: "integration Sync bot in workspace Acme"),
    ("no-workspace", lambda t: _bot("Sync bot", None), lambda t: "integration Sync bot"),
    ("no-bot-object", lambda t: {**_bot("Sync bot"), "bot": {}}, lambda t: "integration Sync bot"),
    ("no-name", lambda t: _bot(None), lambda t: "an integration in workspace Acme"),
    ("empty-names", lambda t: _bot("", " \t"), lambda t: None),
    ("not-strings", lambda t: _bot(["Sync"], {"x": 1}), lambda t: None),
    ("a-person", lambda t: {**_bot("Ada"), "type": "person"}, lambda t: None),
    (
        "unicode-kept",
        lambda t: _bot("Synchro ✓ 日本"),
        lambda t: "integration Synchro ✓ 日本 in workspace Acme",
    ),
    (
        "ansi-and-osc",
        lambda t: _bot("\x1b[31mRed\x1b[0m \x1b]8;;https://evil\x07link\x1b]8;;\x07", "\x1bcAcme"),
        lambda t: "integration Red link in workspace Acme",
    ),
    (
        "newlines-and-controls",
        lambda t: _bot("Sync\nbot\r\n[live]\x00\x08", "Ac\u2028me"),
        lambda t: "integration Sync bot [live] in workspace Ac me",
    ),
    (
        "bidi-override",
        lambda t: _bot("\u202etob cnyS\u202c", "\u2066Acme\u2069"),
        lambda t: "integration tob cnyS in workspace Acme",
    ),
    (
        "token-as-name",
        lambda t: _bot(t),
        lambda t: f"integration {tokens.preview(t)} in workspace Acme",
    ),
    (
        "token-inside-a-name",
        lambda t: _bot(f"key={t}!"),
        lambda t: f"integration key={tokens.preview(t)}! in workspace Acme",
    ),
    (
        "token-split-by-zero-width-spaces",
        lambda t: _bot(t[:20] + "\u200b" + t[20:35] + "\x1b[0m" + t[35:]),
        lambda t: f"integration {tokens.preview(t)} in workspace Acme",
    ),
    (
        "token-base64-in-workspace",
        lambda t: _bot("Sync bot", base64.b64encode(t.encode()).decode()),
        lambda t: "integration Sync bot in workspace (withheld: the name holds a key)",
    ),
    (
        "token-after-padding-past-the-cap",
        lambda t: _bot("x" * 70 + " " + t),
        lambda t: f"integration {'x' * 70} {tokens.preview(t)[:8]}… in workspace Acme",
    ),
    (
        "long-name",
        lambda t: _bot("Sync " * 100, "A" * 500),
        lambda t: f"integration {('Sync ' * 16).strip()}… in workspace {'A' * 79}…",
    ),
]


@pytest.mark.parametrize(
    ("user", "expected"), [c[1:] for c in IDENTITIES], ids=[c[0] for c in IDENTITIES]
)
def test_identity_is_cleaned_capped_and_redacted(
    rng: random.Random,
    user: Callable[[str], dict[str, Any]],
    expected: Callable[[str], str | None],
) -> None:
    for tok in (tokens.api_token(rng), tokens.legacy_token(rng)):
        shown = verify.identity(user(tok))

        assert shown == expected(tok)
        if shown is not None:
            assert shown.isprintable()
            assert_no_token(shown, tok)


def test_hostile_names_reach_no_report(
    tmp_path: Path, rng: random.Random, notion_api: FakeNotion
) -> None:
    """A server that puts escape sequences, newlines and the key itself (plain, split by
    invisible characters, base64) in the names: the reports show them cleaned, never a key."""
    echo, split, painted = tokens.api_token(rng), tokens.api_token(rng), tokens.api_token(rng)
    notion_api.behaviours = {echo: "echo", split: "live", painted: "live"}
    notion_api.users = {
        split: _bot(split[:10] + "\u200d" + split[10:], "Acme"),
        painted: _bot("\x1b[2J\x1b[1;31mPWNED\x1b[0m\nfake.py:1:1: notion-api-token", "Acme"),
    }
    write(
        tmp_path,
        {"echo.py": f'T = "{echo}"\n', "split.py": f'T = "{split}"\n'}
        | {"painted.py": f'T = "{painted}"\n'},
    )
    reports = tmp_path / "reports"
    reports.mkdir()

    outputs = []
    for fmt in ("text", "json", "sarif"):
        result = invoke("scan", "--verify", "--format", fmt, cwd=tmp_path, env=notion_api.env())
        assert result.returncode == 1, result.stderr
        outputs += [result.stdout, result.stderr]
        written = reports / f"report.{fmt}"
        result = invoke(
            "scan", "--verify", "--format", fmt, "--output", str(written),
            cwd=tmp_path, env=notion_api.env(),
        )  # fmt: skip
        assert result.returncode == 1, result.stderr
        outputs += [written.read_text(encoding="utf-8"), result.stderr]

    for text in outputs:
        assert_no_token(text, echo, split, painted)
        assert "\x1b" not in text and "\\u001b" not in text
    report = json.loads(outputs[4])
    named = {f["path"]: f.get("verified_as") for f in report["findings"]}
    assert named == {
        "echo.py": f"integration {tokens.preview(echo)} in workspace "
        "(withheld: the name holds a key)",
        "split.py": f"integration {tokens.preview(split)} in workspace Acme",
        "painted.py": "integration PWNED fake.py:1:1: notion-api-token in workspace Acme",
    }
    # the text report: one line per finding, the names on it
    text_lines = [line for line in outputs[0].splitlines() if ".py:" in line]
    assert len(text_lines) == 3
    notion_api.check()


def test_a_user_nested_past_the_stack_is_unknown(
    raw_server: Callable[[bytes], str], rng: random.Random
) -> None:
    body = b"[" * 60000
    url = raw_server(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )

    states = verify.verify({"k": tokens.api_token(rng)}, base=url, deadline=5, timeout=2)

    assert states == {"k": "unknown"}
