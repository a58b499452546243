"""Pushes end to end: real repositories, a real bare `origin`, real `git push`.

Client side, in two set-ups: git's own pre-push and commit-msg hooks written by
`notion-leakguard install-hook`, and the pre-commit framework installed for the pre-commit,
commit-msg and pre-push hook types with a `.pre-commit-config.yaml` that points at a snapshot
of this working copy (hook ids `notion-leakguard` and `notion-leakguard-push`). Server side: a
bare repository whose `hooks/pre-receive` runs `notion-leakguard pre-receive`. Plus
`scan --history` on keys that live only in commit and tag messages.

Keys reach a commit the ways that get past a pre-commit hook: `--no-verify`, plumbing,
cherry-pick, rebase, merge, `git am`. Every refused push must leave every ref of the remote
as it was, name the commit (or tag object), the file or message and the line of each key
exactly once, and show no full token; every accepted push must move exactly the refs it names.

Repositories are built once per module (a template per set-up) and copied per test; the
pre-commit hook environment is built once per module as well.
"""

from __future__ import annotations

import json
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests import tokens
from tests.conftest import CLI, git, run_cli
from tests.test_precommit import (
    _DROPPED,
    PRE_COMMIT,
    _must,
    _run,
    assert_no_full_token,
    install_hooks,
    isolated_env,
    snapshot_working_copy,
)

INSTALL_HOOK, FRAMEWORK, SERVER = "install-hook", "pre-commit", "pre-receive"
FLAVORS = (INSTALL_HOOK, FRAMEWORK)
API, LEGACY, COOKIE = tokens.RULES

SCAN_HOOK = "notion-leakguard (Notion API keys)"
PUSH_HOOK = "notion-leakguard (commits being pushed)"
PUSH_REFUSED = "Refused: the commits being pushed carry a Notion key. Nothing was pushed."
SERVER_REFUSED = "Refused by the server: the commits pushed carry a Notion key. No ref was updated."
MESSAGE_REFUSED = "Refused: the commit message holds a Notion key. No commit was made."
# A finding in history names what brought the key: `(commit 0123456789ab, …` or `(tag object …`
NAMES_ORIGIN = re.compile(r" \((?:commit|tag object) [0-9a-f]{12}, ")
BASELINE = ".notion-leakguard-baseline.json"
CONFIG = ".notion-leakguard.toml"
CLEAN_SETTINGS = 'import os\n\nDEBUG = False\nNOTION_TOKEN = os.environ["NOTION_TOKEN"]\n'


# --- repositories -------------------------------------------------------------------------


@dataclass(frozen=True)
class Hooks:
    """This working copy as a pre-commit hook repository, its environment built."""

    repo: Path
    rev: str
    home: Path  # PRE_COMMIT_HOME


def framework_config(hooks: Hooks) -> str:
    return (
        "repos:\n"
        f"  - repo: {hooks.repo.as_posix()}\n"
        f"    rev: {hooks.rev}\n"
        "    hooks:\n"
        "      - id: notion-leakguard\n"
        "      - id: notion-leakguard-push\n"
    )


@dataclass
class Clone:
    """A work tree with hooks of one `flavor`, and `origin`, the bare repository it pushes to."""

    flavor: str
    path: Path
    origin: Path
    env: dict[str, str]

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """stdout and stderr merged, as a terminal shows them."""
        return _run(args, cwd=self.path, env={**self.env, **env})

    def git(self, *args: str, **env: str) -> str:
        return _must(self.run("git", *args, **env), f"git {args[0]}")

    def rev(self, name: str) -> str:
        return self.git("rev-parse", "--verify", "-q", name).strip()

    def write(self, name: str, text: str) -> str:
        path = self.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return text

    def commit(self, message: str) -> str:
        """Everything in the work tree, committed past every hook; the new commit."""
        self.git("add", "-A")
        self.git("commit", "-q", "--no-verify", "--allow-empty", "-m", message)
        return self.rev("HEAD")

    def push(self, *args: str) -> subprocess.CompletedProcess[str]:
        """A real `git push origin ARGS`, through whatever hooks are installed."""
        return self.run("git", "push", "origin", *args)

    def push_unchecked(self, *args: str) -> None:
        """Set-up only: what a push made with --no-verify, or before any hook, left there."""
        self.git("push", "-q", "--no-verify", "origin", *args)

    def remote_refs(self) -> dict[str, str]:
        return refs(self.origin, self.env)

    def clone_beside(self, name: str) -> Path:
        """A colleague's clone of origin, with no hook at all."""
        other = self.path.parent / name
        _must(
            _run(
                ["git", "clone", "-q", str(self.origin), str(other)],
                cwd=self.path.parent,
                env=self.env,
            ),
            "git clone",
        )
        return other

    # what a finding line looks like

    def in_file(self, path: str, text: str, tok: str, commit: str, rule: str = API) -> str:
        ((line, column),) = tokens.positions(text, tok)
        date = self.git("log", "-1", "--format=%aI", commit).strip()
        return (
            f"{path}:{line}:{column}: {rule} {tokens.preview(tok)} "
            f"(commit {commit[:12]}, Test, {date})"
        )

    def in_message(self, commit: str, tok: str, rule: str = API) -> str:
        """The line for `tok` in the message of `commit`, as git stored it."""
        text = self.git("cat-file", "commit", commit).partition("\n\n")[2]
        ((line, column),) = tokens.positions(text, tok)
        date = self.git("log", "-1", "--format=%aI", commit).strip()
        return (
            f"commit message:{line}:{column}: {rule} {tokens.preview(tok)} "
            f"(commit {commit[:12]}, Test, {date})"
        )

    def in_tag(self, name: str, tok: str, rule: str = API) -> str:
        oid = self.rev(f"refs/tags/{name}")
        text = self.git("cat-file", "tag", oid).partition("\n\n")[2]
        ((line, column),) = tokens.positions(text, tok)
        date = self.git(
            "for-each-ref", "--format=%(taggerdate:iso-strict)", f"refs/tags/{name}"
        ).strip()
        return (
            f"tag message ({name}):{line}:{column}: {rule} {tokens.preview(tok)} "
            f"(tag object {oid[:12]}, Test, {date})"
        )


