"""Calls spread over worker processes forked from this one, each fed through a pair of
pipes: what `concurrent.futures` does for the pipeline, without the 15 ms its import of
`multiprocessing` (tempfile, socket, ...) adds before the first worker of a large scan can
start, on a scan that takes 0.3 s in all (bench/bench_scan.py).

Forking is how Linux starts a worker in a millisecond, with every module and the loaded
accelerator inherited. Elsewhere (macOS, Windows) the platform's default start method is the
safe one, and `ProcessPoolExecutor` runs the same calls.
"""

from __future__ import annotations

import functools
import os
import pickle
import select
import signal
import struct
import sys
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

R = TypeVar("R")

_FRAME = struct.Struct("<Q")  # the length of the pickle that follows
_AHEAD = 2  # tasks a worker holds: one it runs, one waiting, so it never waits for us
_CHUNK = 1 << 20


class WorkerError(Exception):
    """A worker process ended without answering (killed, out of memory)."""


def run(
    function: Callable[..., R],
    tasks: Iterable[tuple[Any, ...]],
    workers: int,
    done: Callable[[R], None] | None = None,
    *,
    ahead: int = _AHEAD,
) -> list[R]:
    """`function(*task)` for every task, in worker processes; the results in the tasks'
    order. `tasks` is consumed lazily, as workers need more. `done` is told each result as
    it arrives (in this process). An exception a call raised is raised here. `ahead`: the
    tasks a worker holds at most (1 for long tasks: none waits at a busy worker while
    another is idle)."""
    workers = max(1, workers)
    if sys.platform != "linux":
        return _with_executor(function, tasks, workers, done)
    prepare()
    pool: list[_Worker] = []
    try:
        for _ in range(workers):
            pool.append(_Worker.fork(function, pool))
        return _dispatch(pool, iter(tasks), done, ahead)
    finally:
        for worker in pool:
            worker.stop()


class _Worker:
    def __init__(self, pid: int, tasks: int, results: int) -> None:
        self.pid = pid
        self.tasks = tasks  # write end, non-blocking
        self.results = results  # read end, non-blocking
        self.outbox = bytearray()  # framed tasks not yet taken by the pipe
        self.inbox = bytearray()  # bytes of results not yet whole
        self.running: deque[int] = deque()  # the indices of tasks sent, oldest first

    @classmethod
    def fork(cls, function: Callable[..., Any], others: list[_Worker]) -> _Worker:
        fds: list[int] = []
        try:
            fds += os.pipe()
            fds += os.pipe()
            task_read, task_write, result_read, result_write = fds
            # Ctrl-C waits until the child is inside _serve's handler (or the parent is
            # back here): an exception must never carry a child into the caller's frames.
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
            try:
                pid = os.fork()
                if pid == 0:  # pragma: no cover (runs in the child; the tests see its results)
                    try:
                        for fd in (task_write, result_read, *(f for o in others for f in o.fds())):
                            os.close(fd)
                        _serve(function, task_read, result_write)
                    finally:
                        os._exit(1)
            finally:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        except BaseException:
            for fd in fds:
                os.close(fd)
            raise
        os.close(task_read)
        os.close(result_write)
        os.set_blocking(task_write, False)
        os.set_blocking(result_read, False)
        return cls(pid, task_write, result_read)

    def fds(self) -> tuple[int, int]:
        return self.tasks, self.results

    def send(self, index: int, task: tuple[Any, ...]) -> None:
        payload = pickle.dumps(task, pickle.HIGHEST_PROTOCOL)
        self.outbox += _FRAME.pack(len(payload)) + payload
        self.running.append(index)
        self.flush()

    def flush(self) -> None:
        """Write what the pipe takes now."""
        try:
            while self.outbox:
                del self.outbox[: os.write(self.tasks, self.outbox)]
        except BlockingIOError:
            pass
        except BrokenPipeError:
            raise WorkerError("a worker process ended before it took its work") from None

    def answers(self) -> Iterator[tuple[int, Any]]:
        """The results that arrived whole: (task index, result)."""
        ended = False
        try:
            while not ended:
                chunk = os.read(self.results, _CHUNK)
                self.inbox += chunk
                ended = not chunk
        except BlockingIOError:
            pass
        while len(self.inbox) >= _FRAME.size:
            (size,) = _FRAME.unpack_from(self.inbox)
            end = _FRAME.size + size
            if len(self.inbox) < end:
                break
            ok, value = pickle.loads(self.inbox[_FRAME.size : end])
            del self.inbox[:end]
            index = self.running.popleft()
            if not ok:
                raise value
            yield index, value
        if ended and self.running:
            raise WorkerError("a worker process ended before it finished its work")

    def stop(self) -> None:
        """No more tasks: the worker sees the end of its pipe and exits. One still running
        (this process is leaving on an error, or Ctrl-C) is interrupted, so that it stops
        the processes it started (its git), and killed if it has not ended in 2 s."""
        for fd in self.fds():
            os.close(fd)
        if self.running:  # not reaped yet, so the pid is still this worker's
            os.kill(self.pid, signal.SIGINT)
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline:
                if os.waitpid(self.pid, os.WNOHANG)[0]:
                    return
                time.sleep(0.002)
            os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)


