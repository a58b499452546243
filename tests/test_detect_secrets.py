"""The detect-secrets plugin, through the real detect-secrets 1.5 CLI in subprocesses.

`detect-secrets scan --plugin`, `detect-secrets-hook --baseline`, `detect-secrets audit
--report`, the repo-local shim with a relative baseline path, and pre-commit with
`additional_dependencies`. Every credential is built at run time (tests/tokens.py).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import tokens
from tests.conftest import git, invoke, run_cli
from tests.helpers.background import Prepared
from tests.test_precommit import (
    _DROPPED,
    Target,
    _must,
    assert_no_full_token,
    install_hooks,
    isolated_env,
    snapshot_working_copy,
)

BIN = Path(sys.executable).parent
DETECT_SECRETS = BIN / "detect-secrets"
DETECT_SECRETS_HOOK = BIN / "detect-secrets-hook"
OURS = "Notion API Token"
SHIM = ".detect-secrets/notion.py"
BASELINE = ".secrets.baseline"

# The test extra installs detect-secrets: its absence is a broken set-up, not a reason to skip.
assert DETECT_SECRETS.exists() and DETECT_SECRETS_HOOK.exists(), "pip install '.[test]'"


def sha1(secret: str) -> str:
    """detect-secrets' `hashed_secret`."""
    return hashlib.sha1(secret.encode()).hexdigest()


