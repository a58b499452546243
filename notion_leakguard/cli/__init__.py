"""The command line. Parsing and wiring only: each command calls one function of
`notion_leakguard.commands`, renders its result and returns an exit code (0 clean, 1
findings, 2 could not do the job, 3 an internal error, 130 interrupted)."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Sequence

import click

from notion_leakguard import __version__
from notion_leakguard.cli import detect_secrets, gates, scanning
from notion_leakguard.cli.options import (
    EXIT_CLEAN,
    EXIT_ERROR,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    report,
)
from notion_leakguard.errors import LeakguardError
from notion_leakguard.redaction import redact_text, shown

__all__ = ["cli", "console_main", "main", "report"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="notion-leakguard")
def cli() -> None:
    """Find Notion API credentials before they reach git."""


for _command in (
    scanning.scan,
    scanning.hook,
    gates.pre_push,
    gates.pre_receive,
    gates.ci,
    scanning.baseline_group,
    scanning.check_env,
    detect_secrets.detect_secrets_plugin,
    detect_secrets.detect_secrets_audit,
    gates.install_hook,
    scanning.rules,
):
    cli.add_command(_command)


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
        message = io.StringIO()
        error.show(file=message)
        sys.stderr.write(redact_text(message.getvalue()))  # a token given as an argument
        return EXIT_ERROR
    except LeakguardError as error:
        click.echo(f"notion-leakguard: error: {shown(str(error))}", err=True)
        return EXIT_ERROR
    except Exception as error:  # a bug: one redacted line, not a traceback that may hold a key
        if os.environ.get("NOTION_LEAKGUARD_DEBUG") == "1":
            import traceback  # only here: every run would pay for it

            sys.stderr.write(redact_text(traceback.format_exc()))
        click.echo(
            f"notion-leakguard: internal error: {type(error).__name__}: {shown(str(error))} "
            "(a bug: please report it; NOTION_LEAKGUARD_DEBUG=1 shows where)",
            err=True,
        )
        return EXIT_INTERNAL
    return code if isinstance(code, int) else EXIT_CLEAN


def console_main() -> None:
    sys.exit(main())
