"""What a CI job should scan, and the GitHub formats the `ci` command writes.

`detect` reads the job's environment (GitHub Actions, GitLab CI) or a `--range A..B` and says
which commits the push, pull request or merge request brings (`github` renders what a GitHub
job shows of the result).

Pure: no git, no output. The only I/O is reading the event file that GITHUB_EVENT_PATH names.
"""

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
_GITHUB_EVENTS = "push, pull_request, pull_request_target, merge_group, workflow_dispatch, schedule"
_GITLAB_SOURCES = "push, merge_request_event, schedule, web, api, trigger"


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
        return _github(environ)
    if environ.get("GITLAB_CI") == "true":
        return _gitlab(environ)
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


def _github(environ: Mapping[str, str]) -> Event:
    name = environ.get("GITHUB_EVENT_NAME", "")
    if not name:
        raise LeakguardError(f"GitHub Actions: GITHUB_EVENT_NAME is not set; {_RANGE_HINT}")
    if name in ("workflow_dispatch", "schedule"):
        # No push, so nothing is "new": a manual or nightly run audits the checked-out history.
        head = _env_sha(environ, "GITHUB_SHA", "GitHub Actions")
        ref = _ref_or_none(environ.get("GITHUB_REF", ""))
        at = f"{ref} at {head[:_SHORT]}" if ref else head[:_SHORT]
        return Event("github", "full-history", head, None, ref, f"GitHub {name}: all of {at}")
    if name == "push":
        return _github_push(*_read_event(environ, name))
    if name in ("pull_request", "pull_request_target"):
        return _github_pull_request(name, *_read_event(environ, name))
    if name == "merge_group":
        return _github_merge_group(*_read_event(environ, name))
    raise LeakguardError(
        f"GitHub Actions event {_shown(name)} does not say which commits are new "
        f"(notion-leakguard ci knows {_GITHUB_EVENTS}); {_RANGE_HINT}"
    )


def _read_event(environ: Mapping[str, str], name: str) -> tuple[dict[str, Any], str]:
    """The event payload and the phrase that names it in errors."""
    path = environ.get("GITHUB_EVENT_PATH", "")
    if not path:
        raise LeakguardError(
            f"GitHub Actions: GITHUB_EVENT_PATH is not set, so the {name} event cannot be "
            f"read; {_RANGE_HINT}"
        )
    where = f"the GitHub {name} event file {path}"
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise LeakguardError(f"cannot read {where}: {error.strerror or error}") from None
    try:
        payload = json.loads(data)
    except RecursionError:
        raise LeakguardError(f"{where} is not an event: JSON nested too deeply") from None
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError
        raise LeakguardError(f"{where} is not JSON: {error}") from None
    if not isinstance(payload, dict):
        raise LeakguardError(f"{where} is not an event: not a JSON object")
    return payload, where


def _github_push(payload: dict[str, Any], where: str) -> Event:
    ref = _ref(_field(payload, "ref", where), "ref", where)
    before = _sha(_field(payload, "before", where), "before", where)
    after = _sha(_field(payload, "after", where), "after", where)
    if _flag(payload, "deleted", where) or _is_zero(after):
        # An empty range too, so a caller that ignores `scope` still scans nothing.
        return Event("github", "deleted", before, before, ref, f"GitHub push deleting {ref}")
    at = after[:_SHORT]
    if _flag(payload, "created", where) or _is_zero(before):
        text = f"GitHub push creating {ref} at {at}: {_NEW}"
        return Event("github", "new-branch", after, None, ref, text)
    if _flag(payload, "forced", where):
        # The old tip is usually on no ref any more, so a fresh clone does not have it.
        text = f"GitHub force-push to {ref} ({before[:_SHORT]} -> {at}): {_NEW}"
        return Event("github", "forced-push", after, None, ref, text)
    text = f"GitHub push to {ref}: {before[:_SHORT]}..{at}"
    return Event("github", "push", after, before, ref, text)


def _github_pull_request(name: str, payload: dict[str, Any], where: str) -> Event:
    head = _sha(_field(payload, "pull_request.head.sha", where), "pull_request.head.sha", where)
    base = _sha(_field(payload, "pull_request.base.sha", where), "pull_request.base.sha", where)
    head_branch = _optional_str(payload, "pull_request.head.ref")
    base_branch = _optional_str(payload, "pull_request.base.ref")
    head_repo = _optional_str(payload, "pull_request.head.repo.full_name")
    base_repo = _optional_str(payload, "pull_request.base.repo.full_name")
    # A fork's branch is not a ref of this repository.
    same_repo = head_repo is not None and head_repo == base_repo
    ref = _ref_or_none(f"refs/heads/{head_branch}") if same_repo and head_branch else None
    number = payload.get("number")
    title = f"GitHub {name}"
    if isinstance(number, int) and not isinstance(number, bool):
        title += f" #{number}"
    source = _optional_str(payload, "pull_request.head.label") or head_branch
    if source and base_branch:
        title += f" ({printable(source)} into {printable(base_branch)})"
    return Event("github", "pull_request", head, base, ref, f"{title}: {_span(base, head)}")


