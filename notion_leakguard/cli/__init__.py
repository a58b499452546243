"""The command line. Parsing and wiring only: each command calls one function of
`notion_leakguard.commands`, renders its result and returns an exit code (0 clean, 1
findings, 2 could not do the job, 3 an internal error, 130 interrupted)."""

from __future__ import annotations

import importlib
import io
import os
import sys
from collections.abc import Sequence

import click

from notion_leakguard import __version__
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

# Each command's module, imported only when that command runs: a hook run never loads the
# code of the commands it does not use.
COMMANDS = {
    "scan": "scanning:scan",
    "hook": "scanning:hook",
    "baseline": "scanning:baseline_group",
    "check-env": "scanning:check_env",
    "rules": "scanning:rules",
    "pre-push": "gates:pre_push",
    "pre-receive": "gates:pre_receive",
    "ci": "gates:ci",
    "install-hook": "gates:install_hook",
    "inventory": "inventory:inventory",
    "detect-secrets-plugin": "detect_secrets:detect_secrets_plugin",
    "detect-secrets-audit": "detect_secrets:detect_secrets_audit",
}


class _Commands(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, _, attribute = COMMANDS[name].partition(":")
        command = getattr(importlib.import_module(f"notion_leakguard.cli.{module}"), attribute)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="notion-leakguard")
def cli() -> None:
    """Find Notion API credentials before they reach git."""


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
    finally:
        started = sys.modules.get("notion_leakguard.git")
        if started is not None:  # what an interrupted or failed command left running
            started.stop_started()
    return code if isinstance(code, int) else EXIT_CLEAN


def console_main() -> None:
    sys.exit(main())
