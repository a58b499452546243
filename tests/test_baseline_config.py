"""Living with findings: baselines, configuration, inline markers, and suppression that is
never silent. The CLI in this process (`invoke`), in real directories and repos."""

from __future__ import annotations

import json
import random
import re
import subprocess
from pathlib import Path

import pytest

from tests import tokens
from tests.conftest import git, invoke

API = "notion-api-token"
LEGACY = "notion-legacy-token"
COOKIE = "notion-token-v2-cookie"
NOT_IGNORED = "env-file-not-ignored"
BASELINE = ".notion-leakguard-baseline.json"
OWN = ".notion-leakguard.toml"
# (rule, path, line, preview)
Found = set[tuple[str, str, int, str]]
# (rule, path, line, preview, reason)
Suppressed = set[tuple[str, str, int, str, str]]


def write(root: Path, relative: str, data: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode())
    return path


def at(text: str, path: str, tok: str, rule: str = API) -> tuple[str, str, int, str]:
    ((line, _column),) = tokens.positions(text, tok)
    return (rule, path, line, tokens.preview(tok))


def scan_json(*args: str, cwd: Path) -> tuple[int, Found, Suppressed]:
    """Exit code, reported findings and suppressed findings of `scan ARGS --format json`."""
    result = invoke("scan", *args, "--format", "json", cwd=cwd)
    assert result.returncode in (0, 1), result.stderr
    assert "Traceback" not in result.stderr
    document = json.loads(result.stdout)
    found = {(f["rule"], f["path"], f["line"], f["preview"]) for f in document["findings"]}
    suppressed = {
        (f["rule"], f["path"], f["line"], f["preview"], f["reason"]) for f in document["suppressed"]
    }
    return result.returncode, found, suppressed


def fingerprints(cwd: Path, *args: str) -> dict[str, str]:
    """path -> fingerprint of the single finding in each file, from a JSON report."""
    result = invoke("scan", *args, "--no-suppress", "--format", "json", cwd=cwd)
    findings = json.loads(result.stdout)["findings"]
    assert len({f["path"] for f in findings}) == len(findings)
    return {f["path"]: f["fingerprint"] for f in findings}


def hook_paths(stdout: str) -> set[str]:
    return {m.group(1) for m in re.finditer(r"^(.+):\d+:\d+: notion-", stdout, re.M)}


def baseline_doc(path: Path) -> dict[str, object]:
    document = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def entries(path: Path) -> list[dict[str, str]]:
    listed = baseline_doc(path)["entries"]
    assert isinstance(listed, list)
    return listed


def ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------------------------------------------
# Baselines


