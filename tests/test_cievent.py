"""`cievent`: which commits a CI job scans, from recorded GitHub and GitLab events replayed
against a real repository with that history; and the GitHub annotation and job summary."""

from __future__ import annotations

import json
import os
import random
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notion_leakguard.cievent import Event, detect
from notion_leakguard.errors import LeakguardError
from notion_leakguard.github import SummaryRow, annotation, step_summary
from tests import tokens
from tests.conftest import FIXTURES, isolated_git_env

CI = FIXTURES / "ci"
ZERO = "0" * 40
NEW = "commits no other branch or tag has"
# fixtures/ci/README.md: the commit each placeholder id stands for.
PLACEHOLDERS = {
    "3" * 40: "M1",
    "1" * 40: "M2",
    "2" * 40: "M3",
    "8" * 40: "F1",
    "4" * 40: "F2",
    "5" * 40: "X",
    "6" * 40: "G1",
    "7" * 40: "Q",
}


# --- the history the fixtures describe --------------------------------------------------------


class History(NamedTuple):
    shas: dict[str, str]  # commit name (M1, F2, ...) -> id
    clone: Path  # a fresh full clone, as a CI job checks out with fetch-depth: 0


def _git(*args: str, cwd: Path, env: Mapping[str, str]) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    """main M1-M2-M3; feature F1-F2 forked at M2; rewritten force-pushed from X (on M2) to G1
    (on M3); Q merges feature into main on the merge queue's branch."""
    root = tmp_path_factory.mktemp("ci-history")
    env = {"PATH": os.environ["PATH"], **isolated_git_env(root)}
    origin, work, clone = root / "origin.git", root / "work", root / "clone"
    _git("init", "-q", "--bare", "-b", "main", str(origin), cwd=root, env=env)
    _git("init", "-q", "-b", "main", str(work), cwd=root, env=env)
    _git("remote", "add", "origin", str(origin), cwd=work, env=env)
    shas: dict[str, str] = {}

    def commit(name: str) -> None:
        _git("commit", "-q", "--allow-empty", "-m", name, cwd=work, env=env)
        shas[name] = _git("rev-parse", "HEAD", cwd=work, env=env)

    def push(*refspecs: str) -> None:
        _git("push", "-q", "--force", "origin", *refspecs, cwd=work, env=env)

    commit("M1")
    commit("M2")
    _git("checkout", "-q", "-b", "feature", cwd=work, env=env)
    commit("F1")
    commit("F2")
    _git("checkout", "-q", "-b", "rewritten", shas["M2"], cwd=work, env=env)
    commit("X")
    push("rewritten")
    _git("checkout", "-q", "main", cwd=work, env=env)
    commit("M3")
    _git("checkout", "-q", "-B", "rewritten", shas["M3"], cwd=work, env=env)
    commit("G1")
    _git("checkout", "-q", "-b", "queue", shas["M3"], cwd=work, env=env)
    _git("merge", "-q", "--no-ff", "-m", "Q", "feature", cwd=work, env=env)
    shas["Q"] = _git("rev-parse", "HEAD", cwd=work, env=env)
    # Q sits where a plain clone does not look, as GitHub's merge refs do: the "new" scope asks
    # which branches and tags hold a commit, and the queue's branch came after those pushes.
    push("main", "feature", "rewritten", "queue:refs/pull/7/merge")
    _git("clone", "-q", "--no-local", str(origin), str(clone), cwd=root, env=env)
    _git("fetch", "-q", "origin", "+refs/pull/*:refs/pull/*", cwd=clone, env=env)
    return History(shas, clone)


def _recorded(name: str, shas: Mapping[str, str]) -> str:
    """A fixture's text with each placeholder id (and its short form) made a real commit."""
    text = (CI / name).read_text(encoding="utf-8")
    for placeholder, commit in PLACEHOLDERS.items():
        text = text.replace(placeholder, shas[commit])
        text = text.replace(placeholder[:12], shas[commit][:12])
    return text


