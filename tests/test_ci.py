"""`notion-leakguard ci` end to end: recorded GitHub and GitLab events, pointed at a real
clone of a real history, scan exactly the commits the event brings."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import NamedTuple

import pytest

from tests import tokens
from tests.conftest import FIXTURES, git, run_main

EVENTS = FIXTURES / "ci"
# Which commit of the history below each placeholder id in the recorded events stands for.
PLACEHOLDERS = {"3" * 40: "M1", "1" * 40: "M2", "2" * 40: "M3", "8" * 40: "F1", "4" * 40: "F2"}
COMMITS = ("M1", "M2", "M3", "F1", "F2")


class Clone(NamedTuple):
    path: Path
    shas: dict[str, str]  # commit name -> sha
    token: str


def _history(tmp_path: Path, rng: random.Random, with_key: str) -> Clone:
    """main: M1 - M2 - M3, feature: M2 - F1 - F2 (pushed to a bare origin, cloned in full);
    the commit named `with_key` adds a file holding a key, the next one removes it."""
    token = tokens.api_token(rng)
    work = tmp_path / "work"
    work.mkdir()
    git("init", "-q", "-b", "main", cwd=work)
    shas = {}

    def commit(name: str) -> None:
        (work / f"{name}.txt").write_text(f"{name}\n")
        if name == with_key:
            (work / "settings.py").write_text(f'NOTION_TOKEN = "{token}"\n')
        elif (work / "settings.py").exists():
            (work / "settings.py").unlink()
        git("add", "-A", cwd=work)
        git("commit", "-q", "-m", name, cwd=work)
        shas[name] = git("rev-parse", "HEAD", cwd=work).strip()

    for name in ("M1", "M2"):
        commit(name)
    git("checkout", "-q", "-b", "feature", cwd=work)
    for name in ("F1", "F2"):
        commit(name)
    git("checkout", "-q", "main", cwd=work)
    commit("M3")
    origin = tmp_path / "origin.git"
    git("clone", "-q", "--bare", str(work), str(origin), cwd=tmp_path)
    clone = tmp_path / "clone"
    git("clone", "-q", "--no-local", str(origin), str(clone), cwd=tmp_path)
    git("checkout", "-q", "feature", cwd=clone)
    git("checkout", "-q", "main", cwd=clone)
    return Clone(clone, shas, token)


def _recorded(name: str, clone: Clone, tmp_path: Path) -> str:
    text = (EVENTS / name).read_text()
    for placeholder, commit in PLACEHOLDERS.items():
        text = text.replace(placeholder, clone.shas[commit])
        text = text.replace(placeholder[:12], clone.shas[commit][:12])
    out = tmp_path / name
    out.write_text(text)
    return str(out)


def _github(monkeypatch: pytest.MonkeyPatch, event: str, payload: str, summary: Path) -> None:
    for name, value in {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": event,
        "GITHUB_EVENT_PATH": payload,
        "GITHUB_STEP_SUMMARY": str(summary),
    }.items():
        monkeypatch.setenv(name, value)


def _gitlab(monkeypatch: pytest.MonkeyPatch, variables: str) -> None:
    for name, value in json.loads(Path(variables).read_text()).items():
        monkeypatch.setenv(name, value)


# (recorded event, GitHub event name or "" for GitLab, the commits it brings)
EVENT_CASES = (
    ("github-push.json", "push", {"M3"}),
    ("github-push-new-branch.json", "push", {"F1", "F2"}),
    ("github-pull-request-opened.json", "pull_request", {"F1", "F2"}),
    ("github-push-deleted.json", "push", set()),
    ("gitlab-push.json", "", {"M3"}),
    ("gitlab-new-branch.json", "", {"F1", "F2"}),
    ("gitlab-merge-request.json", "", {"F1", "F2"}),
)


@pytest.mark.parametrize(("recorded", "event", "brings"), EVENT_CASES)
@pytest.mark.parametrize("with_key", COMMITS)
def test_ci_scans_exactly_the_commits_the_event_brings(
    tmp_path: Path,
    rng: random.Random,
    monkeypatch: pytest.MonkeyPatch,
    recorded: str,
    event: str,
    brings: set[str],
    with_key: str,
) -> None:
    clone = _history(tmp_path, rng, with_key)
    payload = _recorded(recorded, clone, tmp_path)
    summary = tmp_path / "summary.md"
    if event:
        _github(monkeypatch, event, payload, summary)
    else:
        _gitlab(monkeypatch, payload)
    code, out, err = run_main(["ci", "-f", "json"], cwd=clone.path)
    findings = json.loads(out)["findings"]
    if with_key in brings:
        assert code == 1, err
        [finding] = findings
        assert finding["commit"]["sha"] == clone.shas[with_key]
        assert (finding["path"], finding["line"]) == ("settings.py", 1)
    else:
        assert (code, findings) == (0, []), err
    assert clone.token not in out + err
    if event:
        annotations = [line for line in err.splitlines() if line.startswith("::error ")]
        assert len(annotations) == (with_key in brings)
        if with_key in brings:
            assert annotations[0].startswith("::error file=settings.py,line=1,col=")
            assert tokens.preview(clone.token) in annotations[0]
            assert tokens.preview(clone.token) in summary.read_text()
        assert clone.token not in summary.read_text()


def test_range_and_text_report(
    tmp_path: Path,
    rng: random.Random,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clone = _history(tmp_path, rng, "F1")
    for name in ("GITHUB_ACTIONS", "GITLAB_CI"):
        monkeypatch.delenv(name, raising=False)
    code, out, err = run_main(["ci", "--range", "main..feature"], cwd=clone.path)
    assert code == 1
    assert out.startswith(f"settings.py:1:17: notion-api-token {tokens.preview(clone.token)}")
    assert "Refused: the commits being pushed carry a Notion key" in out
    assert "notion-leakguard: commits in main..feature" in err
    code, out, _ = run_main(["ci", "--range", "feature~1..feature"], cwd=clone.path)
    assert code == 0  # F2 removes the key: nothing new
    code, _, err = run_main(["ci"], cwd=clone.path)
    assert code == 2 and "pass --range" in err


def test_a_shallow_checkout_fails_with_the_fix_instead_of_passing(
    tmp_path: Path,
    rng: random.Random,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clone = _history(tmp_path, rng, "M3")
    shallow = tmp_path / "shallow"
    url = f"file://{tmp_path / 'origin.git'}"
    git("clone", "-q", "--depth", "1", url, str(shallow), cwd=tmp_path)
    payload = _recorded("github-push.json", clone, tmp_path)
    _github(monkeypatch, "push", payload, tmp_path / "summary.md")
    code, out, err = run_main(["ci"], cwd=shallow)
    assert (code, out) == (2, "")
    assert "fetch-depth: 0" in err
    # The same event with history that reaches the boundary of the range is scanned.
    git("fetch", "-q", "--unshallow", cwd=shallow)
    code, out, _ = run_main(["ci", "-f", "json"], cwd=shallow)
    assert code == 1 and json.loads(out)["findings"][0]["commit"]["sha"] == clone.shas["M3"]
    shutil.rmtree(shallow)