def refs(bare: Path, env: dict[str, str]) -> dict[str, str]:
    """Every ref of a bare repository and what it points at."""
    listed = _must(
        _run(["git", "for-each-ref", "--format=%(refname) %(objectname)"], cwd=bare, env=env),
        "git for-each-ref",
    )
    return dict(line.split(" ") for line in listed.splitlines())


def client_env(hooks_home: Path | None = None) -> dict[str, str]:
    """The test's environment (isolated by conftest), without a SKIP from the developer's
    shell, with the module's pre-commit cache."""
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED}
    if hooks_home is not None:
        env["PRE_COMMIT_HOME"] = str(hooks_home)
    return env


@pytest.fixture(scope="module")
def framework_hooks(tmp_path_factory: pytest.TempPathFactory) -> Hooks:
    root = tmp_path_factory.mktemp("push-hooks")
    env = isolated_env(root)
    snapshot = snapshot_working_copy(root, env)
    declared = (snapshot / ".pre-commit-hooks.yaml").read_text()
    assert "id: notion-leakguard-push" in declared, "the push hook is not declared yet"
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["-c", "commit.gpgsign=false", "commit", "-q", "--no-verify", "-m", "working copy"],
    ):
        _must(_run(["git", *args], cwd=snapshot, env=env), f"git {args[0]} (snapshot)")
    rev = _must(_run(["git", "rev-parse", "HEAD"], cwd=snapshot, env=env), "rev-parse").strip()
    hooks = Hooks(snapshot, rev, root / "cache")
    install_hooks(root, env, framework_config(hooks))
    return hooks


