"""One key, several environments: which environment a path is for, which keys are found in
more than one, and how `scan` calls them out (text advice, JSON `shared_keys`), in real
repositories. Every credential is built at run time (tests/tokens.py)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from notion_leakguard.environments import Shared, environment_of, sentence, shared_across
from notion_leakguard.findings import Finding
from tests import tokens
from tests.conftest import git, run_main
from tests.test_verify import assert_no_token, write

PER_ENVIRONMENT = "use a key per environment"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        # dotenv files: the name says it
        (".env", "development"),
        ("backend/.env", "development"),
        (".env.local", "development"),
        (".env.dev", "development"),
        (".env.development", "development"),
        (".env.development.local", "development"),
        (".env.production", "production"),
        (".env.prod", "production"),
        (".env.production.local", "production"),
        ("config/.env.staging", "staging"),
        (".env.stage", "staging"),
        (".env.test", "test"),
        (".env.testing", "test"),
        (".env.qa", "qa"),
        (".env.UAT", "uat"),
        ("prod.env", "production"),
        ("staging.env", "staging"),
        # a directory says it when the name does not
        ("deploy/production/.env", "production"),
        ("deploy/prod/app.env", "production"),
        ("envs/staging/.env.local", "development"),  # the name is nearer than the directory
        # other files whose names mark an environment
        ("docker-compose.prod.yml", "production"),
        ("config/appsettings.Production.json", "production"),
        ("src/environments/environment.prod.ts", "production"),
        ("src/main/resources/application-dev.properties", "development"),
        ("settings/local_settings.py", "development"),
        ("k8s/overlays/staging/secret.yaml", "staging"),
        ("config/production.json", "production"),
        # no environment
        ("src/app.py", None),
        (".env.docker", None),
        ("docker.env", None),
        (".envrc", None),
        (".env.example", None),
        (".env.production.example", None),
        ("production.env.sample", None),
        ("tests/test_app.py", None),  # test code is not an environment
        ("test/app.test.js", None),
        ("src/localization/strings.py", None),  # words, not substrings
        ("devtools/product.py", None),
        ("config/production.example.json", None),
    ],
)
def test_environment_of(path: str, expected: str | None) -> None:
    assert environment_of(path) == expected


def _finding(path: str, key: str, *, line: int = 1, kind: str = "file") -> Finding:
    # previews and fingerprints stand for keys: no key is needed to group findings
    return Finding("notion-api-token", path, line, 1, f"ntn_{key}…{key}", f"sha256:{key}", "m",
                   kind=kind)  # fmt: skip


def test_shared_across_groups_keys_by_environment() -> None:
    findings = [
        _finding(".env.development", "aaaa"),
        _finding(".env.production", "aaaa"),
        _finding("deploy/production/.env", "aaaa"),
        _finding(".env", "bbbb"),
        _finding(".env.local", "bbbb"),  # development twice: not shared
        _finding(".env", "cccc"),
        _finding("config/.env.staging", "cccc"),
        _finding("src/app.py", "cccc"),  # no environment: not listed
        _finding(".env.production", "dddd"),  # one file only
        _finding(".env.test", "eeee", kind="commit message"),  # a message is no file
        _finding(".env.production", "eeee"),
        _finding(".env.production", "ffff", line=0),  # file-level: no key
        _finding(".env.development", "ffff", line=0),
    ]

    assert shared_across(findings) == [
        Shared(
            "ntn_aaaa…aaaa",
            "sha256:aaaa",
            ("development", "production"),
            (".env.development", ".env.production", "deploy/production/.env"),
        ),
        Shared(
            "ntn_cccc…cccc",
            "sha256:cccc",
            ("development", "staging"),
            (".env", "config/.env.staging"),
        ),
    ]


def test_shared_across_takes_any_notion_of_place() -> None:
    """What the inventory needs: the same key in two repositories."""
    findings = [_finding("a/.env", "aaaa"), _finding("b/x.py", "aaaa"), _finding("a/y", "bbbb")]

    shared = shared_across(findings, environment=lambda f: f.path.split("/")[0])

    assert [(s.preview, s.environments) for s in shared] == [("ntn_aaaa…aaaa", ("a", "b"))]


@pytest.mark.parametrize(
    ("environments", "expected"),
    [
        (("development", "production"), "the same key is used for development and production"),
        (
            ("development", "production", "staging"),
            "the same key is used for development, production and staging",
        ),
    ],
)
def test_sentence(environments: tuple[str, ...], expected: str) -> None:
    assert sentence(Shared("p", "f", environments, ())) == f"{expected}: {PER_ENVIRONMENT}"


# -- scan, in real repositories ----------------------------------------------------------------


def _committed(repo: Path, files: dict[str, str]) -> None:
    write(repo, files)
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "config", cwd=repo)


@pytest.mark.parametrize(
    ("first", "second", "environments"),
    [
        (".env.development", ".env.production", "development and production"),
        (".env", ".env.production", "development and production"),
        (".env", "config/.env.staging", "development and staging"),
        ("config/.env.staging", "deploy/production/.env", "production and staging"),
    ],
)
def test_scan_calls_out_a_key_shared_by_two_environments(
    in_git_dir: Path, rng: random.Random, first: str, second: str, environments: str
) -> None:
    shared, alone = tokens.api_token(rng), tokens.api_token(rng)
    _committed(
        in_git_dir,
        {first: f"NOTION_KEY={shared}\n", second: f"NOTION_KEY={shared}\nOTHER={alone}\n"},
    )

    code, text, err = run_main(["scan"], cwd=in_git_dir)
    json_code, report, _ = run_main(["scan", "--format", "json"], cwd=in_git_dir)

    assert code == json_code == 1, err
    lines = text.splitlines()
    callout = f"The same key is used for {environments}: {PER_ENVIRONMENT}."
    assert callout in lines
    where = lines[lines.index(callout) + 1]
    assert where == f"  {tokens.preview(shared)} in {', '.join(sorted((first, second)))}"
    assert tokens.preview(alone) not in "\n".join(lines[lines.index(callout) :])
    assert "integration per environment" in text
    (entry,) = json.loads(report)["shared_keys"]
    assert entry == {
        "preview": tokens.preview(shared),
        "fingerprint": next(
            f["fingerprint"]
            for f in json.loads(report)["findings"]
            if f["rule"] == "notion-api-token"
        ),
        "environments": sorted(environments.split(" and ")),
        "paths": sorted((first, second)),
        "advice": f"the same key is used for {environments}: {PER_ENVIRONMENT}",
    }
    assert_no_token(text + report + err, shared, alone)


@pytest.mark.parametrize(
    "files",
    [
        pytest.param({".env": "K={a}\n", ".env.local": "K={a}\n"}, id="development-twice"),
        pytest.param({".env.development": "K={a}\n", ".env.production": "K={b}\n"}, id="own-keys"),
        pytest.param({".env.production": "K={a}\n", "src/app.py": 'K = "{a}"\n'}, id="one-env"),
        pytest.param({".env.example": "K={a}\n", ".env.production": "K={a}\n"}, id="template"),
    ],
)
def test_scan_says_nothing_of_keys_in_one_environment(
    in_git_dir: Path, rng: random.Random, files: dict[str, str]
) -> None:
    a, b = tokens.api_token(rng), tokens.api_token(rng)
    _committed(in_git_dir, {path: text.format(a=a, b=b) for path, text in files.items()})

    code, text, err = run_main(["scan"], cwd=in_git_dir)
    _, report, _ = run_main(["scan", "--format", "json"], cwd=in_git_dir)

    assert code == 1, err
    assert "same key" not in text and PER_ENVIRONMENT not in text
    assert "shared_keys" not in json.loads(report)


def test_history_calls_out_a_key_one_commit_put_in_two_environments(
    in_git_dir: Path, rng: random.Random
) -> None:
    """History reports a key once, where it first came: the other files of that commit
    count too, though the key is gone from both now."""
    key = tokens.api_token(rng)
    _committed(
        in_git_dir,
        {".env.development": f"NOTION_KEY={key}\n", ".env.production": f"# prod\nKEY={key}\n"},
    )
    for name in (".env.development", ".env.production"):
        (in_git_dir / name).unlink()
    _committed(in_git_dir, {"README": "keys live elsewhere now\n"})

    code, text, err = run_main(["scan", "--history", "--quiet"], cwd=in_git_dir)

    assert code == 1, err
    assert f"The same key is used for development and production: {PER_ENVIRONMENT}." in text
    assert f"  {tokens.preview(key)} in .env.development, .env.production" in text
    assert_no_token(text + err, key)


def test_ignored_dotenv_files_named_on_the_command_line(
    in_git_dir: Path, rng: random.Random
) -> None:
    """Keys in dotenv files that git ignores are where they belong and a walk does not read
    them; named on the command line, they are scanned, and a shared key shows."""
    key = tokens.api_token(rng)
    write(
        in_git_dir,
        {
            ".gitignore": ".env*\n",
            ".env.development": f"NOTION_KEY={key}\n",
            ".env.production": f"NOTION_KEY={key}\n",
        },
    )

    code, walked, _ = run_main(["scan"], cwd=in_git_dir)
    named_code, named, err = run_main(
        ["scan", ".env.development", ".env.production"], cwd=in_git_dir
    )

    assert code == 0 and "same key" not in walked
    assert named_code == 1, err
    assert f"The same key is used for development and production: {PER_ENVIRONMENT}." in named
