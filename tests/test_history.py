"""`notion-leakguard scan --history` on repositories built here with real git: which commit
brought each token in, whether HEAD still holds it, and the awkward repositories (shallow,
bare, empty, submodules, packed refs, merges, renames, huge and encoded blobs)."""

from __future__ import annotations

import base64
import json
import os
import pty
import random
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests import tokens
from tests.conftest import CLI, FIXTURES, git, invoke, run_cli

API = "notion-api-token"
LEGACY = "notion-legacy-token"
MIB = 1 << 20


# --- helpers ------------------------------------------------------------------------------


def write(root: Path, relative: str, data: str | bytes) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def commit(
    root: Path, message: str, *, author: str = "Test", date: str = "2021-01-01T00:00:00+0000"
) -> str:
    """Stage everything and commit with a fixed author and date; the new commit's sha."""
    git("add", "-A", cwd=root)
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": author,
        "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_DATE": date,
    }
    subprocess.run(
        ["git", "commit", "-q", "--no-verify", "--allow-empty", "-m", message],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
    )
    return rev(root, "HEAD")


def rev(root: Path, name: str) -> str:
    return git("rev-parse", "--verify", name, cwd=root).strip()


def iso(root: Path, sha: str) -> str:
    """The author date git itself prints in strict ISO 8601."""
    return git("log", "-1", "--format=%aI", sha, cwd=root).strip()


def history(
    cwd: Path, *args: str, secrets: tuple[str, ...] = (), env: dict[str, str] | None = None
) -> tuple[int, dict[str, Any], str]:
    """Run `scan --history --format json ARGS`: exit code, parsed report, stderr."""
    result = invoke("scan", "--history", "--format", "json", *args, cwd=cwd, env=env)
    assert "Traceback" not in result.stderr, result.stderr
    for secret in secrets:
        assert secret not in result.stdout and secret not in result.stderr
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout), result.stderr


def where(
    tok: str,
    path: str,
    text: str,
    sha: str,
    author: str,
    date: str,
    at_head: bool,
    *,
    rule: str = API,
    encoding: str = "plain",
    occurrence: int = 0,
) -> tuple[Any, ...]:
    line, column = tokens.positions(text, tok)[occurrence]
    return (
        rule,
        path,
        line,
        column,
        tokens.preview(tok),
        encoding,
        (sha, author, date, path, at_head),
    )