class Templates:
    """One template per set-up, built on first use: `origin` holding main at one clean
    commit, and `work`, a clone of it with the hooks installed."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.built: dict[str, Path] = {}

    def get(self, flavor: str, hooks: Hooks | None) -> Path:
        if flavor not in self.built:
            self.built[flavor] = self.build(flavor, hooks)
        return self.built[flavor]

    def build(self, flavor: str, hooks: Hooks | None) -> Path:
        root = self.root / flavor
        root.mkdir()
        env = isolated_env(root)
        origin, work = root / "origin.git", root / "work"
        server = flavor == SERVER
        for args in (
            ["init", "-q", "--bare", "-b", "main", str(origin)],
            ["init", "-q", "-b", "main", str(work)],
        ):
            _must(_run(["git", *args], cwd=root, env=env), "git init")
        clone = Clone(flavor, work, origin, env)
        clone.git("remote", "add", "origin", str(origin))
        clone.write("README.md", "# app\n\nThe key comes from NOTION_TOKEN.\n")
        clone.write("app.py", CLEAN_SETTINGS)
        if flavor == FRAMEWORK:
            assert hooks is not None
            clone.write(".pre-commit-config.yaml", framework_config(hooks))
        clone.commit("initial")
        clone.git("push", "-q", "-u", "origin", "main")
        if flavor == INSTALL_HOOK:
            _must(clone.run(*CLI, "install-hook"), "notion-leakguard install-hook")
        elif flavor == FRAMEWORK:
            _must(
                clone.run(
                    *PRE_COMMIT,
                    "install",
                    "--hook-type",
                    "pre-commit",
                    "--hook-type",
                    "commit-msg",
                    "--hook-type",
                    "pre-push",
                ),
                "pre-commit install",
            )
        if server:
            # What the server held before the hook was installed: a branch whose commit
            # carries a key, a branch and a tag to delete.
            rng = random.Random("test_push.py server template")
            clone.git("switch", "-q", "-c", "legacy")
            clone.write("legacy.py", f"KEY = '{tokens.api_token(rng)}'\n")
            clone.commit("legacy")
            clone.git("switch", "-q", "main")
            clone.git("branch", "old")
            clone.git("tag", "v0")
            clone.push_unchecked("legacy", "old", "v0")
            hook = origin / "hooks" / "pre-receive"
            hook.write_text(
                f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -m notion_leakguard pre-receive\n"
            )
            hook.chmod(0o755)
        return root


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Templates:
    return Templates(tmp_path_factory.mktemp("push-templates"))


def copy_of(template: Path, flavor: str, tmp_path: Path, home: Path | None) -> Clone:
    root = tmp_path / "t"
    shutil.copytree(template, root, symlinks=True)
    clone = Clone(flavor, root / "work", root / "origin.git", client_env(home))
    clone.git("remote", "set-url", "origin", str(clone.origin))
    return clone


@pytest.fixture
def clone(request: pytest.FixtureRequest, templates: Templates, tmp_path: Path) -> Clone:
    """A fresh copy of the template for the flavor the test is parametrized with."""
    flavor: str = request.param
    hooks: Hooks | None = None
    if flavor == FRAMEWORK:
        hooks = request.getfixturevalue("framework_hooks")
    home = hooks.home if hooks else None
    return copy_of(templates.get(flavor, hooks), flavor, tmp_path, home)


@pytest.fixture
def server(templates: Templates, tmp_path: Path) -> Clone:
    """A client with no hook pushing to a bare repository with the pre-receive hook."""
    return copy_of(templates.get(SERVER, None), SERVER, tmp_path, None)


# --- what a push must do ------------------------------------------------------------------


@dataclass
class Push:
    """A push to make and its outcome: with `findings`, refused with exactly those lines and
    no ref moved; without, accepted with `moves` (ref -> new value, None: deleted)."""

    args: tuple[str, ...]
    findings: list[str] = field(default_factory=list)
    moves: Mapping[str, str | None] = field(default_factory=dict)
    planted: tuple[str, ...] = ()
    # False: `findings` are previews the output must show somewhere (for keys that are in no
    # commit, the line a fixed product will print is not specified)
    exact: bool = True


Scenario = Callable[[Clone, random.Random], Push]


def reported(output: str) -> list[str]:
    """The finding lines that name a commit or tag object (`remote: ` taken off)."""
    lines = [line.rstrip() for line in output.splitlines()]
    lines = [line[len("remote: ") :] if line.startswith("remote: ") else line for line in lines]
    return [line for line in lines if NAMES_ORIGIN.search(line)]


def hook_statuses(output: str, hook: str) -> list[str]:
    """What pre-commit printed for each run of `hook` (one per stage), in order."""
    pattern = rf"^{re.escape(hook)}\.+(?:\([^)]*\))?(\w+)$"
    return re.findall(pattern, output, re.MULTILINE)


def check(
    clone: Clone, push: Push, result: subprocess.CompletedProcess[str], before: dict[str, str]
) -> None:
    out = result.stdout
    assert_no_full_token(out, *push.planted)
    if push.findings:
        assert result.returncode == 1, out
        assert clone.remote_refs() == before, out
        if push.exact:
            assert sorted(reported(out)) == sorted(push.findings), out
        else:
            assert all(shown in out for shown in push.findings), out
        if clone.flavor == SERVER:  # what the server printed reaches the pusher as `remote: `
            lines = {line.rstrip() for line in out.splitlines()}
            assert {f"remote: {f}" for f in push.findings if push.exact} <= lines, out
            assert SERVER_REFUSED in out, out
            assert "(pre-receive hook declined)" in out, out
        else:
            assert PUSH_REFUSED in out, out
        if clone.flavor == FRAMEWORK:
            assert hook_statuses(out, PUSH_HOOK) == ["Failed"], out
    else:
        assert result.returncode == 0, out
        assert reported(out) == [], out
        expected = {**before, **push.moves}
        assert clone.remote_refs() == {k: v for k, v in expected.items() if v is not None}, out


def settings(tok: str) -> str:
    return f'import os\n\nDEBUG = False\nNOTION_TOKEN = "{tok}"\n'


Row = tuple[str, Scenario]


def with_hooks(flavors: Sequence[str], rows: Sequence[Row]) -> list[object]:
    """(flavor, scenario) params."""
    return [
        pytest.param(flavor, scenario, id=f"{flavor}-{name}")
        for name, scenario in rows
        for flavor in flavors
    ]


# --- scenarios: pushes that carry a key ---------------------------------------------------


def wip_then_removed(c: Clone, rng: random.Random) -> Push:
    """A WIP commit made with --no-verify, the key kept by the next commit (a new blob
    holding the same key), removed by the last: one finding, at the WIP commit."""
    tok = tokens.api_token(rng)
    text = c.write("src/settings.py", settings(tok))
    wip = c.commit("wip")
    c.write("src/settings.py", text.replace("DEBUG = False", "DEBUG = True"))
    c.commit("debug on")
    c.write("src/settings.py", CLEAN_SETTINGS)
    c.commit("read the key from the environment")
    return Push(("main",), [c.in_file("src/settings.py", text, tok, wip)], planted=(tok,))


def branch_not_checked_out(c: Clone, rng: random.Random) -> Push:
    """`git push origin feature` while main is checked out."""
    tok = tokens.legacy_token(rng)
    c.git("switch", "-q", "-c", "feature")
    text = c.write("config/notion.yaml", f"# config\nclient:\n  secret: {tok}\n")
    commit = c.commit("feature")
    c.git("switch", "-q", "main")
    finding = c.in_file("config/notion.yaml", text, tok, commit, LEGACY)
    return Push(("feature",), [finding], planted=(tok,))


def several_refs(*args: str) -> Scenario:
    """One push, several refs: main brings a clean commit, feature (second) a key."""

    def scenario(c: Clone, rng: random.Random) -> Push:
        c.write("app.py", CLEAN_SETTINGS + "TIMEOUT = 30\n")
        c.commit("timeout")
        c.git("switch", "-q", "-c", "feature", "origin/main")
        tok = tokens.cookie(rng)
        text = c.write("session.json", f'{{"token_v2": "{tok}"}}\n')
        commit = c.commit("session")
        c.git("switch", "-q", "main")
        return Push(args, [c.in_file("session.json", text, tok, commit, COOKIE)], planted=(tok,))

    return scenario


def tag_on_wip(annotated: bool) -> Scenario:
    """`git push origin v1`, v1 pointing at a WIP commit no branch holds any more."""

    def scenario(c: Clone, rng: random.Random) -> Push:
        tok = tokens.api_token(rng)
        text = c.write("notes.txt", f"try with {tok}\n")
        wip = c.commit("wip")
        c.git("tag", *(["-a", "-m", "release 1"] if annotated else []), "v1")
        c.git("reset", "-q", "--hard", "origin/main")
        return Push(("v1",), [c.in_file("notes.txt", text, tok, wip)], planted=(tok,))

    return scenario


def plumbing(orphan: bool) -> Scenario:
    """A commit built with hash-object, update-index, write-tree and commit-tree, put on
    gh-pages with update-ref: no porcelain, no hook."""

    def scenario(c: Clone, rng: random.Random) -> Push:
        tok = tokens.api_token(rng)
        page = c.path.parent / "index.html"
        text = f"<script>\nconst key = '{tok}';\n</script>\n"
        page.write_text(text)
        blob = c.git("hash-object", "-w", str(page)).strip()
        index = {"GIT_INDEX_FILE": str(c.path.parent / "pages.index")}
        c.git("update-index", "--add", "--cacheinfo", f"100644,{blob},index.html", **index)
        tree = c.git("write-tree", **index).strip()
        parents = [] if orphan else ["-p", c.rev("main")]
        commit = c.git("commit-tree", tree, *parents, "-m", "deploy").strip()
        c.git("update-ref", "refs/heads/gh-pages", commit)
        return Push(("gh-pages",), [c.in_file("index.html", text, tok, commit)], planted=(tok,))

    return scenario


def colleague_topic(c: Clone, rng: random.Random) -> tuple[Path, str, str]:
    """A colleague's clone (no hooks) with a topic branch whose commit adds a key; main here
    gets a commit of its own. The colleague's clone, the key and the file's text."""
    other = c.clone_beside("colleague")
    tok = tokens.api_token(rng)
    text = settings(tok)
    (other / "src").mkdir()
    (other / "src" / "settings.py").write_text(text)
    for args in (["switch", "-q", "-c", "topic"], ["add", "-A"], ["commit", "-q", "-m", "keys"]):
        _must(_run(["git", *args], cwd=other, env=c.env), "git (colleague)")
    c.write("CHANGELOG.md", "# changes\n")
    c.commit("changelog")
    return other, tok, text


def cherry_picked(c: Clone, rng: random.Random) -> Push:
    """`git cherry-pick` of a colleague's commit: a new commit no hook saw."""
    other, tok, text = colleague_topic(c, rng)
    c.git("fetch", "-q", str(other), "topic")
    c.git("cherry-pick", "FETCH_HEAD")
    picked = c.rev("HEAD")
    return Push(("main",), [c.in_file("src/settings.py", text, tok, picked)], planted=(tok,))