def _selected(event: Event, clone: Path) -> set[str]:
    """The naive twin of what the `ci` command scans for `event` (Event.scope's contract)."""
    if event.scope == "nothing":
        return set()
    if event.scope == "range":
        assert event.base is not None
        revs = [event.head, f"^{event.base}"]
    elif event.scope == "all":
        revs = [event.head]
    else:
        assert event.ref is not None
        own = event.ref.replace("refs/heads/", "refs/remotes/origin/", 1)
        listed = subprocess.run(
            ["git", "for-each-ref", "--format=%(refname)", "refs/remotes", "refs/tags"],
            cwd=clone,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        revs = [event.head, "--not", *(ref for ref in listed if ref != own)]
    out = subprocess.run(
        ["git", "rev-list", *revs], cwd=clone, check=True, capture_output=True, text=True
    ).stdout
    return set(out.split())


# --- detect: recorded events ------------------------------------------------------------------


class Case(NamedTuple):
    fixture: str
    event_name: str  # GITHUB_EVENT_NAME; "" for a GitLab variable set
    expected: Event  # head and base name commits; {M3} in text is its short id
    scanned: frozenset[str]  # the commits the event's scope selects, by name
    github_sha: str = ""  # GITHUB_SHA, by name
    github_ref: str = ""


def _case(
    fixture: str,
    event_name: str,
    expected: tuple[str, str, str, str | None, str | None, str],
    scanned: str,
    github: tuple[str, str] = ("", ""),
) -> Any:
    return pytest.param(
        Case(fixture, event_name, Event(*expected), frozenset(scanned.split()), *github),
        id=fixture.removesuffix(".json") + (f"-{event_name}" if event_name else ""),
    )


PR = "GitHub pull_request #7 (acme:feature into main): {M3}..{F2}"
CASES = [
    _case(
        "github-push.json",
        "push",
        (
            "github",
            "push",
            "M3",
            "M2",
            "refs/heads/main",
            "GitHub push to refs/heads/main: {M2}..{M3}",
        ),
        "M3",
        ("M3", "refs/heads/main"),
    ),
    _case(
        "github-push-new-branch.json",
        "push",
        (
            "github",
            "new-branch",
            "F2",
            None,
            "refs/heads/feature",
            f"GitHub push creating refs/heads/feature at {{F2}}: {NEW}",
        ),
        "F1 F2",
        ("F2", "refs/heads/feature"),
    ),
    _case(
        "github-push-forced.json",
        "push",
        (
            "github",
            "forced-push",
            "G1",
            None,
            "refs/heads/rewritten",
            f"GitHub force-push to refs/heads/rewritten ({{X}} -> {{G1}}): {NEW}",
        ),
        "G1",
        ("G1", "refs/heads/rewritten"),
    ),
    _case(
        "github-push-deleted.json",
        "push",
        (
            "github",
            "deleted",
            "F1",
            "F1",
            "refs/heads/gone",
            "GitHub push deleting refs/heads/gone",
        ),
        "",
        (ZERO, "refs/heads/gone"),
    ),
    _case(
        "github-pull-request-opened.json",
        "pull_request",
        ("github", "pull_request", "F2", "M3", "refs/heads/feature", PR),
        "F1 F2",
        ("Q", "refs/pull/7/merge"),
    ),
    _case(
        "github-pull-request-synchronize.json",
        "pull_request",
        ("github", "pull_request", "F2", "M3", "refs/heads/feature", PR),
        "F1 F2",
        ("Q", "refs/pull/7/merge"),
    ),
    _case(
        "github-pull-request-opened.json",
        "pull_request_target",
        (
            "github",
            "pull_request",
            "F2",
            "M3",
            "refs/heads/feature",
            PR.replace("pull_request", "pull_request_target"),
        ),
        "F1 F2",
        ("M3", "refs/heads/main"),
    ),
    _case(
        "github-pull-request-fork.json",
        "pull_request",
        (
            "github",
            "pull_request",
            "F2",
            "M3",
            None,
            "GitHub pull_request #12 (contributor:fix-typo into main): {M3}..{F2}",
        ),
        "F1 F2",
        ("Q", "refs/pull/12/merge"),
    ),
    _case(
        "github-merge-group.json",
        "merge_group",
        (
            "github",
            "merge_group",
            "Q",
            "M3",
            "refs/heads/gh-readonly-queue/main/pr-7-{M3_sha}",
            "GitHub merge queue into refs/heads/main: {M3}..{Q}",
        ),
        "Q F1 F2",
        ("Q", "refs/heads/gh-readonly-queue/main/pr-7-{M3_sha}"),
    ),
    _case(
        "github-workflow-dispatch.json",
        "workflow_dispatch",
        (
            "github",
            "full-history",
            "M3",
            None,
            "refs/heads/main",
            "GitHub workflow_dispatch: all of refs/heads/main at {M3}",
        ),
        "M1 M2 M3",
        ("M3", "refs/heads/main"),
    ),
    _case(
        "github-schedule.json",
        "schedule",
        (
            "github",
            "full-history",
            "M3",
            None,
            "refs/heads/main",
            "GitHub schedule: all of refs/heads/main at {M3}",
        ),
        "M1 M2 M3",
        ("M3", "refs/heads/main"),
    ),
    _case(
        "gitlab-push.json",
        "",
        (
            "gitlab",
            "push",
            "M3",
            "M2",
            "refs/heads/main",
            "GitLab push to refs/heads/main: {M2}..{M3}",
        ),
        "M3",
    ),
    _case(
        "gitlab-new-branch.json",
        "",
        (
            "gitlab",
            "new-branch",
            "F2",
            None,
            "refs/heads/feature",
            f"GitLab push creating refs/heads/feature at {{F2}}: {NEW}",
        ),
        "F1 F2",
    ),
    _case(
        "gitlab-merge-request.json",
        "",
        (
            "gitlab",
            "merge_request",
            "F2",
            "M2",
            "refs/heads/feature",
            "GitLab merge request !7 (feature into main): {M2}..{F2}",
        ),
        "F1 F2",
    ),
    _case(
        "gitlab-merged-result.json",
        "",
        (
            "gitlab",
            "merge_request",
            "F2",
            "M2",
            "refs/heads/feature",
            "GitLab merge request !7 (feature into main): {M2}..{F2}",
        ),
        "F1 F2",
    ),
    _case(
        "gitlab-schedule.json",
        "",
        (
            "gitlab",
            "full-history",
            "M3",
            None,
            "refs/heads/main",
            "GitLab schedule: all of refs/heads/main at {M3}",
        ),
        "M1 M2 M3",
    ),
]


def _names(shas: Mapping[str, str]) -> dict[str, str]:
    """Format keys: {M3} is the 12-character id, {M3_sha} the full one."""
    return {
        **{name: sha[:12] for name, sha in shas.items()},
        **{f"{name}_sha": sha for name, sha in shas.items()},
    }


def _environ(case: Case, history: History, tmp_path: Path) -> dict[str, str]:
    text = _recorded(case.fixture, history.shas)
    if not case.event_name:
        variables: dict[str, str] = json.loads(text)
        return variables
    event_file = tmp_path / "event.json"
    event_file.write_text(text, encoding="utf-8")
    github_sha = history.shas.get(case.github_sha, case.github_sha)
    return {
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": case.event_name,
        "GITHUB_EVENT_PATH": str(event_file),
        "GITHUB_SHA": github_sha,
        "GITHUB_REF": case.github_ref.format(**_names(history.shas)),
        "GITHUB_WORKSPACE": str(history.clone),
    }


@pytest.mark.parametrize("case", CASES)
def test_detect_recorded_events(case: Case, history: History, tmp_path: Path) -> None:
    names = _names(history.shas)
    expected = case.expected._replace(
        head=history.shas[case.expected.head],
        base=history.shas[case.expected.base] if case.expected.base else None,
        ref=case.expected.ref.format(**names) if case.expected.ref else None,
        description=case.expected.description.format(**names),
    )
    event = detect(_environ(case, history, tmp_path))
    assert event == expected
    assert _selected(event, history.clone) == {history.shas[name] for name in case.scanned}


def test_a_force_pushed_old_tip_is_not_in_a_fresh_clone(history: History) -> None:
    """Why a force-push is scanned against what the remote has, not from `before`."""
    missing = subprocess.run(
        ["git", "cat-file", "-e", f"{history.shas['X']}^{{commit}}"], cwd=history.clone
    )
    assert missing.returncode != 0


def test_a_range_wins_over_the_ci_environment(history: History, tmp_path: Path) -> None:
    environ = _environ(CASES[0].values[0], history, tmp_path)
    assert detect(environ, range_="v1..v2") == Event(
        "range", "range", "v2", "v1", None, "commits in v1..v2"
    )


@pytest.mark.parametrize(
    ("range_", "expected", "scanned"),
    [
        ("origin/main..origin/feature", ("origin/feature", "origin/main"), "F1 F2"),
        ("origin/main...origin/feature", ("origin/feature", "origin/main"), "F1 F2"),
        ("origin/feature..", ("HEAD", "origin/feature"), "M3"),
        ("origin/main~1..origin/main", ("origin/main", "origin/main~1"), "M3"),
        ("HEAD~2..HEAD", ("HEAD", "HEAD~2"), "M2 M3"),
    ],
)
def test_detect_range(
    range_: str, expected: tuple[str, str], scanned: str, history: History
) -> None:
    head, base = expected
    dots = "..." if "..." in range_ else ".."
    description = (
        f"commits on {head} since it forked from {base}"
        if dots == "..."
        else f"commits in {base}..{head}"
    )
    event = detect({}, range_=range_)
    assert event == Event("range", "range", head, base, None, description)
    assert event.scope == "range"
    assert _selected(event, history.clone) == {history.shas[name] for name in scanned.split()}


A, B = "a" * 40, "B" * 64
GITLAB = {"GITLAB_CI": "true", "CI_COMMIT_SHA": A}
MR = {**GITLAB, "CI_PIPELINE_SOURCE": "merge_request_event"}


@pytest.mark.parametrize(
    ("environ", "payload", "expected"),
    [
        (
            {**GITLAB, "CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BEFORE_SHA": ZERO}
            | {"CI_COMMIT_TAG": "v1.0", "CI_COMMIT_REF_NAME": "v1.0"},
            None,
            Event(
                "gitlab",
                "new-branch",
                A,
                None,
                "refs/tags/v1.0",
                f"GitLab push creating refs/tags/v1.0 at {A[:12]}: {NEW}",
            ),
        ),
        (
            {**GITLAB, "CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BEFORE_SHA": B},
            None,
            Event(
                "gitlab",
                "push",
                A,
                B.lower(),
                None,
                f"GitLab push to {A[:12]}: {'b' * 12}..{A[:12]}",
            ),
        ),
        (
            {**GITLAB, "CI_PIPELINE_SOURCE": "api", "CI_COMMIT_REF_NAME": "release/2"},
            None,
            Event(
                "gitlab",
                "full-history",
                A,
                None,
                "refs/heads/release/2",
                f"GitLab api: all of refs/heads/release/2 at {A[:12]}",
            ),
        ),
        (
            {**MR, "CI_MERGE_REQUEST_TARGET_BRANCH_SHA": B, "CI_MERGE_REQUEST_IID": "3"}
            | {"CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "fix", "CI_MERGE_REQUEST_PROJECT_ID": "1"}
            | {"CI_MERGE_REQUEST_SOURCE_PROJECT_ID": "2"},
            None,
            Event(
                "gitlab",
                "merge_request",
                A,
                B.lower(),
                None,
                f"GitLab merge request !3: {'b' * 12}..{A[:12]}",
            ),
        ),
        (
            {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request"},
            {"pull_request": {"head": {"sha": A}, "base": {"sha": B}}},
            Event(
                "github",
                "pull_request",
                A,
                B.lower(),
                None,
                f"GitHub pull_request: {'b' * 12}..{A[:12]}",
            ),
        ),
        (
            {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "merge_group"},
            {"merge_group": {"head_sha": A, "base_sha": B, "head_ref": "refs/heads/q"}},
            Event(
                "github",
                "merge_group",
                A,
                B.lower(),
                "refs/heads/q",
                f"GitHub merge queue: {'b' * 12}..{A[:12]}",
            ),
        ),
        (
            {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push"},
            {"ref": "refs/tags/v2", "before": ZERO, "after": A},
            Event(
                "github",
                "new-branch",
                A,
                None,
                "refs/tags/v2",
                f"GitHub push creating refs/tags/v2 at {A[:12]}: {NEW}",
            ),
        ),
        (
            {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "schedule", "GITHUB_SHA": A},
            None,
            Event("github", "full-history", A, None, None, f"GitHub schedule: all of {A[:12]}"),
        ),
    ],
)
def test_detect_sparse_events(
    environ: dict[str, str], payload: object, expected: Event, tmp_path: Path
) -> None:
    """Only the fields detect needs; descriptions leave out what is missing."""
    if payload is not None:
        event_file = tmp_path / "event.json"
        event_file.write_text(json.dumps(payload), encoding="utf-8")
        environ = {**environ, "GITHUB_EVENT_PATH": str(event_file)}
    assert detect(environ) == expected


# --- detect: what it refuses ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("range_", "message"),
    [
        ("main", "--range wants BASE..HEAD, got 'main'"),
        ("", "--range wants BASE..HEAD, got ''"),
        ("..main", "--range wants BASE..HEAD, got '..main'"),
        ("a..b..c", "--range wants BASE..HEAD, got 'a..b..c'"),
        ("a....b", "--range wants BASE..HEAD, got 'a....b'"),
        ("--output=x..HEAD", "--range wants BASE..HEAD, got '--output=x..HEAD'"),
        ("main..-x", "--range wants BASE..HEAD, got 'main..-x'"),
        ("a b..c", "--range wants BASE..HEAD, got 'a b..c'"),
        ("a\n..c", "--range wants BASE..HEAD, got 'a\\n..c'"),
        (f"{ZERO}..HEAD", "--range starts at the all-zero commit (a new branch)"),
    ],
)
def test_detect_refuses_a_bad_range(range_: str, message: str) -> None:
    with pytest.raises(LeakguardError) as raised:
        detect({"GITHUB_ACTIONS": "true"}, range_=range_)
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "this environment is neither GitHub Actions (GITHUB_ACTIONS=true) nor GitLab CI"),
        ({"CI": "true"}, "this CI (CI is set) is neither GitHub Actions"),
        ({"GITHUB_ACTIONS": "false", "CI": "1"}, "this CI (CI is set) is neither"),
        ({"GITHUB_ACTIONS": "true"}, "GitHub Actions: GITHUB_EVENT_NAME is not set"),
        (
            {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "release"},
            "GitHub Actions event 'release' does not say which commits are new (notion-leakguard"
            " ci knows push, pull_request, pull_request_target, merge_group, workflow_dispatch,"
            " schedule); pass --range BASE..HEAD",
        ),
        (
            {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push"},
            "GitHub Actions: GITHUB_EVENT_PATH is not set, so the push event cannot be read",
        ),
        (
            {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "schedule"},
            "GitHub Actions: GITHUB_SHA is not set",
        ),
        (
            {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "schedule", "GITHUB_SHA": "main"},
            "GitHub Actions: GITHUB_SHA is not a commit id ('main')",
        ),
        ({"GITLAB_CI": "true"}, "GitLab CI: CI_PIPELINE_SOURCE is not set"),
        (
            {"GITLAB_CI": "true", "CI_PIPELINE_SOURCE": "parent_pipeline"},
            "GitLab CI pipeline source 'parent_pipeline' does not say which commits are new",
        ),
        (
            {"GITLAB_CI": "true", "CI_PIPELINE_SOURCE": "push", "CI_COMMIT_SHA": "2" * 40},
            "GitLab CI: CI_COMMIT_BEFORE_SHA is not set; pass --range BASE..HEAD",
        ),
        (
            {"GITLAB_CI": "true", "CI_PIPELINE_SOURCE": "web", "CI_COMMIT_SHA": "HEAD"},
            "GitLab CI: CI_COMMIT_SHA is not a commit id ('HEAD')",
        ),
        (
            {
                "GITLAB_CI": "true",
                "CI_PIPELINE_SOURCE": "merge_request_event",
                "CI_COMMIT_SHA": "2" * 40,
            },
            "GitLab CI merge request pipeline: CI_MERGE_REQUEST_DIFF_BASE_SHA is not set",
        ),
    ],
)
def test_detect_refuses_an_unknown_environment(environ: dict[str, str], message: str) -> None:
    with pytest.raises(LeakguardError) as raised:
        detect(environ)
    assert str(raised.value).startswith(message)


def _without(*path: str) -> Callable[[dict[str, Any]], None]:
    def edit(payload: dict[str, Any]) -> None:
        node = payload
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return edit


def _setting(value: Any, *path: str) -> Callable[[dict[str, Any]], None]:
    def edit(payload: dict[str, Any]) -> None:
        node = payload
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return edit


PUSH, OPENED, QUEUE = (
    "github-push.json",
    "github-pull-request-opened.json",
    "github-merge-group.json",
)


@pytest.mark.parametrize(
    ("event_name", "fixture", "edit", "message"),
    [
        ("push", PUSH, _without("after"), "{where} has no after"),
        ("push", PUSH, _without("ref"), "{where} has no ref"),
        ("push", PUSH, _setting("main", "after"), "{where}: after is not a commit id ('main')"),
        ("push", PUSH, _setting(None, "before"), "{where}: before is not a commit id ('null')"),
        ("push", PUSH, _setting(7, "before"), "{where}: before is not a commit id ('7')"),
        ("push", PUSH, _setting("a" * 39, "after"), "{where}: after is not a commit id ("),
        ("push", PUSH, _setting("g" * 40, "after"), "{where}: after is not a commit id ("),
        ("push", PUSH, _setting("yes", "deleted"), "{where}: deleted is not true or false"),
        ("push", PUSH, _setting(1, "forced"), "{where}: forced is not true or false ('1')"),
        ("push", PUSH, _setting("main", "ref"), "{where}: ref is not a git ref ('main')"),
        ("push", PUSH, _setting("refs/heads/a..b", "ref"), "{where}: ref is not a git ref"),
        ("push", PUSH, _setting("refs/heads/a b", "ref"), "{where}: ref is not a git ref"),
        ("pull_request", OPENED, _without("pull_request"), "{where} has no pull_request.head.sha"),
        (
            "pull_request",
            OPENED,
            _without("pull_request", "base", "sha"),
            "{where} has no pull_request.base.sha",
        ),
        (
            "pull_request",
            OPENED,
            _setting([], "pull_request"),
            "{where} has no pull_request.head.sha",
        ),
        (
            "pull_request_target",
            OPENED,
            _setting("HEAD", "pull_request", "head", "sha"),
            "{where}: pull_request.head.sha is not a commit id ('HEAD')",
        ),
        (
            "merge_group",
            QUEUE,
            _without("merge_group", "head_ref"),
            "{where} has no merge_group.head_ref",
        ),
        ("merge_group", QUEUE, _setting("x", "merge_group"), "{where} has no merge_group.head_sha"),
    ],
)
def test_detect_refuses_a_malformed_event(
    event_name: str,
    fixture: str,
    edit: Callable[[dict[str, Any]], None],
    message: str,
    tmp_path: Path,
) -> None:
    payload = json.loads((CI / fixture).read_text(encoding="utf-8"))
    edit(payload)
    event_file = tmp_path / "event.json"
    event_file.write_text(json.dumps(payload), encoding="utf-8")
    environ = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(event_file),
    }
    with pytest.raises(LeakguardError) as raised:
        detect(environ)
    where = f"the GitHub {event_name} event file {event_file}"
    assert str(raised.value).startswith(message.format(where=where))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read {where}: No such file or directory"),
        (b"", "{where} is not JSON: Expecting value: line 1 column 1 (char 0)"),
        (b'{"ref": ', "{where} is not JSON: Expecting value"),
        (b'{"ref": "\xff"}', "{where} is not JSON: 'utf-8' codec can't decode byte 0xff"),
        (b"[]", "{where} is not an event: not a JSON object"),
        (b'"push"', "{where} is not an event: not a JSON object"),
        (b"[" * 200_000 + b"]" * 200_000, "{where} is not an event: JSON nested too deeply"),
    ],
)
def test_detect_refuses_an_unreadable_event_file(
    content: bytes | None, message: str, tmp_path: Path
) -> None:
    event_file = tmp_path / "event.json"
    if content is not None:
        event_file.write_bytes(content)
    environ = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_EVENT_PATH": str(event_file),
    }
    with pytest.raises(LeakguardError) as raised:
        detect(environ)
    where = f"the GitHub push event file {event_file}"
    assert str(raised.value).startswith(message.format(where=where))