def _github_merge_group(payload: dict[str, Any], where: str) -> Event:
    head = _sha(_field(payload, "merge_group.head_sha", where), "merge_group.head_sha", where)
    base = _sha(_field(payload, "merge_group.base_sha", where), "merge_group.base_sha", where)
    ref = _ref(_field(payload, "merge_group.head_ref", where), "merge_group.head_ref", where)
    target = _optional_str(payload, "merge_group.base_ref")
    into = f" into {printable(target)}" if target else ""
    text = f"GitHub merge queue{into}: {_span(base, head)}"
    return Event("github", "merge_group", head, base, ref, text)


# --- GitLab CI -------------------------------------------------------------------------------


def _gitlab(environ: Mapping[str, str]) -> Event:
    source = environ.get("CI_PIPELINE_SOURCE", "")
    if source == "merge_request_event":
        return _gitlab_merge_request(environ)
    if source == "push":
        head = _env_sha(environ, "CI_COMMIT_SHA", "GitLab CI")
        before = _env_sha(environ, "CI_COMMIT_BEFORE_SHA", "GitLab CI")
        ref = _gitlab_ref(environ)
        where = ref or head[:_SHORT]
        if _is_zero(before):
            # GitLab sets it to zeros for the first pipeline of a branch or tag.
            text = f"GitLab push creating {where} at {head[:_SHORT]}: {_NEW}"
            return Event("gitlab", "new-branch", head, None, ref, text)
        text = f"GitLab push to {where}: {_span(before, head)}"
        return Event("gitlab", "push", head, before, ref, text)
    if source in ("schedule", "web", "api", "trigger"):
        head = _env_sha(environ, "CI_COMMIT_SHA", "GitLab CI")
        ref = _gitlab_ref(environ)
        at = f"{ref} at {head[:_SHORT]}" if ref else head[:_SHORT]
        return Event("gitlab", "full-history", head, None, ref, f"GitLab {source}: all of {at}")
    if not source:
        raise LeakguardError(f"GitLab CI: CI_PIPELINE_SOURCE is not set; {_RANGE_HINT}")
    raise LeakguardError(
        f"GitLab CI pipeline source {_shown(source)} does not say which commits are new "
        f"(notion-leakguard ci knows {_GITLAB_SOURCES}); {_RANGE_HINT}"
    )


def _gitlab_merge_request(environ: Mapping[str, str]) -> Event:
    # A merged-results pipeline builds a merge commit; the merge request's own tip is
    # CI_MERGE_REQUEST_SOURCE_BRANCH_SHA, set only there. The diff base is the merge base.
    head_name = (
        "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA"
        if environ.get("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA")
        else "CI_COMMIT_SHA"
    )
    base_name = (
        "CI_MERGE_REQUEST_DIFF_BASE_SHA"
        if environ.get("CI_MERGE_REQUEST_DIFF_BASE_SHA")
        or not environ.get("CI_MERGE_REQUEST_TARGET_BRANCH_SHA")
        else "CI_MERGE_REQUEST_TARGET_BRANCH_SHA"
    )
    head = _env_sha(environ, head_name, "GitLab CI merge request pipeline")
    base = _env_sha(environ, base_name, "GitLab CI merge request pipeline")
    branch = environ.get("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "")
    target = environ.get("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "")
    project = environ.get("CI_MERGE_REQUEST_PROJECT_ID", "")
    same_project = bool(project) and environ.get("CI_MERGE_REQUEST_SOURCE_PROJECT_ID") == project
    ref = _ref_or_none(f"refs/heads/{branch}") if same_project and branch else None
    iid = environ.get("CI_MERGE_REQUEST_IID", "")
    title = "GitLab merge request"
    if iid.isdigit():
        title += f" !{iid}"
    if branch and target:
        title += f" ({printable(branch)} into {printable(target)})"
    return Event("gitlab", "merge_request", head, base, ref, f"{title}: {_span(base, head)}")


def _gitlab_ref(environ: Mapping[str, str]) -> str | None:
    tag = environ.get("CI_COMMIT_TAG", "")
    if tag:
        return _ref_or_none(f"refs/tags/{tag}")
    branch = environ.get("CI_COMMIT_BRANCH", "") or environ.get("CI_COMMIT_REF_NAME", "")
    return _ref_or_none(f"refs/heads/{branch}") if branch else None


# --- values ----------------------------------------------------------------------------------


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