def rebased(c: Clone, rng: random.Random) -> Push:
    """A colleague's branch rebased onto main, then main fast-forwarded to it."""
    other, tok, text = colleague_topic(c, rng)
    c.git("fetch", "-q", str(other), "topic:topic")
    c.git("rebase", "-q", "main", "topic")
    c.git("switch", "-q", "main")
    c.git("merge", "-q", "--ff-only", "topic")
    commit = c.rev("HEAD")
    return Push(("main",), [c.in_file("src/settings.py", text, tok, commit)], planted=(tok,))


def merged(c: Clone, rng: random.Random) -> Push:
    """A clean merge of a colleague's branch: the key is in the merged commit."""
    other, tok, text = colleague_topic(c, rng)
    c.git("fetch", "-q", str(other), "topic")
    theirs = c.rev("FETCH_HEAD")
    c.git("merge", "-q", "--no-edit", "FETCH_HEAD")
    assert len(c.git("rev-list", "--parents", "-1", "HEAD").split()) == 3  # a merge commit
    return Push(("main",), [c.in_file("src/settings.py", text, tok, theirs)], planted=(tok,))


def applied(c: Clone, rng: random.Random) -> Push:
    """`git am` of a patch a colleague made with format-patch."""
    other, tok, text = colleague_topic(c, rng)
    patches = c.path.parent / "patches"
    _must(
        _run(
            ["git", "format-patch", "-q", "-1", "-o", str(patches), "topic"], cwd=other, env=c.env
        ),
        "git format-patch",
    )
    (patch,) = patches.iterdir()
    c.git("am", "-q", str(patch))
    commit = c.rev("HEAD")
    return Push(("main",), [c.in_file("src/settings.py", text, tok, commit)], planted=(tok,))


def evil_merge(c: Clone, rng: random.Random) -> Push:
    """A merge whose resolution adds a key neither parent has (`merge --no-commit`, then
    `commit --no-verify`): the merge commit itself brings it."""
    c.git("switch", "-q", "-c", "side")
    c.write("side.txt", "side\n")
    c.commit("side")
    c.git("switch", "-q", "main")
    c.write("main.txt", "main\n")
    c.commit("main")
    c.git("merge", "-q", "--no-commit", "side")
    tok = tokens.api_token(rng)
    text = c.write("resolved.py", f"KEY = '{tok}'\n")
    merge = c.commit("merge side")
    return Push(("main",), [c.in_file("resolved.py", text, tok, merge)], planted=(tok,))


def tagged_object(kind: str) -> Scenario:
    """A tag that points straight at a blob or a tree holding a key, or at another tag whose
    message holds one: the push brings objects that no commit holds."""

    def scenario(c: Clone, rng: random.Random) -> Push:
        tok = tokens.api_token(rng)
        key_file = c.path.parent / "key.txt"
        key_file.write_text(f"NOTION_TOKEN={tok}\n")
        blob = c.git("hash-object", "-w", str(key_file)).strip()
        if kind == "blob":
            c.git("tag", "keys", blob)
        elif kind == "tree":
            index = {"GIT_INDEX_FILE": str(c.path.parent / "tree.index")}
            c.git("update-index", "--add", "--cacheinfo", f"100644,{blob},key.txt", **index)
            c.git("tag", "keys", c.git("write-tree", **index).strip())
        elif kind == "annotated-blob":
            c.git("tag", "-a", "keys", "-m", "the deploy key", blob)
        else:  # a tag of a tag: the inner tag object travels with the outer one
            c.git("tag", "-a", "inner", "-m", f"deployed with {tok}", "main")
            c.git("-c", "advice.nestedTag=false", "tag", "-a", "keys", "-m", "outer", "inner")
            c.git("tag", "-d", "inner")
        return Push(("keys",), [tokens.preview(tok)], planted=(tok,), exact=False)

    return scenario


TAGGED_OBJECTS: list[Row] = [
    ("tag-of-a-blob", tagged_object("blob")),
    ("tag-of-a-tree", tagged_object("tree")),
    ("annotated-tag-of-a-blob", tagged_object("annotated-blob")),
    ("tag-of-a-tag", tagged_object("tag")),
]


def key_in_commit_message(c: Clone, rng: random.Random) -> Push:
    """`git commit --no-verify -m "curl -H 'Authorization: Bearer KEY'"`."""
    tok = tokens.api_token(rng)
    c.write("scripts/search.sh", "#!/bin/sh\ncurl https://api.notion.com/v1/search\n")
    commit = c.commit(f"add a search script\n\ncurl -H 'Authorization: Bearer {tok}'")
    return Push(("main",), [c.in_message(commit, tok)], planted=(tok,))


