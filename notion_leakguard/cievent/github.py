"""GitHub Actions: the event a job was started for, from GITHUB_EVENT_PATH."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from notion_leakguard.cievent import (
    _NEW,
    _RANGE_HINT,
    _SHORT,
    Event,
    _env_sha,
    _field,
    _flag,
    _is_zero,
    _optional_str,
    _ref,
    _ref_or_none,
    _sha,
    _shown,
    _span,
)
from notion_leakguard.errors import LeakguardError
from notion_leakguard.redaction import printable

_GITHUB_EVENTS = "push, pull_request, pull_request_target, merge_group, workflow_dispatch, schedule"


def from_github(environ: Mapping[str, str]) -> Event:
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
