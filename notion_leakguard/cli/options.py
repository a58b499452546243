"""What the commands share: the report options, rendering a result, and exit codes."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import NamedTuple

import click

from notion_leakguard.commands import Outcome
from notion_leakguard.errors import file_errors
from notion_leakguard.findings import ScanResult
from notion_leakguard.redaction import shown
from notion_leakguard.reporters import FORMATS, incomplete_text, render, summary

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_INTERNAL = 3  # a bug: never 1, so a broken run is not taken for a finding


class View(NamedTuple):
    """How the report is shown: the options every reporting command takes."""

    fmt: str = "text"
    output: str | None = None
    color: str = "auto"  # auto, always or never
    exit_zero: bool = False  # report, and exit 0 all the same (as ruff and flake8 have)
    quiet: bool = False  # no progress display (notes and warnings are always shown)
    verbose: bool = False  # each finding's line, its key redacted


def report_options(command: Callable[..., int]) -> Callable[..., int]:
    """Add the report options to a command, which then receives them as `view`."""

    @functools.wraps(command)
    def with_view(
        *args: object,
        fmt: str,
        output: str | None,
        color: str,
        exit_zero: bool,
        quiet: bool,
        verbose: bool,
        **kwargs: object,
    ) -> int:
        view = View(fmt, output, color, exit_zero, quiet, verbose)
        return command(*args, view=view, **kwargs)

    for option in reversed(
        (
            click.option(
                "--format",
                "-f",
                "fmt",
                type=click.Choice(FORMATS),
                default="text",
                show_default=True,
                help="Report format.",
            ),
            click.option(
                "--output",
                "-o",
                type=click.Path(dir_okay=False),
                help="Write the report to FILE, not stdout (the summary still goes to stderr).",
            ),
            click.option(
                "--color",
                type=click.Choice(("auto", "always", "never")),
                default="auto",
                show_default=True,
                help="Colour the text report (auto: on a terminal, unless NO_COLOR is set; "
                "FORCE_COLOR forces it).",
            ),
            click.option("--exit-zero", is_flag=True, help="Exit 0 even when something was found."),
            click.option("--quiet", "-q", is_flag=True, help="No progress display."),
            click.option(
                "--verbose",
                "-v",
                is_flag=True,
                help="Show each finding's line (the key redacted) in the text report.",
            ),
        )
    ):
        with_view = option(with_view)
    return with_view


def config_option(command: Callable[..., int]) -> Callable[..., int]:
    return click.option(
        "--config",
        "config_file",
        type=click.Path(dir_okay=False),
        help="The configuration file to use (default: .notion-leakguard.toml or pyproject.toml "
        "found from here up to the top of the repository).",
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


DEFAULT_VIEW = View()


def report(outcome: Outcome, view: View = DEFAULT_VIEW) -> int:
    """Warnings and notes on stderr, the report on stdout or in `view.output` (then its
    summary on stderr too, so a failing CI job says why); the exit code."""
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
    if view.output is None:
        color = view.fmt == "text" and wants_color(sys.stdout, view.color)
        lines = None
        if view.verbose and view.fmt == "text":
            from notion_leakguard import recollect

            lines = recollect.lines(result.reported, root=result.root, read_from=outcome.read_from)
        text = render(
            result,
            view.fmt,
            color=color,
            advice=outcome.advice,
            subject=outcome.subject,
            lines=lines,
        )
        click.echo(text, nl=False, color=color)
    else:
        rendered = render(result, view.fmt, advice=outcome.advice).encode()
        with file_errors(f"cannot write {view.output}"), open(view.output, "wb") as stream:
            stream.write(rendered)
        line = summary(result, subject=outcome.subject)
        click.echo(f"notion-leakguard: {line} Report: {view.output}", err=True)
    if view.exit_zero:
        return EXIT_CLEAN
    if result.reported:
        return EXIT_FINDINGS
    return EXIT_ERROR if result.unreadable else EXIT_CLEAN  # nothing found, not all read


def wants_color(stream: object, choice: str = "auto") -> bool:
    if choice != "auto":
        return choice == "always"
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return callable(isatty) and bool(isatty())