def _dispatch(
    pool: list[_Worker],
    tasks: Iterator[tuple[Any, ...]],
    done: Callable[[R], None] | None,
    most: int,
) -> list[R]:
    """Hand out the tasks, a few taken ahead of need: each worker holds a second one while
    many remain, and only one once few do, so that at the end no worker waits idle while
    another holds work."""
    results: dict[int, R] = {}
    ready: deque[tuple[Any, ...]] = deque()  # taken from `tasks`, not sent yet
    sent = 0
    more = True
    by_fd = {fd: worker for worker in pool for fd in worker.fds()}
    while True:
        for worker in sorted(pool, key=lambda w: len(w.running)):
            ahead = most if more or len(ready) > len(pool) else 1
            while ready and len(worker.running) < ahead:
                worker.send(sent, ready.popleft())
                sent += 1
        if not more and not ready and not any(worker.running for worker in pool):
            return [results[index] for index in range(sent)]
        # Take the next task now (one at a time: a worker may finish meanwhile), or wait.
        # Not while a task is still being written: taking one may wait (on a source that
        # is still being listed), and a worker must not wait for the rest of its task.
        timeout = None
        writing = any(worker.outbox for worker in pool)
        if more and len(ready) < most * len(pool) and not writing:
            task = next(tasks, None)
            more = task is not None
            if task is not None:
                ready.append(task)
            timeout = 0
        poller = select.poll()
        for worker in pool:
            if worker.running:
                poller.register(worker.results, select.POLLIN)
            if worker.outbox:
                poller.register(worker.tasks, select.POLLOUT)
        for fd, _event in poller.poll(timeout):
            worker = by_fd[fd]
            if fd == worker.tasks:
                worker.flush()
                continue
            for index, result in worker.answers():
                results[index] = result
                if done is not None:
                    done(result)


def _serve(function: Callable[..., Any], tasks: int, results: int) -> None:  # pragma: no cover
    """The worker: run each task it is sent and send back what came of it, until the end
    of the task pipe. Never returns into the caller's frames (os._exit)."""
    code = 0
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked for the fork
    try:
        while True:
            header = _read(tasks, _FRAME.size)
            if not header:
                break
            task = pickle.loads(_read(tasks, _FRAME.unpack(header)[0]))
            try:
                answer = pickle.dumps((True, function(*task)), pickle.HIGHEST_PROTOCOL)
            except BaseException as error:  # raised again in the parent
                answer = _failure(error)
            data = memoryview(_FRAME.pack(len(answer)) + answer)
            while data:
                data = data[os.write(results, data) :]
    except BaseException:
        code = 1  # the parent is gone (a broken pipe) or interrupted
    finally:
        os._exit(code)


@functools.cache
def prepare() -> None:
    """What every worker needs, done once here before they fork (a caller that waits for
    something anyway may call it then; `run` does otherwise).

    glibc's malloc keeps freed buffers for the next file instead of handing them back to
    the kernel: a worker reads every file into a new buffer of up to a block (1 MiB), and
    by default each one over 128 KiB is a fresh mapping whose pages the kernel must fault
    in and clear. On the JavaScript tree this halves the page faults (41,000 to 21,000)
    and saves 20 ms of a 0.48 s scan. The memory stays bounded by what a process holds at
    once. The settings are inherited by the forked workers; importing ctypes for them
    took each worker 5-8 ms before it could start, on a busy machine. Elsewhere (musl, no
    ctypes) nothing changes."""
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
        mallopt(_M_MMAP_THRESHOLD, 8 << 20)
        mallopt(_M_TRIM_THRESHOLD, 64 << 20)
    except (ImportError, OSError, AttributeError):
        pass


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h


def _failure(error: BaseException) -> bytes:  # pragma: no cover (runs in the child)
    try:
        return pickle.dumps((False, error), pickle.HIGHEST_PROTOCOL)
    except Exception:  # an exception that does not pickle: its text travels instead
        text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        return pickle.dumps((False, RuntimeError(text)), pickle.HIGHEST_PROTOCOL)


def _read(fd: int, size: int) -> bytes:  # pragma: no cover (runs in the child)
    """`size` bytes, or fewer at the end of the pipe."""
    parts = []
    while size:
        chunk = os.read(fd, min(size, _CHUNK))
        if not chunk:
            break
        parts.append(chunk)
        size -= len(chunk)
    return b"".join(parts)


def _with_executor(
    function: Callable[..., R],
    tasks: Iterable[tuple[Any, ...]],
    workers: int,
    done: Callable[[R], None] | None,
) -> list[R]:
    from concurrent.futures import Future, ProcessPoolExecutor

    def finished(future: Future[R]) -> None:
        if done is not None and not future.cancelled() and future.exception() is None:
            done(future.result())

    with ProcessPoolExecutor(workers) as pool:
        futures = []
        for task in tasks:
            futures.append(pool.submit(function, *task))
            futures[-1].add_done_callback(finished)
        return [future.result() for future in futures]