def key_in_tag_message(*args: str) -> Scenario:
    """An annotated tag whose message holds a key, on a new clean commit."""

    def scenario(c: Clone, rng: random.Random) -> Push:
        tok = tokens.legacy_token(rng)
        c.write("VERSION", "1.0\n")
        c.commit("1.0")
        c.git("tag", "-a", "v1", "-m", f"release 1.0\n\nsmoke-tested with {tok}")
        return Push(args, [c.in_tag("v1", tok, LEGACY)], planted=(tok,))

    return scenario


def key_in_tag_message_on_pushed_commit(c: Clone, rng: random.Random) -> Push:
    """The tag is all the push brings: its commit is on the remote already."""
    tok = tokens.api_token(rng)
    c.git("tag", "-a", "v2", "-m", f"hotfix\n{tok}\n", "origin/main")
    return Push(("v2",), [c.in_tag("v2", tok)], planted=(tok,))


def force_push_keeping_the_key(c: Clone, rng: random.Random) -> Push:
    """History rewritten and force-pushed, a commit in it still carrying a key."""
    c.write("app.py", CLEAN_SETTINGS + "RETRIES = 3\n")
    c.commit("retries")
    c.push_unchecked("main")
    c.git("reset", "-q", "--hard", "HEAD~1")
    tok = tokens.api_token(rng)
    text = c.write("app.py", settings(tok))
    wip = c.commit("wip")
    c.write("app.py", CLEAN_SETTINGS + "RETRIES = 5\n")
    c.commit("retries")
    return Push(("--force", "main"), [c.in_file("app.py", text, tok, wip)], planted=(tok,))


REFUSED = [
    ("wip-removed", wip_then_removed),
    ("branch-not-checked-out", branch_not_checked_out),
    ("main-and-feature", several_refs("main", "feature")),
    ("all-branches", several_refs("--all")),
    ("lightweight-tag-on-wip", tag_on_wip(annotated=False)),
    ("annotated-tag-on-wip", tag_on_wip(annotated=True)),
    ("plumbing-orphan", plumbing(orphan=True)),
    ("plumbing-child", plumbing(orphan=False)),
    ("cherry-pick", cherry_picked),
    ("rebase", rebased),
    ("merge", merged),
    ("am", applied),
    ("evil-merge", evil_merge),
    ("commit-message", key_in_commit_message),
    ("tag-message", key_in_tag_message("v1")),
    ("tag-message-follow-tags", key_in_tag_message("--follow-tags", "main")),
    ("force-push-keeping-key", force_push_keeping_the_key),
]


@pytest.mark.parametrize(
    "clone, scenario",
    [
        *with_hooks(FLAVORS, REFUSED),
        # pre-commit runs no pre-push hook for a ref that brings no new commit
        *with_hooks(
            [INSTALL_HOOK], [("tag-message-on-pushed-commit", key_in_tag_message_on_pushed_commit)]
        ),
        # ...nor for a tag of a blob, tree or tag (no commit to list): install-hook only
        *with_hooks([INSTALL_HOOK], TAGGED_OBJECTS),
    ],
    indirect=["clone"],
)
def test_push_carrying_a_key_is_refused(
    clone: Clone, scenario: Scenario, rng: random.Random
) -> None:
    push = scenario(clone, rng)
    before = clone.remote_refs()
    check(clone, push, clone.push(*push.args), before)


# --- scenarios: pushes that pass ----------------------------------------------------------


def clean_commit(c: Clone, rng: random.Random) -> Push:
    c.write("app.py", CLEAN_SETTINGS + f"# the format: {'ntn_' + '0' * 46}\n")
    commit = c.commit("document the format")
    return Push(("main",), moves={"refs/heads/main": commit})


def clean_commit_and_tag(c: Clone, rng: random.Random) -> Push:
    c.write("VERSION", "1.0\n")
    commit = c.commit("1.0")
    c.git("tag", "-a", "v1", "-m", "release 1.0")
    moves = {"refs/heads/main": commit, "refs/tags/v1": c.rev("refs/tags/v1")}
    return Push(("--follow-tags", "main"), moves=moves)


def pushed_key_branch(c: Clone, rng: random.Random) -> tuple[str, str]:
    """A branch `leaked` whose commit carries a key, pushed with --no-verify long ago."""
    tok = tokens.api_token(rng)
    c.git("switch", "-q", "-c", "leaked")
    c.write("leak.py", settings(tok))
    commit = c.commit("leak")
    c.push_unchecked("leaked")
    c.git("switch", "-q", "main")
    return tok, commit


def branch_deletion(c: Clone, rng: random.Random) -> Push:
    """Deleting a remote branch that carries a key (the remedy) is never refused."""
    tok, _ = pushed_key_branch(c, rng)
    return Push(("--delete", "leaked"), moves={"refs/heads/leaked": None}, planted=(tok,))


def new_branch_of_pushed_commits(c: Clone, rng: random.Random) -> Push:
    """A new name for commits the remote has, a key among them: nothing new leaves."""
    tok, commit = pushed_key_branch(c, rng)
    c.git("branch", "release", "leaked")
    return Push(("release",), moves={"refs/heads/release": commit}, planted=(tok,))


def new_tag_of_pushed_commit(c: Clone, rng: random.Random) -> Push:
    tok, commit = pushed_key_branch(c, rng)
    c.git("tag", "v0", "leaked")
    return Push(("v0",), moves={"refs/tags/v0": commit}, planted=(tok,))


def force_push_dropping_the_key(c: Clone, rng: random.Random) -> Push:
    """The key was pushed; history is rewritten without it and force-pushed."""
    tok = tokens.api_token(rng)
    c.write("app.py", settings(tok))
    c.commit("oops")
    c.push_unchecked("main")
    c.git("reset", "-q", "--hard", "HEAD~1")
    c.write("app.py", CLEAN_SETTINGS + "RETRIES = 3\n")
    rewritten = c.commit("retries")
    return Push(("--force", "main"), moves={"refs/heads/main": rewritten}, planted=(tok,))


