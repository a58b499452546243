"""`inventory`, tried as a new user would: real repositories made with git, the real CLI.

Four repositories: `web` committed one key to .env.development, then copied the file to
.env.production; `api` committed the same key to config.py and later removed it; `worker`
(a bare repository) holds another key; `docs` is clean. The inventory must have exactly two
keys, every place right, and the reuse called out.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, NamedTuple

import jsonschema
import pytest

from tests.conftest import FIXTURES, git, invoke, run_cli
from tests.helpers.notion_api import BOT_NAME, WORKSPACE_NAME, FakeNotion
from tests.tokens import api_token, positions, preview


class Place(NamedTuple):
    repository: str
    path: str
    line: int
    column: int
    commit: str
    at_head: bool


class Org(NamedTuple):
    root: Path
    repos: tuple[str, ...]  # as given on the command line
    key1: str
    key2: str
    expected: dict[str, set[Place]]  # by preview


_JAN_2024 = 1704110400  # 2024-01-01 12:00 UTC
_DAYS = iter(range(1, 10_000))


def _commit(repo: Path, message: str, files: dict[str, str]) -> str:
    """A commit of `files`, a day after the one before (dates git can order)."""
    for name, text in files.items():
        (repo / name).write_text(text)
    git("add", "-A", cwd=repo)
    when = f"@{_JAN_2024 + next(_DAYS) * 86400} +0000"
    env = {**os.environ, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
    subprocess.run(["git", "commit", "-q", "-m", message], cwd=repo, check=True, env=env)
    return git("rev-parse", "HEAD", cwd=repo).strip()


def _new_repo(root: Path, name: str) -> Path:
    repo = root / name
    repo.mkdir()
    git("init", "-q", "-b", "main", cwd=repo)
    return repo


def make_org(root: Path, rng: random.Random) -> Org:
    key1, key2 = api_token(rng), api_token(rng)
    web = _new_repo(root, "web")
    _commit(web, "readme", {"README.md": "# web\n"})
    dev = _commit(web, "development settings", {".env.development": f"NOTION_TOKEN={key1}\n"})
    shutil.copy(web / ".env.development", web / ".env.production")  # the same bytes: one blob
    prod = _commit(web, "production settings", {})
    api = _new_repo(root, "api")
    config = f'import os\nNOTION = "{key1}"\n'
    added = _commit(api, "notion client", {"config.py": config})
    _commit(api, "read the key from the environment", {"config.py": "import os\n"})
    source = _new_repo(root, "worker-src")
    settings = f'{{\n  "notion": {{"token": "{key2}"}}\n}}\n'
    sync = _commit(source, "sync job", {"settings.json": settings})
    git("clone", "-q", "--bare", str(source), str(root / "worker.git"), cwd=root)
    shutil.rmtree(source)
    docs = _new_repo(root, "docs")
    _commit(docs, "docs", {"index.md": "Set NOTION_TOKEN in your environment.\n"})
    ((line1, column1),) = positions(config, key1)
    ((line2, column2),) = positions(settings, key2)
    expected = {
        preview(key1): {
            Place("web", ".env.development", 1, 14, dev, True),
            Place("web", ".env.production", 1, 14, prod, True),
            Place("api", "config.py", line1, column1, added, False),
        },
        preview(key2): {Place("worker.git", "settings.json", line2, column2, sync, True)},
    }
    return Org(root, ("web", "api", "worker.git", "docs"), key1, key2, expected)


@pytest.fixture
def org(tmp_path: Path, rng: random.Random) -> Org:
    root = tmp_path / "org"
    root.mkdir()
    return make_org(root, rng)


def places(report: dict[str, Any]) -> dict[str, set[Place]]:
    return {
        key["preview"]: {
            Place(o["repository"], o["path"], o["line"], o["column"], o["commit"], o["at_head"])
            for o in key["occurrences"]
        }
        for key in report["keys"]
    }


def assert_no_key(org: Org, *texts: str) -> None:
    for text in texts:
        assert org.key1 not in text and org.key2 not in text
        assert org.key1[4:] not in text and org.key2[4:] not in text


def test_two_keys_every_place_and_the_reuse_called_out(org: Org) -> None:
    result = invoke("inventory", *org.repos, "--format", "json", cwd=org.root)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert places(report) == org.expected
    by_preview = {key["preview"]: key for key in report["keys"]}
    reused = by_preview[preview(org.key1)]
    assert reused["repositories"] == ["web", "api"] or reused["repositories"] == ["api", "web"]
    assert reused["environments"] == ["development", "production"]
    assert any("2 repositories" in c for c in reused["callouts"])
    assert any("development and production" in c for c in reused["callouts"])
    assert reused["first_seen"]["repository"] == "web"  # committed before api's
    assert reused["first_seen"]["path"] == ".env.development"
    alone = by_preview[preview(org.key2)]
    assert alone["callouts"] == [] and alone["repositories"] == ["worker.git"]
    assert [r["name"] for r in report["repositories"]] == list(org.repos)
    assert_no_key(org, result.stdout, result.stderr)


def test_the_text_report_names_each_key_once_and_says_what_to_do(org: Org) -> None:
    result = invoke("inventory", *org.repos, cwd=org.root)
    assert result.returncode == 1
    out = result.stdout
    assert out.count(preview(org.key1)) == 1 and out.count(preview(org.key2)) == 1
    assert "the same key is used for development and production" in out
    assert "2 distinct Notion keys in 3 of 4 repositories (4 places)" in out
    assert "Rotate each live key once" in out
    assert_no_key(org, out, result.stderr)


def test_csv_opens_as_a_table_one_row_per_place(org: Org) -> None:
    result = invoke("inventory", *org.repos, "-f", "csv", cwd=org.root)
    assert result.returncode == 1
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 4
    assert {len(row) for row in rows} == {len(rows[0])}
    found = {
        (r["preview"], r["repository"], r["path"], int(r["line"]), r["commit"], r["at_head"])
        for r in rows
    }
    assert found == {
        (p, o.repository, o.path, o.line, o.commit, str(o.at_head).lower())
        for p, expected in org.expected.items()
        for o in expected
    }
    assert {r["key_environments"] for r in rows if r["preview"] == preview(org.key1)} == {
        "development;production"
    }
    assert_no_key(org, result.stdout)


def test_sarif_is_valid_with_a_result_per_place(org: Org) -> None:
    result = invoke("inventory", *org.repos, "-f", "sarif", cwd=org.root)
    document = json.loads(result.stdout)
    schema = json.loads((FIXTURES / "sarif" / "sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(document)
    results = [r for run in document["runs"] for r in run["results"]]
    assert len(results) == 4
    assert_no_key(org, result.stdout)


def test_a_clean_repository_exits_0_and_a_missing_one_2(org: Org) -> None:
    clean = invoke("inventory", "docs", cwd=org.root)
    assert clean.returncode == 0, clean.stderr
    assert "No Notion keys in 1 repository" in clean.stdout
    missing = invoke("inventory", "docs", "nowhere", cwd=org.root)
    assert missing.returncode == 2
    assert "nowhere: no such directory; not scanned" in missing.stderr
    assert invoke("inventory", cwd=org.root).returncode == 2  # nothing named


def test_repos_file_and_clone_urls_mirrored_into_the_cache(org: Org, tmp_path: Path) -> None:
    listing = org.root / "repos.txt"
    listing.write_text(f"# our repositories\nweb\n\n{(org.root / 'api').as_uri()}\n")
    first = invoke(
        "inventory", "--repos-file", "repos.txt", "--cache", "cache", "-f", "json", cwd=org.root
    )
    assert first.returncode == 1, first.stderr
    report = json.loads(first.stdout)
    url = (org.root / "api").as_uri()
    assert [r["name"] for r in report["repositories"]] == ["web", url]
    mirrors = list((org.root / "cache").iterdir())
    assert (
        len(mirrors) == 1 and git("rev-parse", "--is-bare-repository", cwd=mirrors[0]) == "true\n"
    )
    # a new commit upstream: the next run fetches it into the same mirror
    late = api_token(random.Random(7))
    _commit(org.root / "api", "oops", {"late.txt": f"{late}\n"})
    again = invoke(
        "inventory", "--repos-file", "repos.txt", "--cache", "cache", "-f", "json", cwd=org.root
    )
    assert preview(late) in {k["preview"] for k in json.loads(again.stdout)["keys"]}
    assert list((org.root / "cache").iterdir()) == mirrors
    assert invoke("inventory", url, cwd=org.root).returncode == 2  # a URL needs --cache


def test_verify_shows_live_state_and_the_integration(org: Org, notion_api: FakeNotion) -> None:
    notion_api.behaviours = {org.key1: "invalid", org.key2: "live"}
    env = notion_api.env()
    result = invoke("inventory", *org.repos, "--verify", "-f", "json", cwd=org.root, env=env)
    notion_api.check()
    keys = {k["preview"]: k for k in json.loads(result.stdout)["keys"]}
    assert keys[preview(org.key1)]["verified"] == "invalid"
    assert keys[preview(org.key1)]["verified_as"] is None
    assert keys[preview(org.key2)]["verified"] == "live"
    named = f"integration {BOT_NAME} in workspace {WORKSPACE_NAME}"
    assert keys[preview(org.key2)]["verified_as"] == named
    assert set(notion_api.requests()) == {org.key1, org.key2}
    text = invoke("inventory", *org.repos, "--verify", cwd=org.root, env=env)
    assert f"{preview(org.key2)}  [live: {named}]" in text.stdout
    assert_no_key(org, result.stdout, result.stderr, text.stdout, text.stderr)


class _Page(HTMLParser):
    """Every text and attribute value of the page, and the rows of each kind."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self.rows: dict[str, list[list[str]]] = {}
        self.scripts: list[dict[str, str | None]] = []
        self._row: list[str] | None = None
        self._kind = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.texts += [v for _, v in attrs if v]
        found = dict(attrs)
        if tag == "tr":
            self._kind, self._row = found.get("class") or "", []
        if tag in ("script", "link", "img", "iframe"):
            self.scripts.append({"tag": tag, **found})

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr" and self._row is not None:
            self.rows.setdefault(self._kind, []).append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        self.texts.append(data)
        if self._row is not None and data.strip():
            self._row.append(data.strip())


