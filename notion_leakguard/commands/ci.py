"""`ci`: what the current CI job's push, pull request or merge request brings (see
`cievent` for how the event is read), scanned like a push: every new blob and message once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from notion_leakguard import cievent, config, git
from notion_leakguard.advice import PUSH_ADVICE
from notion_leakguard.commands import Outcome, acknowledged
from notion_leakguard.commands.push import scan_plan
from notion_leakguard.errors import LeakguardError
from notion_leakguard.findings import ScanResult
from notion_leakguard.sources import history

SHALLOW_FIX = (
    "fetch the full history: actions/checkout with `fetch-depth: 0`, GitLab CI with "
    'GIT_DEPTH: "0", elsewhere `git fetch --unshallow`'
)


class Checked(NamedTuple):
    outcome: Outcome
    event: cievent.Event
    commits: int  # how many commits the event brought


def ci(
    *,
    cwd: str,
    environ: Mapping[str, str],
    range_: str | None = None,
    baseline: str | None = None,
    lift: bool = False,
    config_file: str | None = None,
) -> Checked:
    event = cievent.detect(environ, range_=range_)
    root = _root(cwd)
    if event.scope == "nothing":
        return Checked(Outcome(ScanResult((), root=root), PUSH_ADVICE), event, 0)
    plan = history.select(cwd, _selection(cwd, event), tags=_tags(cwd, event))
    _check_depth(cwd, plan)
    settings = config.load(cwd, config_file)
    found = scan_plan(cwd, plan, root=root)
    result = acknowledged(found, settings, baseline=baseline, lift=lift, read_from="history")
    outcome = Outcome(result, PUSH_ADVICE, read_from="history")
    return Checked(outcome, event, len(plan.commits))


def _selection(cwd: str, event: cievent.Event) -> list[str]:
    wanted = [event.head] + ([event.base] if event.base else [])
    types = git.object_types(cwd, [f"{rev}^{{commit}}" for rev in wanted])
    missing = [rev for rev in wanted if types.get(f"{rev}^{{commit}}") is None]
    if missing:
        raise LeakguardError(
            f"{event.description}: commit {missing[0][:12]} is not in this clone; {SHALLOW_FIX}"
        )
    if event.scope == "range":
        assert event.base is not None
        return [event.head, "--not", event.base]
    if event.scope == "all":
        return [event.head]
    # A new branch, or a force-push: what no other branch or tag of the remote had.
    # (--exclude patterns go without the refs/remotes/ or refs/tags/ they apply to.)
    branch = tag = []
    if event.ref and event.ref.startswith("refs/heads/"):
        branch = [f"--exclude=*/{event.ref[len('refs/heads/') :]}"]
    elif event.ref and event.ref.startswith("refs/tags/"):
        tag = [f"--exclude={event.ref[len('refs/tags/') :]}"]
    return [event.head, "--not", *branch, "--remotes", *tag, "--tags"]


def _tags(cwd: str, event: cievent.Event) -> list[history.Tag] | None:
    is_tag = event.ref is not None and event.ref.startswith("refs/tags/")
    if is_tag and git.object_types(cwd, [event.head]).get(event.head) == "tag":
        assert event.ref is not None
        return [history.Tag(event.head, event.ref)]
    return None


def _check_depth(cwd: str, plan: history.Plan) -> None:
    """A shallow clone whose boundary cuts into the scanned commits would pass silently."""
    boundary = git.shallow_commits(cwd)
    cut = [c.sha for c in plan.commits if c.sha in boundary]
    if cut:
        raise LeakguardError(
            f"this clone is shallow and its history stops at commit {cut[0][:12]}, inside "
            f"what the event brings; {SHALLOW_FIX}"
        )


def _root(cwd: str) -> str:
    try:
        return git.top_level(cwd)
    except LeakguardError:
        return cwd
