"""The detect-secrets helpers: the plugin's path and shim, and audit with the plugin."""

from __future__ import annotations

import click

from notion_leakguard.cli.options import EXIT_CLEAN


@click.command("detect-secrets-plugin")
@click.option(
    "--shim",
    type=click.Path(dir_okay=False),
    help="Write a small file at SHIM (inside the repository) that loads the plugin.",
)
@click.option(
    "--baseline",
    type=click.Path(dir_okay=False, exists=True),
    help="With --shim: name the shim in this detect-secrets baseline by its relative path, "
    "and let the plugin see `x = f(...)` lines there.",
)
def detect_secrets_plugin(shim: str | None, baseline: str | None) -> int:
    """Print the path to pass to `detect-secrets --plugin`.

    detect-secrets stores that path, absolute, in the baseline. For a baseline that works on
    every machine, commit a shim and point the baseline at it by a relative path:
    `notion-leakguard detect-secrets-plugin --shim .detect-secrets/notion.py --baseline
    .secrets.baseline`. That also swaps the baseline's filter is_indirect_reference, which
    hides `client = Client(auth="secret_...")` from every plugin, for one that hides such
    lines from the other plugins only.
    """
    if baseline and not shim:
        raise click.UsageError("--baseline needs --shim")
    from notion_leakguard import detect_secrets_setup  # importlib machinery: not on scan paths

    if not detect_secrets_setup.detect_secrets_installed():
        click.echo(
            "notion-leakguard: note: detect-secrets is not installed here; "
            "pip install 'notion-leakguard[detect-secrets]'",
            err=True,
        )
    if shim is None:
        click.echo(detect_secrets_setup.plugin_path())
        return EXIT_CLEAN
    if baseline:
        detect_secrets_setup.check_baseline(baseline, shim)  # before anything is written
    detect_secrets_setup.write_shim(shim)
    for change in detect_secrets_setup.point_baseline_at(baseline, shim) if baseline else ():
        click.echo(f"notion-leakguard: {baseline}: {change}", err=True)
    click.echo(shim)
    return EXIT_CLEAN


@click.command(
    "detect-secrets-audit",
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@click.argument("arguments", nargs=-1, type=click.UNPROCESSED)
def detect_secrets_audit(arguments: tuple[str, ...]) -> int:
    """Run `detect-secrets audit ARGUMENTS` with the Notion plugin registered.

    detect-secrets 1.5's own `audit` fails on baselines that use a custom plugin
    (Yelp/detect-secrets#611); e.g. `notion-leakguard detect-secrets-audit --report
    .secrets.baseline`.
    """
    from notion_leakguard import detect_secrets_setup

    return detect_secrets_setup.audit(arguments)
