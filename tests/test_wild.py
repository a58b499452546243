"""Repositories as they are in the wild: submodules cloned the ordinary way, objects missing
from the store. Real git, real clones."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from notion_leakguard.findings import ScanResult
from tests import tokens
from tests.conftest import git, run_main


def _commit(repo: Path, name: str, text: str, message: str = "add") -> None:
    (repo / name).write_text(text)
    git("add", name, cwd=repo)
    git("commit", "-q", "-m", message, cwd=repo)


def test_an_uninitialised_submodule_is_named_not_walked_forever(
    tmp_path: Path,
    rng: random.Random,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inner, outer = tmp_path / "inner", tmp_path / "outer"
    for repo in (inner, outer):
        repo.mkdir()
        git("init", "-q", "-b", "main", cwd=repo)
    tok = tokens.legacy_token(rng)
    _commit(inner, "k.py", f"K = '{tok}'\n")
    _commit(outer, "app.py", "x = 1\n")
    git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(inner), "sub", cwd=outer)
    git("commit", "-q", "-m", "submodule", cwd=outer)
    clone = tmp_path / "clone"
    git("clone", "-q", str(outer), str(clone), cwd=tmp_path)  # no --recurse-submodules
    assert list((clone / "sub").iterdir()) == []

    monkeypatch.chdir(clone)
    code, out, err = run_main(["scan", "."], cwd=Path.cwd())
    assert (code, out) == (0, "No Notion credentials found.\n")
    assert err == (
        "notion-leakguard: note: submodule sub is not checked out, so it was not scanned "
        "(git submodule update --init, then scan again)\n"
    )

    git("-c", "protocol.file.allow=always", "submodule", "update", "-q", "--init", cwd=clone)
    code, out, err = run_main(["scan", "."], cwd=Path.cwd())
    assert code == 1
    assert f"sub/k.py:1:6: notion-legacy-token {tokens.preview(tok)}" in out
    assert tok not in out + err


def _drop_object(repo: Path, oid: str) -> None:
    (repo / ".git" / "objects" / oid[:2] / oid[2:]).unlink()


def test_a_missing_blob_is_named_once_and_the_rest_is_still_scanned(
    in_git_dir: Path,
    rng: random.Random,
) -> None:
    tok = tokens.api_token(rng)
    _commit(in_git_dir, "notes.txt", "nothing\n", "first")
    _commit(in_git_dir, "example.env", f"NOTION_TOKEN={tok}\n", "second")
    lost = git("rev-parse", "HEAD~1:notes.txt", cwd=in_git_dir).strip()
    _drop_object(in_git_dir, lost)

    code, out, err = run_main(["scan", "--history", "--quiet", "-f", "json"], cwd=Path.cwd())
    assert code == 1  # the key elsewhere is still found
    document = json.loads(out)
    assert [f["path"] for f in document["findings"]] == ["example.env"]
    assert document["incomplete"] == {"unreadable_objects": [lost]}
    assert err.count(lost) == 1  # one warning, the object id as git spells it
    assert "b'" not in err  # no Python reprs

    code, out, _ = run_main(["scan", "--history", "--quiet", "-f", "sarif"], cwd=Path.cwd())
    invocation = json.loads(out)["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert lost in invocation["toolExecutionNotifications"][0]["message"]["text"]


def test_nothing_found_but_something_unreadable_is_not_clean(
    in_git_dir: Path,
) -> None:
    _commit(in_git_dir, "notes.txt", "nothing\n")
    lost = git("rev-parse", "HEAD:notes.txt", cwd=in_git_dir).strip()
    _drop_object(in_git_dir, lost)
    code, out, err = run_main(["scan", "--history", "--quiet"], cwd=Path.cwd())
    assert code == 2
    assert out.startswith("No Notion credentials found (the scan is incomplete: 1 object")
    assert "warning: the scan is incomplete: 1 object could not be read" in err


def test_an_internal_error_is_one_redacted_line_and_exit_3(
    in_git_dir: Path,
    rng: random.Random,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tok = tokens.api_token(rng)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"deep inside, holding {tok}")

    monkeypatch.setattr("notion_leakguard.pipeline.scan", broken)
    code, out, err = run_main(["scan", "."], cwd=Path.cwd())
    assert (code, out) == (3, "")
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("notion-leakguard: internal error: RuntimeError: deep inside, holding ")
    assert tokens.preview(tok) in err and tok not in err
    monkeypatch.setenv("NOTION_LEAKGUARD_DEBUG", "1")
    code, _, err = run_main(["scan", "."], cwd=Path.cwd())
    assert code == 3 and "Traceback" in err and tok not in err


def test_a_named_directory_that_git_ignores_is_scanned_and_no_git_walks_everything(
    in_git_dir: Path, rng: random.Random
) -> None:
    tok = tokens.api_token(rng)
    (in_git_dir / ".gitignore").write_text("dist/\n*.log\n")
    (in_git_dir / "dist").mkdir()
    (in_git_dir / "dist" / "app.js").write_text(f"var k='{tok}'\n")
    (in_git_dir / "debug.log").write_text(f"token={tok}\n")
    found = f"dist/app.js:1:8: notion-api-token {tokens.preview(tok)}"
    cases = (
        (["scan", "dist"], 1, [found]),  # named: always scanned
        (["scan", "."], 0, []),  # walked: git's ignore rules hold
        (
            ["scan", "--no-git", "."],
            1,
            [f"debug.log:1:7: notion-api-token {tokens.preview(tok)}", found],
        ),
    )
    for argv, expected_code, lines in cases:
        code, out, _ = run_main(argv, cwd=Path.cwd())
        assert code == expected_code, argv
        assert [line for line in out.splitlines() if ": notion-api-token " in line] == lines
    code, _, err = run_main(["scan", "--no-git", "--staged"], cwd=Path.cwd())
    assert code == 2 and "--no-git goes with PATHs" in err


def _stage(repo: Path, name: str, data: bytes) -> None:
    (repo / name).write_bytes(data)
    git("add", name, cwd=repo)


def test_an_edited_utf16_file_is_seen_by_scan_staged(in_git_dir: Path, rng: random.Random) -> None:
    tok = tokens.api_token(rng)
    lines = [f"line {i}\n" for i in range(50)]
    _stage(in_git_dir, "notes.txt", "".join(lines).encode("utf-16-le"))
    git("commit", "-q", "-m", "utf-16", cwd=in_git_dir)
    lines[25] = f"key = {tok}\n"
    _stage(in_git_dir, "notes.txt", "".join(lines).encode("utf-16-le"))
    code, out, _ = run_main(["scan", "--staged", "-f", "json"], cwd=Path.cwd())
    assert code == 1
    [finding] = json.loads(out)["findings"]
    assert (finding["path"], finding["line"], finding["column"]) == ("notes.txt", 26, 7)
    assert finding["encoding"] == "utf-16"
    # A token the file already held at HEAD is not added by this commit.
    git("commit", "-q", "-m", "key", "--no-verify", cwd=in_git_dir)
    lines[40] = "another line\n"
    _stage(in_git_dir, "notes.txt", "".join(lines).encode("utf-16-le"))
    assert run_main(["scan", "--staged"], cwd=Path.cwd())[0] == 0


def test_a_file_over_the_patch_limit_is_read_whole_from_the_index(
    in_git_dir: Path, rng: random.Random
) -> None:
    from notion_leakguard.sources.staged import PATCH_LIMIT

    old, new = tokens.api_token(rng), tokens.legacy_token(rng)
    filler = b"an ordinary line of a large generated file\n" * (PATCH_LIMIT // 40)
    _stage(in_git_dir, "big.log", filler + f"old {old}\n".encode())
    git("commit", "-q", "-m", "big", "--no-verify", cwd=in_git_dir)
    _stage(in_git_dir, "big.log", filler + f"old {old}\nnew {new}\n".encode())
    (in_git_dir / "big.log").write_bytes(b"changed on disk, not staged\n")
    code, out, _ = run_main(["scan", "--staged"], cwd=Path.cwd())
    lines = filler.count(b"\n")
    assert code == 1
    assert [line for line in out.splitlines() if line.startswith("big.log:")] == [
        f"big.log:{lines + 2}:5: notion-legacy-token {tokens.preview(new)}"
    ]


def test_git_lfs_content_is_scanned_where_the_store_has_it(
    in_git_dir: Path, rng: random.Random
) -> None:
    tok = tokens.legacy_token(rng)
    git("lfs", "install", "--local", cwd=in_git_dir)
    git("lfs", "track", "*.csv", cwd=in_git_dir)
    git("add", ".gitattributes", cwd=in_git_dir)
    git("commit", "-q", "-m", "lfs", cwd=in_git_dir)
    _stage(in_git_dir, "export.csv", f"name,key\nbot,{tok}\n".encode())
    assert git("cat-file", "-p", ":export.csv", cwd=in_git_dir).startswith(
        "version https://git-lfs"
    )
    found = f"export.csv:2:5: notion-legacy-token {tokens.preview(tok)}"
    code, out, _ = run_main(["scan", "--staged"], cwd=Path.cwd())
    assert code == 1 and found in out.splitlines()

    git("commit", "-q", "-m", "csv", "--no-verify", cwd=in_git_dir)
    code, out, _ = run_main(["scan", "--history", "--quiet"], cwd=Path.cwd())
    assert code == 1 and found in out.splitlines()[0]
    shutil.rmtree(in_git_dir / ".git" / "lfs" / "objects")
    code, out, err = run_main(["scan", "--history", "--quiet"], cwd=Path.cwd())
    assert (code, out) == (0, "No Notion credentials found.\n")
    assert "file versions tracked with git-lfs were not scanned" in err


def test_a_partial_clone_is_scanned_completely_with_one_fetch(
    tmp_path: Path,
    rng: random.Random,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tok = tokens.legacy_token(rng)
    origin = tmp_path / "origin"
    origin.mkdir()
    git("init", "-q", "-b", "main", cwd=origin)
    for index in range(12):
        _commit(origin, f"f{index % 4}.txt", f"version {index}\n")
    _commit(origin, "old.env.example", f"K={tok}\n", "key")
    git("rm", "-q", "old.env.example", cwd=origin)
    git("commit", "-q", "-m", "gone", cwd=origin)
    git("config", "uploadpack.allowFilter", "true", cwd=origin)
    git("config", "uploadpack.allowAnySHA1InWant", "true", cwd=origin)
    clone = tmp_path / "clone"
    url = f"file://{origin}"
    git("clone", "-q", "--filter=blob:none", "--no-checkout", url, str(clone), cwd=tmp_path)
    trace = tmp_path / "trace.json"
    monkeypatch.setenv("GIT_TRACE2_EVENT", str(trace))
    monkeypatch.chdir(clone)

    code, out, _ = run_main(["scan", "--history", "--quiet"], cwd=Path.cwd())
    assert code == 1
    assert out.startswith(f"old.env.example:1:3: notion-legacy-token {tokens.preview(tok)}")
    events = [json.loads(line) for line in trace.read_text().splitlines()]
    fetches = [e for e in events if e["event"] == "start" and "fetch" in e["argv"]]
    assert len(fetches) == 1  # in bulk, not one round trip per blob


def test_a_key_brought_in_several_files_is_reported_at_the_source_file(
    in_git_dir: Path, rng: random.Random
) -> None:
    tok = tokens.api_token(rng)
    # A vim swap file sorts (and is listed by git) before the source it shadows.
    (in_git_dir / ".quickstart.py.swp").write_bytes(b"b0VIM 8.2\0\0" + tok.encode() + b"\0")
    (in_git_dir / "quickstart.py").write_text(f'TOKEN = "{tok}"\n')
    git("add", ".", cwd=in_git_dir)
    git("commit", "-q", "-m", "quickstart", cwd=in_git_dir)
    code, out, _ = run_main(["scan", "--history", "--quiet", "-f", "json"], cwd=Path.cwd())
    assert code == 1
    [finding] = json.loads(out)["findings"]
    assert (finding["path"], finding["line"]) == ("quickstart.py", 1)
    assert finding["commit"]["also_in"] == [".quickstart.py.swp"]


@pytest.mark.parametrize(
    ("below_scissors", "refused"),
    (
        ("diff --git a/k.py b/k.py\n-K = '{tok}'\n", False),  # git commit -v: git drops it
        ("Bearer {tok}\n", True),  # typed into -m: git keeps it
    ),
)
def test_the_commit_msg_stage_ignores_only_gits_verbose_diff(
    in_git_dir: Path,
    rng: random.Random,
    below_scissors: str,
    refused: bool,
) -> None:
    tok = tokens.api_token(rng)
    message = in_git_dir / ".git" / "COMMIT_EDITMSG"
    scissors = "# ------------------------ >8 ------------------------\n"
    message.write_text("fix the thing\n" + scissors + below_scissors.format(tok=tok))
    code, out, _ = run_main(["hook", "--", ".git/COMMIT_EDITMSG"], cwd=Path.cwd())
    assert code == int(refused)
    if refused:
        assert out.startswith(f"commit message:3:8: notion-api-token {tokens.preview(tok)}\n")
        assert "found in 1 message." in out
        assert "Refused: the commit message holds a Notion key" in out


def test_a_long_history_read_in_parallel_reports_what_one_process_does(
    in_git_dir: Path, rng: random.Random, monkeypatch: pytest.MonkeyPatch
) -> None:
    from notion_leakguard import forkpool
    from notion_leakguard.commands.scan import scan_history
    from notion_leakguard.sources import history

    toks = [tokens.api_token(rng), tokens.legacy_token(rng), tokens.api_token(rng)]
    # fast-import: 700 commits of 4 files each, keys planted early, late, and twice; the
    # first key's file comes back, the same blob, in the last part
    stream = []
    for index in range(700):
        files = {f"f{(index * 4 + k) % 97}.txt": f"{index} {k}\n" for k in range(4)}
        if index in (3, 350, 351):
            files["keys.py"] = f"K = '{toks[(3, 350, 351).index(index)]}'\n"
        if index == 680:
            files["keys.py"] = f"K = '{toks[0]}'\n"
        if index == 690:
            files["late.py"] = f"again = '{toks[0]}'\n"
        stream.append(f"commit refs/heads/main\ncommitter T <t@e> {1700000000 + index} +0000\n")
        message = f"commit {index}" + (f" {toks[1]}" if index == 500 else "")
        stream.append(f"data {len(message)}\n{message}\n")
        for name, text in files.items():
            stream.append(f"M 100644 inline {name}\ndata {len(text.encode())}\n{text}\n")
    subprocess.run(
        ["git", "fast-import", "--quiet"],
        cwd=in_git_dir,
        input="".join(stream).encode(),
        check=True,
    )
    git("reset", "-q", "--hard", "main", cwd=in_git_dir)

    monkeypatch.setattr(history.Parts, "records", 500)  # parts of about 125 commits
    pools: list[int] = []
    real_run = forkpool.run

    def counted_run(*args: Any, **kwargs: Any) -> Any:
        pools.append(1)
        return real_run(*args, **kwargs)

    monkeypatch.setattr(forkpool, "run", counted_run)

    def scan(jobs: int) -> ScanResult:
        return scan_history(str(in_git_dir), [], all_refs=False, jobs=jobs)

    single = scan(1)
    assert pools == []
    parallel = scan(2)
    assert pools == [1]
    # The same findings, notes and all; only the internal count of blobs read may differ:
    # a part reads a blob that an earlier part brought in already once more.
    assert parallel._replace(files_scanned=0) == single._replace(files_scanned=0)
    assert single.files_scanned <= parallel.files_scanned <= single.files_scanned + 1
    assert len(single.findings) == 3
    first = next(f for f in single.findings if tokens.preview(toks[0]) == f.preview)
    assert first.origin is not None and first.path == "keys.py"
    assert first.origin.commit == git("rev-list", "--reverse", "HEAD", cwd=in_git_dir).split()[3]
    assert first.origin.at_head  # keys.py holds it again at HEAD