def clean_push_after_a_rewrite_with_an_old_tag(c: Clone, rng: random.Random) -> Push:
    """The key was pushed with a release tag on its commit; main was rewritten without
    it and force-pushed, the tag stays on the remote (and here). The next clean push brings
    nothing the remote lacks: it passes."""
    tok = tokens.api_token(rng)
    c.write("app.py", settings(tok))
    c.commit("oops")
    c.git("tag", "v0.9")
    c.push_unchecked("main", "v0.9")
    c.git("reset", "-q", "--hard", "HEAD~1")
    c.write("app.py", CLEAN_SETTINGS + "RETRIES = 3\n")
    c.commit("retries")
    c.push_unchecked("--force", "main")
    c.write("CHANGELOG.md", "# changes\n")
    commit = c.commit("changelog")
    return Push(("main",), moves={"refs/heads/main": commit}, planted=(tok,))


PASSING = [
    ("clean-commit", clean_commit),
    ("clean-commit-and-tag", clean_commit_and_tag),
    ("branch-deletion", branch_deletion),
    ("new-branch-of-pushed-commits", new_branch_of_pushed_commits),
    ("new-tag-of-pushed-commit", new_tag_of_pushed_commit),
    ("force-push-dropping-key", force_push_dropping_the_key),
    ("clean-push-after-rewrite-old-tag", clean_push_after_a_rewrite_with_an_old_tag),
]


@pytest.mark.parametrize(
    "clone, scenario",
    with_hooks(FLAVORS, PASSING),
    indirect=["clone"],
)
def test_push_without_a_new_key_passes(
    clone: Clone, scenario: Scenario, rng: random.Random
) -> None:
    push = scenario(clone, rng)
    before = clone.remote_refs()
    targets = [new for new in push.moves.values() if new is not None]
    brings = bool(targets) and bool(
        clone.git("rev-list", *targets, "--not", "--remotes=origin").strip()
    )
    result = clone.push(*push.args)
    check(clone, push, result, before)
    if clone.flavor == FRAMEWORK:  # pre-commit runs no pre-push hook when nothing new leaves
        assert hook_statuses(result.stdout, PUSH_HOOK) == (["Passed"] if brings else [])


@pytest.mark.parametrize("clone", FLAVORS, indirect=True)
def test_key_in_the_baseline_does_not_block_the_push(clone: Clone, rng: random.Random) -> None:
    """A key recorded with `baseline create` while it is in the work tree."""
    tok = tokens.api_token(rng)
    clone.write(CONFIG, f'baseline = "{BASELINE}"\n')
    text = clone.write("src/settings.py", settings(tok))
    created = clone.run(*CLI, "baseline", "create")
    assert created.returncode == 0, created.stdout
    assert tok not in (clone.path / BASELINE).read_text()
    clone.git("add", "-A")
    committed = clone.run("git", "commit", "-m", "adopt notion-leakguard")  # through the hooks
    assert committed.returncode == 0, committed.stdout
    adopted = clone.rev("HEAD")

    before = clone.remote_refs()
    first = clone.push("main")
    check(clone, Push(("main",), moves={"refs/heads/main": adopted}, planted=(tok,)), first, before)
    if clone.flavor == INSTALL_HOOK:  # pre-commit shows nothing of a hook that passed
        assert "(1 suppressed: 1 by the baseline" in first.stdout, first.stdout
    else:
        assert hook_statuses(first.stdout, PUSH_HOOK) == ["Passed"], first.stdout

    # the acknowledged key in an edited file (a new blob) still passes
    clone.write("src/settings.py", text + "TIMEOUT = 30\n")
    edited = clone.commit("timeout")
    push = Push(("main",), moves={"refs/heads/main": edited}, planted=(tok,))
    before = clone.remote_refs()
    check(clone, push, clone.push("main"), before)

    # a key the baseline does not know is refused, and reported alone
    other = tokens.api_token(rng)
    other_text = clone.write("src/other.py", f"KEY = '{other}'\n")
    commit = clone.commit("another key")
    push = Push(
        ("main",), [clone.in_file("src/other.py", other_text, other, commit)], planted=(tok, other)
    )
    before = clone.remote_refs()
    check(clone, push, clone.push("main"), before)


# --- the commit-msg stage -----------------------------------------------------------------


@dataclass(frozen=True)
class MessageCase:
    message: str  # {tok} marks where the key goes
    verbose: bool  # `git commit -v -e`: the diff below the scissors line, in the message file
    removes_key: bool  # the commit removes a key committed earlier, so the diff shows it
    refused: bool


MESSAGE_CASES = {
    "key-in-message": MessageCase("use {tok} for now", False, False, True),
    "clean-message": MessageCase("read the key from the environment", False, False, False),
    "verbose-diff-removes-key": MessageCase("remove the key", True, True, False),
    "verbose-key-above-scissors": MessageCase("remove {tok}", True, True, True),
}


@pytest.mark.parametrize(
    "clone, case",
    [
        pytest.param(flavor, case, id=f"{flavor}-{name}")
        for name, case in MESSAGE_CASES.items()
        for flavor in FLAVORS
    ],
    indirect=["clone"],
)
def test_commit_msg_stage(clone: Clone, case: MessageCase, rng: random.Random) -> None:
    tok = tokens.api_token(rng)
    if case.removes_key:
        clone.write("app.py", settings(tok))
        clone.commit("wip")
    clone.write("app.py", CLEAN_SETTINGS + "TIMEOUT = 30\n")
    clone.git("add", "app.py")
    before = clone.rev("HEAD")
    message = case.message.format(tok=tok)
    editor = clone.path.parent / "editor.sh"  # keeps a copy of what the hooks were given
    editor.write_text('#!/bin/sh\ncp "$1" "$1.seen"\n')
    editor.chmod(0o755)
    verbose = ["-v", "-e"] if case.verbose else []

    result = clone.run("git", "commit", *verbose, "-m", message, GIT_EDITOR=str(editor))

    out = result.stdout
    assert_no_full_token(out, tok)
    if case.verbose:  # the key really was in the file the commit-msg hook read
        seen = (clone.path / ".git" / "COMMIT_EDITMSG.seen").read_text()
        _, scissors, diff = seen.partition("# ------------------------ >8 ----")
        assert scissors and f'-NOTION_TOKEN = "{tok}"' in diff
    if case.refused:
        assert result.returncode == 1, out
        assert clone.rev("HEAD") == before
        ((line, column),) = tokens.positions(message, tok)
        assert f"commit message:{line}:{column}: {API} {tokens.preview(tok)}" in (
            out.splitlines()
        ), out
        assert MESSAGE_REFUSED in out, out
        if clone.flavor == FRAMEWORK:  # the pre-commit stage, then the commit-msg stage
            assert hook_statuses(out, SCAN_HOOK) == ["Passed", "Failed"], out
    else:
        assert result.returncode == 0, out
        assert clone.rev("HEAD^") == before
        assert clone.git("log", "-1", "--format=%B").strip() == message
        if clone.flavor == FRAMEWORK:
            assert hook_statuses(out, SCAN_HOOK) == ["Passed", "Passed"], out