def test_an_event_directory_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    environ = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(tmp_path),
    }
    with pytest.raises(LeakguardError, match="cannot read the GitHub pull_request event file"):
        detect(environ)


def test_a_rejected_value_never_shows_a_token(tmp_path: Path) -> None:
    token = tokens.api_token(random.Random(7))
    event_file = tmp_path / "event.json"
    event_file.write_text(json.dumps({"ref": "refs/heads/main", "before": token, "after": token}))
    environ = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_EVENT_PATH": str(event_file),
    }
    with pytest.raises(LeakguardError) as raised:
        detect(environ)
    assert f"before is not a commit id ('{token[:8]}…')" in str(raised.value)
    assert token[8:12] not in str(raised.value)
    with pytest.raises(LeakguardError) as raised:
        detect({"GITLAB_CI": "true", "CI_PIPELINE_SOURCE": "schedule", "CI_COMMIT_SHA": token})
    assert token[8:12] not in str(raised.value)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5) | st.just(ZERO),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=8,
)
FUZZED = [
    ("push", PUSH),
    ("push", "github-push-new-branch.json"),
    ("push", "github-push-forced.json"),
    ("push", "github-push-deleted.json"),
    ("pull_request", OPENED),
    ("pull_request_target", "github-pull-request-fork.json"),
    ("merge_group", QUEUE),
]


