"""The repository keeps its own promise: no Notion token in its files or in its history."""

from __future__ import annotations

import json
import re
import subprocess

from tests.conftest import REPO, invoke

FULL_FORMAT = re.compile(
    r"(?<![A-Za-z0-9])(ntn_[0-9]{11}[A-Za-z0-9]{35}|secret_[A-Za-z0-9]{43})(?![A-Za-z0-9])"
)


def test_scanning_this_repository_finds_nothing() -> None:
    result = invoke("scan", "--format", "json", cwd=REPO)
    assert result.returncode == 0, result.stdout
    assert json.loads(result.stdout)["findings"] == []


def test_no_full_format_token_in_git_history() -> None:
    """Independent of the scanner: a plain regular expression over every committed blob."""
    if subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True).returncode:
        return  # nothing committed yet: no history to hold a token
    log = subprocess.run(
        ["git", "log", "--all", "-p", "--no-color", "--no-ext-diff", "--text"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode("utf-8", "replace")
    assert log.count("\ndiff --git") > 0
    assert FULL_FORMAT.search(log) is None
