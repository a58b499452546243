"""The command line. Parsing and wiring only: each command calls plain functions and returns
an exit code (0 clean, 1 findings, 2 could not do the job, 130 interrupted)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence

import click

from notion_leakguard import (
    __version__,
    config,
    engine,
    envfiles,
    git,
    hookinstall,
    sources,
    staged,
    suppress,
)
from notion_leakguard import baseline as baselines
from notion_leakguard.errors import LeakguardError
from notion_leakguard.findings import Finding, Note, ScanResult, merge
from notion_leakguard.reporters import (
    FORMATS,
    HISTORY_ADVICE,
    SCAN_ADVICE,
    STAGED_ADVICE,
    printable,
    render,
)
from notion_leakguard.scanner import redact_text

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="notion-leakguard")
def cli() -> None:
    """Find Notion API credentials before they reach git."""


def _format_options(command: Callable[..., int]) -> Callable[..., int]:
    command = click.option(
        "--output", type=click.Path(dir_okay=False), help="Write the report to FILE, not stdout."
    )(command)
    return click.option(
        "--format",
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
    cwd = os.getcwd()
    settings = config.load(cwd)
    if staged and history:
        raise click.UsageError("--staged and --history do not go together")
    if all_refs and not history:
        raise click.UsageError("--all-refs goes with --history")
    if verify_all and not verify_keys:
        raise click.UsageError("--verify-all goes with --verify")
    if staged:
        if paths:
            raise click.UsageError("--staged scans the index; it takes no PATH")
        # The root first: it proves a work tree (a bare repository's index would read as
        # all deletions) and staged paths start there.
        root = git.top_level(cwd)
        result = scan_staged(cwd, settings=settings, root=root)
        advice = STAGED_ADVICE
    elif history:
        from notion_leakguard import history as histories
        from notion_leakguard import progress

        plan = histories.plan(cwd, paths, all_refs=all_refs)
        root = git.work_tree_root(cwd) or cwd
        show = None if quiet else progress.reporter(sys.stderr)
        result = engine.scan_history(cwd, plan, progress=show)
        advice = HISTORY_ADVICE
    else:
        root = cwd
        result = scan_paths(paths or (".",), cwd=cwd, settings=settings, jobs=jobs)
        advice = SCAN_ADVICE
    result = _suppressed(result, settings, baseline_file, root=root, lift=no_suppress)
    if verify_keys:
        # Imported only here: a scan never loads an HTTP client unless asked to verify.
        from notion_leakguard import recollect, verify

        if staged:
            candidates = recollect.from_git(result.reported, cwd=root)
        elif history:
            candidates = recollect.from_git(result.reported, cwd=cwd)
        else:
            candidates = recollect.from_files(result.reported, root=root)
        result = verify.annotate(result, candidates, verify_all=verify_all)
    return report(result, fmt=fmt, output=output, advice=advice)


def scan_paths(
    paths: Sequence[str], *, cwd: str, settings: config.Config, jobs: int | None = None
) -> ScanResult:
    results = []
    if "-" in paths:
        results.append(engine.scan_blocks_of(sources.read_stream(sys.stdin.buffer), "-"))
    names = envfiles.DotenvNames(settings.extra_dotenv_patterns)
    files = sources.discover([p for p in paths if p != "-"], cwd=cwd, dotenv=names)
    results.append(engine.scan_files(_included(files, settings, cwd), jobs=jobs))
    return merge(results)


def scan_staged(cwd: str, *, settings: config.Config, root: str) -> ScanResult:
    """Added lines of the staged changes, and staged dotenv files; paths from the root."""
    changes = staged.staged_changes(cwd)
    paths = [p for p in changes.paths if not settings.excludes(os.path.join(root, p))]
    names = envfiles.DotenvNames(settings.extra_dotenv_patterns)
    dotenv = [
        envfiles.file_finding(envfiles.TRACKED, path)
        for path in paths
        if names.matches(path) and not envfiles.is_template(path)
    ]
    chunks = [c for c in changes.chunks if not settings.excludes(os.path.join(root, c.path))]
    return merge([engine.scan_chunks(chunks), ScanResult(tuple(dotenv), files_scanned=len(paths))])


def _included(
    items: Iterable[sources.Item], settings: config.Config, cwd: str
) -> Iterator[sources.Item]:
    for item in items:
        if isinstance(item, sources.FileEntry):
            path = item.path
        elif isinstance(item, Finding):
            path = os.path.join(cwd, item.path)
        else:
            yield item
            continue
        if not settings.excludes(path):
            yield item


def _suppressed(
    result: ScanResult,
    settings: config.Config,
    baseline_file: str | None,
    *,
    root: str,
    lift: bool,
) -> ScanResult:
    path = baseline_file or settings.baseline_path()
    known = baselines.load(path) if path else None
    result = suppress.apply(result, allow=settings.allow, baseline=known, finding_root=root)
    notes = tuple(Note(text) for text in settings.notes)
    result = result._replace(notes=result.notes + notes)
    return suppress.lift(result) if lift else result


@cli.command()
@click.argument("files", nargs=-1, type=click.Path(readable=False))
def hook(files: tuple[str, ...]) -> int:
    """What the pre-commit hook runs: scan FILES (a file named - is a file, not stdin).

    During a commit pre-commit has stashed unstaged changes, so the files hold what is
    staged. Its entry ends in `--`, so a file named like an option is still a file. The
    baseline and excludes come from the configuration.
    """
    cwd = os.getcwd()
    settings = config.load(cwd)
    names = envfiles.DotenvNames(settings.extra_dotenv_patterns)
    found = _included(sources.discover(files, cwd=cwd, dotenv=names), settings, cwd)
    result = _suppressed(engine.scan_files(found), settings, None, root=cwd, lift=False)
    return report(result, fmt="text", output=None, advice=STAGED_ADVICE)


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
    help=f"Where to write it.  [default: `baseline` in the configuration, else "
    f"{baselines.DEFAULT_PATH}]",
)
def baseline_create(paths: tuple[str, ...], output: str | None) -> int:
    """Record every current finding under PATHs (default: .) in a baseline."""
    cwd = os.getcwd()
    settings = config.load(cwd)
    target = output or settings.baseline_path() or baselines.DEFAULT_PATH
    result = suppress.apply(
        scan_paths(paths or (".",), cwd=cwd, settings=settings),
        allow=settings.allow,
        finding_root=cwd,
    )
    directory = os.path.dirname(os.path.abspath(target))
    entries = [
        baselines.entry_for(f, finding_root=cwd, directory=directory) for f in result.reported
    ]
    baselines.write(target, entries)
    click.echo(f"{target}: {len(set(entries))} entries", err=True)
    return EXIT_CLEAN


@baseline_group.command("update")
@click.argument("paths", nargs=-1, type=click.Path(readable=False))
@click.option(
    "--baseline",
    "baseline_file",
    type=click.Path(dir_okay=False, exists=True),
    help=f"The baseline.  [default: `baseline` in the configuration, else "
    f"{baselines.DEFAULT_PATH}]",
)
@click.option("--add-new", is_flag=True, help="Also record findings the baseline lacks.")
def baseline_update(paths: tuple[str, ...], baseline_file: str | None, add_new: bool) -> int:
    """Drop entries that no longer occur under PATHs (default: .); add none unless --add-new."""
    cwd = os.getcwd()
    settings = config.load(cwd)
    target = baseline_file or settings.baseline_path() or baselines.DEFAULT_PATH
    known = baselines.load(target)
    result = suppress.apply(
        scan_paths(paths or (".",), cwd=cwd, settings=settings),
        allow=settings.allow,
        finding_root=cwd,
    )
    entries = baselines.updated(known, result.reported, finding_root=cwd, add_new=add_new)
    scanned = [os.path.abspath(p) for p in paths or (".",)]
    elsewhere = [e for e in known.entries if not baselines.under(known, e, scanned)]
    baselines.write(target, [*entries, *elsewhere])
    click.echo(f"{target}: {len(set(entries))} entries (was {len(known.entries)})", err=True)
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
    cwd = os.getcwd()
    settings = config.load(cwd)
    names = envfiles.DotenvNames(settings.extra_dotenv_patterns)
    added: tuple[str, ...] = ()
    if fix:
        result = envfiles.fix_repository(cwd, names)
        added, findings = result.added, result.remaining
        if added:
            click.echo(f"notion-leakguard: {result.gitignore}: added {', '.join(added)}", err=True)
        for blocker in result.blockers:
            click.echo(f"notion-leakguard: {blocker}", err=True)
    else:
        findings = tuple(envfiles.check_repository(cwd, names))
    checked = _suppressed(ScanResult(findings), settings, None, root=cwd, lift=False)
    code = report(checked, fmt=fmt, output=output)
    return EXIT_FINDINGS if added else code


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
    "--force", is_flag=True, help="Replace a pre-commit hook notion-leakguard did not write."
)
@click.option("--uninstall", is_flag=True, help="Remove the hook, if notion-leakguard wrote it.")
def install_hook(force: bool, uninstall: bool) -> int:
    """Install a plain git pre-commit hook that runs `scan --staged` (honours core.hooksPath).

    For repositories that do not use the pre-commit framework. Set SKIP=notion-leakguard to
    skip it once.
    """
    cwd = os.getcwd()
    if uninstall:
        removed = hookinstall.uninstall(cwd)
        click.echo(f"removed {removed}" if removed else "no notion-leakguard hook installed")
        return EXIT_CLEAN
    click.echo(f"installed {hookinstall.install(cwd, force=force)}")
    return EXIT_CLEAN


def report(result: ScanResult, *, fmt: str, output: str | None, advice: str = SCAN_ADVICE) -> int:
    for skipped in result.skipped:
        click.echo(
            f"notion-leakguard: warning: {printable(redact_text(skipped.display))}: "
            f"{skipped.reason}; skipped",
            err=True,
        )
    for note in result.notes:
        click.echo(f"notion-leakguard: note: {printable(redact_text(note.text))}", err=True)
    if output is None:
        color = fmt == "text" and _wants_color(sys.stdout)
        click.echo(render(result, fmt, color=color, advice=advice), nl=False, color=color)
    else:
        try:
            with open(output, "w", encoding="utf-8") as stream:
                stream.write(render(result, fmt, advice=advice))
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
        error.message = redact_text(error.message)  # a token given as an argument
        error.show()
        return EXIT_ERROR
    except LeakguardError as error:
        click.echo(f"notion-leakguard: error: {printable(redact_text(str(error)))}", err=True)
        return EXIT_ERROR
    return code if isinstance(code, int) else EXIT_CLEAN


def console_main() -> None:
    sys.exit(main())