def _key_paths(node: object, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found: list[tuple[Any, ...]] = []
    children = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else []
    )
    for key, child in children:
        found.append((*prefix, key))
        found += _key_paths(child, (*prefix, key))
    return found


@settings(
    max_examples=300,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    deadline=None,
)
@given(data=st.data(), recorded=st.sampled_from(FUZZED))
def test_any_damaged_event_is_an_event_or_a_leakguard_error(
    data: st.DataObject, recorded: tuple[str, str], tmp_path: Path
) -> None:
    """Recorded payloads with keys dropped or values replaced: never a KeyError or a traceback."""
    event_name, fixture = recorded
    payload: Any = json.loads((CI / fixture).read_text(encoding="utf-8"))
    for _ in range(data.draw(st.integers(0, 3))):
        paths = _key_paths(payload)
        if not paths or data.draw(st.integers(0, 9)) == 0:
            payload = data.draw(_JSON)
            continue
        *parents, last = data.draw(st.sampled_from(paths))
        node = payload
        for key in parents:
            node = node[key]
        if data.draw(st.booleans()):
            del node[last]
        else:
            node[last] = data.draw(_JSON)
    event_file = tmp_path / "event.json"
    event_file.write_text(json.dumps(payload), encoding="utf-8")
    environ = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(event_file),
    }
    try:
        event = detect(environ)
    except LeakguardError as error:
        assert "\n" not in str(error)
    else:
        assert event.provider == "github" and "\n" not in event.description


