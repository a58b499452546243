"""The scanning commands: scan, hook, baseline, check-env."""

from __future__ import annotations

import os
import sys

import click

from notion_leakguard.advice import SCAN_ADVICE
from notion_leakguard.baseline import DEFAULT_PATH as DEFAULT_BASELINE
from notion_leakguard.cli.options import (
    EXIT_CLEAN,
    EXIT_FINDINGS,
    View,
    config_option,
    report,
    report_options,
    suppression_options,
)
from notion_leakguard.commands import Outcome


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(readable=False))
@click.option(
    "--staged",
    is_flag=True,
    help="Scan the lines staged for commit in the current repository instead of PATHs.",
)
@click.option(
    "--history",
    is_flag=True,
    help="Scan every blob git history holds; PATHs are then revision ranges (default: HEAD).",
)
@click.option("--all-refs", is_flag=True, help="With --history: every branch, tag and ref.")
@click.option(
    "--no-git",
    is_flag=True,
    help="Walk directories without git: files git ignores are scanned too.",
)
@click.option(
    "--verify",
    "verify_keys",
    is_flag=True,
    help="Ask the Notion API whether each key found still works (sends the keys).",
)
@click.option(
    "--verify-all",
    is_flag=True,
    help="With --verify: also send secret_ strings whose file does not mention Notion.",
)
@report_options
@suppression_options
@config_option
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    help="Worker processes for large scans.  [default: number of CPUs]",
)
def scan(
    paths: tuple[str, ...],
    staged: bool,
    history: bool,
    all_refs: bool,
    no_git: bool,
    verify_keys: bool,
    verify_all: bool,
    view: View,
    config_file: str | None,
    baseline_file: str | None,
    no_suppress: bool,
    jobs: int | None,
) -> int:
    """Scan files and directories (default: .) for Notion credentials; - reads stdin.

    Inside a git repository, files git ignores are skipped when a directory is walked, and
    dotenv files that git tracks or does not ignore are reported.
    """
    if staged and history:
        raise click.UsageError("--staged and --history do not go together")
    if no_git and (staged or history):
        raise click.UsageError("--no-git goes with PATHs, not --staged or --history")
    if all_refs and not history:
        raise click.UsageError("--all-refs goes with --history")
    if verify_all and not verify_keys:
        raise click.UsageError("--verify-all goes with --verify")
    if staged and paths:
        raise click.UsageError("--staged scans the index; it takes no PATH")
    from notion_leakguard import progress
    from notion_leakguard.commands.scan import scan as run_scan

    shown = None if view.quiet or staged or history else progress.files_reporter(sys.stderr)
    outcome = run_scan(
        file_progress=shown,
        config_file=config_file,
        cwd=os.getcwd(),
        paths=paths,
        staged=staged,
        history=history,
        all_refs=all_refs,
        use_git=not no_git,
        jobs=jobs,
        baseline=baseline_file,
        lift=no_suppress,
        verify=verify_keys,
        verify_all=verify_all,
        progress=None if view.quiet or not history else progress.reporter(sys.stderr),
    )
    if shown is not None:
        shown.finish()
    return report(outcome, view)


@click.command()
@click.argument("files", nargs=-1, type=click.Path(readable=False))
@config_option
def hook(files: tuple[str, ...], config_file: str | None) -> int:
    """What the pre-commit hook runs: scan FILES (a file named - is a file, not stdin).

    During a commit pre-commit has stashed unstaged changes, so the files hold what is
    staged. Its entry ends in `--`, so a file named like an option is still a file. The
    baseline and excludes come from the configuration.
    """
    from notion_leakguard.commands.hook import hook as run_hook

    return report(run_hook(files, cwd=os.getcwd(), config_file=config_file))


@click.command("rules")
@click.option(
    "--format",
    "-f",
    "fmt",
    type=click.Choice(("text", "json")),
    default="text",
    show_default=True,
    help="Output format.",
)
def rules(fmt: str) -> int:
    """List every rule id: what it finds, its format, where that is documented, and how to
    make a leaked credential of that kind useless."""
    from notion_leakguard.reporters import render_rules

    click.echo(render_rules(fmt), nl=False)
    return EXIT_CLEAN


@click.group("baseline")
def baseline_group() -> None:
    """Acknowledge existing findings once, so that only new ones fail.

    Entries hold rule, path and fingerprint (never the token, never a line number), sorted,
    so the file changes only when findings do.
    """


@baseline_group.command("create")
@config_option
@click.argument("paths", nargs=-1, type=click.Path(readable=False))
@click.option(
    "--output",
    type=click.Path(dir_okay=False),
    help=f"Where to write it.  [default: `baseline` in the configuration, else {DEFAULT_BASELINE}]",
)
def baseline_create(paths: tuple[str, ...], output: str | None, config_file: str | None) -> int:
    """Record every current finding under PATHs (default: .) in a baseline."""
    from notion_leakguard.commands import baseline

    written = baseline.create(paths, cwd=os.getcwd(), output=output, config_file=config_file)
    change = ""
    if written.before is not None:
        change = f" (was {written.before}: {written.added} added, {written.dropped} dropped)"
    click.echo(f"{os.path.relpath(written.path)}: {written.entries} entries{change}", err=True)
    return EXIT_CLEAN


@baseline_group.command("update")
@config_option
@click.argument("paths", nargs=-1, type=click.Path(readable=False))
@click.option(
    "--baseline",
    "baseline_file",
    type=click.Path(dir_okay=False, exists=True),
    help=f"The baseline.  [default: `baseline` in the configuration, else {DEFAULT_BASELINE}]",
)
@click.option("--add-new", is_flag=True, help="Also record findings the baseline lacks.")
def baseline_update(
    paths: tuple[str, ...], baseline_file: str | None, add_new: bool, config_file: str | None
) -> int:
    """Drop entries that no longer occur under PATHs (default: .); add none unless --add-new."""
    from notion_leakguard.commands import baseline

    written = baseline.update(
        paths, cwd=os.getcwd(), baseline=baseline_file, add_new=add_new, config_file=config_file
    )
    click.echo(
        f"{os.path.relpath(written.path)}: {written.entries} entries (was {written.before})",
        err=True,
    )
    return EXIT_CLEAN


@click.command("check-env")
@click.option("--fix", is_flag=True, help="Add what is missing to the root .gitignore.")
@report_options
@config_option
def check_env(fix: bool, view: View, config_file: str | None) -> int:
    """Dotenv hygiene for the current repository.

    Reports dotenv files that no ignore rule covers and dotenv files git tracks or has
    staged. With --fix, appends the missing rules to the root .gitignore (exit 1 when it
    changed it, as pre-commit fixers do); tracked files are never untracked for you.
    """
    from notion_leakguard.commands.check_env import check_env as run_check

    checked = run_check(cwd=os.getcwd(), fix=fix, config_file=config_file)
    if checked.added:  # what --fix changed: the output of a fixer (stdout)
        click.echo(f"{checked.gitignore}: added {', '.join(checked.added)}")
    for blocker in checked.blockers:
        click.echo(f"notion-leakguard: {blocker}", err=True)
    code = report(Outcome(checked.result, SCAN_ADVICE, subject="dotenv"), view)
    return EXIT_FINDINGS if checked.added else code