def test_baseline_lifecycle(tmp_path: Path, rng: random.Random) -> None:
    api, legacy, cookie = tokens.api_token(rng), tokens.legacy_token(rng), tokens.cookie(rng)
    app = f'import os\n\nTOKEN = "{api}"\n'
    settings = f"notion:\n  secret: {legacy}\n  cookie: '{cookie}'\n"
    write(tmp_path, "src/app.py", app)
    write(tmp_path, "conf/settings.yaml", settings)
    prints = {
        (f["path"], f["fingerprint"])
        for f in json.loads(invoke("scan", "--format", "json", cwd=tmp_path).stdout)["findings"]
    }

    created = invoke("baseline", "create", cwd=tmp_path)
    assert (created.returncode, created.stdout) == (0, "")
    assert created.stderr == f"{BASELINE}: 3 entries\n"
    document = baseline_doc(tmp_path / BASELINE)
    assert set(document) == {"tool", "format", "entries"}
    listed = entries(tmp_path / BASELINE)
    # sorted, exactly rule, path and fingerprint: no line numbers, no timestamps, no previews
    assert [sorted(e) for e in listed] == [["fingerprint", "path", "rule"]] * 3
    assert [(e["path"], e["rule"]) for e in listed] == [
        ("conf/settings.yaml", LEGACY),
        ("conf/settings.yaml", COOKIE),
        ("src/app.py", API),
    ]
    assert listed == sorted(listed, key=lambda e: (e["path"], e["rule"], e["fingerprint"]))
    assert {(e["path"], e["fingerprint"]) for e in listed} == prints
    assert all(re.fullmatch(r"sha256:[0-9a-f]{64}", e["fingerprint"]) for e in listed)
    # nothing of a token longer than its preview: no 12-character window of any of them
    raw = (tmp_path / BASELINE).read_text(encoding="utf-8")
    for tok in (api, legacy, cookie):
        windows = [tok[i : i + 12] for i in range(len(tok) - 11)]
        assert [w for w in windows if w in raw] == []
        assert tokens.preview(tok) not in raw

    # the same findings always give the same bytes
    first = (tmp_path / BASELINE).read_bytes()
    ok(invoke("baseline", "create", cwd=tmp_path))
    assert (tmp_path / BASELINE).read_bytes() == first
    for _ in range(2):
        updated = invoke("baseline", "update", cwd=tmp_path)
        assert updated.returncode == 0 and updated.stderr == f"{BASELINE}: 3 entries (was 3)\n"
        assert (tmp_path / BASELINE).read_bytes() == first

    # acknowledged: exit 0, and the summary says what was suppressed
    result = invoke("scan", "--baseline", BASELINE, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (
        0,
        "No Notion credentials found (3 suppressed: 3 by the baseline; "
        "--no-suppress shows them).\n",
    )
    expected = {
        (*at(app, "src/app.py", api), "baseline"),
        (*at(settings, "conf/settings.yaml", legacy, LEGACY), "baseline"),
        (*at(settings, "conf/settings.yaml", cookie, COOKIE), "baseline"),
    }
    assert scan_json("--baseline", BASELINE, cwd=tmp_path) == (0, set(), expected)

    # a line inserted above the finding changes nothing, not even the baseline's bytes
    app = f'"""The app."""\n\n\n{app}'
    write(tmp_path, "src/app.py", app)
    code, found, suppressed = scan_json("--baseline", BASELINE, cwd=tmp_path)
    assert (code, found) == (0, set())
    assert (*at(app, "src/app.py", api), "baseline") in suppressed
    ok(invoke("baseline", "update", cwd=tmp_path))
    assert (tmp_path / BASELINE).read_bytes() == first

    # a new token fails, and only that one is reported
    new = tokens.api_token(rng)
    app += f'OTHER = "{new}"\n'
    write(tmp_path, "src/app.py", app)
    code, found, suppressed = scan_json("--baseline", BASELINE, cwd=tmp_path)
    assert (code, found) == (1, {at(app, "src/app.py", new)})
    assert len(suppressed) == 3
    text = invoke("scan", "--baseline", BASELINE, cwd=tmp_path)
    assert text.returncode == 1
    assert text.stdout.splitlines()[:2] == [
        f"src/app.py:{at(app, 'src/app.py', new)[2]}:10: {API} {tokens.preview(new)}",
        "1 Notion credential found in 1 file (3 suppressed: 3 by the baseline; "
        "--no-suppress shows them).",
    ]
    # --no-suppress reports every one
    code, found, suppressed = scan_json("--baseline", BASELINE, "--no-suppress", cwd=tmp_path)
    assert (code, len(found), suppressed) == (1, 4, set())


def test_baseline_from_a_subdirectory_and_relative_paths(
    tmp_path: Path, rng: random.Random
) -> None:
    tok = tokens.api_token(rng)
    write(tmp_path, "pkg/sub/a.py", f"k = '{tok}'\n")
    (tmp_path / "meta").mkdir()
    ok(invoke("baseline", "create", "--output", "meta/base.json", cwd=tmp_path))
    assert [e["path"] for e in entries(tmp_path / "meta/base.json")] == ["../pkg/sub/a.py"]
    # used from elsewhere: paths are relative to the baseline file, not to the cwd
    assert scan_json("--baseline", "../../meta/base.json", cwd=tmp_path / "pkg/sub")[0] == 0
    assert scan_json("--baseline", "meta/base.json", "pkg", cwd=tmp_path)[0] == 0


def test_baseline_update_drops_adds_and_keeps_reasons(tmp_path: Path, rng: random.Random) -> None:
    kept, removed, later = (tokens.api_token(rng) for _ in range(3))
    write(tmp_path, "a.py", f"A = '{kept}'\n")
    write(tmp_path, "b.py", f"B = '{removed}'\n")
    ok(invoke("baseline", "create", cwd=tmp_path))
    document = baseline_doc(tmp_path / BASELINE)
    listed = document["entries"]
    assert isinstance(listed, list)
    assert [e["path"] for e in listed] == ["a.py", "b.py"]
    listed[0]["reason"] = "revoked in 2023, kept in the history"
    (tmp_path / BASELINE).write_text(json.dumps(document, indent=4), encoding="utf-8")
    assert scan_json("--baseline", BASELINE, cwd=tmp_path)[0] == 0  # a reason is accepted

    write(tmp_path, "b.py", "B = os.environ['B']\n")
    write(tmp_path, "c.py", f"C = '{later}'\n")
    result = invoke("baseline", "update", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, f"{BASELINE}: 1 entries (was 2)\n")
    after = entries(tmp_path / BASELINE)
    assert after == [
        {
            "rule": API,
            "path": "a.py",
            "fingerprint": listed[0]["fingerprint"],
            "reason": "revoked in 2023, kept in the history",
        }
    ]
    assert scan_json("--baseline", BASELINE, cwd=tmp_path)[:2] == (
        1,
        {(API, "c.py", 1, tokens.preview(later))},
    )
    again = (tmp_path / BASELINE).read_bytes()
    ok(invoke("baseline", "update", cwd=tmp_path))
    assert (tmp_path / BASELINE).read_bytes() == again

    result = invoke("baseline", "update", "--add-new", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, f"{BASELINE}: 2 entries (was 1)\n")
    assert [(e["path"], e.get("reason")) for e in entries(tmp_path / BASELINE)] == [
        ("a.py", "revoked in 2023, kept in the history"),
        ("c.py", None),
    ]
    assert scan_json("--baseline", BASELINE, cwd=tmp_path)[:2] == (0, set())


def test_baseline_update_of_some_paths_keeps_entries_elsewhere(
    tmp_path: Path, rng: random.Random
) -> None:
    """`update PATH` drops entries that no longer occur *under PATH* (its help says so):
    an entry for a file elsewhere, still there, is kept."""
    write(tmp_path, "a/x.py", f"X = '{tokens.api_token(rng)}'\n")
    write(tmp_path, "b/y.py", f"Y = '{tokens.api_token(rng)}'\n")
    ok(invoke("baseline", "create", cwd=tmp_path))
    before = (tmp_path / BASELINE).read_bytes()
    result = invoke("baseline", "update", "a", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert [e["path"] for e in entries(tmp_path / BASELINE)] == ["a/x.py", "b/y.py"]
    assert (tmp_path / BASELINE).read_bytes() == before
    assert scan_json("--baseline", BASELINE, cwd=tmp_path)[0] == 0


def test_baseline_create_twice_and_empty(tmp_path: Path) -> None:
    write(tmp_path, "a.py", "nothing = 1\n")
    ok(invoke("baseline", "create", cwd=tmp_path))
    empty = (tmp_path / BASELINE).read_bytes()
    assert json.loads(empty) == {"tool": "notion-leakguard", "format": 1, "entries": []}
    ok(invoke("baseline", "create", cwd=tmp_path))
    assert (tmp_path / BASELINE).read_bytes() == empty
    assert scan_json("--baseline", BASELINE, cwd=tmp_path) == (0, set(), set())


def test_git_mv_keeps_a_baselined_token_acknowledged(in_git_dir: Path, rng: random.Random) -> None:
    tok = tokens.api_token(rng)
    text = f"KEY = '{tok}'\n"
    write(in_git_dir, "old/config.py", text)
    git("add", "-A", cwd=in_git_dir)
    git("commit", "-q", "-m", "c", cwd=in_git_dir)
    ok(invoke("baseline", "create", cwd=in_git_dir))
    document = baseline_doc(in_git_dir / BASELINE)
    listed = entries(in_git_dir / BASELINE)
    listed[0]["reason"] = "test key"
    (in_git_dir / BASELINE).write_text(json.dumps({**document, "entries": listed}))

    (in_git_dir / "new").mkdir()
    git("mv", "old/config.py", "new/settings.py", cwd=in_git_dir)
    assert scan_json("--baseline", BASELINE, cwd=in_git_dir) == (
        0,
        set(),
        {(*at(text, "new/settings.py", tok), "baseline")},
    )
    # staged, the move is acknowledged too
    assert scan_json("--staged", "--baseline", BASELINE, cwd=in_git_dir)[:2] == (0, set())
    ok(invoke("baseline", "update", cwd=in_git_dir))
    assert entries(in_git_dir / BASELINE) == [
        {
            "rule": API,
            "path": "new/settings.py",
            "fingerprint": listed[0]["fingerprint"],
            "reason": "test key",
        }
    ]
    assert scan_json("--baseline", BASELINE, cwd=in_git_dir)[:2] == (0, set())


def test_a_copy_of_a_baselined_token_is_reported(in_git_dir: Path, rng: random.Random) -> None:
    tok = tokens.api_token(rng)
    write(in_git_dir, "a.py", f"KEY = '{tok}'\n")
    ok(invoke("baseline", "create", cwd=in_git_dir))
    copy = f"# copied\nKEY = '{tok}'\n"
    write(in_git_dir, "lib/b.py", copy)
    code, found, suppressed = scan_json("--baseline", BASELINE, cwd=in_git_dir)
    assert (code, found) == (1, {at(copy, "lib/b.py", tok)})
    assert {(s[1], s[4]) for s in suppressed} == {("a.py", "baseline")}
    # staged, the copy is reported as well
    git("add", "-A", cwd=in_git_dir)
    assert scan_json("--staged", "--baseline", BASELINE, cwd=in_git_dir)[:2] == (
        1,
        {at(copy, "lib/b.py", tok)},
    )
    # and update does not add it
    ok(invoke("baseline", "update", cwd=in_git_dir))
    assert [e["path"] for e in entries(in_git_dir / BASELINE)] == ["a.py"]


def test_baseline_from_the_configuration(in_git_dir: Path, rng: random.Random) -> None:
    old, new = tokens.api_token(rng), tokens.legacy_token(rng)
    write(in_git_dir, OWN, 'baseline = "security/known.json"\n')
    (in_git_dir / "security").mkdir()
    old_text = f"# settings\nKEY = '{old}'\n"
    write(in_git_dir, "src/app.py", old_text)
    created = invoke("baseline", "create", cwd=in_git_dir)
    assert created.returncode == 0
    assert created.stderr.endswith("security/known.json: 1 entries\n"), created.stderr
    assert not (in_git_dir / BASELINE).exists()
    assert [e["path"] for e in entries(in_git_dir / "security/known.json")] == ["../src/app.py"]

    # scan, from the top and from a subdirectory
    assert scan_json(cwd=in_git_dir)[:2] == (0, set())
    assert scan_json(cwd=in_git_dir / "src") == (
        0,
        set(),
        {(*at(old_text, "app.py", old), "baseline")},
    )

    # scan --staged: the baselined token staged in a new file is acknowledged, a new one is not
    git("add", "src/app.py", cwd=in_git_dir)
    assert scan_json("--staged", cwd=in_git_dir) == (
        0,
        set(),
        {(*at(old_text, "src/app.py", old), "baseline")},
    )
    assert scan_json("--staged", cwd=in_git_dir / "src")[:2] == (0, set())
    new_text = f"KEY2 = '{new}'\n"
    write(in_git_dir, "src/other.py", new_text)
    git("add", "src/other.py", cwd=in_git_dir)
    assert scan_json("--staged", cwd=in_git_dir)[:2] == (
        1,
        {at(new_text, "src/other.py", new, LEGACY)},
    )

    # the pre-commit entry: `notion-leakguard hook --` and the file names
    hook = invoke("hook", "--", "src/app.py", cwd=in_git_dir)
    assert (hook.returncode, hook.stdout.splitlines()[0]) == (
        0,
        "No Notion credentials found (1 suppressed: 1 by the baseline; --no-suppress shows them).",
    )
    hook = invoke("hook", "--", "src/app.py", "src/other.py", cwd=in_git_dir)
    assert hook.returncode == 1
    assert hook_paths(hook.stdout) == {"src/other.py"}
    assert "(1 suppressed: 1 by the baseline;" in hook.stdout

    # --baseline on the command line overrides the configuration
    ok(invoke("baseline", "create", "--output", "empty.json", "security", cwd=in_git_dir))
    assert entries(in_git_dir / "empty.json") == []
    code, found, suppressed = scan_json("--baseline", "empty.json", "src/app.py", cwd=in_git_dir)
    assert (code, found, suppressed) == (1, {at(old_text, "src/app.py", old)}, set())
    code, found, _ = scan_json("--staged", "--baseline", "empty.json", cwd=in_git_dir)
    assert (code, found) == (
        1,
        {at(old_text, "src/app.py", old), at(new_text, "src/other.py", new, LEGACY)},
    )
    write(in_git_dir, OWN, 'baseline = "empty.json"\n')
    assert scan_json("src/app.py", cwd=in_git_dir)[0] == 1
    assert scan_json("--baseline", "security/known.json", "src/app.py", cwd=in_git_dir)[0] == 0


@pytest.mark.parametrize(
    ("content", "message"),
    (
        (None, "cannot read baseline"),
        ("not json {", "is not valid JSON"),
        ('{"entries": []}', "is not a notion-leakguard baseline"),
        ('{"format": 2, "entries": []}', "is not a notion-leakguard baseline"),
        ('{"format": 1, "entries": {}}', "is not a notion-leakguard baseline"),
        ('{"format": 1, "entries": [{"rule": "x", "path": "a"}]}', "entries[0]"),
        ("[]", "is not a notion-leakguard baseline"),
    ),
    ids=("missing", "not-json", "no-format", "format-2", "entries-dict", "no-fingerprint", "list"),
)
def test_missing_or_invalid_baseline_exits_2(
    in_git_dir: Path, rng: random.Random, content: str | None, message: str
) -> None:
    write(in_git_dir, "a.py", f"k = '{tokens.api_token(rng)}'\n")
    if content is not None:
        write(in_git_dir, "base.json", content)
    git("add", "a.py", cwd=in_git_dir)
    runs: list[tuple[str, ...]] = [
        ("scan",),
        ("scan", "--staged"),
        ("hook", "--", "a.py"),
        ("baseline", "update"),
    ]
    write(in_git_dir, OWN, 'baseline = "base.json"\n')
    for args in runs:
        result = invoke(*args, cwd=in_git_dir)
        if content is None and args[0] != "baseline":
            # configured but not written yet: a note, and the scan goes on (a.py: exit 1)
            assert result.returncode == 1, (args, result.stdout, result.stderr)
            assert "base.json does not exist yet" in result.stderr, (args, result.stderr)
        else:
            assert result.returncode == 2, (args, result.stdout, result.stderr)
            assert "base.json" in result.stderr and message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
    (in_git_dir / OWN).unlink()
    for args in (
        ("scan", "--baseline", "base.json"),
        ("baseline", "update", "--baseline", "base.json"),
    ):
        result = invoke(*args, cwd=in_git_dir)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert "base.json" in result.stderr and "Traceback" not in result.stderr


# ---------------------------------------------------------------------------------------------
# Configuration


def pyproject(table: str) -> str:
    return f'[project]\nname = "x"\n\n[tool.other]\nkey = 1\n\n[tool.notion-leakguard]\n{table}'


@pytest.mark.parametrize("where", ("own", "pyproject"))
def test_configuration_file_or_pyproject(in_git_dir: Path, rng: random.Random, where: str) -> None:
    if where == "own":
        write(in_git_dir, OWN, 'exclude = ["skip/**"]\n')
    else:
        write(in_git_dir, "pyproject.toml", pyproject('exclude = ["skip/**"]\n'))
    keep = tokens.api_token(rng)
    write(in_git_dir, "skip/a.py", f"k = '{tokens.api_token(rng)}'\n")
    write(in_git_dir, "keep.py", f"k = '{keep}'\n")
    result = invoke("scan", "--format", "json", cwd=in_git_dir)
    assert result.returncode == 1 and "note" not in result.stderr
    assert [f["path"] for f in json.loads(result.stdout)["findings"]] == ["keep.py"]


def test_own_file_wins_over_pyproject_and_says_so(in_git_dir: Path, rng: random.Random) -> None:
    write(in_git_dir, OWN, 'exclude = ["a/**"]\n')
    write(in_git_dir, "pyproject.toml", pyproject('exclude = ["b/**"]\nbaseline = "nope.json"\n'))
    write(in_git_dir, "a/x.py", f"k = '{tokens.api_token(rng)}'\n")
    write(in_git_dir, "b/y.py", f"k = '{tokens.api_token(rng)}'\n")
    result = invoke("scan", "--format", "json", cwd=in_git_dir)
    assert result.returncode == 1, result.stderr
    assert [f["path"] for f in json.loads(result.stdout)["findings"]] == ["b/y.py"]
    assert result.stderr == (
        "notion-leakguard: note: .notion-leakguard.toml is used; "
        "[tool.notion-leakguard] in pyproject.toml is ignored\n"
    )
    # a pyproject.toml without the table is no reason for a note
    write(in_git_dir, "pyproject.toml", '[project]\nname = "x"\n')
    result = invoke("scan", "--format", "json", cwd=in_git_dir)
    assert (result.returncode, result.stderr) == (1, "")


def test_configuration_is_found_from_a_subdirectory(tmp_path: Path, rng: random.Random) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git("init", "-q", "-b", "main", cwd=repo)
    # above the repository: not looked at (it would be an error)
    write(tmp_path, OWN, "not = [valid toml\n")
    write(tmp_path, "pyproject.toml", "[tool.notion-leakguard]\nbogus = 1\n")
    write(repo, OWN, 'exclude = ["sub/gen/", "*.min.js"]\n')
    kept = tokens.api_token(rng)
    write(repo, "sub/gen/a.py", f"k = '{tokens.api_token(rng)}'\n")
    write(repo, "sub/deep/x.min.js", f"k = '{tokens.api_token(rng)}'\n")
    write(repo, "sub/deep/b.py", f"k = '{kept}'\n")
    for cwd, expected in (
        (repo / "sub", {(API, "deep/b.py", 1, tokens.preview(kept))}),
        (repo / "sub" / "deep", {(API, "b.py", 1, tokens.preview(kept))}),
        (repo / "sub" / "gen", set()),
    ):
        code, found, _ = scan_json(cwd=cwd)
        assert (code, found) == (int(bool(expected)), expected), cwd
    # explicitly named from the subdirectory: still excluded
    assert scan_json("gen/a.py", "deep/x.min.js", cwd=repo / "sub")[:2] == (0, set())


def error_cases() -> list[tuple[str, str, str, list[str]]]:
    """(id, file, content, what the message must name)"""
    return [
        ("unknown-key", OWN, "excludes = []\n", [OWN, "excludes", "unknown key"]),
        ("exclude-string", OWN, 'exclude = "x"\n', [OWN, "exclude", "list of strings"]),
        ("exclude-ints", OWN, "exclude = [1]\n", [OWN, "exclude"]),
        ("baseline-int", OWN, "baseline = 3\n", [OWN, "baseline", "string"]),
        (
            "dotenv-table",
            OWN,
            "[extra-dotenv-patterns]\na = 1\n",
            [OWN, "extra-dotenv-patterns"],
        ),
        ("allow-string", OWN, 'allow = "sha256:00"\n', [OWN, "allow"]),
        (
            "allow-no-reason",
            OWN,
            '[[allow]]\nfingerprint = "sha256:00"\n',
            [OWN, "allow[0].reason"],
        ),
        (
            "allow-empty-reason",
            OWN,
            '[[allow]]\nfingerprint = "sha256:00"\nreason = " "\n',
            [OWN, "allow[0].reason"],
        ),
        (
            "allow-not-sha256",
            OWN,
            '[[allow]]\nfingerprint = "md5:00"\nreason = "r"\n',
            [OWN, "allow[0].fingerprint", "sha256:"],
        ),
        (
            "allow-unknown",
            OWN,
            '[[allow]]\nfingerprint = "sha256:00"\nreason = "r"\n'
            '[[allow]]\nfingerprint = "sha256:11"\nreason = "r"\nline = 3\n',
            [OWN, "allow[1].line", "unknown key"],
        ),
        (
            "pyproject-unknown",
            "pyproject.toml",
            pyproject("bogus = true\n"),
            ["pyproject.toml", "tool.notion-leakguard.bogus"],
        ),
        (
            "pyproject-wrong-type",
            "pyproject.toml",
            pyproject("baseline = [1]\n"),
            ["pyproject.toml", "tool.notion-leakguard.baseline"],
        ),
        (
            "pyproject-allow",
            "pyproject.toml",
            pyproject('[[tool.notion-leakguard.allow]]\nfingerprint = "x"\nreason = "r"\n'),
            ["pyproject.toml", "tool.notion-leakguard.allow[0].fingerprint"],
        ),
        (
            "invalid-toml",
            OWN,
            'exclude = ["a"]\nbaseline = "b.json"\nthis is not toml\n',
            [OWN, "invalid TOML", "line 3"],
        ),
        (
            "invalid-toml-pyproject",
            "pyproject.toml",
            '[project]\nname = "x"\n\n[tool.notion-leakguard]\nbaseline =\nexclude = []\n',
            ["pyproject.toml", "invalid TOML", "line 5"],
        ),
        (
            "exclude-negation",
            OWN,
            'exclude = ["!keep.py"]\n',
            [OWN, "exclude", "!keep.py"],
        ),
        (
            "dotenv-negation",
            OWN,
            'extra-dotenv-patterns = ["!x.properties"]\n',
            [OWN, "extra-dotenv-patterns", "!x.properties"],
        ),
    ]


@pytest.mark.parametrize(
    ("name", "where", "content", "named"), error_cases(), ids=[c[0] for c in error_cases()]
)
def test_configuration_errors_exit_2_naming_file_and_key(
    in_git_dir: Path, name: str, where: str, content: str, named: list[str]
) -> None:
    write(in_git_dir, where, content)
    write(in_git_dir, "sub/a.py", "x = 1\n")
    write(in_git_dir, "sub/.env", "X=1\n")
    git("add", "sub/a.py", cwd=in_git_dir)
    for args, cwd in (
        (("scan",), in_git_dir),
        (("scan",), in_git_dir / "sub"),
        (("scan", "--staged"), in_git_dir),
        (("hook", "--", "sub/a.py"), in_git_dir),
        (("check-env",), in_git_dir),
        (("baseline", "create", "--output", "/dev/null"), in_git_dir),
    ):
        result = invoke(*args, cwd=cwd)
        assert result.returncode == 2, (name, args, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        assert [n for n in named if n not in result.stderr] == [], (args, result.stderr)
        assert result.stdout == ""


EXCLUDES = (
    ("fixtures/**", ["fixtures/a.py", "fixtures/deep/b.py"], ["src/fixtures/c.py", "fixtures.py"]),
    ("*.min.js", ["app.min.js", "web/lib/vendor.min.js"], ["app.js", "min.js.py"]),
    ("/build", ["build/out.py", "build/deep/x.js"], ["src/build/y.py", "builder.py"]),
    ("docs/*.md", ["docs/a.md"], ["docs/sub/b.md", "other/docs/c.md", "docs/a.txt"]),
    ("node_modules/", ["node_modules/x.js", "web/node_modules/p/y.js"], ["my_node_modules/z.js"]),
)


@pytest.mark.parametrize(("pattern", "excluded", "kept"), EXCLUDES, ids=[e[0] for e in EXCLUDES])
def test_exclude_globs(
    in_git_dir: Path, rng: random.Random, pattern: str, excluded: list[str], kept: list[str]
) -> None:
    write(in_git_dir, OWN, f"exclude = [{json.dumps(pattern)}]\n")
    for path in excluded + kept:
        write(in_git_dir, path, f"x = '{tokens.api_token(rng)}'\n")
    everything = excluded + kept
    # walked
    code, found, _ = scan_json(cwd=in_git_dir)
    assert (code, {f[1] for f in found}) == (1, set(kept))
    # named on the command line
    code, found, _ = scan_json(*everything, cwd=in_git_dir)
    assert (code, {f[1] for f in found}) == (1, set(kept))
    # named by pre-commit
    hook = invoke("hook", "--", *everything, cwd=in_git_dir)
    assert (hook.returncode, hook_paths(hook.stdout)) == (1, set(kept)), hook.stderr
    # staged
    git("add", "-A", cwd=in_git_dir)
    code, found, _ = scan_json("--staged", cwd=in_git_dir)
    assert (code, {f[1] for f in found}) == (1, set(kept))
    # staged, run from a subdirectory
    (in_git_dir / "elsewhere").mkdir()
    code, found, _ = scan_json("--staged", cwd=in_git_dir / "elsewhere")
    assert (code, {f[1] for f in found}) == (1, set(kept))
    # everything excluded: clean
    write(in_git_dir, OWN, f"exclude = [{json.dumps(pattern)}, {json.dumps(kept[0])}]\n")
    hook = invoke("hook", "--", *excluded, cwd=in_git_dir)
    assert hook.returncode == 0, hook.stdout


def test_allow_by_fingerprint_everywhere(in_git_dir: Path, rng: random.Random) -> None:
    tok, other = tokens.api_token(rng), tokens.api_token(rng)
    a_text, b_text = f"K = '{tok}'\n", f"# again\nK = '{tok}'\n"
    write(in_git_dir, "a.py", a_text)
    write(in_git_dir, "b/b.py", b_text)
    fingerprint = fingerprints(in_git_dir, "a.py")["a.py"]
    write(
        in_git_dir,
        OWN,
        f'[[allow]]\nfingerprint = "{fingerprint}"\nreason = "revoked key in the docs"\n',
    )
    expected = {(*at(a_text, "a.py", tok), "config"), (*at(b_text, "b/b.py", tok), "config")}
    assert scan_json(cwd=in_git_dir) == (0, set(), expected)
    assert scan_json(cwd=in_git_dir / "b") == (0, set(), {(*at(b_text, "b.py", tok), "config")})
    hook = invoke("hook", "--", "a.py", "b/b.py", cwd=in_git_dir)
    assert (hook.returncode, hook.stdout) == (
        0,
        "No Notion credentials found (2 suppressed: 2 by the configuration; "
        "--no-suppress shows them).\n",
    )
    git("add", "a.py", "b/b.py", cwd=in_git_dir)
    assert scan_json("--staged", cwd=in_git_dir) == (0, set(), expected)
    # a baseline does not record what the configuration allows
    ok(invoke("baseline", "create", cwd=in_git_dir))
    assert entries(in_git_dir / BASELINE) == []
    # another token is still reported
    c_text = f"K = '{other}'\n"
    write(in_git_dir, "c.py", c_text)
    code, found, suppressed = scan_json(cwd=in_git_dir)
    assert (code, found, suppressed) == (1, {at(c_text, "c.py", other)}, expected)
    assert scan_json("--no-suppress", cwd=in_git_dir)[:2] == (
        1,
        {at(a_text, "a.py", tok), at(b_text, "b/b.py", tok), at(c_text, "c.py", other)},
    )


def test_extra_dotenv_patterns(in_git_dir: Path) -> None:
    write(in_git_dir, "config/secrets.properties", "notion.token=changeme\n")
    write(in_git_dir, "config/app.properties", "a=1\n")
    assert invoke("check-env", cwd=in_git_dir).returncode == 0
    write(in_git_dir, OWN, 'extra-dotenv-patterns = ["secrets.properties"]\n')
    result = invoke("check-env", "--format", "json", cwd=in_git_dir)
    assert result.returncode == 1, result.stderr
    found = {(f["rule"], f["path"]) for f in json.loads(result.stdout)["findings"]}
    assert found == {(NOT_IGNORED, "config/secrets.properties")}
    assert scan_json(cwd=in_git_dir)[:2] == (1, {(NOT_IGNORED, "config/secrets.properties", 0, "")})
    assert scan_json("config", cwd=in_git_dir)[:2] == (
        1,
        {(NOT_IGNORED, "config/secrets.properties", 0, "")},
    )
    # from the subdirectory the path is relative to it
    result = invoke("check-env", "--format", "json", cwd=in_git_dir / "config")
    assert [(f["rule"], f["path"]) for f in json.loads(result.stdout)["findings"]] == [
        (NOT_IGNORED, "secrets.properties")
    ]
    fixed = invoke("check-env", "--fix", cwd=in_git_dir)
    assert fixed.returncode == 1, fixed.stderr
    assert (in_git_dir / ".gitignore").read_text().splitlines()[-1] == "secrets.properties"
    assert git("check-ignore", "config/secrets.properties", cwd=in_git_dir).strip()
    assert invoke("check-env", cwd=in_git_dir).returncode == 0
    assert invoke("check-env", "--fix", cwd=in_git_dir).returncode == 0
    assert scan_json(cwd=in_git_dir)[:2] == (0, set())


# ---------------------------------------------------------------------------------------------
# Inline markers

# language: (file name, a line holding {tok}, a comment line holding {m}, a filler line,
#            the token line with a trailing comment holding {m})
LANGUAGES = {
    "python": ("app.py", 'TOKEN = "{tok}"', "# {m}", "x = 1", 'TOKEN = "{tok}"  # {m}'),
    "yaml": ("conf.yaml", "  token: {tok}", "  # {m}", "  other: 1", "  token: {tok}  # {m}"),
    "js": (
        "app.js",
        'const token = "{tok}";',
        "// {m}",
        "let x = 1;",
        'const token = "{tok}"; /* {m} */',
    ),
    "html": (
        "page.html",
        '<meta name="k" content="{tok}">',
        "<!-- {m} -->",
        "<p>hi</p>",
        '<meta name="k" content="{tok}"> <!-- {m} -->',
    ),
    "dotenv": ("prod.env", "NOTION_TOKEN={tok}", "# {m}", "OTHER=1", "NOTION_TOKEN={tok} # {m}"),
}
ALLOW = "notion-leakguard: allow"
NEXT = "notion-leakguard: allow-next-line"
PRAGMA = "pragma: allowlist secret"
PRAGMA_NEXT = "pragma: allowlist nextline secret"
# case: (lines, suppressed?). "T" the token line, "T:m" the token line with marker m trailing,
# "C:m" a comment line holding m, "F" a filler line.
MARKER_CASES = {
    "allow-on-the-line": (["F", f"T:{ALLOW}", "F"], True),
    "allow-on-the-first-line": ([f"T:{ALLOW}"], True),
    "allow-next-line-above": (["F", f"C:{NEXT}", "T", "F"], True),
    "pragma-on-the-line": (["F", f"T:{PRAGMA}"], True),
    "pragma-nextline-above": ([f"C:{PRAGMA_NEXT}", "T"], True),
    "allow-next-line-two-above": ([f"C:{NEXT}", "F", "T"], False),
    "allow-next-line-on-the-line": (["F", f"T:{NEXT}"], False),
    "allow-next-line-below": (["T", f"C:{NEXT}"], False),
    "allow-below": (["F", "T", f"C:{ALLOW}"], False),
    "allow-above": ([f"C:{ALLOW}", "T"], False),
    "pragma-above": ([f"C:{PRAGMA}", "T"], False),
    "pragma-nextline-on-the-line": ([f"T:{PRAGMA_NEXT}"], False),
    "pragma-nextline-two-above": ([f"C:{PRAGMA_NEXT}", "F", "T"], False),
    "no-marker": (["F", "T"], False),
}


def render_case(language: str, lines: list[str], tok: str) -> tuple[str, int]:
    """The file's text and the token's line."""
    _name, token_line, comment, filler, trailing = LANGUAGES[language]
    out, where = [], 0
    for index, spec in enumerate(lines, 1):
        kind, _, marker = spec.partition(":")
        if kind == "T":
            where = index
            out.append((trailing if marker else token_line).format(tok=tok, m=marker))
        elif kind == "C":
            out.append(comment.format(m=marker))
        else:
            out.append(filler)
    return "\n".join(out) + "\n", where


@pytest.mark.parametrize("language", LANGUAGES)
def test_inline_markers(tmp_path: Path, rng: random.Random, language: str) -> None:
    name = LANGUAGES[language][0]
    reported: Found = set()
    suppressed: Suppressed = set()
    for case, (lines, allowed) in MARKER_CASES.items():
        tok = tokens.api_token(rng) if len(case) % 2 else tokens.legacy_token(rng)
        rule = API if tok.startswith("ntn_") else LEGACY
        text, line = render_case(language, lines, tok)
        path = f"{case}/{name}"
        write(tmp_path, path, text)
        finding = (rule, path, line, tokens.preview(tok))
        if allowed:
            suppressed.add((*finding, "inline"))
        else:
            reported.add(finding)
    code, found, quiet = scan_json(cwd=tmp_path)
    assert code == 1
    assert {f[1].split("/")[0] for f in found} == {
        c for c, (_, allowed) in MARKER_CASES.items() if not allowed
    }
    assert (found, quiet) == (reported, suppressed)
    # --no-suppress: every one
    code, found, quiet = scan_json("--no-suppress", cwd=tmp_path)
    assert (code, found, quiet) == (1, reported | {s[:4] for s in suppressed}, set())


@pytest.mark.parametrize("language", LANGUAGES)
def test_inline_markers_staged(in_git_dir: Path, rng: random.Random, language: str) -> None:
    name, token_line, comment, filler, _ = LANGUAGES[language]
    if language == "dotenv":
        name = "prod.env.example"  # a template: a staged real dotenv file is a finding itself
    context, added, far, appended = (tokens.api_token(rng) for _ in range(4))
    # an allow-next-line marker already committed, right above the line a commit adds
    committed = "\n".join([filler, comment.format(m=NEXT), filler, filler, filler]) + "\n"
    write(in_git_dir, f"context/{name}", committed)
    # a marker two lines above the added line: no effect
    write(in_git_dir, f"far/{name}", committed)
    # a marker committed as the last line, the token appended below it
    end = "\n".join([filler, comment.format(m=NEXT)]) + "\n"
    write(in_git_dir, f"end/{name}", end)
    git("add", "-A", cwd=in_git_dir)
    git("commit", "-q", "--no-verify", "-m", "c", cwd=in_git_dir)
    lines = committed.splitlines()
    context_text = "\n".join([*lines[:2], token_line.format(tok=context), *lines[2:]]) + "\n"
    write(in_git_dir, f"context/{name}", context_text)
    far_text = "\n".join([*lines[:3], token_line.format(tok=far), *lines[3:]]) + "\n"
    write(in_git_dir, f"far/{name}", far_text)
    end_text = end + token_line.format(tok=appended) + "\n"
    write(in_git_dir, f"end/{name}", end_text)
    # the marker added together with the token
    added_text = "\n".join([filler, comment.format(m=PRAGMA_NEXT), token_line.format(tok=added)])
    write(in_git_dir, f"added/{name}", added_text + "\n")
    git("add", "-A", cwd=in_git_dir)
    assert scan_json("--staged", cwd=in_git_dir) == (
        1,
        {at(far_text, f"far/{name}", far)},
        {
            (*at(context_text, f"context/{name}", context), "inline"),
            (*at(end_text, f"end/{name}", appended), "inline"),
            (*at(added_text, f"added/{name}", added), "inline"),
        },
    )
    assert scan_json("--staged", "--no-suppress", cwd=in_git_dir)[:2] == (
        1,
        {
            at(far_text, f"far/{name}", far),
            at(context_text, f"context/{name}", context),
            at(end_text, f"end/{name}", appended),
            at(added_text, f"added/{name}", added),
        },
    )


# ---------------------------------------------------------------------------------------------
# Suppression is never silent


def three_ways(root: Path, rng: random.Random) -> dict[str, tuple[str, str, int, str]]:
    """One token acknowledged by each of the baseline, the configuration and a marker."""
    by_baseline, by_config, by_marker = (tokens.api_token(rng) for _ in range(3))
    texts = {
        "a_baseline.py": f"K = '{by_baseline}'\n",
        "b_config.py": f"K = '{by_config}'\n",
        "c_inline.py": f"K = '{by_marker}'  # notion-leakguard: allow\n",
    }
    for path, text in texts.items():
        write(root, path, text)
    fingerprint = fingerprints(root, "b_config.py")["b_config.py"]
    write(root, OWN, f'[[allow]]\nfingerprint = "{fingerprint}"\nreason = "test"\n')
    ok(invoke("baseline", "create", cwd=root))
    assert [e["path"] for e in entries(root / BASELINE)] == ["a_baseline.py"]
    return {
        "baseline": at(texts["a_baseline.py"], "a_baseline.py", by_baseline),
        "config": at(texts["b_config.py"], "b_config.py", by_config),
        "inline": at(texts["c_inline.py"], "c_inline.py", by_marker),
    }


def test_suppression_is_never_silent(tmp_path: Path, rng: random.Random) -> None:
    acknowledged = three_ways(tmp_path, rng)
    text = invoke("scan", "--baseline", BASELINE, cwd=tmp_path)
    assert (text.returncode, text.stdout) == (
        0,
        "No Notion credentials found (3 suppressed: 1 by the baseline, 1 by the "
        "configuration, 1 by inline markers; --no-suppress shows them).\n",
    )
    assert scan_json("--baseline", BASELINE, cwd=tmp_path) == (
        0,
        set(),
        {(*finding, reason) for reason, finding in acknowledged.items()},
    )
    document = json.loads(
        invoke("scan", "--baseline", BASELINE, "--format", "json", cwd=tmp_path).stdout
    )
    assert [sorted(s) for s in document["suppressed"]] == [
        [
            "column",
            "encoding",
            "fingerprint",
            "line",
            "message",
            "path",
            "preview",
            "reason",
            "rule",
        ]
    ] * 3

    sarif = invoke("scan", "--baseline", BASELINE, "--format", "sarif", cwd=tmp_path)
    assert sarif.returncode == 0
    results = json.loads(sarif.stdout)["runs"][0]["results"]
    assert sorted(
        (
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            [s["justification"] for s in r["suppressions"]],
        )
        for r in results
    ) == [
        ("a_baseline.py", ["baseline"]),
        ("b_config.py", ["config"]),
        ("c_inline.py", ["inline"]),
    ]

    for fmt in ("text", "json", "sarif"):
        lifted = invoke(
            "scan", "--baseline", BASELINE, "--no-suppress", "--format", fmt, cwd=tmp_path
        )
        assert lifted.returncode == 1, fmt
    assert scan_json("--baseline", BASELINE, "--no-suppress", cwd=tmp_path) == (
        1,
        set(acknowledged.values()),
        set(),
    )
    lifted = invoke("scan", "--baseline", BASELINE, "--no-suppress", cwd=tmp_path)
    assert "3 Notion credentials found in 3 files.\n" in lifted.stdout
    assert "suppressed" not in lifted.stdout
    sarif = invoke(
        "scan", "--baseline", BASELINE, "--no-suppress", "--format", "sarif", cwd=tmp_path
    )
    assert [r.get("suppressions") for r in json.loads(sarif.stdout)["runs"][0]["results"]] == [
        None
    ] * 3


def test_summary_counts_with_a_new_finding(tmp_path: Path, rng: random.Random) -> None:
    acknowledged = three_ways(tmp_path, rng)
    new = tokens.legacy_token(rng)
    write(tmp_path, "d_new.py", f"K = '{new}'\n")
    result = invoke("scan", "--baseline", BASELINE, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.splitlines()[:2] == [
        f"d_new.py:1:6: {LEGACY} {tokens.preview(new)}",
        "1 Notion credential found in 1 file (3 suppressed: 1 by the baseline, 1 by the "
        "configuration, 1 by inline markers; --no-suppress shows them).",
    ]
    # without the baseline (moved from the default place, where every command would find
    # it), its finding is reported and the others stay counted
    (tmp_path / BASELINE).rename(tmp_path / "elsewhere.json")
    result = invoke("scan", cwd=tmp_path)
    assert result.stdout.splitlines()[2] == (
        "2 Notion credentials found in 2 files (2 suppressed: 1 by the configuration, "
        "1 by inline markers; --no-suppress shows them)."
    )
    assert acknowledged["baseline"][1] in result.stdout
    # the hook and scan --staged count them too
    hook = invoke("hook", "--", "a_baseline.py", "b_config.py", "c_inline.py", cwd=tmp_path)
    assert hook.returncode == 1  # no baseline: a_baseline.py reported
    assert hook_paths(hook.stdout) == {"a_baseline.py"}
    assert "(2 suppressed: 1 by the configuration, 1 by inline markers;" in hook.stdout


def test_check_env_uses_the_configured_baseline(in_git_dir: Path) -> None:
    write(in_git_dir, ".env", "NOTION_TOKEN=\n")
    assert invoke("check-env", cwd=in_git_dir).returncode == 1
    write(in_git_dir, OWN, 'baseline = "known.json"\n')
    ok(invoke("baseline", "create", cwd=in_git_dir))
    assert [(e["rule"], e["path"]) for e in entries(in_git_dir / "known.json")] == [
        (NOT_IGNORED, ".env")
    ]
    result = invoke("check-env", cwd=in_git_dir)
    assert (result.returncode, result.stdout) == (
        0,
        "No dotenv file is tracked by git or left outside .gitignore (1 suppressed: 1 by the "
        "baseline; --no-suppress shows them).\n",
    )
    assert scan_json(cwd=in_git_dir)[:2] == (0, set())