# --- annotation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ("src/settings.py", 12, 15, "Notion API token", "ntn_4564…9XyZ"),
            "::error file=src/settings.py,line=12,col=15,title=Notion API token::ntn_4564…9XyZ",
        ),
        (
            (".env", 0, 0, "env-file-tracked", "git tracks this dotenv file"),
            "::error file=.env,title=env-file-tracked::git tracks this dotenv file",
        ),
        (("a.py", 3, 0, "t", "m"), "::error file=a.py,line=3,title=t::m"),
        (("", 0, 0, "", "plain"), "::error::plain"),
        (
            ("dir,x/a:b\nc\r.py", 1, 2, "t", "m"),
            "::error file=dir%2Cx/a%3Ab%0Ac%0D.py,line=1,col=2,title=t::m",
        ),
        (("100%.py", 1, 1, "t", "m"), "::error file=100%25.py,line=1,col=1,title=t::m"),
        (("%0A%3A.py", 1, 1, "t", "m"), "::error file=%250A%253A.py,line=1,col=1,title=t::m"),
        (
            ("a.py", 1, 1, "Notion token: legacy, v2", "m"),
            "::error file=a.py,line=1,col=1,title=Notion token%3A legacy%2C v2::m",
        ),
        (
            ("a.py", 1, 1, "t", "key: a, b :: c\nnext 50% \r"),
            "::error file=a.py,line=1,col=1,title=t::key: a, b :: c%0Anext 50%25 %0D",
        ),
        (("a\udcff.py", 1, 1, "t", "m"), "::error file=a\\xff.py,line=1,col=1,title=t::m"),
    ],
)
def test_annotation(args: tuple[str, int, int, str, str], expected: str) -> None:
    assert annotation(*args) == expected