@pytest.mark.parametrize("flavor", FLAVORS)
def test_verbose_commit_with_a_separate_git_dir(
    request: pytest.FixtureRequest, tmp_path: Path, rng: random.Random, flavor: str
) -> None:
    """The same with the git directory elsewhere (not named .git): a key in the message is
    refused, the scissors part of `git commit -v` is not scanned."""
    hooks: Hooks | None = (
        request.getfixturevalue("framework_hooks") if flavor == FRAMEWORK else None
    )
    work, store = tmp_path / "work", tmp_path / "store.git"
    git("init", "-q", "-b", "main", "--separate-git-dir", str(store), str(work), cwd=tmp_path)
    clone = Clone(flavor, work, store, client_env(hooks.home if hooks else None))
    tok, other = tokens.api_token(rng), tokens.api_token(rng)
    clone.write("app.py", settings(tok))
    if hooks is not None:
        clone.write(".pre-commit-config.yaml", framework_config(hooks))
    clone.commit("wip")
    if hooks is None:
        _must(clone.run(*CLI, "install-hook"), "install-hook")
    else:
        args = ("install", "--hook-type", "pre-commit", "--hook-type", "commit-msg")
        _must(clone.run(*PRE_COMMIT, *args), "pre-commit install")
    clone.write("app.py", CLEAN_SETTINGS)
    clone.git("add", "app.py")
    before = clone.rev("HEAD")

    refused = clone.run("git", "commit", "-m", f"use {other}")
    assert refused.returncode == 1, refused.stdout
    assert f"notion-api-token {tokens.preview(other)}" in refused.stdout
    assert clone.rev("HEAD") == before

    result = clone.run("git", "commit", "-v", "-e", "-m", "remove the key", GIT_EDITOR="true")
    assert_no_full_token(result.stdout, tok, other)
    assert result.returncode == 0, result.stdout
    assert clone.rev("HEAD^") == before


# --- the server: pre-receive --------------------------------------------------------------


def server_key_in_file(c: Clone, rng: random.Random) -> Push:
    tok = tokens.api_token(rng)
    text = c.write("s.py", f"k = '{tok}'\n")
    commit = c.commit("key")
    c.write("s.py", "k = None\n")
    c.commit("no key")
    return Push(("main",), [c.in_file("s.py", text, tok, commit)], planted=(tok,))


def server_allow_for_another_key(c: Clone, rng: random.Random) -> Push:
    """An `[[allow]]` entry acknowledges only its own key."""
    tok, other = tokens.api_token(rng), tokens.api_token(rng)
    c.write("other.py", f"k = '{other}'\n")
    fingerprint = fingerprint_of(c, "other.py")
    (c.path / "other.py").unlink()
    c.write(CONFIG, f'[[allow]]\nfingerprint = "{fingerprint}"\nreason = "revoked"\n')
    text = c.write("s.py", f"k = '{tok}'\n")
    commit = c.commit("key")
    return Push(("main",), [c.in_file("s.py", text, tok, commit)], planted=(tok, other))


def fingerprint_of(c: Clone, path: str) -> str:
    """What `scan --format json` gives as the fingerprint of the one key in `path`."""
    scanned = run_cli("scan", "--format", "json", path, cwd=c.path)
    assert scanned.returncode == 1, scanned.stderr
    (finding,) = json.loads(scanned.stdout)["findings"]
    fingerprint: str = finding["fingerprint"]
    return fingerprint


SERVER_REFUSED_ROWS = [
    ("key-in-new-commit", server_key_in_file),
    ("key-in-commit-message", key_in_commit_message),
    ("key-in-tag-message-on-known-commit", key_in_tag_message_on_pushed_commit),
    ("key-in-tag-message-on-new-commit", key_in_tag_message("--follow-tags", "main")),
    ("two-refs-second-carries-key", several_refs("main", "feature")),
    ("plumbing-orphan", plumbing(orphan=True)),
    ("allow-entry-for-another-key", server_allow_for_another_key),
]
SERVER_TAGGED_OBJECTS = [pytest.param(scenario, id=name) for name, scenario in TAGGED_OBJECTS]


@pytest.mark.parametrize(
    "scenario",
    [*(pytest.param(s, id=name) for name, s in SERVER_REFUSED_ROWS), *SERVER_TAGGED_OBJECTS],
)
def test_server_refuses_a_push_carrying_a_key(
    server: Clone, scenario: Scenario, rng: random.Random
) -> None:
    push = scenario(server, rng)
    before = server.remote_refs()
    check(server, push, server.push(*push.args), before)


def server_clean(c: Clone, rng: random.Random) -> Push:
    return clean_commit(c, rng)


def server_branch_deletion(c: Clone, rng: random.Random) -> Push:
    return Push(("--delete", "old"), moves={"refs/heads/old": None})


