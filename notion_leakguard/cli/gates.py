"""The gates: the git hooks' commands (pre-push, pre-receive), CI, and install-hook."""

from __future__ import annotations

import os
import sys

import click

from notion_leakguard import hookinstall
from notion_leakguard.cli.options import (
    EXIT_CLEAN,
    View,
    config_option,
    report,
    report_options,
    suppression_options,
)
from notion_leakguard.errors import file_errors
from notion_leakguard.redaction import shown


@click.command("pre-push")
@click.argument("remote", required=False)
@click.argument("url", required=False)
@report_options
@config_option
def pre_push(remote: str | None, url: str | None, view: View, config_file: str | None) -> int:
    """git's pre-push hook: refuse a push whose new commits carry a key.

    Reads git's standard input (`<local ref> <local sha> <remote ref> <remote sha>` lines)
    and scans every commit the pushed refs bring that REMOTE does not have yet (its
    remote-tracking refs): their new blobs and messages, and annotated tags. Under the
    pre-commit framework (hook id notion-leakguard-push) the refs come from its environment.
    """
    from notion_leakguard.commands.push import pre_push as run_pre_push

    data = b"" if "PRE_COMMIT_REMOTE_NAME" in os.environ else _stdin_bytes()
    outcome = run_pre_push(cwd=os.getcwd(), remote=remote, stdin=data, config_file=config_file)
    return report(outcome, view)


@click.command("pre-receive")
@report_options
def pre_receive(view: View) -> int:
    """A server's pre-receive hook: refuse a push whose new commits carry a key.

    Reads `<old> <new> <ref>` lines and scans the commits no existing ref reaches: their new
    blobs, commit messages and tag messages. The configuration and baseline come from the
    pushed commits. Install as the bare repository's hooks/pre-receive.
    """
    from notion_leakguard.commands.push import pre_receive as run_pre_receive

    outcome = run_pre_receive(cwd=os.getcwd(), stdin=_stdin_bytes())
    return report(outcome, view)


@click.command("ci")
@click.option(
    "--range",
    "range_",
    metavar="A..B",
    help="Scan the commits of B that A does not have, whatever CI this is.",
)
@report_options
@suppression_options
@config_option
def ci(
    range_: str | None,
    view: View,
    baseline_file: str | None,
    no_suppress: bool,
    config_file: str | None,
) -> int:
    """Scan what the current CI job's push, pull request or merge request brings.

    GitHub Actions and GitLab CI are recognised from their environment (a push: before..after;
    a new branch: what no other branch had; a pull or merge request: base..head); elsewhere
    pass --range. Needs the full history (actions/checkout: fetch-depth: 0). On GitHub each
    finding is also a workflow annotation and the job summary lists them.
    """
    from notion_leakguard.commands.ci import ci as run_ci

    checked = run_ci(
        config_file=config_file,
        cwd=os.getcwd(),
        environ=os.environ,
        range_=range_,
        baseline=baseline_file,
        lift=no_suppress,
    )
    outcome = checked.outcome
    click.echo(
        f"notion-leakguard: {shown(checked.event.description)}: {checked.commits} commit(s)",
        err=True,
    )
    code = report(outcome, view)
    if os.environ.get("GITHUB_ACTIONS") == "true":
        from notion_leakguard import github

        for line in github.annotation_lines(outcome.result):
            click.echo(line, err=view.output is None and view.fmt != "text")  # stdout's JSON
        path = os.environ.get("GITHUB_STEP_SUMMARY")
        if path:
            text = github.summary(
                outcome.result, checked.event.description, commits=checked.commits
            )
            with file_errors(f"cannot write {path}"), open(path, "a", encoding="utf-8") as stream:
                stream.write(text)
    return code


def _stdin_bytes() -> bytes:
    """What git writes to a hook's standard input (nothing from a terminal)."""
    if sys.stdin is None or sys.stdin.isatty():
        return b""
    return sys.stdin.buffer.read()


@click.command("install-hook")
@click.option(
    "--force",
    is_flag=True,
    help="Replace hooks notion-leakguard did not write (keeping HOOK.notion-leakguard-backup).",
)
@click.option(
    "--uninstall", is_flag=True, help="Remove notion-leakguard's hooks and restore any backups."
)
def install_hook(force: bool, uninstall: bool) -> int:
    """Install plain git pre-commit, commit-msg and pre-push hooks (honours core.hooksPath).

    For repositories that do not use the pre-commit framework: pre-commit runs `scan
    --staged`, commit-msg scans the message, pre-push scans the commits being pushed.
    SKIP=notion-leakguard skips them once; SKIP=notion-leakguard-push only the pre-push one.
    """
    cwd = os.getcwd()
    if uninstall:
        for line in hookinstall.uninstall(cwd) or ["no notion-leakguard hook installed"]:
            click.echo(line)
        return EXIT_CLEAN
    for hook in hookinstall.install(cwd, force=force):
        kept = f" (the previous hook is kept as {hook.backup})" if hook.backup else ""
        click.echo(f"installed {hook.path}{kept}")
    return EXIT_CLEAN