def _runner_parse(line: str) -> tuple[str, dict[str, str], str]:
    """The naive twin of how actions/runner reads a `::` command (ActionCommand.TryParseV2)."""

    def unescape(text: str, mappings: list[tuple[str, str]]) -> str:
        for token, replacement in mappings:
            text = text.replace(replacement, token)
        return text

    data_map = [("\r", "%0D"), ("\n", "%0A"), ("%", "%25")]
    property_map = [("\r", "%0D"), ("\n", "%0A"), (":", "%3A"), (",", "%2C"), ("%", "%25")]
    line = line.lstrip()
    assert line.startswith("::")
    end = line.index("::", 2)
    info = line[2:end]
    name, _, rest = info.partition(" ")
    properties = {}
    for item in rest.strip().split(","):
        key, sep, value = item.partition("=")
        if item and sep and key and value:
            properties[key] = unescape(value, property_map)
    return name, properties, unescape(line[end + 2 :], data_map)


_TEXT = st.text(max_size=30)  # no lone surrogates: annotation shows those as \xNN


@given(
    path=_TEXT.filter(bool),
    line=st.integers(1, 10**6),
    column=st.integers(1, 10**4),
    title=_TEXT.filter(lambda title: title.strip() == title and bool(title)),
    message=_TEXT,
)
def test_the_runner_reads_back_what_annotation_wrote(
    path: str, line: int, column: int, title: str, message: str
) -> None:
    written = annotation(path, line, column, title, message)
    assert "\n" not in written and "\r" not in written
    assert _runner_parse(written) == (
        "error",
        {"file": path, "line": str(line), "col": str(column), "title": title},
        message,
    )


