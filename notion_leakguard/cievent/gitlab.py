"""GitLab CI: the pipeline a job runs in, from its predefined variables."""

from __future__ import annotations

from collections.abc import Mapping

from notion_leakguard.cievent import (
    _NEW,
    _RANGE_HINT,
    _SHORT,
    Event,
    _env_sha,
    _is_zero,
    _ref_or_none,
    _shown,
    _span,
)
from notion_leakguard.errors import LeakguardError
from notion_leakguard.redaction import printable

_GITLAB_SOURCES = "push, merge_request_event, schedule, web, api, trigger"


def from_gitlab(environ: Mapping[str, str]) -> Event:
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