def server_tag_deletion(c: Clone, rng: random.Random) -> Push:
    return Push(("--delete", "refs/tags/v0"), moves={"refs/tags/v0": None})


def server_new_branch_at_known_commit(c: Clone, rng: random.Random) -> Push:
    """The server's `legacy` branch carries a key from before the hook: a new name for it
    brings nothing new."""
    commit = c.rev("origin/legacy")
    return Push(
        (f"{commit}:refs/heads/again", "main:refs/heads/release"),
        moves={"refs/heads/again": commit, "refs/heads/release": c.rev("main")},
    )


def server_new_tag_at_known_commit(c: Clone, rng: random.Random) -> Push:
    c.git("tag", "v9", "origin/legacy")
    return Push(("v9",), moves={"refs/tags/v9": c.rev("origin/legacy")})


def server_allowed_in_pushed_config(c: Clone, rng: random.Random) -> Push:
    tok = tokens.api_token(rng)
    c.write("s.py", f"k = '{tok}'\n")
    fingerprint = fingerprint_of(c, "s.py")
    c.write(CONFIG, f'[[allow]]\nfingerprint = "{fingerprint}"\nreason = "revoked test key"\n')
    commit = c.commit("a revoked key, acknowledged")
    return Push(("main",), moves={"refs/heads/main": commit}, planted=(tok,))


def server_committed_baseline(c: Clone, rng: random.Random) -> Push:
    tok = tokens.api_token(rng)
    c.write("src/settings.py", settings(tok))
    c.write(CONFIG, f'baseline = "{BASELINE}"\n')
    _must(c.run(*CLI, "baseline", "create"), "baseline create")
    commit = c.commit("adopt notion-leakguard")
    return Push(("main",), moves={"refs/heads/main": commit}, planted=(tok,))


SERVER_PASSING_ROWS = [
    ("clean-commit", server_clean),
    ("clean-commit-and-tag", clean_commit_and_tag),
    ("branch-deletion", server_branch_deletion),
    ("tag-deletion", server_tag_deletion),
    ("new-branches-at-known-commits", server_new_branch_at_known_commit),
    ("new-tag-at-known-commit", server_new_tag_at_known_commit),
    ("allowed-by-pushed-config", server_allowed_in_pushed_config),
    ("committed-baseline", server_committed_baseline),
]


@pytest.mark.parametrize("scenario", [pytest.param(s, id=name) for name, s in SERVER_PASSING_ROWS])
def test_server_accepts_a_push_without_a_new_key(
    server: Clone, scenario: Scenario, rng: random.Random
) -> None:
    push = scenario(server, rng)
    before = server.remote_refs()
    result = server.push(*push.args)
    check(server, push, result, before)
    if "--delete" not in push.args:
        assert "remote: No Notion credentials found" in result.stdout, result.stdout


# --- scan --history on messages -----------------------------------------------------------


def history_json(
    cwd: Path, *args: str, planted: Sequence[str]
) -> tuple[int, list[dict[str, object]]]:
    result = run_cli("scan", "--history", "--quiet", "--format", "json", *args, cwd=cwd)
    for tok in planted:
        assert tok not in result.stdout + result.stderr
    assert_no_full_token(result.stdout + result.stderr)
    findings: list[dict[str, object]] = json.loads(result.stdout)["findings"]
    return result.returncode, findings


def commit_all(repo: Path, message: str) -> str:
    git("add", "-A", cwd=repo)
    git("commit", "-q", "--no-verify", "--allow-empty", "-m", message, cwd=repo)
    return git("rev-parse", "HEAD", cwd=repo).strip()


@pytest.mark.parametrize("args", [(), ("--all-refs",)], ids=["HEAD", "all-refs"])
def test_history_reports_a_key_only_in_a_commit_message_once(
    in_git_dir: Path, rng: random.Random, args: tuple[str, ...]
) -> None:
    """Once for the key, at the first commit (oldest first) whose message holds it."""
    tok = tokens.api_token(rng)
    (in_git_dir / "app.py").write_text(CLEAN_SETTINGS)
    commit_all(in_git_dir, "initial")
    message = f"try the API\n\ncurl -H 'Authorization: Bearer {tok}'"
    carrier = commit_all(in_git_dir, message)
    git("branch", "side", cwd=in_git_dir)  # reachable from two refs
    git("tag", "-a", "v1", "-m", "release 1", cwd=in_git_dir)
    commit_all(in_git_dir, f"Revert the API try\n\nIt used {tok}")  # the same key again

    code, findings = history_json(in_git_dir, *args, planted=[tok])

    assert code == 1
    ((line, column),) = tokens.positions(message + "\n", tok)
    assert [
        (f["rule"], f["path"], f["line"], f["column"], f["preview"], f.get("kind"))
        for f in findings
    ] == [(API, "commit message", line, column, tokens.preview(tok), "commit message")]
    commit = findings[0]["commit"]
    assert isinstance(commit, dict) and commit["sha"] == carrier


def test_history_reports_a_key_in_an_annotated_tag_message(
    in_git_dir: Path, rng: random.Random
) -> None:
    tok = tokens.legacy_token(rng)
    (in_git_dir / "app.py").write_text(CLEAN_SETTINGS)
    commit_all(in_git_dir, "initial")
    message = f"release 1\n\nverified against the workspace with {tok}\n"
    git("tag", "-a", "v1", "-m", message, cwd=in_git_dir)
    tag = git("rev-parse", "refs/tags/v1", cwd=in_git_dir).strip()
    commit_all(in_git_dir, "later")

    code, findings = history_json(in_git_dir, "--all-refs", planted=[tok])

    assert code == 1
    ((line, column),) = tokens.positions(message, tok)
    assert [
        (f["rule"], f["path"], f["line"], f["column"], f["preview"], f.get("kind"))
        for f in findings
    ] == [(LEGACY, "tag message (v1)", line, column, tokens.preview(tok), "tag message")]
    origin = findings[0]["commit"]
    assert isinstance(origin, dict) and origin["sha"] == tag