# --- step summary -----------------------------------------------------------------------------


ROWS = [
    SummaryRow("src/settings.py", 12, "notion-api-token", "ntn_4564…9XyZ", "9c0d1e2f3a4b5c6d7e8f"),
    SummaryRow(".env", 0, "env-file-tracked", "", None),
]


def test_step_summary_clean() -> None:
    assert step_summary("GitHub push to refs/heads/main: 1111..2222", [], commits=1) == (
        "### notion-leakguard\n"
        "\n"
        "Scanned: GitHub push to refs/heads/main: 1111..2222 (1 commit)\n"
        "\n"
        "**No Notion credentials found.**\n"
    )


def test_step_summary_with_findings() -> None:
    assert step_summary("commits in a..b", ROWS, commits=3, suppressed=1) == (
        "### notion-leakguard\n"
        "\n"
        "Scanned: commits in a..b (3 commits)\n"
        "\n"
        "**2 findings.** Rotate every key that was pushed: in Notion, Settings → Connections → "
        "Develop or manage integrations → the integration → **Refresh** the secret. A later "
        "commit that removes a key does not take it out of history.\n"
        "\n"
        "| File | Line | Rule | Key | Commit |\n"
        "| --- | ---: | --- | --- | --- |\n"
        "| `src/settings.py` | 12 | `notion-api-token` | `ntn_4564…9XyZ` | `9c0d1e2f3a4b` |\n"
        "| `.env` |  | `env-file-tracked` |  |  |\n"
        "\n"
        "1 finding was suppressed (baseline or allow).\n"
    )


