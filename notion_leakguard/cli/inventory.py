"""The inventory command: parsing and wiring only."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

import click

from notion_leakguard.cli.options import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS
from notion_leakguard.errors import file_errors
from notion_leakguard.redaction import shown

FORMATS = ("text", "json", "csv", "sarif", "html")  # inventory.report.FORMATS, not imported


@click.command("inventory")
@click.argument("repos", nargs=-1, type=click.Path(readable=False))
@click.option(
    "--repos-file",
    type=click.Path(dir_okay=False),
    help="Also scan the repositories FILE lists, one a line (# comments; relative paths "
    "from the file's directory).",
)
@click.option(
    "--cache",
    type=click.Path(file_okay=False),
    help="Mirror clone URLs (bare) into DIR; the next run fetches them again.",
)
@click.option(
    "--format",
    "-f",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="Report format (csv: one row per occurrence; html: one self-contained page).",
)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write the report to FILE.")
@click.option(
    "--verify",
    "verify_keys",
    is_flag=True,
    help="Ask the Notion API whether each key still works (sends the keys, from the "
    "process that scanned the repository).",
)
@click.option(
    "--verify-all",
    is_flag=True,
    help="With --verify: also send secret_ strings whose file does not mention Notion.",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    help="Repositories scanned at once, in worker processes.  [default: number of CPUs]",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    help="Send one task per repository to this Dask scheduler (tcp://HOST:PORT) instead; "
    "needs notion-leakguard[distributed].",
)
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when keys were found.")
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
def inventory(
    repos: tuple[str, ...],
    repos_file: str | None,
    cache: str | None,
    fmt: str,
    output: str | None,
    verify_keys: bool,
    verify_all: bool,
    jobs: int | None,
    scheduler: str | None,
    exit_zero: bool,
    quiet: bool,
) -> int:
    """Every distinct Notion key that REPOS ever held: each ref's history and the working
    tree, one row per key with every place it is at (local clones, bare repositories, or
    clone URLs mirrored into --cache).
    """
    if verify_all and not verify_keys:
        raise click.UsageError("--verify-all goes with --verify")
    if scheduler is not None and jobs is not None:
        raise click.UsageError("--jobs is for local processes; the Dask cluster has its workers")
    from notion_leakguard.commands.inventory import inventory as run_inventory
    from notion_leakguard.inventory.report import render, summary

    found = run_inventory(
        cwd=os.getcwd(),
        repos=repos,
        repos_file=repos_file,
        cache=cache,
        jobs=jobs,
        scheduler=scheduler,
        verify=verify_keys,
        verify_all=verify_all,
        progress=None if quiet else _progress(),
    )
    for scan in found.repositories:
        if scan.error is not None:
            click.echo(f"notion-leakguard: warning: {shown(scan.error)}; not scanned", err=True)
        elif scan.unreadable:
            click.echo(
                f"notion-leakguard: warning: {shown(scan.repository)}: "
                f"{len(scan.unreadable)} object(s) could not be read; the scan is incomplete",
                err=True,
            )
    for note in found.notes:
        click.echo(f"notion-leakguard: note: {shown(note)}", err=True)
    text = render(found, fmt)
    if output is None:
        click.echo(text, nl=False)
    else:
        with file_errors(f"cannot write {output}"), open(output, "w", encoding="utf-8") as out:
            out.write(text)
        click.echo(f"notion-leakguard: {summary(found)} Report: {output}", err=True)
    if exit_zero:
        return EXIT_CLEAN
    if found.keys:
        return EXIT_FINDINGS
    return EXIT_ERROR if found.incomplete else EXIT_CLEAN


def _progress() -> Callable[[int, int], None] | None:
    stream = sys.stderr
    isatty = getattr(stream, "isatty", None)
    if not (callable(isatty) and isatty()):
        return None

    def show(done: int, total: int) -> None:
        stream.write(f"\r{done}/{total} repositories scanned ")
        if done == total:
            stream.write("\n")
        stream.flush()

    return show
