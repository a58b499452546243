"""The command line. Parsing and wiring only: each command calls plain functions and returns
an exit code (0 clean, 1 findings, 2 could not do the job, 130 interrupted)."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import click

from notion_leakguard import __version__, engine, sources
from notion_leakguard.errors import LeakguardError
from notion_leakguard.findings import ScanResult, merge
from notion_leakguard.reporters import FORMATS, render

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="notion-leakguard")
def cli() -> None:
    """Find Notion API credentials before they reach git."""


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="Report format.",
)
@click.option(
    "--output", type=click.Path(dir_okay=False), help="Write the report to FILE, not stdout."
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    help="Worker processes for large scans.  [default: number of CPUs]",
)
def scan(paths: tuple[str, ...], fmt: str, output: str | None, jobs: int | None) -> int:
    """Scan files and directories (default: .) for Notion credentials; - reads stdin.

    Inside a git repository, files git ignores are skipped when a directory is walked.
    """
    result = scan_paths(paths or (".",), cwd=os.getcwd(), jobs=jobs)
    return report(result, fmt=fmt, output=output)


def scan_paths(paths: Sequence[str], *, cwd: str, jobs: int | None = None) -> ScanResult:
    results = []
    if "-" in paths:
        results.append(engine.scan_blocks_of(sources.read_stream(sys.stdin.buffer), "-"))
    files = sources.discover([p for p in paths if p != "-"], cwd=cwd)
    results.append(engine.scan_files(files, jobs=jobs))
    return merge(results)


def report(result: ScanResult, *, fmt: str, output: str | None) -> int:
    for skipped in result.skipped:
        click.echo(
            f"notion-leakguard: warning: {skipped.display}: {skipped.reason}; skipped", err=True
        )
    if output is None:
        color = fmt == "text" and _wants_color(sys.stdout)
        click.echo(render(result, fmt, color=color), nl=False, color=color)
    else:
        try:
            with open(output, "w", encoding="utf-8") as stream:
                stream.write(render(result, fmt))
        except OSError as error:
            raise LeakguardError(f"cannot write {output}: {error.strerror}") from None
    return EXIT_FINDINGS if result.reported else EXIT_CLEAN


def _wants_color(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    return "NO_COLOR" not in os.environ and callable(isatty) and bool(isatty())


def main(argv: Sequence[str] | None = None) -> int:
    try:
        code = cli.main(
            args=list(argv) if argv is not None else None,
            prog_name="notion-leakguard",
            standalone_mode=False,
        )
    except (KeyboardInterrupt, click.exceptions.Abort):
        click.echo("notion-leakguard: interrupted", err=True)
        return EXIT_INTERRUPTED
    except click.ClickException as error:
        error.show()
        return EXIT_ERROR
    except LeakguardError as error:
        click.echo(f"notion-leakguard: error: {error}", err=True)
        return EXIT_ERROR
    return code if isinstance(code, int) else EXIT_CLEAN


def console_main() -> None:
    sys.exit(main())
