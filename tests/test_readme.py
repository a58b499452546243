"""The README stays true: its set-up commands are the ones CI runs, and it documents every
command, option and rule id the tool has."""

from __future__ import annotations

import re

import click
import pytest

from notion_leakguard.cli import cli
from notion_leakguard.rules import RULES
from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def setup_commands() -> list[str]:
    block = re.search(r"```sh\n(.*?)```", README, re.S)
    assert block is not None
    return block.group(1).strip().splitlines()


def test_readme_starts_with_the_two_setup_commands() -> None:
    first_block = README.index("```sh")
    assert README[:first_block].count("\n") <= 2  # only the title comes before
    install_and_scan, install_and_test = setup_commands()
    assert "pip install" in install_and_scan and "notion-leakguard scan" in install_and_scan
    assert "'.[test]'" in install_and_test and "pytest" in install_and_test


def test_ci_runs_the_readme_test_command() -> None:
    ci = (REPO / ".ci" / "run").read_text()
    assert setup_commands()[1] in ci.splitlines()


def _commands() -> list[tuple[str, click.Command]]:
    """Every command, and every subcommand of a group (`baseline create`), as --help lists them."""
    found: list[tuple[str, click.Command]] = []
    assert isinstance(cli, click.Group)
    context = click.Context(cli)
    for name in cli.list_commands(context):
        command = cli.get_command(context, name)
        assert command is not None, name
        found.append((name, command))
        if isinstance(command, click.Group):
            inner = click.Context(command, parent=context)
            for sub in command.list_commands(inner):
                subcommand = command.get_command(inner, sub)
                assert subcommand is not None
                found.append((f"{name} {sub}", subcommand))
    assert len(found) >= 11  # the commands are loaded lazily: an empty list would pass silently
    return found


@pytest.mark.parametrize(("name", "command"), _commands())
def test_every_command_and_option_is_documented(name: str, command: click.Command) -> None:
    assert f"notion-leakguard {name}" in README
    for parameter in command.params:
        if isinstance(parameter, click.Option):
            for option in parameter.opts:
                assert f"`{option}" in README, f"{name} {option} is not in the README"


@pytest.mark.parametrize("rule", [r.id for r in RULES])
def test_every_rule_is_documented(rule: str) -> None:
    assert f"`{rule}`" in README