def _html(org: Org, notion_api: FakeNotion, out: Path) -> tuple[dict[str, Any], str]:
    notion_api.behaviours = {org.key1: "invalid", org.key2: "live"}
    env = notion_api.env()
    report = invoke("inventory", *org.repos, "--verify", "-f", "json", cwd=org.root, env=env)
    page = invoke(
        "inventory", *org.repos, "--verify", "-f", "html", "-o", str(out), cwd=org.root, env=env
    )
    assert page.returncode == 1, page.stderr
    return json.loads(report.stdout), out.read_text(encoding="utf-8")


def test_html_holds_every_key_and_place_of_the_json_and_no_key(
    org: Org, notion_api: FakeNotion, tmp_path: Path
) -> None:
    report, text = _html(org, notion_api, tmp_path / "inventory.html")
    assert_no_key(org, text)
    page = _Page()
    page.feed(text)
    every = "\n".join(page.texts)
    for key in report["keys"]:
        assert key["fingerprint"] in every and key["preview"] in every
        for o in key["occurrences"]:
            assert [
                o["repository"],
                o["kind"],
                f"{o['path']}:{o['line']}:{o['column']}",
                o["commit"][:12],
            ] in [row[:4] for row in page.rows["occurrence"]]
    assert len(page.rows["occurrence"]) == sum(len(k["occurrences"]) for k in report["keys"])
    assert len(page.rows["key"]) == len(report["keys"])
    # self-contained: one inline script, nothing loaded from anywhere
    assert [s for s in page.scripts if s.get("src") or s.get("href")] == []
    assert "http://" not in text and "https://" not in text


CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--enable-logging=stderr",
    "--v=0",
)


def _chromium(page: Path, profile: Path) -> tuple[str, list[str]]:
    """The DOM after the page's scripts ran, and the console messages it logged."""
    done = subprocess.run(
        ["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout, [line for line in done.stderr.splitlines() if ":CONSOLE" in line]


def test_html_loads_in_headless_chromium_without_console_errors(
    org: Org, notion_api: FakeNotion, tmp_path: Path
) -> None:
    # the check can fail: a broken page does show its errors
    broken = tmp_path / "broken.html"
    broken.write_text("<html><body><script>undefinedFunction();</script></body></html>")
    _dom, console = _chromium(broken, tmp_path / "profile-broken")
    assert any("undefinedFunction" in line for line in console)
    _report, _text = _html(org, notion_api, tmp_path / "inventory.html")
    dom, console = _chromium(tmp_path / "inventory.html", tmp_path / "profile")
    assert console == []
    assert 'data-sorted-by="state"' in dom  # the script ran and sorted
    assert f"live: integration {BOT_NAME} in workspace {WORKSPACE_NAME}" in dom
    # live first: the live key (worker) above the older, revoked one (web, api)
    assert dom.index(preview(org.key2)) < dom.index(preview(org.key1))
    assert_no_key(org, dom)


def test_the_console_script_runs_it(org: Org) -> None:
    done = run_cli("inventory", "web", "docs", "-q", cwd=org.root)
    assert done.returncode == 1
    assert preview(org.key1) in done.stdout
