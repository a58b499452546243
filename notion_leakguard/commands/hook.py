"""`hook`: what the pre-commit framework runs on the files it passes, and on the message
file at the commit-msg stage."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

from notion_leakguard import config, envfiles, git, pipeline
from notion_leakguard.advice import MESSAGE_ADVICE, STAGED_ADVICE
from notion_leakguard.commands import Outcome, acknowledged, excluded_count
from notion_leakguard.errors import LeakguardError, file_errors
from notion_leakguard.sources import COMMIT_MESSAGE, Fragment, files

# What git passes a commit-msg hook (and pre-commit passes on): a file in the git directory.
MESSAGE_FILES = ("COMMIT_EDITMSG", "MERGE_MSG", "SQUASH_MSG")
# `git commit -v` appends the diff below this line, and git drops it: removed lines in it may
# hold the very key the commit removes. A scissors line without a diff below it (one typed
# into `-m`) is kept by git, so it is scanned.
_VERBOSE_DIFF = re.compile(rb"^. -{24} >8 -{24}\n(?:.*\n)*?diff --git ", re.MULTILINE)


def hook(filenames: Sequence[str], *, cwd: str, config_file: str | None = None) -> Outcome:
    """Scan the files pre-commit names (during a commit it has stashed unstaged changes, so
    they hold what is staged), with the configuration's excludes and baseline; a commit
    message file is scanned as the message."""
    settings = config.load(cwd, config_file)
    if filenames and all(is_message_file(name, cwd=cwd) for name in filenames):
        fragments = [message(os.path.join(cwd, name)) for name in filenames]
        result = pipeline.scan(fragments, root=cwd, jobs=1)
        return Outcome(acknowledged(result, settings), MESSAGE_ADVICE)
    names = envfiles.DotenvNames(settings.extra_dotenv_patterns)
    walk = files.Walk(filenames, cwd=cwd, dotenv=names)
    counted = excluded_count(walk, settings, cwd)
    result = pipeline.scan(counted, root=cwd)
    result = result._replace(excluded=counted.count)  # counted as the scan went
    return Outcome(acknowledged(result, settings), STAGED_ADVICE)


def is_message_file(path: str, *, cwd: str) -> bool:
    """A message file git wrote in its own directory (`.git/COMMIT_EDITMSG`, a worktree's,
    a `--separate-git-dir`'s); a tracked file of that name is a file like any other."""
    if os.path.basename(path) not in MESSAGE_FILES:
        return False
    try:
        directory = os.path.realpath(git.git_dir(cwd))
    except LeakguardError:
        return False
    return os.path.dirname(os.path.realpath(os.path.join(cwd, path))) == directory


def message(path: str) -> Fragment:
    with file_errors(f"cannot read {path}"), open(path, "rb") as stream:
        text = stream.read()
    cut = _VERBOSE_DIFF.search(text)
    return Fragment(COMMIT_MESSAGE, text[: cut.start()] if cut else text, kind=COMMIT_MESSAGE)