def ds(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The real detect-secrets CLI (`detect-secrets-hook` when args[0] is "hook")."""
    exe = DETECT_SECRETS_HOOK if args and args[0] == "hook" else DETECT_SECRETS
    argv = args[1:] if args and args[0] == "hook" else args
    return subprocess.run(
        [str(exe), *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def scan(*args: str, cwd: Path, env: dict[str, str] | None = None) -> dict:
    result = ds("scan", *args, cwd=cwd, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def ours(baseline: dict) -> list[tuple[str, int, str]]:
    """(file, line, hashed secret) of each finding of our type, in report order."""
    return [
        (name, secret["line_number"], secret["hashed_secret"])
        for name, secrets in baseline["results"].items()
        for secret in secrets
        if secret["type"] == OURS
    ]


def plugin_entry(baseline: dict) -> dict:
    (entry,) = [p for p in baseline["plugins_used"] if p["name"] == "NotionTokenDetector"]
    return entry


def write(repo: Path, name: str, text: str) -> Path:
    path = repo / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def plugin(tmp_path_factory: pytest.TempPathFactory) -> str:
    result = invoke("detect-secrets-plugin", cwd=tmp_path_factory.mktemp("cwd"))
    assert result.returncode == 0, result.stderr
    path = result.stdout.strip()
    assert Path(path).is_absolute() and Path(path).is_file()
    assert Path(path).name == "detect_secrets_plugin.py"
    return path


@dataclass
class Planted:
    expected: list[tuple[str, int, str]]  # (file, line, sha1) of each of ours
    tokens: list[str]


def plant(repo: Path, rng: random.Random) -> Planted:
    """A realistic repository: one token per kind, a line with two, placeholders, an
    allowed line; everything staged (detect-secrets scans what git lists)."""
    api, legacy, cookie = tokens.api_token(rng), tokens.legacy_token(rng), tokens.cookie(rng)
    api2, legacy2, allowed = tokens.api_token(rng), tokens.legacy_token(rng), tokens.api_token(rng)
    identifier = "notionIntegrationSecretValueFromTheSettings"
    assert len(identifier) == 43
    write(repo, ".env", f"# local settings\nDEBUG=1\nNOTION_TOKEN={api}\n")
    write(
        repo,
        "src/settings.py",
        "import os\n"
        "\n"
        f'LEGACY = "{legacy}"\n'
        f'BOTH = ["{api2}", "{legacy2}"]\n'
        f'KNOWN = "{allowed}"  # notion-leakguard: allow\n',
    )
    write(repo, "config/session.yaml", f"session:\n  cookies:\n    token_v2: {cookie}\n")
    write(
        repo,
        "docs/format.md",
        "# Token formats\n"
        f"legacy: {'secret_' + 'x' * 43}\n"
        f"current: {'ntn_' + '0' * 46}\n"
        f"name: secret_{identifier}\n"
        f"too long: {tokens.api_token(rng) + 'Q'}\n"
        f"too long legacy: {tokens.legacy_token(rng) + 'z'}\n",
    )
    git("add", "-A", cwd=repo)
    return Planted(
        expected=[
            (".env", 3, sha1(api)),
            ("config/session.yaml", 3, sha1(cookie)),
            ("src/settings.py", 3, sha1(legacy)),
            ("src/settings.py", 4, sha1(api2)),
            ("src/settings.py", 4, sha1(legacy2)),
        ],
        tokens=[api, legacy, cookie, api2, legacy2, allowed],
    )


# -- 1. scan --------------------------------------------------------------------------------


def test_scan_finds_each_token_once_under_our_type(
    in_git_dir: Path, rng: random.Random, plugin: str
) -> None:
    planted = plant(in_git_dir, rng)

    result = ds("scan", "--plugin", plugin, cwd=in_git_dir)

    assert result.returncode == 0, result.stderr
    assert_no_full_token(result.stdout + result.stderr, *planted.tokens)
    baseline = json.loads(result.stdout)
    assert sorted(ours(baseline)) == sorted(planted.expected)  # each once; nothing else
    assert plugin_entry(baseline) == {"name": "NotionTokenDetector", "path": f"file://{plugin}"}
    # placeholders, over-long tokens and allowed lines: not ours (other plugins may differ)
    assert not any(name == "docs/format.md" for name, _, _ in ours(baseline))
    assert sha1(planted.tokens[-1]) not in {h for _, _, h in ours(baseline)}


def test_unquoted_dotenv_token_is_found_only_with_the_plugin(
    in_git_dir: Path, rng: random.Random, plugin: str
) -> None:
    """The reason the plugin exists: stock detect-secrets misses `NOTION_TOKEN=ntn_…`."""
    tok = tokens.api_token(rng)
    write(in_git_dir, ".env", f"NOTION_TOKEN={tok}\n")
    git("add", "-A", cwd=in_git_dir)

    assert ours(scan(cwd=in_git_dir)) == []
    assert ours(scan("--plugin", plugin, cwd=in_git_dir)) == [(".env", 1, sha1(tok))]


def test_scan_of_a_single_string(plugin: str, tmp_path: Path, rng: random.Random) -> None:
    tok = tokens.api_token(rng)
    result = ds("scan", "--plugin", plugin, "--string", f"NOTION_TOKEN={tok}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    # found, and verify() ran without turning it into "verified false"
    assert re.search(r"^NotionTokenDetector\s*: True\s+\(unverified\)$", result.stdout, re.M), (
        result.stdout
    )
    placeholder = ds(
        "scan", "--plugin", plugin, "--string", "NOTION_TOKEN=ntn_" + "0" * 46, cwd=tmp_path
    )
    assert re.search(r"^NotionTokenDetector\s*: False$", placeholder.stdout, re.M), (
        placeholder.stdout
    )


# -- 2. baseline round trip through detect-secrets-hook ------------------------------------


def test_baseline_round_trips_through_the_hook(
    in_git_dir: Path, rng: random.Random, plugin: str
) -> None:
    planted = plant(in_git_dir, rng)
    (in_git_dir / BASELINE).write_text(ds("scan", "--plugin", plugin, cwd=in_git_dir).stdout)
    files = [".env", "src/settings.py", "config/session.yaml", "docs/format.md"]
    before = (in_git_dir / BASELINE).read_text()

    clean = ds("hook", "--baseline", BASELINE, "--plugin", plugin, *files, cwd=in_git_dir)

    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert (in_git_dir / BASELINE).read_text() == before

    new = tokens.api_token(rng)
    with open(in_git_dir / "src/settings.py", "a", encoding="utf-8") as stream:
        stream.write(f"NEW={new}\n")

    dirty = ds("hook", "--baseline", BASELINE, "--plugin", plugin, *files, cwd=in_git_dir)

    assert dirty.returncode == 1, dirty.stdout + dirty.stderr
    assert f"Secret Type: {OURS}" in dirty.stdout
    assert "Location:    src/settings.py:6" in dirty.stdout
    assert_no_full_token(dirty.stdout + dirty.stderr, new, *planted.tokens)


def test_hook_loads_the_plugin_from_the_baseline(
    in_git_dir: Path, rng: random.Random, plugin: str
) -> None:
    """Without --plugin, detect-secrets-hook takes the plugin (by path) from the baseline."""
    write(in_git_dir, "app.py", "import os\n")
    git("add", "-A", cwd=in_git_dir)
    (in_git_dir / BASELINE).write_text(ds("scan", "--plugin", plugin, cwd=in_git_dir).stdout)
    write(in_git_dir, "app.py", f"import os\nTOKEN={tokens.api_token(rng)}\n")

    result = ds("hook", "--baseline", BASELINE, "app.py", cwd=in_git_dir)

    assert result.returncode == 1, result.stdout + result.stderr
    assert f"Secret Type: {OURS}" in result.stdout


# -- 3. audit --report -----------------------------------------------------------------------


def test_stock_audit_fails_on_custom_plugins(
    in_git_dir: Path, rng: random.Random, plugin: str
) -> None:
    """Why `detect-secrets-audit` exists: detect-secrets 1.5.0's own `audit` never registers
    custom plugins from the baseline (Yelp/detect-secrets#611). When this starts to pass,
    upstream is fixed and the wrapper can go."""
    plant(in_git_dir, rng)
    (in_git_dir / BASELINE).write_text(ds("scan", "--plugin", plugin, cwd=in_git_dir).stdout)

    result = ds("audit", "--report", BASELINE, cwd=in_git_dir)

    assert result.returncode != 0
    assert "TypeError" in result.stderr


def test_audit_report_lists_our_type_with_previews_only(
    in_git_dir: Path, rng: random.Random, plugin: str
) -> None:
    planted = plant(in_git_dir, rng)
    (in_git_dir / BASELINE).write_text(ds("scan", "--plugin", plugin, cwd=in_git_dir).stdout)

    # detect-secrets keeps global state (its settings, loaded plugins): its own process
    result = run_cli("detect-secrets-audit", "--report", BASELINE, cwd=in_git_dir)

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)["results"]
    ours_reported = sorted(
        (entry["filename"], entry["secrets"]) for entry in report if OURS in entry["types"]
    )
    by_digest = {sha1(tok): tok for tok in planted.tokens}
    assert ours_reported == sorted(
        (name, tokens.preview(by_digest[digest])) for name, _, digest in planted.expected
    )
    dotenv = [e for e in report if e["filename"] == ".env" and OURS in e["types"]]
    assert [list(e["lines"]) for e in dotenv] == [["3"]]
    assert_no_full_token(result.stdout + result.stderr, *planted.tokens)


# -- 4. loading the file as detect-secrets does ---------------------------------------------


def test_plugin_file_defines_exactly_our_detector(plugin: str) -> None:
    from detect_secrets.core.plugins.util import get_plugins_from_file

    found = list(get_plugins_from_file(plugin))

    assert [cls.__name__ for cls in found] == ["NotionTokenDetector"]
    assert found[0].secret_type == OURS


def test_shim_defines_exactly_our_detector(in_git_dir: Path) -> None:
    from detect_secrets.core.plugins.util import get_plugins_from_file

    from notion_leakguard.detect_secrets_plugin import NotionTokenDetector

    result = invoke("detect-secrets-plugin", "--shim", SHIM, cwd=in_git_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == SHIM

    found = list(get_plugins_from_file(str(in_git_dir / SHIM)))

    assert found == [NotionTokenDetector]


# -- 5. verification ------------------------------------------------------------------------


def test_verify_is_never_verified_false(rng: random.Random) -> None:
    from detect_secrets.constants import VerifiedResult

    from notion_leakguard.detect_secrets_plugin import NotionTokenDetector

    detector = NotionTokenDetector()
    for tok in (tokens.api_token(rng), tokens.legacy_token(rng), tokens.cookie(rng), "junk"):
        assert detector.verify(tok) is VerifiedResult.UNVERIFIED


_CLOSED = "http://127.0.0.1:9"
_NO_NETWORK = textwrap.dedent(
    """
    import sys

    events = []

    def audit(event, args):
        if event in ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname"):
            events.append(event)

    sys.addaudithook(audit)
    from detect_secrets.main import main

    code = main(sys.argv[1:])
    sys.stderr.write("NETWORK-EVENTS=%r\\n" % (events,))
    sys.exit(code)
    """
)


def test_scan_with_verification_reports_and_stays_offline(
    in_git_dir: Path, rng: random.Random, plugin: str
) -> None:
    planted = plant(in_git_dir, rng)
    proxies = {
        "http_proxy": _CLOSED,
        "https_proxy": _CLOSED,
        "HTTP_PROXY": _CLOSED,
        "HTTPS_PROXY": _CLOSED,
        "NO_PROXY": "",
        "no_proxy": "",
    }

    # verification is on by default; a network attempt would fail against the closed port
    result = ds("scan", "--plugin", plugin, cwd=in_git_dir, env=proxies)

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "rror" not in result.stderr, result.stderr
    baseline = json.loads(result.stdout)
    assert sorted(ours(baseline)) == sorted(planted.expected)
    assert all(not s["is_verified"] for secrets in baseline["results"].values() for s in secrets)

    # and not a single connection or name lookup in the whole detect-secrets run
    audited = subprocess.run(
        [sys.executable, "-c", _NO_NETWORK, "scan", "--plugin", plugin],
        cwd=in_git_dir,
        capture_output=True,
        text=True,
        env={**os.environ, **proxies},
        timeout=300,
    )
    assert audited.returncode == 0, audited.stderr
    assert sorted(ours(json.loads(audited.stdout))) == sorted(planted.expected)
    assert "NETWORK-EVENTS=[]" in audited.stderr.splitlines(), audited.stderr


# -- 6. portable baseline -------------------------------------------------------------------


def _portable_repo(repo: Path, rng: random.Random) -> tuple[str, str]:
    """A repository with a finding, the shim, and a baseline naming the shim relatively."""
    tok = tokens.api_token(rng)
    text = f"import os\n\nNOTION_TOKEN={tok}\n"
    write(repo, "app.py", text)
    made = invoke("detect-secrets-plugin", "--shim", SHIM, cwd=repo)
    assert made.returncode == 0, made.stderr
    git("add", "-A", cwd=repo)
    (repo / BASELINE).write_text(ds("scan", "--plugin", SHIM, cwd=repo).stdout)

    pointed = invoke("detect-secrets-plugin", "--shim", SHIM, "--baseline", BASELINE, cwd=repo)

    assert pointed.returncode == 0, pointed.stderr
    assert pointed.stdout.strip() == SHIM
    baseline = json.loads((repo / BASELINE).read_text())
    assert plugin_entry(baseline)["path"] == f"file://{SHIM}"
    assert ours(baseline) == [("app.py", 3, sha1(tok))]
    return tok, text


def test_portable_baseline_survives_a_rewrite_by_the_hook(
    in_git_dir: Path, rng: random.Random
) -> None:
    tok, text = _portable_repo(in_git_dir, rng)
    # pointing again changes nothing
    again = invoke("detect-secrets-plugin", "--shim", SHIM, "--baseline", BASELINE, cwd=in_git_dir)
    assert again.returncode == 0 and "plugin path set" not in again.stderr, again.stderr
    assert ds("hook", "--baseline", BASELINE, "app.py", cwd=in_git_dir).returncode == 0

    write(in_git_dir, "app.py", "# a new first line\n" + text)  # the finding moves down

    moved = ds("hook", "--baseline", BASELINE, "app.py", cwd=in_git_dir)

    assert moved.returncode == 3, moved.stdout + moved.stderr  # baseline updated
    baseline = json.loads((in_git_dir / BASELINE).read_text())
    assert plugin_entry(baseline)["path"] == f"file://{SHIM}"
    assert ours(baseline) == [("app.py", 4, sha1(tok))]
    second = ds("hook", "--baseline", BASELINE, "app.py", cwd=in_git_dir)
    assert second.returncode == 0, second.stdout + second.stderr
    assert plugin_entry(json.loads((in_git_dir / BASELINE).read_text()))["path"] == (
        f"file://{SHIM}"
    )


def test_portable_baseline_catches_a_new_token(in_git_dir: Path, rng: random.Random) -> None:
    _, text = _portable_repo(in_git_dir, rng)
    write(in_git_dir, "app.py", text + f"OTHER={tokens.api_token(rng)}\n")

    result = ds("hook", "--baseline", BASELINE, "app.py", cwd=in_git_dir)

    assert result.returncode == 1, result.stdout + result.stderr
    assert f"Secret Type: {OURS}" in result.stdout
    assert "Location:    app.py:4" in result.stdout


# -- 7. through pre-commit ------------------------------------------------------------------


@dataclass(frozen=True)
class DetectSecretsEnv:
    snapshot: Path  # a copy of this project's working tree, pip-installable
    home: Path  # PRE_COMMIT_HOME, shared by this module's pre-commit tests


def _ds_config(snapshot: Path) -> str:
    return (
        "repos:\n"
        "  - repo: local\n"
        "    hooks:\n"
        "      - id: detect-secrets\n"
        "        name: detect-secrets\n"
        "        entry: detect-secrets-hook\n"
        "        language: python\n"
        f"        args: [--baseline, {BASELINE}]\n"
        "        additional_dependencies:\n"
        '          - "detect-secrets==1.5.0"\n'
        f'          - "{snapshot.as_posix()}"\n'
    )


def build_ds_precommit(root: Path) -> DetectSecretsEnv:
    """Like tests/test_precommit.py's hook_repo: a snapshot of the working copy (uncommitted
    edits included) and a hook environment built once."""
    env = isolated_env(root)
    snapshot = snapshot_working_copy(root, env)
    assert (snapshot / "notion_leakguard" / "detect_secrets_plugin.py").is_file()

    install_hooks(root, env, _ds_config(snapshot))
    return DetectSecretsEnv(snapshot, root / "cache")


DS_PRECOMMIT = Prepared("ds-precommit", build_ds_precommit)  # started as the session begins


@pytest.fixture(scope="module")
def ds_precommit(tmp_path_factory: pytest.TempPathFactory) -> DetectSecretsEnv:
    return DS_PRECOMMIT.get(tmp_path_factory)


@pytest.fixture
def ds_target(in_git_dir: Path, ds_precommit: DetectSecretsEnv, rng: random.Random) -> Target:
    """A repository using detect-secrets (with the plugin by shim) through pre-commit, with
    one known finding already in its baseline."""
    _portable_repo(in_git_dir, rng)
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED}  # isolated by conftest
    env["PRE_COMMIT_HOME"] = str(ds_precommit.home)
    repo = Target(in_git_dir, env)
    repo.write(".pre-commit-config.yaml", _ds_config(ds_precommit.snapshot))
    repo.git("add", "-A")
    repo.commit_unchecked("use detect-secrets with the notion plugin")
    _must(repo.pre_commit("install"), "pre-commit install")
    return repo


def test_precommit_refuses_a_new_token(ds_target: Target, rng: random.Random) -> None:
    tok = tokens.api_token(rng)
    ds_target.write("deploy/settings.env", f"# deploy\nNOTION_TOKEN={tok}\n")
    ds_target.git("add", "deploy/settings.env")
    before = ds_target.head()

    result = ds_target.commit("add deploy settings")

    assert result.returncode == 1, result.stdout
    assert "detect-secrets" in result.stdout and "Failed" in result.stdout
    assert f"Secret Type: {OURS}" in result.stdout
    assert "Location:    deploy/settings.env:2" in result.stdout
    assert_no_full_token(result.stdout, tok)
    assert ds_target.head() == before
    # the relative plugin path survived the hook
    baseline = json.loads((ds_target.path / BASELINE).read_text())
    assert plugin_entry(baseline)["path"] == f"file://{SHIM}"


def test_precommit_passes_a_clean_commit(ds_target: Target) -> None:
    ds_target.write("src/app.py", 'import os\n\nTOKEN = os.environ["NOTION_TOKEN"]\n')
    ds_target.write("docs/format.md", f"format: {'ntn_' + '0' * 46}\n")
    ds_target.git("add", "-A")

    result = ds_target.commit("clean")

    assert result.returncode == 0, result.stdout
    assert ds_target.commits() == 2
    assert ds_target.git("status", "--porcelain") == ""


# -- 8. the core never imports detect-secrets or an HTTP client -----------------------------

_IMPORTS = textwrap.dedent(
    """
    import json, sys
    from notion_leakguard.cli import main

    codes = [main(["scan", "--staged"]), main(["scan", "app.py"]), main(["hook", "--", "app.py"])]
    names = ("detect_secrets", "requests", "urllib.request", "http.client")
    sys.stderr.write("RESULT=" + json.dumps([codes, {n: n in sys.modules for n in names}]) + "\\n")
    """
)


def test_core_and_hook_import_no_detect_secrets_or_http(
    in_git_dir: Path, rng: random.Random
) -> None:
    write(in_git_dir, "app.py", f"TOKEN = '{tokens.api_token(rng)}'\n")
    git("add", "app.py", cwd=in_git_dir)

    result = subprocess.run(
        [sys.executable, "-c", _IMPORTS],
        cwd=in_git_dir,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("RESULT=")]
    codes, loaded = json.loads(line[len("RESULT=") :])
    assert codes == [1, 1, 1]  # each saw the token
    assert loaded == {
        "detect_secrets": False,
        "requests": False,
        "urllib.request": False,
        "http.client": False,
    }


# -- 9. set-up command errors ---------------------------------------------------------------


def test_plugin_command_without_detect_secrets_still_prints_the_path(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "sys.modules['detect_secrets'] = None  # as if not installed\n"
        "from notion_leakguard.cli import main\n"
        "sys.exit(main(['detect-secrets-plugin']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).name == "detect_secrets_plugin.py"
    assert "detect-secrets is not installed" in result.stderr
    assert "notion-leakguard[detect-secrets]" in result.stderr


def test_baseline_without_shim_is_a_usage_error(in_git_dir: Path) -> None:
    (in_git_dir / BASELINE).write_text("{}\n")

    result = invoke("detect-secrets-plugin", "--baseline", BASELINE, cwd=in_git_dir)

    assert result.returncode == 2
    assert "--baseline needs --shim" in result.stderr


def test_baseline_without_our_plugin_is_refused(in_git_dir: Path) -> None:
    write(in_git_dir, "app.py", "import os\n")
    git("add", "-A", cwd=in_git_dir)
    (in_git_dir / BASELINE).write_text(ds("scan", cwd=in_git_dir).stdout)
    before = (in_git_dir / BASELINE).read_text()

    result = invoke("detect-secrets-plugin", "--shim", SHIM, "--baseline", BASELINE, cwd=in_git_dir)

    assert result.returncode == 2
    assert "does not use the NotionTokenDetector plugin" in result.stderr
    assert f"detect-secrets scan --plugin {SHIM}" in result.stderr
    assert "Traceback" not in result.stderr
    assert (in_git_dir / BASELINE).read_text() == before


def test_a_file_that_is_not_a_baseline_is_refused(in_git_dir: Path) -> None:
    (in_git_dir / BASELINE).write_text("not json\n")

    result = invoke("detect-secrets-plugin", "--shim", SHIM, "--baseline", BASELINE, cwd=in_git_dir)

    assert result.returncode == 2
    assert "is not a detect-secrets baseline" in result.stderr
    assert "Traceback" not in result.stderr


# -- 10. the Notion SDK's own first line: `client = Client(auth="secret_…")` -----------------

STOCK_FILTER = "detect_secrets.filters.heuristic.is_indirect_reference"
OUR_FILTER = "notion_leakguard.detect_secrets_filter.is_indirect_reference_for_other_plugins"


def set_up(repo: Path) -> dict:
    """The README's portable set-up, step by step: shim, baseline, point it at the shim
    (which swaps the filter), record what the plugin now sees. Returns the baseline."""
    made = invoke("detect-secrets-plugin", "--shim", SHIM, cwd=repo)
    assert made.returncode == 0, made.stderr
    git("add", "-A", cwd=repo)
    (repo / BASELINE).write_text(ds("scan", "--plugin", SHIM, cwd=repo).stdout)
    pointed = invoke("detect-secrets-plugin", "--shim", SHIM, "--baseline", BASELINE, cwd=repo)
    assert pointed.returncode == 0, pointed.stderr
    rescan = ds("scan", "--baseline", BASELINE, cwd=repo)
    assert rescan.returncode == 0, rescan.stdout + rescan.stderr
    return json.loads((repo / BASELINE).read_text())


def filter_paths(baseline: dict) -> list[str]:
    return [f["path"] for f in baseline["filters_used"]]


def sdk_file(legacy: str, api: str) -> str:
    return (
        "from notion_client import Client\n"
        "\n"
        f'notion = Client(auth="{legacy}")\n'
        f"client = Client(auth='{api}', log_level=logging.DEBUG)\n"
    )


def test_stock_filters_hide_the_sdk_line_from_the_plugin(
    in_git_dir: Path, rng: random.Random, plugin: str
) -> None:
    """Why the filter is swapped: detect-secrets' is_indirect_reference drops the line
    before any plugin sees it."""
    write(in_git_dir, "app.py", sdk_file(tokens.legacy_token(rng), tokens.api_token(rng)))
    git("add", "-A", cwd=in_git_dir)

    assert ours(scan("--plugin", plugin, cwd=in_git_dir)) == []
    swapped = scan(
        "--plugin", plugin, "--disable-filter", STOCK_FILTER, "--filter", OUR_FILTER,
        cwd=in_git_dir,
    )  # fmt: skip
    assert [(name, line) for name, line, _ in ours(swapped)] == [("app.py", 3), ("app.py", 4)]


def test_portable_set_up_reports_the_sdk_line(in_git_dir: Path, rng: random.Random) -> None:
    legacy, api = tokens.legacy_token(rng), tokens.api_token(rng)
    write(in_git_dir, "app.py", sdk_file(legacy, api))

    baseline = set_up(in_git_dir)

    assert ours(baseline) == [("app.py", 3, sha1(legacy)), ("app.py", 4, sha1(api))]
    assert OUR_FILTER in filter_paths(baseline) and STOCK_FILTER not in filter_paths(baseline)
    assert plugin_entry(baseline)["path"] == f"file://{SHIM}"
    # the hook, as pre-commit runs it, refuses a new one on such a line
    assert ds("hook", "--baseline", BASELINE, "app.py", cwd=in_git_dir).returncode == 0
    new = tokens.api_token(rng)
    write(in_git_dir, "worker.py", f'notion = notion_client.Client(auth="{new}")\n')

    result = ds("hook", "--baseline", BASELINE, "worker.py", cwd=in_git_dir)

    assert result.returncode == 1, result.stdout + result.stderr
    assert f"Secret Type: {OURS}" in result.stdout
    assert "Location:    worker.py:1" in result.stdout
    assert_no_full_token(result.stdout + result.stderr, legacy, api, new)
    kept = json.loads((in_git_dir / BASELINE).read_text())
    assert filter_paths(kept) == filter_paths(baseline)  # the hook keeps the swap


def test_pointing_says_what_changed_once(in_git_dir: Path, rng: random.Random) -> None:
    write(in_git_dir, "app.py", "import os\n")
    invoke("detect-secrets-plugin", "--shim", SHIM, cwd=in_git_dir)
    git("add", "-A", cwd=in_git_dir)
    (in_git_dir / BASELINE).write_text(ds("scan", "--plugin", SHIM, cwd=in_git_dir).stdout)

    first = invoke("detect-secrets-plugin", "--shim", SHIM, "--baseline", BASELINE, cwd=in_git_dir)
    written = (in_git_dir / BASELINE).read_text()
    second = invoke("detect-secrets-plugin", "--shim", SHIM, "--baseline", BASELINE, cwd=in_git_dir)

    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert f"{BASELINE}: filter is_indirect_reference replaced by {OUR_FILTER}" in first.stderr
    assert f"detect-secrets scan --baseline {BASELINE}" in first.stderr
    assert second.stderr == ""
    assert (in_git_dir / BASELINE).read_text() == written
    # detect-secrets itself writes the swapped baseline back unchanged
    assert ds("scan", "--baseline", BASELINE, cwd=in_git_dir).returncode == 0
    assert filter_paths(json.loads((in_git_dir / BASELINE).read_text())) == [
        *sorted(
            {*filter_paths(json.loads(written)), "detect_secrets.filters.common.is_baseline_file"},
            key=str.lower,
        )
    ]


def test_the_swap_changes_nothing_for_the_other_plugins(
    in_git_dir: Path, rng: random.Random, plugin: str
) -> None:
    """Other plugins' findings on `x = f(...)` lines are dropped as before, even on a line
    that also holds a Notion token; elsewhere nothing moves."""
    aws = "AKIA" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))
    entropy = "".join(rng.choice(tokens.ALNUM) for _ in range(40))
    api = tokens.api_token(rng)
    write(
        in_git_dir,
        "settings.py",
        f'key = boto3.client("s3", aws_access_key_id="{aws}")\n'
        f'secret = get_secret("{entropy}")\n'
        f'both = make(notion="{api}", aws="{aws}")\n'
        f'PASSWORD = "{entropy}"\n'
        f"AWS = '{aws}'\n",
    )
    git("add", "-A", cwd=in_git_dir)

    def others(baseline: dict) -> list[tuple[str, int, str, str]]:
        return sorted(
            (name, s["line_number"], s["type"], s["hashed_secret"])
            for name, secrets in baseline["results"].items()
            for s in secrets
            if s["type"] != OURS
        )

    stock = scan("--plugin", plugin, cwd=in_git_dir)
    swapped = scan(
        "--plugin", plugin, "--disable-filter", STOCK_FILTER, "--filter", OUR_FILTER,
        cwd=in_git_dir,
    )  # fmt: skip

    assert others(swapped) == others(stock)
    assert {line for _, line, _, _ in others(stock)} == {4, 5}  # not 1-3: dropped as before
    assert ours(stock) == []
    assert ours(swapped) == [("settings.py", 3, sha1(api))]


# -- 11. parity: what `notion-leakguard scan` finds on a line, the plugin finds ---------------


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _utf16(text: str, codec: str) -> bytes:
    return text.encode(codec)


@dataclass(frozen=True)
class Case:
    name: str  # the file
    build: Callable[[list[str]], bytes]  # the file's bytes, from the tokens given
    kinds: tuple[str, ...] = ("api",)  # the tokens it holds
    lines: tuple[int, ...] = (1,)  # where `scan` must find them today (() : not yet/never)


def _lines(*rows: str) -> bytes:
    return "".join(row + "\n" for row in rows).encode()


def _percent_all(tok: str) -> str:
    return "".join(f"%{b:02X}" for b in tok.encode())


PARITY = (
    Case("plain.env", lambda t: _lines(f"NOTION_TOKEN={t[0]}")),
    Case("sdk.py", lambda t: _lines(f'client = Client(auth="{t[0]}")'), ("legacy",)),
    Case("two.py", lambda t: _lines(f'KEYS = ["{t[0]}", "{t[1]}"]'), ("api", "legacy"), (1, 1)),
    Case(
        "k8s/secret.yaml",
        lambda t: _lines(
            "apiVersion: v1",
            "kind: Secret",
            "metadata:",
            "  name: notion",
            "type: Opaque",
            "data:",
            f"  NOTION_TOKEN: {_b64(t[0])}",
        ),
        lines=(7,),
    ),
    Case(
        "k8s/pull.yaml",
        lambda t: _lines(
            "kind: Secret",
            "type: kubernetes.io/dockerconfigjson",
            "data:",
            "  .dockerconfigjson: "
            + _b64(json.dumps({"auths": {"r.example": {"auth": _b64("u:" + t[0])}}})),
        ),
        lines=(4,),
    ),
    Case("offset.env", lambda t: _lines(f"BLOB={_b64('token=' + t[0] + ';')}"), ("legacy",)),
    Case(  # detect-secrets' is_likely_id_string drops what follows `_id` on a line
        "oauth.json",
        lambda t: _lines('{"client_id": "1f2e3d4c", "client_secret": "' + t[0] + '"}'),
        ("legacy",),
    ),
    Case("url.log", lambda t: _lines(f"GET /cb?key={t[0].replace('_', '%5F')} 200")),
    Case("escaped.json", lambda t: _lines('{"key": "' + t[0].replace("_", "\\u005f") + '"}')),
    Case("newline.json", lambda t: _lines('{"msg": "token:\\n' + t[0] + '"}')),
    Case("ansi.log", lambda t: _lines(f"\x1b[31m{t[0]}\x1b[0m")),
    Case("cookie.yaml", lambda t: _lines(f"token_v2: {t[0]}"), ("cookie",)),
    Case(
        "utf16le.txt",
        lambda t: _utf16(f"first line here\nKEY={t[0]}\nSECRET={t[1]}\n", "utf-16-le"),
        ("api", "legacy"),
        (2, 3),
    ),
    Case(
        "utf16be.txt",
        lambda t: _utf16(f"first line here\nKEY={t[0]}\n", "utf-16-be"),
        lines=(2,),
    ),
    Case("allowed.py", lambda t: _lines(f'KEY = "{t[0]}"  # notion-leakguard: allow'), lines=()),
    Case(
        "allowed_next.py",
        lambda t: _lines("# notion-leakguard: allow-next-line", f'KEY = "{t[0]}"'),
        lines=(),
    ),
    # Forms the scanner may learn later: whatever it finds there, the plugin must too.
    Case("hex.txt", lambda t: _lines(f"KEY_HEX={t[0].encode().hex()}"), lines=()),
    Case("percent.log", lambda t: _lines(f"GET /cb?key={_percent_all(t[0])}"), lines=()),
    Case("colour.json", lambda t: _lines('{"out": "\\u001b[32m' + t[0] + '\\u001b[0m"}'), lines=()),
    Case("colour.sh", lambda t: _lines(f'echo "\\e[32m{t[0]}"'), lines=()),
)


def _token(kind: str, rng: random.Random) -> str:
    return {
        "api": tokens.api_token,
        "legacy": tokens.legacy_token,
        "cookie": tokens.cookie,
    }[kind](rng)


def test_plugin_reports_what_scan_finds(in_git_dir: Path, rng: random.Random) -> None:
    planted: dict[str, list[str]] = {}
    for case in PARITY:
        planted[case.name] = [_token(kind, rng) for kind in case.kinds]
        path = in_git_dir / case.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(case.build(planted[case.name]))
    every = [tok for toks in planted.values() for tok in toks]
    by_sha1 = {sha1(tok): tok for tok in every}
    by_sha256 = {"sha256:" + hashlib.sha256(tok.encode()).hexdigest(): tok for tok in every}

    baseline = set_up(in_git_dir)
    report = invoke("scan", "--format", "json", *planted, cwd=in_git_dir)

    assert report.returncode == 1, report.stderr
    found_by_scan = {
        (f["path"], f["line"], by_sha256[f["fingerprint"]])
        for f in json.loads(report.stdout)["findings"]
    }
    found_by_plugin = {(name, line, by_sha1[digest]) for name, line, digest in ours(baseline)}
    for case in PARITY:
        scanned = {(line, tok) for name, line, tok in found_by_scan if name == case.name}
        plugged = {(line, tok) for name, line, tok in found_by_plugin if name == case.name}
        assert plugged == scanned, case.name
        assert set(zip(case.lines, planted[case.name])) <= scanned, case.name
    assert_no_full_token((in_git_dir / BASELINE).read_text() + report.stdout, *every)


def test_a_utf16_file_with_a_byte_order_mark_is_not_read_by_detect_secrets(
    in_git_dir: Path, rng: random.Random
) -> None:
    """A limit of detect-secrets, not of the plugin: it reads files as UTF-8 and skips one
    that is not; `notion-leakguard scan` decodes it."""
    tok = tokens.api_token(rng)
    (in_git_dir / "notes.txt").write_bytes(f"KEY={tok}\n".encode("utf-16"))  # with a BOM

    baseline = set_up(in_git_dir)
    report = invoke("scan", "--format", "json", "notes.txt", cwd=in_git_dir)

    assert ours(baseline) == []
    assert [
        (f["path"], f["line"], f["encoding"]) for f in json.loads(report.stdout)["findings"]
    ] == [("notes.txt", 1, "utf-16")]


def test_precommit_refuses_the_sdk_line(ds_target: Target, rng: random.Random) -> None:
    tok = tokens.legacy_token(rng)
    ds_target.write(
        "bot/notion.py", f'import notion_client\n\nnotion = notion_client.Client(auth="{tok}")\n'
    )
    ds_target.git("add", "bot/notion.py")
    before = ds_target.head()

    result = ds_target.commit("the notion bot")

    assert result.returncode == 1, result.stdout
    assert f"Secret Type: {OURS}" in result.stdout
    assert "Location:    bot/notion.py:3" in result.stdout
    assert_no_full_token(result.stdout, tok)
    assert ds_target.head() == before


def test_precommit_refuses_a_base64_key_in_a_kubernetes_secret(
    ds_target: Target, rng: random.Random
) -> None:
    tok = tokens.api_token(rng)
    ds_target.write(
        "deploy/secret.yaml",
        f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: notion\ndata:\n  token: {_b64(tok)}\n",
    )
    ds_target.git("add", "deploy/secret.yaml")

    result = ds_target.commit("deploy the notion secret")

    assert result.returncode == 1, result.stdout
    assert f"Secret Type: {OURS}" in result.stdout
    assert "Location:    deploy/secret.yaml:6" in result.stdout
    assert_no_full_token(result.stdout, tok)