def found(findings: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What each finding says, sorted as the report sorts (path, line, column, rule)."""
    got = []
    for f in findings:
        c = f["commit"]
        assert set(c) == {"sha", "author", "date", "path", "present_at_head"}
        got.append(
            (
                f["rule"],
                f["path"],
                f["line"],
                f["column"],
                f["preview"],
                f["encoding"],
                (c["sha"], c["author"], c["date"], c["path"], c["present_at_head"]),
            )
        )
    return got


def ordered(*expected: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    return sorted(expected, key=lambda e: (e[1], e[2], e[3], e[0]))


def notes(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("notion-leakguard: note: ")]


def flat(text: str) -> str:
    return " ".join(text.split())


# --- 1. added, then removed -----------------------------------------------------------------


def test_a_token_removed_later_is_attributed_to_the_commit_that_added_it(
    in_git_dir: Path, rng: random.Random
) -> None:
    repo = in_git_dir
    removed, kept = tokens.api_token(rng), tokens.legacy_token(rng)
    app_v1 = f"import os\n\nclient = Client(auth='{removed}')\n"
    write(repo, "README.md", "hello\n")
    write(repo, "src/app.py", app_v1)
    first = commit(repo, "add client", author="Ada Lovelace", date="2021-03-04T05:06:07+0200")
    write(repo, "src/app.py", "import os\n\nclient = Client(auth=os.environ['NOTION'])\n")
    settings = f"# settings\n\n\nLEGACY = '{kept}'\n"
    write(repo, "conf/settings.py", settings)
    second = commit(repo, "move key", author="Bob", date="2021-03-05T10:00:00-0500")
    write(repo, "README.md", "hello again\n")
    commit(repo, "docs", author="Carol", date="2021-03-06T00:00:00+0000")

    code, report, stderr = history(repo, secrets=(removed, kept))
    assert code == 1
    assert stderr == ""
    assert iso(repo, first) == "2021-03-04T05:06:07+02:00"
    assert found(report["findings"]) == ordered(
        where(removed, "src/app.py", app_v1, first, "Ada Lovelace", iso(repo, first), False),
        where(
            kept, "conf/settings.py", settings, second, "Bob", iso(repo, second), True, rule=LEGACY
        ),
    )
    assert report["suppressed"] == []


def test_a_clean_history_exits_0(in_git_dir: Path) -> None:
    write(in_git_dir, "a.txt", "nothing here\n")
    commit(in_git_dir, "one")
    write(in_git_dir, "a.txt", "still nothing\n")
    commit(in_git_dir, "two")
    code, report, stderr = history(in_git_dir)
    assert (code, report["findings"], stderr) == (0, [], "")


def test_a_token_re_added_later_is_reported_once_at_its_first_commit(
    in_git_dir: Path, rng: random.Random
) -> None:
    repo = in_git_dir
    tok = tokens.api_token(rng)
    text = f"TOKEN={tok}\n"
    write(repo, "a.cfg", text)
    first = commit(repo, "add", author="Ada", date="2021-01-01T00:00:00+0000")
    write(repo, "a.cfg", "TOKEN=\n")
    commit(repo, "remove", date="2021-01-02T00:00:00+0000")
    write(repo, "other/b.cfg", f"# again\nTOKEN={tok}\n")  # a different blob, same token
    write(repo, "a.cfg", text)  # the very same blob again
    commit(repo, "re-add", date="2021-01-03T00:00:00+0000")

    code, report, _ = history(repo, secrets=(tok,))
    assert code == 1
    assert found(report["findings"]) == [
        where(tok, "a.cfg", text, first, "Ada", iso(repo, first), True)
    ]


def test_empty_blobs_symlinks_and_odd_names_do_not_disturb_the_stream(
    in_git_dir: Path, rng: random.Random
) -> None:
    """Empty files, a symlink and a file name with spaces and non-ASCII letters go through
    the same `cat-file --batch` stream as the rest; the findings after them stay right."""
    repo = in_git_dir
    toks = [tokens.api_token(rng) for _ in range(3)]
    write(repo, "0-empty", "")
    write(repo, "1-also-empty.txt", "")
    os.symlink("0-empty", repo / "2-link")
    name = "docs/naïve notes ü.txt"
    texts = {name: f"x\n  {toks[0]}\n", "9-last.txt": f"{toks[1]}\n", "5-mid.txt": f"\n\n{toks[2]}"}
    for path, text in texts.items():
        write(repo, path, text)
    sha = commit(repo, "many")
    code, report, _ = history(repo, secrets=tuple(toks))
    assert code == 1
    assert found(report["findings"]) == ordered(
        *(
            where(tok, path, texts[path], sha, "Test", iso(repo, sha), True)
            for tok, path in zip(toks, texts)
        )
    )


def test_from_a_subdirectory_paths_start_at_the_repository_root(
    in_git_dir: Path, rng: random.Random
) -> None:
    repo = in_git_dir
    tok = tokens.api_token(rng)
    text = f"k = '{tok}'\n"
    write(repo, "pkg/sub/mod.py", text)
    sha = commit(repo, "add")
    code, report, _ = history(repo / "pkg" / "sub", secrets=(tok,))
    assert code == 1
    assert found(report["findings"]) == [
        where(tok, "pkg/sub/mod.py", text, sha, "Test", iso(repo, sha), True)
    ]


def test_option_misuse_is_a_usage_error(in_git_dir: Path) -> None:
    write(in_git_dir, "a", "a\n")
    commit(in_git_dir, "a")
    for args in (("scan", "--history", "--staged"), ("scan", "--all-refs")):
        result = invoke(*args, cwd=in_git_dir)
        assert result.returncode == 2
        assert "Traceback" not in result.stderr
        assert "Error:" in result.stderr


# --- 2. branches, --all-refs, ranges --------------------------------------------------------


def _two_branches(repo: Path, rng: random.Random, *, feature_older: bool) -> dict[str, Any]:
    """main and feature fork from `base`; both commit the same token (in different files),
    feature also one of its own. The older of the two commits has the smaller date."""
    shared, only_feature = tokens.api_token(rng), tokens.legacy_token(rng)
    older, newer = "2022-01-02T00:00:00+0000", "2022-01-03T00:00:00+0000"
    write(repo, "base.txt", "base\n")
    base = commit(repo, "base", date="2022-01-01T00:00:00+0000")
    git("checkout", "-q", "-b", "feature", cwd=repo)
    feature_text = f"# feature\nshared = '{shared}'\nown = '{only_feature}'\n"
    write(repo, "feature.py", feature_text)
    feature = commit(repo, "F", author="Fiona", date=older if feature_older else newer)
    git("checkout", "-q", "main", cwd=repo)
    main_text = f"shared: {shared}\n"
    write(repo, "main.yml", main_text)
    main = commit(repo, "M", author="Max", date=newer if feature_older else older)
    return {
        "shared": shared,
        "only_feature": only_feature,
        "base": base,
        "feature": feature,
        "main": main,
        "at_feature": where(
            shared, "feature.py", feature_text, feature, "Fiona", iso(repo, feature), True
        ),
        "at_main": where(shared, "main.yml", main_text, main, "Max", iso(repo, main), True),
        "own": where(
            only_feature,
            "feature.py",
            feature_text,
            feature,
            "Fiona",
            iso(repo, feature),
            False,
            rule=LEGACY,
        ),
    }


@pytest.mark.parametrize("feature_older", [True, False], ids=["feature-older", "main-older"])
def test_all_refs_reports_a_token_on_two_branches_once_at_the_older_commit(
    in_git_dir: Path, rng: random.Random, feature_older: bool
) -> None:
    b = _two_branches(in_git_dir, rng, feature_older=feature_older)
    code, report, stderr = history(
        in_git_dir, "--all-refs", secrets=(b["shared"], b["only_feature"])
    )
    assert (code, stderr) == (1, "")
    oldest = b["at_feature"] if feature_older else b["at_main"]
    assert found(report["findings"]) == ordered(oldest, b["own"])


def test_without_all_refs_only_the_history_of_head_is_scanned(
    in_git_dir: Path, rng: random.Random
) -> None:
    b = _two_branches(in_git_dir, rng, feature_older=True)
    code, report, _ = history(in_git_dir, secrets=(b["shared"], b["only_feature"]))
    assert code == 1
    # The feature commit is older, but not in HEAD's history; its own token is not reported.
    assert found(report["findings"]) == [b["at_main"]]


def test_a_revision_range_limits_the_scan(in_git_dir: Path, rng: random.Random) -> None:
    b = _two_branches(in_git_dir, rng, feature_older=True)
    secrets = (b["shared"], b["only_feature"])
    code, report, _ = history(in_git_dir, "main..feature", secrets=secrets)
    assert code == 1
    assert found(report["findings"]) == ordered(b["at_feature"], b["own"])
    code, report, _ = history(in_git_dir, f"{b['main']}..main", secrets=secrets)
    assert (code, report["findings"]) == (0, [])
    code, report, _ = history(in_git_dir, f"{b['base']}..main", secrets=secrets)
    assert (code, found(report["findings"])) == (1, [b["at_main"]])
    # Two revisions together: the union, each token once, at the older commit.
    code, report, _ = history(in_git_dir, "feature", "main", secrets=secrets)
    assert (code, found(report["findings"])) == (1, ordered(b["at_feature"], b["own"]))


def test_a_bad_revision_is_a_clear_error(in_git_dir: Path) -> None:
    write(in_git_dir, "a", "a\n")
    commit(in_git_dir, "a")
    result = invoke("scan", "--history", "no-such-branch", cwd=in_git_dir)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("notion-leakguard: error: ")
    assert "no-such-branch" in result.stderr


# --- 3. renames -----------------------------------------------------------------------------


def test_a_renamed_file_is_reported_once_at_the_original_commit_and_path(
    in_git_dir: Path, rng: random.Random
) -> None:
    repo = in_git_dir
    tok = tokens.api_token(rng)
    original = f"# config\nNOTION_TOKEN = '{tok}'\n"
    write(repo, "old/config.py", original)
    first = commit(repo, "add", author="Ada", date="2021-05-01T12:00:00+0000")
    (repo / "new").mkdir()
    git("mv", "old/config.py", "new/settings.py", cwd=repo)
    commit(repo, "rename", date="2021-05-02T12:00:00+0000")
    write(repo, "new/settings.py", "# moved\n\n\n" + original)  # the token moves down too
    commit(repo, "edit", date="2021-05-03T12:00:00+0000")

    code, report, _ = history(repo, secrets=(tok,))
    assert code == 1
    assert found(report["findings"]) == [
        where(tok, "old/config.py", original, first, "Ada", iso(repo, first), True)
    ]


# --- 4. merges ------------------------------------------------------------------------------


def test_a_token_written_while_resolving_a_merge_conflict_is_attributed_to_the_merge(
    in_git_dir: Path, rng: random.Random
) -> None:
    repo = in_git_dir
    resolved_tok, branch_tok = tokens.api_token(rng), tokens.api_token(rng)
    write(repo, "conf.txt", "header\nvalue = 1\n")
    commit(repo, "base", date="2021-01-01T00:00:00+0000")
    git("checkout", "-q", "-b", "topic", cwd=repo)
    write(repo, "conf.txt", "header\nvalue = 2\n")
    commit(repo, "topic value", date="2021-01-02T00:00:00+0000")
    git("checkout", "-q", "-b", "side", "main", cwd=repo)
    side_text = f"side = {branch_tok}\n"
    write(repo, "side.txt", side_text)
    side = commit(repo, "side", author="Sid", date="2021-01-02T12:00:00+0000")
    git("checkout", "-q", "main", cwd=repo)
    write(repo, "conf.txt", "header\nvalue = 3\n")
    commit(repo, "main value", date="2021-01-03T00:00:00+0000")

    conflict = subprocess.run(
        ["git", "merge", "-q", "--no-edit", "topic"], cwd=repo, capture_output=True, text=True
    )
    assert conflict.returncode != 0 and "CONFLICT" in conflict.stdout + conflict.stderr
    resolution = f"header\nvalue = {resolved_tok}\n"
    write(repo, "conf.txt", resolution)
    merge = commit(repo, "merge topic", author="Mia", date="2021-01-04T00:00:00+0000")
    assert git("rev-list", "--parents", "-n1", "HEAD", cwd=repo).split()[0] == merge
    assert len(git("rev-list", "--parents", "-n1", "HEAD", cwd=repo).split()) == 3
    # A clean merge of another branch: its token stays with the branch's commit.
    git("-c", "user.name=Test", "merge", "-q", "--no-ff", "--no-edit", "side", cwd=repo)

    code, report, _ = history(repo, secrets=(resolved_tok, branch_tok))
    assert code == 1
    assert found(report["findings"]) == ordered(
        where(resolved_tok, "conf.txt", resolution, merge, "Mia", iso(repo, merge), True),
        where(branch_tok, "side.txt", side_text, side, "Sid", iso(repo, side), True),
    )


# --- 5. shallow, submodules, packed refs, empty, bare, not a repository ---------------------


def _linear(repo: Path, rng: random.Random) -> dict[str, Any]:
    """c1 adds old.txt (token A); c2 drops it and adds b.txt (token B); c3 removes token B
    and adds c.txt (token C)."""
    a, b, c = tokens.api_token(rng), tokens.api_token(rng), tokens.legacy_token(rng)
    write(repo, "old.txt", f"{a}\n")
    c1 = commit(repo, "c1", author="One", date="2021-01-01T00:00:00+0000")
    (repo / "old.txt").unlink()
    b_text = f"b\n{b}\n"
    write(repo, "b.txt", b_text)
    c2 = commit(repo, "c2", author="Two", date="2021-01-02T00:00:00+0000")
    write(repo, "b.txt", "b\n")
    c_text = f"c = {c}\n"
    write(repo, "c.txt", c_text)
    c3 = commit(repo, "c3", author="Three", date="2021-01-03T00:00:00+0000")
    return {
        "secrets": (a, b, c),
        "A": where(a, "old.txt", f"{a}\n", c1, "One", "2021-01-01T00:00:00+00:00", False),
        "B": where(b, "b.txt", b_text, c2, "Two", "2021-01-02T00:00:00+00:00", False),
        "C": where(c, "c.txt", c_text, c3, "Three", "2021-01-03T00:00:00+00:00", True, rule=LEGACY),
    }


@pytest.mark.parametrize("depth", [1, 2])
def test_a_shallow_clone_is_scanned_as_far_as_it_goes_with_a_note(
    in_git_dir: Path, tmp_path: Path, rng: random.Random, depth: int
) -> None:
    made = _linear(in_git_dir, rng)
    clone = tmp_path / "shallow"
    git("clone", "-q", "--depth", str(depth), in_git_dir.as_uri(), str(clone), cwd=tmp_path)
    assert git("rev-parse", "--is-shallow-repository", cwd=clone).strip() == "true"

    code, report, stderr = history(clone, secrets=made["secrets"])
    assert code == 1
    expected = [made["C"]] if depth == 1 else [made["B"], made["C"]]
    assert found(report["findings"]) == ordered(*expected)
    assert notes(stderr) == [
        "notion-leakguard: note: shallow clone: commits before the shallow boundary were not "
        "scanned (git fetch --unshallow, then scan again)"
    ]
    assert stderr.splitlines() == notes(stderr)


def test_submodules_are_skipped_with_a_note(
    in_git_dir: Path, tmp_path: Path, rng: random.Random
) -> None:
    inner_tok, outer_tok = tokens.api_token(rng), tokens.api_token(rng)
    sub = tmp_path / "sub"
    sub.mkdir()
    git("init", "-q", "-b", "main", cwd=sub)
    write(sub, "inner.txt", f"{inner_tok}\n")
    commit(sub, "inner")
    repo = in_git_dir
    write(repo, "top.txt", "top\n")
    commit(repo, "top")
    git(
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        str(sub),
        "vendor/sub",
        cwd=repo,
    )
    outer_text = f"outer {outer_tok}\n"
    write(repo, "outer.txt", outer_text)
    sha = commit(repo, "add submodule")
    assert "160000 commit" in git("ls-tree", "HEAD", "vendor/sub", cwd=repo)

    code, report, stderr = history(repo, secrets=(inner_tok, outer_tok))
    assert code == 1
    assert found(report["findings"]) == [
        where(outer_tok, "outer.txt", outer_text, sha, "Test", iso(repo, sha), True)
    ]
    assert notes(stderr) == [
        "notion-leakguard: note: 1 submodule change(s) skipped: scan each submodule on its own"
    ]
    assert stderr.splitlines() == notes(stderr)


def test_packed_refs_and_a_gc_change_nothing(in_git_dir: Path, rng: random.Random) -> None:
    repo = in_git_dir
    made = _linear(repo, rng)
    git("tag", "-a", "-m", "v1", "v1", "HEAD~1", cwd=repo)
    git("branch", "old", "HEAD~2", cwd=repo)
    before = [history(repo, *args, secrets=made["secrets"]) for args in ((), ("v1",), ("old",))]
    git("pack-refs", "--all", cwd=repo)
    git("gc", "-q", "--prune=now", cwd=repo)
    assert (repo / ".git" / "packed-refs").exists()
    assert not (repo / ".git" / "refs" / "heads" / "main").exists()
    assert not (repo / ".git" / "refs" / "tags" / "v1").exists()
    assert list((repo / ".git" / "objects" / "pack").glob("*.pack"))
    after = [history(repo, *args, secrets=made["secrets"]) for args in ((), ("v1",), ("old",))]
    assert after == before
    assert [found(report["findings"]) for _, report, _ in after] == [
        ordered(made["A"], made["B"], made["C"]),
        ordered(made["A"], made["B"]),
        [made["A"]],
    ]


def test_packed_refs_with_all_refs(in_git_dir: Path, rng: random.Random) -> None:
    repo = in_git_dir
    tok = tokens.api_token(rng)
    write(repo, "a.txt", "a\n")
    commit(repo, "a")
    git("checkout", "-q", "--orphan", "orphan", cwd=repo)
    text = f"{tok}\n"
    write(repo, "a.txt", text)
    sha = commit(repo, "orphan")
    git("tag", "only-here", cwd=repo)
    git("checkout", "-q", "main", cwd=repo)
    git("branch", "-D", "-q", "orphan", cwd=repo)  # reachable from the tag alone
    git("pack-refs", "--all", cwd=repo)
    git("gc", "-q", cwd=repo)
    code, report, _ = history(repo, "--all-refs", secrets=(tok,))
    assert code == 1
    assert found(report["findings"]) == [
        where(tok, "a.txt", text, sha, "Test", iso(repo, sha), False)
    ]


def test_an_empty_repository_exits_0_with_a_note(in_git_dir: Path) -> None:
    code, report, stderr = history(in_git_dir)
    assert (code, report["findings"]) == (0, [])
    assert stderr == "notion-leakguard: note: no commits yet: there is no history to scan\n"


def test_an_empty_repository_with_all_refs_exits_0(in_git_dir: Path) -> None:
    code, report, _ = history(in_git_dir, "--all-refs")
    assert (code, report["findings"]) == (0, [])


def test_a_bare_repository_works_from_inside(
    in_git_dir: Path, tmp_path: Path, rng: random.Random
) -> None:
    made = _linear(in_git_dir, rng)
    bare = tmp_path / "bare.git"
    git("clone", "-q", "--bare", str(in_git_dir), str(bare), cwd=tmp_path)
    code, report, stderr = history(bare, secrets=made["secrets"])
    assert (code, stderr) == (1, "")
    assert found(report["findings"]) == ordered(made["A"], made["B"], made["C"])
    code, report, _ = history(bare, "HEAD~1..HEAD", secrets=made["secrets"])
    assert found(report["findings"]) == [made["C"]]


@pytest.mark.parametrize("args", [(), ("--all-refs",), ("HEAD~1..HEAD",)], ids=str)
def test_outside_a_repository_exit_2_with_a_clear_message(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    outside = tmp_path / "plain"
    outside.mkdir()
    result = invoke(
        "scan", "--history", *args, cwd=outside, env={"GIT_CEILING_DIRECTORIES": str(tmp_path)}
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("notion-leakguard: error: ")
    assert "not" in result.stderr and "git repository" in result.stderr
    assert len(result.stderr.splitlines()) == 1


# --- 6. huge blobs --------------------------------------------------------------------------


def test_a_huge_blob_is_scanned_in_blocks_with_the_right_lines(
    in_git_dir: Path, rng: random.Random
) -> None:
    repo = in_git_dir
    across, late = tokens.api_token(rng), tokens.legacy_token(rng)
    filler = "".join(f"{i:08d} " + "abcdefgh" * 7 + "\n" for i in range(90_000))  # 5.8 MB
    cut = MIB - 21  # the token straddles the first 1 MiB block edge
    tail = len(filler) - 300
    text = filler[: cut - 1] + " " + across + "\n" + filler[cut:tail]
    text += f"\nkey: {late}\n" + filler[tail:]
    assert text.index(across) < MIB < text.index(across) + len(across)
    assert len(text) > 5 * MIB
    write(repo, "data/huge.txt", text)
    sha = commit(repo, "huge", author="Hugo")
    (repo / "data" / "huge.txt").unlink()
    commit(repo, "drop it")

    code, report, _ = history(repo, secrets=(across, late))
    assert code == 1
    assert found(report["findings"]) == ordered(
        where(across, "data/huge.txt", text, sha, "Hugo", iso(repo, sha), False),
        where(late, "data/huge.txt", text, sha, "Hugo", iso(repo, sha), False, rule=LEGACY),
    )
    assert found(report["findings"])[0][2] == tokens.positions(text, across)[0][0] > 10_000


# --- 7. binary, UTF-16, base64 --------------------------------------------------------------


def test_binary_utf16_and_base64_blobs(in_git_dir: Path, rng: random.Random) -> None:
    repo = in_git_dir
    in_binary, in_utf16, in_base64 = (
        tokens.api_token(rng),
        tokens.legacy_token(rng),
        tokens.api_token(rng),
    )
    binary = b"SQLite format 3\x00" + bytes(range(256)) + b"\n\x00" + in_binary.encode() + b"\x00"
    write(repo, "db.sqlite", binary)
    utf16_text = f"[settings]\r\nname = x\r\nkey = {in_utf16}\r\n"
    write(repo, "settings.ini", utf16_text.encode("utf-16"))
    encoded = base64.b64encode(in_base64.encode() + b"\n").decode()
    b64_text = f"apiVersion: v1\nkind: Secret\ndata:\n  token: {encoded}\n"
    write(repo, "k8s/secret.yaml", b64_text)
    sha = commit(repo, "encoded", author="Enc")
    for path in ("db.sqlite", "settings.ini", "k8s/secret.yaml"):
        (repo / path).unlink()
    commit(repo, "gone")

    code, report, _ = history(repo, secrets=(in_binary, in_utf16, in_base64, encoded))
    assert code == 1
    date = iso(repo, sha)
    binary_text = binary.decode("latin-1")
    b64_line, b64_col = tokens.positions(b64_text, encoded)[0]
    assert found(report["findings"]) == ordered(
        where(in_binary, "db.sqlite", binary_text, sha, "Enc", date, False),
        where(
            in_utf16,
            "settings.ini",
            utf16_text,
            sha,
            "Enc",
            date,
            False,
            rule=LEGACY,
            encoding="utf-16",
        ),
        (
            API,
            "k8s/secret.yaml",
            b64_line,
            b64_col,
            tokens.preview(in_base64),
            "base64",
            (sha, "Enc", date, "k8s/secret.yaml", False),
        ),
    )


# --- 8. report formats ----------------------------------------------------------------------


def test_text_report_names_the_commit_and_gives_history_advice(
    in_git_dir: Path, rng: random.Random
) -> None:
    repo = in_git_dir
    gone, kept = tokens.api_token(rng), tokens.api_token(rng)
    gone_text = f"\nauth = '{gone}'\n"
    write(repo, "app.py", gone_text)
    first = commit(repo, "one", author="Ada", date="2021-02-03T04:05:06+0000")
    kept_text = f"auth = '{kept}'\n"
    write(repo, "app.py", kept_text)
    second = commit(repo, "two", author="Bob", date="2021-02-04T04:05:06+0000")
    refs_before = git("rev-list", "--all", cwd=repo)
    for_each_before = git("for-each-ref", cwd=repo)
    status_before = git("status", "--porcelain", "--ignored", cwd=repo)

    result = invoke("scan", "--history", cwd=repo)
    assert result.returncode == 1
    assert result.stderr == ""
    assert gone not in result.stdout and kept not in result.stdout
    lines = result.stdout.splitlines()
    assert lines[:3] == [
        f"app.py:1:9: {API} {tokens.preview(kept)} "
        f"(commit {second[:12]}, Bob, 2021-02-04T04:05:06+00:00; still at HEAD)",
        f"app.py:2:9: {API} {tokens.preview(gone)} "
        f"(commit {first[:12]}, Ada, 2021-02-03T04:05:06+00:00; no longer at HEAD)",
        "2 Notion credentials found in 1 file.",
    ]
    advice = flat("\n".join(lines[3:]))
    assert "Rotate each key" in advice
    assert "Refresh" in advice
    assert "removing them from HEAD is not enough" in advice
    assert "git filter-repo" in advice
    assert "still at HEAD" in advice
    # Nothing was rewritten, nothing was written.
    assert git("rev-list", "--all", cwd=repo) == refs_before
    assert git("for-each-ref", cwd=repo) == for_each_before
    assert git("status", "--porcelain", "--ignored", cwd=repo) == status_before


def test_sarif_validates_and_carries_the_commit(in_git_dir: Path, rng: random.Random) -> None:
    repo = in_git_dir
    made = _linear(repo, rng)
    result = invoke("scan", "--history", "--format", "sarif", cwd=repo)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    for secret in made["secrets"]:
        assert secret not in result.stdout
    document = json.loads(result.stdout)
    schema = json.loads((FIXTURES / "sarif" / "sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(document)
    results = document["runs"][0]["results"]
    got = [
        (
            r["ruleId"],
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
            r["locations"][0]["physicalLocation"]["region"]["startColumn"],
            r["properties"]["commit"],
        )
        for r in results
    ]
    assert got == [
        (
            rule,
            path,
            line,
            column,
            {"sha": c[0], "author": c[1], "date": c[2], "path": c[3], "present_at_head": c[4]},
        )
        for rule, path, line, column, _preview, _encoding, c in ordered(
            made["A"], made["B"], made["C"]
        )
    ]
    # JSON and SARIF agree.
    _, report, _ = history(repo, secrets=made["secrets"])
    assert [r["properties"]["commit"] for r in results] == [f["commit"] for f in report["findings"]]


def test_output_file_gets_the_report(in_git_dir: Path, tmp_path: Path, rng: random.Random) -> None:
    made = _linear(in_git_dir, rng)
    out = tmp_path / "report.json"
    result = invoke("scan", "--history", "--format", "json", "--output", str(out), cwd=in_git_dir)
    summary = f"notion-leakguard: 3 Notion credentials found in 3 files. Report: {out}\n"
    assert (result.returncode, result.stdout, result.stderr) == (1, "", summary)
    assert found(json.loads(out.read_text())["findings"]) == ordered(
        made["A"], made["B"], made["C"]
    )


# --- 9. progress ----------------------------------------------------------------------------


def _run_with_tty_stderr(args: list[str], cwd: Path) -> tuple[int, str, str]:
    """The CLI with stderr on a pseudo-terminal (stdout a pipe): exit code, stdout, what the
    terminal showed."""
    master, slave = pty.openpty()
    shown: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: the other side is closed
                return
            if not data:
                return
            shown.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        process = subprocess.Popen(
            [*CLI, *args],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=slave,
        )
        os.close(slave)
        stdout, _ = process.communicate(timeout=120)
        reader.join(timeout=10)
    finally:
        os.close(master)
    return process.returncode, stdout.decode(), b"".join(shown).decode(errors="replace")


def test_progress_on_a_terminal_only_and_not_with_quiet(
    in_git_dir: Path, rng: random.Random
) -> None:
    made = _linear(in_git_dir, rng)
    code, stdout, terminal = _run_with_tty_stderr(["scan", "--history"], in_git_dir)
    assert code == 1
    assert "3 Notion credentials found" in stdout
    assert "commits," not in stdout and "MB/s" not in stdout
    assert re.search(r"\d+/\d+ commits, [\d.]+ MB, [\d.]+ MB/s, ETA \d+ s", terminal), terminal
    commits = len(git("rev-list", "HEAD", cwd=in_git_dir).split())
    assert terminal.count(f"{commits}/{commits} commits") == 1, terminal  # one final line
    assert not any(secret in terminal for secret in made["secrets"])

    code, stdout, terminal = _run_with_tty_stderr(["scan", "--history", "--quiet"], in_git_dir)
    assert code == 1
    assert "3 Notion credentials found" in stdout
    assert terminal == ""

    result = run_cli("scan", "--history", cwd=in_git_dir)  # stderr is a pipe
    assert (result.returncode, result.stderr) == (1, "")


def test_no_progress_when_stderr_is_not_a_terminal_only_notes(
    in_git_dir: Path, tmp_path: Path, rng: random.Random
) -> None:
    _linear(in_git_dir, rng)
    clone = tmp_path / "shallow"
    git("clone", "-q", "--depth", "1", in_git_dir.as_uri(), str(clone), cwd=tmp_path)
    result = invoke("scan", "--history", cwd=clone)
    assert result.returncode == 1
    assert result.stderr.splitlines() == notes(result.stderr) != []


# --- 10. baselines --------------------------------------------------------------------------


def test_a_baseline_acknowledges_a_history_finding_still_at_head(
    in_git_dir: Path, rng: random.Random
) -> None:
    repo = in_git_dir
    gone, kept = tokens.api_token(rng), tokens.api_token(rng)
    write(repo, "old.py", f"T = '{gone}'\n")
    commit(repo, "one", date="2021-01-01T00:00:00+0000")
    (repo / "old.py").unlink()
    kept_text = f"# known\nT = '{kept}'\n"
    write(repo, "src/known.py", kept_text)
    second = commit(repo, "two", author="Kim", date="2021-01-02T00:00:00+0000")

    created = invoke("baseline", "create", cwd=repo)
    assert created.returncode == 0, created.stderr
    baseline = json.loads((repo / ".notion-leakguard-baseline.json").read_text())
    assert [(e["rule"], e["path"]) for e in baseline["entries"]] == [(API, "src/known.py")]

    code, report, _ = history(
        repo, "--baseline", ".notion-leakguard-baseline.json", secrets=(gone, kept)
    )
    assert code == 1
    assert [f["preview"] for f in report["findings"]] == [tokens.preview(gone)]
    assert [f["commit"]["present_at_head"] for f in report["findings"]] == [False]
    assert [(f["preview"], f["reason"]) for f in report["suppressed"]] == [
        (tokens.preview(kept), "baseline")
    ]
    assert found(report["suppressed"]) == [
        where(kept, "src/known.py", kept_text, second, "Kim", iso(repo, second), True)
    ]
    text = invoke("scan", "--history", "--baseline", ".notion-leakguard-baseline.json", cwd=repo)
    assert "1 suppressed: 1 by the baseline" in text.stdout
    # --no-suppress brings it back.
    code, report, _ = history(
        repo,
        "--baseline",
        ".notion-leakguard-baseline.json",
        "--no-suppress",
        secrets=(gone, kept),
    )
    assert len(report["findings"]) == 2

    # Only the acknowledged token left in history: exit 0.
    git("checkout", "-q", "--orphan", "fresh", cwd=repo)
    git("rm", "-q", "-r", "--cached", ".", cwd=repo)
    commit(repo, "fresh start")
    code, report, _ = history(
        repo, "--baseline", ".notion-leakguard-baseline.json", secrets=(gone, kept)
    )
    assert (code, report["findings"], len(report["suppressed"])) == (0, [], 1)


def test_a_baseline_made_after_a_rename_acknowledges_the_token_still_at_head(
    in_git_dir: Path, rng: random.Random
) -> None:
    """The token is at HEAD under its new name, and the baseline (made from the working
    tree) names that path; the history finding names the path of the introducing commit.
    The token HEAD still holds was acknowledged: it must not fail the scan."""
    repo = in_git_dir
    tok = tokens.api_token(rng)
    write(repo, "before.py", f"T = '{tok}'\n")
    commit(repo, "add")
    git("mv", "before.py", "after.py", cwd=repo)
    commit(repo, "rename")
    assert invoke("baseline", "create", cwd=repo).returncode == 0
    code, report, _ = history(repo, "--baseline", ".notion-leakguard-baseline.json", secrets=(tok,))
    assert (code, report["findings"], len(report["suppressed"])) == (0, [], 1)


# --- 11. no process per commit --------------------------------------------------------------


def _fast_import(repo: Path, toks: dict[int, str], count: int) -> None:
    """`count` commits on main, each changing files; commit i adds toks[i] if there is one."""
    stream = []
    for i in range(1, count + 1):
        body = f"change {i}\n" + (f"key = {toks[i]}\n" if i in toks else "")
        data = body.encode()
        stream.append(
            f"commit refs/heads/main\n"
            f"author A{i} <a@example.com> {1_600_000_000 + i * 60} +0000\n"
            f"committer A{i} <a@example.com> {1_600_000_000 + i * 60} +0000\n"
            f"data 2\nc\n"
            + f"M 100644 inline dir{i % 7}/file{i % 13}.txt\ndata {len(data)}\n{body}\n"
        )
    subprocess.run(
        ["git", "fast-import", "--quiet"],
        cwd=repo,
        input="".join(stream).encode(),
        check=True,
        capture_output=True,
    )
    git("reset", "-q", "--hard", "main", cwd=repo)


def _strace_works() -> bool:
    if shutil.which("strace") is None:
        return False
    trial = ["strace", "-qq", "-e", "trace=execve", "-o", os.devnull, "true"]
    return subprocess.run(trial, capture_output=True).returncode == 0


def _git_execs_under_strace(repo: Path, log: Path) -> tuple[subprocess.CompletedProcess[str], int]:
    result = subprocess.run(
        [
            "strace",
            "-f",
            "-qq",
            "-e",
            "trace=execve",
            "-o",
            str(log),
            *CLI,
            "scan",
            "--history",
            "--format",
            "json",
        ],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    execs = [
        line
        for line in log.read_text().splitlines()
        if re.search(r'execve\("[^"]*/git", .*\) = 0$', line)
    ]
    return result, len(execs)


def _git_execs_with_a_shim(
    repo: Path, tmp_path: Path
) -> tuple[subprocess.CompletedProcess[str], int]:
    real = shutil.which("git")
    assert real is not None
    shim = tmp_path / "shim"
    shim.mkdir()
    log = tmp_path / "git-calls.log"
    (shim / "git").write_text(f'#!/bin/sh\necho "$*" >> "{log}"\nexec "{real}" "$@"\n')
    (shim / "git").chmod(0o755)
    result = run_cli(
        "scan",
        "--history",
        "--format",
        "json",
        cwd=repo,
        env={"PATH": f"{shim}{os.pathsep}{os.environ['PATH']}"},
    )
    return result, len(log.read_text().splitlines())


def test_two_hundred_commits_take_a_handful_of_git_processes(
    in_git_dir: Path, tmp_path: Path, rng: random.Random
) -> None:
    repo = in_git_dir
    toks = {17: tokens.api_token(rng), 150: tokens.api_token(rng)}
    _fast_import(repo, toks, 200)
    assert git("rev-list", "--count", "HEAD", cwd=repo).strip() == "200"

    if _strace_works():
        result, execs = _git_execs_under_strace(repo, tmp_path / "strace.log")
    else:
        result, execs = _git_execs_with_a_shim(repo, tmp_path)
    assert result.returncode == 1, result.stderr
    # rev-parse (3), rev-list, for-each-ref (annotated tags), ls-tree (HEAD's blobs),
    # diff-tree and cat-file: a history this short is read in one part
    assert 1 <= execs <= 8, execs
    report = json.loads(result.stdout)
    shas = git("rev-list", "--reverse", "HEAD", cwd=repo).split()
    got = {
        f["preview"]: (
            f["path"],
            f["line"],
            f["commit"]["sha"],
            f["commit"]["author"],
            f["commit"]["present_at_head"],
        )
        for f in report["findings"]
    }
    assert got == {
        tokens.preview(toks[17]): ("dir3/file4.txt", 2, shas[16], "A17", False),
        tokens.preview(toks[150]): ("dir3/file7.txt", 2, shas[149], "A150", True),
    }


# --- a whole history in parts ---------------------------------------------------------------


def _gitlink(repo: Path, path: str, number: int) -> None:
    """Stage a submodule commit at `path` (a gitlink; no submodule needs to exist)."""
    oid = f"{number:040x}"
    git("update-index", "--add", "--cacheinfo", f"160000,{oid},{path}", cwd=repo)


def _staged(repo: Path, message: str, *args: str) -> None:
    """Commit what is staged (`git add -A` would drop a gitlink without its directory)."""
    git("-c", "user.name=T", "-c", "user.email=t@e", "commit", "-q", *args, "-m", message, cwd=repo)


def _every_kind_of_commit(repo: Path) -> None:
    """Two roots, merges (one resolving a conflict, one keeping ours), an empty commit, a
    rename, a deletion, submodule changes, and names git would quote."""
    write(repo, "a.txt", "a\n")
    commit(repo, "root")
    git("checkout", "-q", "-b", "side", cwd=repo)
    write(repo, "a.txt", "side\n")
    write(repo, "new line\nname.txt", "odd\n")
    commit(repo, "side")
    git("checkout", "-q", "main", cwd=repo)
    write(repo, "a.txt", "main\n")
    git("add", "a.txt", cwd=repo)
    _gitlink(repo, "vendor/sub", 1)
    _staged(repo, "main")
    merged = subprocess.run(["git", "merge", "-q", "side"], cwd=repo, capture_output=True)
    assert merged.returncode == 1  # a conflict in a.txt
    write(repo, "a.txt", "resolved\n")
    git("add", "a.txt", cwd=repo)
    _staged(repo, "merge")
    _staged(repo, "empty", "--allow-empty")
    git("mv", "a.txt", "b.txt", cwd=repo)
    git("rm", "-q", "new line\nname.txt", cwd=repo)
    _gitlink(repo, "vendor/sub", 2)
    _staged(repo, "rename and delete")
    git("checkout", "-q", "--orphan", "other", cwd=repo)
    git("rm", "-rqf", ".", cwd=repo)
    write(repo, "other.txt", "other root\n")
    git("add", "other.txt", cwd=repo)
    _staged(repo, "another root")
    git("checkout", "-q", "side", cwd=repo)
    write(repo, "side.txt", "more\n")
    git("add", "side.txt", cwd=repo)
    _staged(repo, "side again")
    git("checkout", "-q", "main", cwd=repo)
    git("merge", "-q", "--allow-unrelated-histories", "other", "-m", "join", cwd=repo)
    git("merge", "-q", "-s", "ours", "side", "-m", "ours", cwd=repo)
    _gitlink(repo, "vendor/sub", 3)
    _staged(repo, "last")


def test_a_listing_is_cut_only_between_commits_whatever_names_look_like(
    in_git_dir: Path,
) -> None:
    from notion_leakguard import git as leakguard_git
    from notion_leakguard.sources import history as history_source

    repo = in_git_dir
    _every_kind_of_commit(repo)
    root, other = rev(repo, "HEAD~4"), rev(repo, "HEAD~5")
    # Names that look like a commit's header in the listing: a path, and an author.
    write(repo, f"\x01{other}", "a path like a header\n")
    write(repo, ":no record", "a path like a record\n")
    git("add", f"\x01{other}", ":(literal):no record", cwd=repo)
    # git commit would drop the \x01 that starts the author's name: an object made by hand.
    tree, head = git("write-tree", cwd=repo).strip(), rev(repo, "HEAD")
    made = f"tree {tree}\nparent {head}\nauthor \x01{root} <a@e> 1700000000 +0000\n"
    made += "committer T <t@e> 1700000000 +0000\n\nnames\n"
    oid = (
        subprocess.run(
            ["git", "hash-object", "-t", "commit", "-w", "--stdin", "--literally"],
            cwd=repo,
            input=made.encode(),
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .strip()
    )
    git("update-ref", "refs/heads/main", oid, cwd=repo)
    write(repo, "after.txt", "after\n")
    git("add", "after.txt", cwd=repo)
    _staged(repo, "after them")
    cwd = str(repo)
    whole = leakguard_git.log_raw(cwd, ["--end-of-options", "HEAD"])
    blobs, commits, submodules, _copies = history_source._parse_log(whole)
    assert submodules == 6 and len(commits) == 13  # merges list a gitlink per parent
    assert any(c.author == f"\x01{root}" for c in commits)
    # Wherever the listing received so far ends, a cut lands only where a commit starts
    # (its first listing, for a merge), found by reading the fields in order as the
    # parser does.
    starts, offset, fields, last_sha = set(), 0, whole.split(b"\0"), b""
    skip = 0
    for field in fields:
        if skip:
            skip -= 1
        elif field.startswith(b"\x01"):
            if field != last_sha:
                starts.add(offset + 1)  # (+1: a NUL is made up before the first field)
            last_sha, skip = field, 2
        elif field.lstrip(b"\n").startswith(b":"):
            skip = 1
        offset += len(field) + 1
    assert len(starts) == len(commits)
    listing = bytearray(b"\0" + whole)
    for stop in range(1, len(listing) + 1):
        at = history_source._last_commit(listing, stop)
        assert at == 0 or at in starts, (stop, at)
    for records in (1, 2, 5, -1):
        for size in (1, 7, 64, 4096, len(whole)):
            chunks = [whole[i : i + size] for i in range(0, len(whole), size)]
            shas: set[bytes] = set()
            pieces = list(history_source._cut(chunks, records, shas))
            assert b"".join(piece for piece, _count, _more in pieces) == whole
            assert [more for _piece, _count, more in pieces] == [True] * (len(pieces) - 1) + [False]
            assert {c.sha.encode() for c in commits} <= shas
            parsed = [history_source._parse_log(piece) for piece, _count, _more in pieces]
            # Each commit, with all it brought in, in one piece only (a merge's two
            # listings too), in order.
            assert [c for p in parsed for c in p[1]] == commits
            # (a later piece reads again a blob an earlier one brought in: a merge lists
            # what its second parent's side changed)
            assert {b.oid for p in parsed for b in p[0]} == {b.oid for b in blobs}
            assert sum(p[2] for p in parsed) == submodules
            # Commits are counted for progress only, by what looks like a header.
            counted = sum(count for _piece, count, _more in pieces)
            assert len(commits) <= counted <= whole.count(b"\0\x01") + 1
            if records == 1 and size == 1:  # a cut at each commit that surely is one
                assert len(pieces) >= len(commits) - 3
            if records == -1:
                assert len(pieces) == 1


def test_submodule_changes_of_all_parts_add_up_to_one_note(
    in_git_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from notion_leakguard.commands.scan import scan_history
    from notion_leakguard.sources import history as history_source

    repo = in_git_dir
    for number in range(16):
        write(repo, "n.txt", f"{number}\n")
        git("add", "n.txt", cwd=repo)
        if number % 4 == 1:
            _gitlink(repo, "vendor/sub", number)
        _staged(repo, f"commit {number}")
    monkeypatch.setattr(history_source.Parts, "records", 1)  # a part for each commit
    expected = ["4 submodule change(s) skipped: scan each submodule on its own"]
    for jobs in (1, 2):
        result = scan_history(str(repo), [], all_refs=False, jobs=jobs)
        assert [note.text for note in result.notes] == expected


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as listed:
            return [int(child) for child in listed.read().split()]
    except OSError:
        return []


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="reads /proc")
def test_ctrl_c_in_a_long_history_scan_leaves_no_process_behind(in_git_dir: Path) -> None:
    repo = in_git_dir
    rng = random.Random(11)
    stream = []
    for number in range(3000):  # a 30 KB file changed by every commit
        row = rng.randbytes(15_000).hex()
        text = "\n".join(row[i : i + 60] for i in range(0, len(row), 60)).encode()
        stream.append(
            f"commit refs/heads/main\ncommitter T <t@e> {1_600_000_000 + number} +0000\n"
            f"data 2\nc\nM 100644 inline f{number % 5}.txt\ndata {len(text)}\n".encode()
            + text
            + b"\n"
        )
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repo, input=b"".join(stream), check=True)
    process = subprocess.Popen(
        [*CLI, "scan", "--history", "--output", os.devnull],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # a process group of its own, as a terminal's job
    )
    deadline = time.monotonic() + 30
    # Interrupted while the workers read, one at least with its git cat-file.
    while not any(_children(worker) for worker in _children(process.pid)):
        assert process.poll() is None and time.monotonic() < deadline, "no workers seen"
        time.sleep(0.002)
    os.killpg(process.pid, signal.SIGINT)
    _out, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    assert err.decode().strip().endswith("notion-leakguard: interrupted")
    time.sleep(0.3)
    # Nothing of its session is left, not even a process waiting to be reaped.
    left = subprocess.run(
        ["ps", "-o", "pid=,stat=,args=", "-s", str(process.pid)], capture_output=True, text=True
    ).stdout.strip()
    assert left == ""


def test_progress_ends_at_the_number_of_commits_with_merges_and_in_parts(
    in_git_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from notion_leakguard.commands.scan import scan_history
    from notion_leakguard.sources import history as history_source

    repo = in_git_dir
    _every_kind_of_commit(repo)  # merges are listed once per parent
    commits = len(git("rev-list", "HEAD", cwd=repo).split())
    monkeypatch.setattr(history_source.Parts, "records", 2)
    for jobs in (1, 2):
        told: list[tuple[int, int, str]] = []

        def tell(done: int, total: int, _size: int, unit: str, told: list[Any] = told) -> None:
            told.append((done, total, unit))

        scan_history(str(repo), [], all_refs=False, jobs=jobs, progress=tell)
        assert told[-1] == (commits, commits, "commits")
        assert all(done <= total for done, total, _unit in told)


def test_cutting_a_commit_of_many_files_looks_at_each_byte_about_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A vendored tree in one commit comes in many chunks: the search for a place to cut
    must not start over from the piece's beginning at each (it took 9 s for 400,000
    files)."""
    from notion_leakguard.sources import history as history_source

    record = b":000000 100644 " + b"0" * 40 + b" " + b"1" * 40 + b" A\0"
    listing = b"\x01" + b"a" * 40 + b"\0A\0" + b"2021-01-01T00:00:00+00:00\0\n"
    listing += b"".join(record + f"vendor/file{n}.js\0".encode() for n in range(20_000))
    listing += b"\x01" + b"b" * 40 + b"\0B\0" + b"2021-01-01T00:00:00+00:00\0\n" + record
    listing += b"last.txt\0"
    searched: list[int] = []
    real = history_source._last_commit

    def counted(buffer: bytearray, stop: int, start: int = 1) -> int:
        searched.append(stop - start)
        return real(buffer, stop, start)

    monkeypatch.setattr(history_source, "_last_commit", counted)
    chunks = [listing[i : i + 8192] for i in range(0, len(listing), 8192)]
    pieces = list(history_source._cut(chunks, 10, set()))
    assert [count for _piece, count, _more in pieces] == [1, 1]
    assert b"".join(piece for piece, _count, _more in pieces) == listing
    assert len(searched) > 100 and sum(searched) < 2 * len(listing)


def test_a_missing_blob_brought_in_by_two_parts_is_reported_once() -> None:
    """Two parts of a history may each bring in the same blob (a file comes back): when
    the object store lacks it, both say so, and the scan reports it once."""
    from collections.abc import Callable, Iterator

    from notion_leakguard import pipeline
    from notion_leakguard.findings import Skipped

    missing = "ab" * 20

    class TwoParts:
        def prepare(self, meanwhile: Callable[[], object] | None = None) -> None:
            pass

        def parts(self, count: int) -> Iterator[tuple[int, bool]]:
            yield 0, True
            yield 1, False

        def read(self, part: int) -> Iterator[tuple[int, Skipped]]:
            yield part, Skipped(missing, "missing from the object store")

    for jobs in (1, 2):
        result = pipeline.scan_history(TwoParts(), root=".", jobs=jobs)
        assert result.unreadable == (missing,)
