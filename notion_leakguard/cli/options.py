"""What the commands share: the report options, rendering a result, and exit codes."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

import click

from notion_leakguard.commands import Outcome
from notion_leakguard.errors import file_errors
from notion_leakguard.findings import ScanResult
from notion_leakguard.redaction import shown
from notion_leakguard.reporters import FORMATS, incomplete_text, render

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_INTERNAL = 3  # a bug: never 1, so a broken run is not taken for a finding


def format_options(command: Callable[..., int]) -> Callable[..., int]:
    command = click.option(
        "--output",
        "-o",
        type=click.Path(dir_okay=False),
        help="Write the report to FILE, not stdout.",
    )(command)
    return click.option(
        "--format",
        "-f",
        "fmt",
        type=click.Choice(FORMATS),
        default="text",
        show_default=True,
        help="Report format.",
    )(command)


def suppression_options(command: Callable[..., int]) -> Callable[..., int]:
    command = click.option(
        "--no-suppress",
        is_flag=True,
        help="Report every finding, also those a baseline, the configuration or an inline "
        "marker acknowledges.",
    )(command)
    return click.option(
        "--baseline",
        "baseline_file",
        type=click.Path(dir_okay=False, exists=True),
        help="Do not report findings recorded in FILE (default: `baseline` in the configuration).",
    )(command)


def report(outcome: Outcome, *, fmt: str, output: str | None) -> int:
    """Warnings and notes on stderr, the report on stdout or in `output`; the exit code."""
    result: ScanResult = outcome.result
    for skipped in result.skipped:
        click.echo(
            f"notion-leakguard: warning: {shown(skipped.display)}: {skipped.reason}; skipped",
            err=True,
        )
    for note in result.notes:
        click.echo(f"notion-leakguard: note: {shown(note.text)}", err=True)
    if result.unreadable:
        click.echo(f"notion-leakguard: warning: {incomplete_text(result)}", err=True)
    if output is None:
        color = fmt == "text" and wants_color(sys.stdout)
        text = render(result, fmt, color=color, advice=outcome.advice)
        click.echo(text, nl=False, color=color)
    else:
        with file_errors(f"cannot write {output}"), open(output, "w", encoding="utf-8") as stream:
            stream.write(render(result, fmt, advice=outcome.advice))
    if result.reported:
        return EXIT_FINDINGS
    return EXIT_ERROR if result.unreadable else EXIT_CLEAN  # nothing found, not all read


def wants_color(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    return "NO_COLOR" not in os.environ and callable(isatty) and bool(isatty())
