"""Many repositories: scanned in local worker processes (one repository per task), or sent
as one task each to a Dask cluster (`dask.distributed`). Either way each task runs
`collect.scan_repository` and only its `RepoScan` comes back; the result is the same."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from notion_leakguard.errors import LeakguardError
from notion_leakguard.inventory.collect import scan_repository
from notion_leakguard.inventory.records import RepoScan, Target

if TYPE_CHECKING:
    from multiprocessing.context import BaseContext

Progress = Callable[[int, int], None]  # repositories done, repositories in all
# A task whose worker failed on something other than the repository (an exception in the
# task) is tried again this often; a worker that dies makes the scheduler run its tasks
# elsewhere anyway (distributed.scheduler.allowed-failures, 3 by default).
RETRIES = 2
CONNECT_TIMEOUT = "20s"
# A cluster with no worker for this long (none yet, or all gone) runs nothing: the run
# stops with a message instead of waiting for ever.
NO_WORKERS_WAIT = 60.0
_POLL = 1.0  # seconds between two looks at the cluster while a task is pending


def scan_all(
    targets: Sequence[Target],
    *,
    jobs: int | None = None,
    scheduler: str | None = None,
    verify: bool = False,
    verify_all: bool = False,
    progress: Progress | None = None,
) -> list[RepoScan]:
    """Each target's scan, in the order given."""
    options = {"verify": verify, "verify_all": verify_all}
    if scheduler is not None:
        return _on_dask(targets, scheduler, options, progress)
    workers = min(jobs if jobs is not None else (os.cpu_count() or 1), len(targets))
    if workers < 2:
        done = []
        for target in targets:
            done.append(scan_repository(target, **options))
            if progress is not None:
                progress(len(done), len(targets))
        return done
    from concurrent.futures import ProcessPoolExecutor, as_completed

    with ProcessPoolExecutor(workers, mp_context=_context()) as pool:
        futures = [pool.submit(scan_repository, target, **options) for target in targets]
        if progress is not None:
            for count, _future in enumerate(as_completed(futures), 1):
                progress(count, len(targets))
        return [future.result() for future in futures]


def _context() -> BaseContext:
    import multiprocessing

    # fork starts a worker in about a millisecond; elsewhere the platform default is safer.
    return multiprocessing.get_context("fork" if sys.platform == "linux" else None)


def _on_dask(
    targets: Sequence[Target],
    scheduler: str,
    options: dict[str, Any],
    progress: Progress | None,
) -> list[RepoScan]:
    try:
        from distributed import Client
    except ImportError:
        raise LeakguardError(
            "--scheduler needs Dask: pip install 'notion-leakguard[distributed]'"
        ) from None
    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError) as error:
        raise LeakguardError(f"cannot reach the Dask scheduler at {scheduler}: {error}") from None
    run = uuid.uuid4().hex[:12]
    with client:
        futures = {
            client.submit(
                scan_repository,
                target,
                **options,
                key=f"notion-leakguard-inventory-{run}-{index}",
                pure=False,
                retries=RETRIES,
            ): index
            for index, target in enumerate(targets)
        }
        found: dict[int, RepoScan] = {}
        idle = _Idle(client, scheduler)
        for future, index in futures.items():  # in order: the first waits longest anyway
            try:
                found[index] = _result(future, idle)
            except LeakguardError:
                client.cancel(list(futures))
                raise
            except Exception as error:  # the task failed on every try (KilledWorker, ...)
                reason = f"the Dask task failed: {type(error).__name__}"
                found[index] = RepoScan(targets[index].name, error=reason)
            if progress is not None:
                progress(len(found), len(targets))
    return [found[index] for index in range(len(targets))]


class _Idle:
    """How long the cluster has had no worker; an error once that is too long."""

    def __init__(self, client: Any, scheduler: str) -> None:
        self.client = client
        self.scheduler = scheduler
        self.since: float | None = None

    def check(self) -> None:
        import time

        try:
            workers = self.client.nthreads()
        except (OSError, TimeoutError):  # the scheduler itself is gone: no worker either
            workers = {}
        if workers:
            self.since = None
            return
        now = time.monotonic()
        if self.since is None:
            self.since = now
        elif now - self.since >= NO_WORKERS_WAIT:
            raise LeakguardError(
                f"the Dask scheduler at {self.scheduler} has had no worker for "
                f"{NO_WORKERS_WAIT:g} seconds: start some (dask worker {self.scheduler})"
            )


def _result(future: Any, idle: _Idle) -> RepoScan:
    from distributed import TimeoutError as DaskTimeout

    while True:
        try:
            found: RepoScan = future.result(timeout=_POLL)
        except DaskTimeout:
            idle.check()
            continue
        idle.since = None  # some worker is there
        return found
