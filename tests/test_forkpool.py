"""The worker pool of large scans (forkpool.py): results in order, exceptions and dead
workers reported in this process, big tasks and answers that fill the pipes, no worker left
behind. Each test runs under an alarm, so a deadlock fails instead of hanging the suite."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from notion_leakguard import forkpool

pytestmark = [
    pytest.mark.skipif(sys.platform != "linux", reason="fork workers: Linux only"),
    pytest.mark.usefixtures("hang_alarm"),
]


def square_and_pid(value: int) -> tuple[int, int]:
    return value * value, os.getpid()


def echo(data: bytes) -> bytes:
    return data[::-1]


def fail_on(value: int, bad: int) -> int:
    if value == bad:
        raise ValueError(f"task {value} failed")
    time.sleep(0.001)
    return value


def die_on(value: int, bad: int) -> int:
    if value == bad:
        os.kill(os.getpid(), signal.SIGKILL)
    return value


class Unpicklable(Exception):
    def __init__(self) -> None:
        super().__init__("cannot travel")
        self.handle = lambda: None  # a lambda does not pickle


def raise_unpicklable() -> None:
    raise Unpicklable()


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_results_come_back_in_the_order_of_the_tasks() -> None:
    seen: list[tuple[int, int]] = []
    answers = forkpool.run(square_and_pid, ((n,) for n in range(300)), 3, seen.append)
    assert [value for value, _ in answers] == [n * n for n in range(300)]
    assert sorted(seen) == sorted(answers)  # `done` was told of every result
    pids = {pid for _, pid in answers}
    assert os.getpid() not in pids and 1 <= len(pids) <= 3
    assert all(_gone(pid) for pid in pids)  # every worker ended and was reaped


# Drawn at most when the first answer comes: with two tasks ahead, two running and two
# waiting per worker, one in hand; with one, one running per worker, two waiting here.
@pytest.mark.parametrize(("ahead", "most"), ((2, 9), (1, 5)))
def test_tasks_are_taken_as_workers_need_them(ahead: int, most: int) -> None:
    drawn = []

    def tasks() -> Iterator[tuple[int, int]]:
        for n in range(200):
            drawn.append(n)
            yield n, -1

    at_first_answer: list[int] = []
    answers = forkpool.run(
        fail_on, tasks(), 2, lambda _: at_first_answer.append(len(drawn)), ahead=ahead
    )
    assert answers == list(range(200)) and len(drawn) == 200
    assert at_first_answer[0] <= most


@pytest.mark.parametrize("size", (1, 70_000, 3 << 20))
def test_tasks_and_answers_larger_than_a_pipe_do_not_block(size: int) -> None:
    data = [bytes([n]) * size for n in range(6)]
    assert forkpool.run(echo, ((d,) for d in data), 2) == [d[::-1] for d in data]


def note_start_then_echo(data: bytes, marker: str) -> bytes:
    with open(marker, "w") as out:
        out.write("started")
    return data[::-1]


def test_a_worker_has_its_whole_task_before_the_next_is_drawn(tmp_path: Path) -> None:
    """A source still being listed (history.Parts) may keep the next task waiting: the
    task already handed out must reach its worker whole meanwhile, even when it is larger
    than a pipe holds."""
    marker = tmp_path / "started"

    def tasks() -> Iterator[tuple[bytes, str]]:
        yield b"x" * (3 << 20), str(marker)
        deadline = time.monotonic() + 20
        while not marker.exists():  # the next task only once the first one runs
            assert time.monotonic() < deadline, "the first task never reached its worker"
            time.sleep(0.005)
        yield b"y", str(tmp_path / "second")

    answers = forkpool.run(note_start_then_echo, tasks(), 2, ahead=1)
    assert answers == [b"x" * (3 << 20), b"y"]


def test_an_exception_in_a_task_is_raised_here() -> None:
    with pytest.raises(ValueError, match="task 17 failed"):
        forkpool.run(fail_on, ((n, 17) for n in range(60)), 2)


def test_an_exception_that_cannot_travel_arrives_as_its_text() -> None:
    with pytest.raises(RuntimeError, match="Unpicklable: cannot travel"):
        forkpool.run(raise_unpicklable, [()], 2)


def test_a_worker_that_dies_is_an_error_not_a_hang() -> None:
    with pytest.raises(forkpool.WorkerError, match="ended"):
        forkpool.run(die_on, ((n, 5) for n in range(40)), 2)


def test_no_tasks_no_results() -> None:
    assert forkpool.run(echo, [], 2) == []


def test_the_executor_used_elsewhere_gives_the_same() -> None:
    seen: list[tuple[int, int]] = []
    answers = forkpool._with_executor(square_and_pid, [(n,) for n in range(20)], 2, seen.append)
    assert [value for value, _ in answers] == [n * n for n in range(20)]
    assert len(seen) == 20


def start_child_then_wait(marker: str, fail: bool) -> int:
    """A task that starts a process of its own and, interrupted, stops it (as a history
    part stops its git); or fails at once."""
    if fail:
        time.sleep(0.3)  # the other worker has started its child by then
        raise ValueError("this task failed")
    child = os.fork()
    if child == 0:  # pragma: no cover (the child only sleeps)
        time.sleep(30)
        os._exit(0)
    try:
        time.sleep(30)
    except KeyboardInterrupt:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
        with open(marker, "w") as out:
            out.write(str(child))
        raise
    return 0


def test_a_worker_still_running_when_the_pool_stops_may_stop_what_it_started(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "stopped"
    tasks = [(str(marker), False), (str(marker), True)]
    started = time.monotonic()
    with pytest.raises(ValueError, match="this task failed"):
        forkpool.run(start_child_then_wait, iter(tasks), 2, ahead=1)
    assert time.monotonic() - started < 10  # not the 30 s the task would sleep
    assert marker.exists(), "the running worker was killed before it could clean up"
    assert _gone(int(marker.read_text()))
