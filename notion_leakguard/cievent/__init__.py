"""What a CI job should scan: `detect` reads the job's environment (GitHub Actions, GitLab
CI) or a `--range A..B` and says which commits the push, pull request or merge request
brings. Pure: no git, no output; the only I/O is reading the event file GITHUB_EVENT_PATH
names. The providers live in `github` and `gitlab`; the value checks they share stay here,
with leading underscores: they are private to this package. (What a GitHub job shows of a
result is `notion_leakguard.github`.)"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Literal, NamedTuple

from notion_leakguard.errors import LeakguardError
from notion_leakguard.redaction import printable

Scope = Literal["nothing", "range", "new", "all"]

_SHA = re.compile(r"[0-9a-fA-F]{40}|[0-9a-fA-F]{64}")
_SHORT = 12
_RANGE_HINT = "pass --range BASE..HEAD"
_NEW = "commits no other branch or tag has"


class Event(NamedTuple):
    """The commits a CI job should scan.

    kind is one of: `push`, `new-branch` (a new branch or tag), `forced-push`, `deleted`,
    `pull_request` (also pull_request_target), `merge_group`, `merge_request`,
    `full-history` (a scheduled or manual run) and `range` (`--range`).
    """

    provider: str  # "github" | "gitlab" | "range"
    kind: str
    head: str  # the commit (or, for --range, the revision) to scan up to
    base: str | None  # what the target already has; None: see `scope`
    ref: str | None  # the pushed ref on the remote, e.g. "refs/heads/feature"
    description: str  # one line for the report

    @property
    def scope(self) -> Scope:
        """How the caller turns the event into commits.

        - `range`: reachable from `head`, not from `base` (`git rev-list HEAD ^BASE`).
        - `new`: reachable from `head` and from no remote-tracking branch or tag except `ref`'s
          own (`refs/heads/X` is `refs/remotes/origin/X` in a clone): what the remote did not
          have before this push.
        - `all`: everything reachable from `head`.
        - `nothing`: the push deleted `ref`.
        """
        if self.kind == "deleted":
            return "nothing"
        if self.base is not None:
            return "range"
        return "all" if self.kind == "full-history" else "new"


def detect(environ: Mapping[str, str], *, range_: str | None = None) -> Event:
    """The commits to scan: `range_` if given, else what the GitHub Actions or GitLab CI job
    in `environ` was started for. Raises LeakguardError when that cannot be told."""
    if range_ is not None:
        return _from_range(range_)
    if environ.get("GITHUB_ACTIONS") == "true":
        from notion_leakguard.cievent.github import from_github

        return from_github(environ)
    if environ.get("GITLAB_CI") == "true":
        from notion_leakguard.cievent.gitlab import from_gitlab

        return from_gitlab(environ)
    where = "this CI (CI is set)" if environ.get("CI") else "this environment"
    raise LeakguardError(
        f"{where} is neither GitHub Actions (GITHUB_ACTIONS=true) nor GitLab CI "
        f"(GITLAB_CI=true), so the commits to scan are unknown: {_RANGE_HINT}"
    )


# --- --range ---------------------------------------------------------------------------------


def _from_range(text: str) -> Event:
    # A...B (git diff's "what B did since it forked from A") selects the same commits on B's
    # side as A..B: everything reachable from B and not from A. So both mean "scan B's side".
    dots = "..." if "..." in text else ".."
    if dots not in text:
        raise LeakguardError(f"--range wants BASE..HEAD, got {_shown(text)}")
    base, head = text.split(dots, 1)
    head = head or "HEAD"
    for rev in (base, head):
        if not _is_rev(rev):
            raise LeakguardError(f"--range wants BASE..HEAD, got {_shown(text)}")
    if _is_zero(base):
        raise LeakguardError(
            "--range starts at the all-zero commit (a new branch): name the commit the branch "
            "started from instead, e.g. --range origin/main..HEAD"
        )
    if dots == "...":
        description = f"commits on {head} since it forked from {base}"
    else:
        description = f"commits in {base}..{head}"
    return Event("range", "range", head, base, None, description)


def _is_rev(rev: str) -> bool:
    """A revision git can take as one argument: nothing that reads as an option or a range."""
    return (
        bool(rev)
        and rev[0] not in "-."
        and ".." not in rev
        and all(char.isprintable() and not char.isspace() for char in rev)
    )


# --- GitHub Actions --------------------------------------------------------------------------


def _field(payload: Mapping[str, Any], path: str, where: str) -> Any:
    node: Any = payload
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            raise LeakguardError(f"{where} has no {path}")
        node = node[key]
    return node


def _optional_str(payload: Mapping[str, Any], path: str) -> str | None:
    """A descriptive field: absent or malformed is no error, just not shown."""
    try:
        value = _field(payload, path, "")
    except LeakguardError:
        return None
    return value if isinstance(value, str) and value else None


def _flag(payload: Mapping[str, Any], key: str, where: str) -> bool:
    value = payload.get(key, False)
    if not isinstance(value, bool):
        raise LeakguardError(f"{where}: {key} is not true or false ({_shown(value)})")
    return value


def _sha(value: object, name: str, where: str) -> str:
    if not isinstance(value, str) or not _SHA.fullmatch(value):
        raise LeakguardError(f"{where}: {name} is not a commit id ({_shown(value)})")
    return value.lower()


def _env_sha(environ: Mapping[str, str], name: str, where: str) -> str:
    value = environ.get(name, "")
    if not value:
        raise LeakguardError(f"{where}: {name} is not set; {_RANGE_HINT}")
    return _sha(value, name, where)


def _ref(value: object, name: str, where: str) -> str:
    ref = _ref_or_none(value)
    if ref is None:
        raise LeakguardError(f"{where}: {name} is not a git ref ({_shown(value)})")
    return ref


def _ref_or_none(value: object) -> str | None:
    """`value` if it is a full ref git would accept (a subset of git-check-ref-format)."""
    if not isinstance(value, str) or not value.startswith("refs/"):
        return None
    if ".." in value or "@{" in value or "//" in value or value.endswith(("/", ".", ".lock")):
        return None
    if any(char in "~^:?*[\\" or char.isspace() or not char.isprintable() for char in value):
        return None
    return value


def _is_zero(sha: str) -> bool:
    """The all-zero id GitHub and GitLab use for "no commit"."""
    return len(sha) in (40, 64) and set(sha) == {"0"}


def _span(base: str, head: str) -> str:
    return f"{base[:_SHORT]}..{head[:_SHORT]}"


def _shown(value: object) -> str:
    """A rejected value for an error message. Long values are cut to 8 characters, so even a
    token pasted by mistake shows no more than its prefix and four characters."""
    text = value if isinstance(value, str) else json.dumps(value)
    text = printable(text)
    return "'" + (text if len(text) <= 40 else text[:8] + "…") + "'"
