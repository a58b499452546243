"""`pre-push` and `pre-receive`: the commits a push carries, refused when they hold a key.

Both scan what the other side does not have yet (every new blob and message once), report
each distinct key once at the commit or tag that carries it, and honour the configuration
and baseline: the local ones for `pre-push`, the pushed commits' own for `pre-receive`
(a server has no work tree).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence

from notion_leakguard import baseline as baselines
from notion_leakguard import config, git, pipeline, suppress
from notion_leakguard.advice import PUSH_ADVICE, RECEIVE_ADVICE
from notion_leakguard.commands import Outcome, acknowledged
from notion_leakguard.errors import LeakguardError
from notion_leakguard.findings import Note, ScanResult, merge
from notion_leakguard.sources import history, pushed


def pre_push(
    *,
    cwd: str,
    remote: str | None,
    stdin: bytes,
    environ: Mapping[str, str] = os.environ,
    config_file: str | None = None,
) -> Outcome:
    """git's pre-push hook (standard input: the refs being pushed), or the pre-commit
    framework's pre-push stage (its environment names one ref)."""
    root = _root(cwd)
    from_framework = pushed.from_pre_commit(environ)
    if from_framework is not None:
        tips, known = from_framework
        plan: history.Plan | None = pushed.select(cwd, tips, known, tags=None)
    else:
        known = [f"--remotes={remote}"] if remote else []
        plan = pushed.plan(cwd, pushed.parse_pre_push(stdin), known=known)
    result = scan_plan(cwd, plan, root=root)
    settings = config.load(cwd, config_file)
    result = acknowledged(result, settings, read_from="history")
    return Outcome(result, PUSH_ADVICE, read_from="history")


def pre_receive(*, cwd: str, stdin: bytes) -> Outcome:
    """A server's pre-receive hook: the commits not reachable from any ref it already has
    (with git's quarantined incoming objects, as git runs the hook)."""
    updates = pushed.parse_pre_receive(stdin)
    plan = pushed.plan(cwd, updates, known=["--all"])
    result = scan_plan(cwd, plan, root=cwd)
    tips = [u.new for u in updates if not pushed.is_zero(u.new)]
    return Outcome(_acknowledged_by_pushed(cwd, result, tips), RECEIVE_ADVICE, read_from="history")


def scan_plan(cwd: str, plan: history.Plan | None, *, root: str) -> ScanResult:
    if plan is None:
        return ScanResult((), root=root)  # only deletions: nothing leaves
    found = pipeline.scan_history(history.Contents(cwd, plan, head=False), root=root, at_head=False)
    return merge([found, ScanResult((), notes=tuple(map(Note, plan.notes)))])


def _acknowledged_by_pushed(cwd: str, result: ScanResult, tips: Sequence[str]) -> ScanResult:
    """What the configuration and baseline of any pushed commit acknowledge."""
    for tip in tips:
        if git.object_types(cwd, [f"{tip}^{{commit}}"]).get(f"{tip}^{{commit}}") is None:
            continue  # a tag of a tree or blob: nothing to read a configuration from
        settings = config.from_commit(cwd, f"{tip}^{{commit}}")
        known = None
        named = settings.baseline or baselines.DEFAULT_PATH
        document = git.file_at(cwd, f"{tip}^{{commit}}", named)
        if document is not None:
            try:
                parsed = json.loads(document)
            except ValueError:
                raise LeakguardError(f"{named}: not valid JSON") from None
            known = baselines.parse(parsed, os.path.join(cwd, named))
        result = suppress.apply(result, allow=settings.allow, baseline=known)
    return result


def _root(cwd: str) -> str:
    try:
        return git.top_level(cwd)
    except LeakguardError:
        return cwd  # a bare repository: paths start at the top of the tree anyway
