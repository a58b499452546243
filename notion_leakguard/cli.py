"""The command line. Parsing and wiring only: each command calls plain functions and returns
an exit code (0 clean, 1 findings, 2 could not do the job, 130 interrupted)."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import click

from notion_leakguard import __version__, hookinstall
from notion_leakguard.baseline import DEFAULT_PATH as DEFAULT_BASELINE
from notion_leakguard.commands import Outcome
from notion_leakguard.errors import LeakguardError, file_errors
from notion_leakguard.findings import ScanResult
from notion_leakguard.redaction import redact_text, shown
from notion_leakguard.reporters import FORMATS, SCAN_ADVICE, render

if TYPE_CHECKING:
    from notion_leakguard.commands.ci import Checked

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="notion-leakguard")
def cli() -> None:
    """Find Notion API credentials before they reach git."""


def _format_options(command: Callable[..., int]) -> Callable[..., int]:
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


def _suppression_options(command: Callable[..., int]) -> Callable[..., int]:
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


@cli.command()
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
@click.option("--quiet", is_flag=True, help="No progress display.")
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
@_format_options
@_suppression_options
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
    quiet: bool,
    verify_keys: bool,
    verify_all: bool,
    fmt: str,
    output: str | None,
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
    if all_refs and not history:
        raise click.UsageError("--all-refs goes with --history")
    if verify_all and not verify_keys:
        raise click.UsageError("--verify-all goes with --verify")
    if staged and paths:
        raise click.UsageError("--staged scans the index; it takes no PATH")
    from notion_leakguard import progress
    from notion_leakguard.commands.scan import scan as run_scan

    outcome = run_scan(
        cwd=os.getcwd(),
        paths=paths,
        staged=staged,
        history=history,
        all_refs=all_refs,
        jobs=jobs,
        baseline=baseline_file,
        lift=no_suppress,
        verify=verify_keys,
        verify_all=verify_all,
        progress=None if quiet or not history else progress.reporter(sys.stderr),
    )
    return report(outcome, fmt=fmt, output=output)


@cli.command()
@click.argument("files", nargs=-1, type=click.Path(readable=False))
def hook(files: tuple[str, ...]) -> int:
    """What the pre-commit hook runs: scan FILES (a file named - is a file, not stdin).

    During a commit pre-commit has stashed unstaged changes, so the files hold what is
    staged. Its entry ends in `--`, so a file named like an option is still a file. The
    baseline and excludes come from the configuration.
    """
    from notion_leakguard.commands.hook import hook as run_hook

    return report(run_hook(files, cwd=os.getcwd()), fmt="text", output=None)


@cli.command("pre-push")
@click.argument("remote", required=False)
@click.argument("url", required=False)
@_format_options
def pre_push(remote: str | None, url: str | None, fmt: str, output: str | None) -> int:
    """git's pre-push hook: refuse a push whose new commits carry a key.

    Reads git's standard input (`<local ref> <local sha> <remote ref> <remote sha>` lines)
    and scans every commit the pushed refs bring that REMOTE does not have yet (its
    remote-tracking refs): their new blobs and messages, and annotated tags. Under the
    pre-commit framework (hook id notion-leakguard-push) the refs come from its environment.
    """
    from notion_leakguard.commands.push import pre_push as run_pre_push

    data = b"" if "PRE_COMMIT_REMOTE_NAME" in os.environ else _stdin_bytes()
    outcome = run_pre_push(cwd=os.getcwd(), remote=remote, stdin=data)
    return report(outcome, fmt=fmt, output=output)


@cli.command("pre-receive")
@_format_options
def pre_receive(fmt: str, output: str | None) -> int:
    """A server's pre-receive hook: refuse a push whose new commits carry a key.

    Reads `<old> <new> <ref>` lines and scans the commits no existing ref reaches: their new
    blobs, commit messages and tag messages. The configuration and baseline come from the
    pushed commits. Install as the bare repository's hooks/pre-receive.
    """
    from notion_leakguard.commands.push import pre_receive as run_pre_receive

    outcome = run_pre_receive(cwd=os.getcwd(), stdin=_stdin_bytes())
    return report(outcome, fmt=fmt, output=output)


@cli.command("ci")
@click.option(
    "--range",
    "range_",
    metavar="A..B",
    help="Scan the commits of B that A does not have, whatever CI this is.",
)
@_format_options
@_suppression_options
def ci(
    range_: str | None, fmt: str, output: str | None, baseline_file: str | None, no_suppress: bool
) -> int:
    """Scan what the current CI job's push, pull request or merge request brings.

    GitHub Actions and GitLab CI are recognised from their environment (a push: before..after;
    a new branch: what no other branch had; a pull or merge request: base..head); elsewhere
    pass --range. Needs the full history (actions/checkout: fetch-depth: 0). On GitHub each
    finding is also a workflow annotation and the job summary lists them.
    """
    from notion_leakguard.commands.ci import ci as run_ci

    checked = run_ci(
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
    code = report(outcome, fmt=fmt, output=output)
    if os.environ.get("GITHUB_ACTIONS") == "true":
        _github_outputs(outcome.result, checked, machine_stdout=output is None and fmt != "text")
    return code


def _github_outputs(result: ScanResult, checked: Checked, *, machine_stdout: bool) -> None:
    """Workflow annotations (at most 10: GitHub shows no more per step) and the job summary."""
    from notion_leakguard import cievent

    for finding in result.reported[:10]:
        title = f"notion-leakguard: {finding.rule}"
        text = f"{finding.message}: {finding.preview}"
        if finding.origin is not None:
            text += (
                f" (commit {finding.origin.commit[:12]}). Rewrite the commit and rotate the key."
            )
        line = cievent.annotation(shown(finding.path), finding.line, finding.column, title, text)
        click.echo(line, err=machine_stdout)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        rows = [
            cievent.SummaryRow(
                shown(f.path), f.line, f.rule, f.preview, f.origin.commit if f.origin else None
            )
            for f in result.reported
        ]
        text = cievent.step_summary(
            checked.event.description,
            rows,
            commits=checked.commits,
            suppressed=len(result.suppressed),
        )
        with file_errors(f"cannot write {summary}"), open(summary, "a", encoding="utf-8") as stream:
            stream.write(text)


def _stdin_bytes() -> bytes:
    stream = click.get_binary_stream("stdin")
    return b"" if stream.isatty() else stream.read()


@cli.group("baseline")
def baseline_group() -> None:
    """Acknowledge existing findings once, so that only new ones fail.

    Entries hold rule, path and fingerprint (never the token, never a line number), sorted,
    so the file changes only when findings do.
    """


@baseline_group.command("create")
@click.argument("paths", nargs=-1, type=click.Path(readable=False))
@click.option(
    "--output",
    type=click.Path(dir_okay=False),
    help=f"Where to write it.  [default: `baseline` in the configuration, else {DEFAULT_BASELINE}]",
)
def baseline_create(paths: tuple[str, ...], output: str | None) -> int:
    """Record every current finding under PATHs (default: .) in a baseline."""
    from notion_leakguard.commands import baseline

    written = baseline.create(paths, cwd=os.getcwd(), output=output)
    click.echo(f"{written.path}: {written.entries} entries", err=True)
    return EXIT_CLEAN


@baseline_group.command("update")
@click.argument("paths", nargs=-1, type=click.Path(readable=False))
@click.option(
    "--baseline",
    "baseline_file",
    type=click.Path(dir_okay=False, exists=True),
    help=f"The baseline.  [default: `baseline` in the configuration, else {DEFAULT_BASELINE}]",
)
@click.option("--add-new", is_flag=True, help="Also record findings the baseline lacks.")
def baseline_update(paths: tuple[str, ...], baseline_file: str | None, add_new: bool) -> int:
    """Drop entries that no longer occur under PATHs (default: .); add none unless --add-new."""
    from notion_leakguard.commands import baseline

    written = baseline.update(paths, cwd=os.getcwd(), baseline=baseline_file, add_new=add_new)
    click.echo(f"{written.path}: {written.entries} entries (was {written.before})", err=True)
    return EXIT_CLEAN


@cli.command("check-env")
@click.option("--fix", is_flag=True, help="Add what is missing to the root .gitignore.")
@_format_options
def check_env(fix: bool, fmt: str, output: str | None) -> int:
    """Dotenv hygiene for the current repository.

    Reports dotenv files that no ignore rule covers and dotenv files git tracks or has
    staged. With --fix, appends the missing rules to the root .gitignore (exit 1 when it
    changed it, as pre-commit fixers do); tracked files are never untracked for you.
    """
    from notion_leakguard.commands.check_env import check_env as run_check

    checked = run_check(cwd=os.getcwd(), fix=fix)
    if checked.added:
        click.echo(
            f"notion-leakguard: {checked.gitignore}: added {', '.join(checked.added)}", err=True
        )
    for blocker in checked.blockers:
        click.echo(f"notion-leakguard: {blocker}", err=True)
    code = report(Outcome(checked.result, SCAN_ADVICE), fmt=fmt, output=output)
    return EXIT_FINDINGS if checked.added else code


@cli.command("detect-secrets-plugin")
@click.option(
    "--shim",
    type=click.Path(dir_okay=False),
    help="Write a small file at SHIM (inside the repository) that loads the plugin.",
)
@click.option(
    "--baseline",
    type=click.Path(dir_okay=False, exists=True),
    help="With --shim: name the shim in this detect-secrets baseline by its relative path.",
)
def detect_secrets_plugin(shim: str | None, baseline: str | None) -> int:
    """Print the path to pass to `detect-secrets --plugin`.

    detect-secrets stores that path, absolute, in the baseline. For a baseline that works on
    every machine, commit a shim and point the baseline at it by a relative path:
    `notion-leakguard detect-secrets-plugin --shim .detect-secrets/notion.py --baseline
    .secrets.baseline`.
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
    if baseline and detect_secrets_setup.point_baseline_at(baseline, shim):
        click.echo(f"notion-leakguard: {baseline}: plugin path set to {shim}", err=True)
    click.echo(shim)
    return EXIT_CLEAN


@cli.command(
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


@cli.command("install-hook")
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
    if output is None:
        color = fmt == "text" and _wants_color(sys.stdout)
        text = render(result, fmt, color=color, advice=outcome.advice)
        click.echo(text, nl=False, color=color)
    else:
        with file_errors(f"cannot write {output}"), open(output, "w", encoding="utf-8") as stream:
            stream.write(render(result, fmt, advice=outcome.advice))
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
        message = io.StringIO()
        error.show(file=message)
        sys.stderr.write(redact_text(message.getvalue()))  # a token given as an argument
        return EXIT_ERROR
    except LeakguardError as error:
        click.echo(f"notion-leakguard: error: {shown(str(error))}", err=True)
        return EXIT_ERROR
    return code if isinstance(code, int) else EXIT_CLEAN


def console_main() -> None:
    sys.exit(main())