@pytest.mark.parametrize(
    ("path", "cell"),
    [
        ("a|b.py", "`a\\|b.py`"),
        ("a`b.py", "``a`b.py``"),
        ("`a.py", "`` `a.py ``"),
        (" a.py", "`  a.py `"),
        ("a\nb.py", "`a\\nb.py`"),
        ("a\udcffb.py", "`a\\xffb.py`"),
        ("x" * 300, "`" + "x" * 199 + "…`"),
    ],
)
def test_step_summary_cells_cannot_break_the_table(path: str, cell: str) -> None:
    summary = step_summary("d", [SummaryRow(path, 1, "r", "p")])
    assert f"| {cell} | 1 | `r` | `p` |  |\n" in summary


def test_step_summary_escapes_the_description() -> None:
    summary = step_summary("push to refs/heads/<b>*x*|`y`_z", [])
    assert "Scanned: push to refs/heads/\\<b\\>\\*x\\*\\|\\`y\\`\\_z\n" in summary


def test_step_summary_shows_at_most_max_rows() -> None:
    rows = [SummaryRow(f"f{i}.py", i + 1, "notion-api-token", "ntn_…") for i in range(5)]
    summary = step_summary("d", rows, max_rows=2)
    assert "**5 findings.**" in summary
    assert "`f1.py`" in summary and "`f2.py`" not in summary
    assert summary.endswith("\n\n…and 3 more: see the job log or the SARIF report.\n")


def test_step_summary_without_a_commit_count() -> None:
    assert "Scanned: GitHub push deleting refs/heads/gone\n" in step_summary(
        "GitHub push deleting refs/heads/gone", []
    )
