"""Slow session set-up that starts before the first test needs it.

Building a pre-commit hook environment (a virtualenv, pip installing this project) takes
seconds of mostly child-process time, while the tests run in one process. A `Prepared` held
by a test module is started by tests/conftest.py as the session begins (when a collected
test uses that module), one at a time in a background thread; the fixture that needs it
waits for the result. Started lazily otherwise (under pytest-xdist, each worker builds what
its own tests need).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Generic, TypeVar

import pytest

T = TypeVar("T")

# One thread: two builds at once would only compete with each other and with the tests.
_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prepared")


class Prepared(Generic[T]):
    """`build(directory)`, at most once a session, in a fresh directory named `name`."""

    def __init__(self, name: str, build: Callable[[Path], T]) -> None:
        self.name = name
        self.build = build
        self.future: Future[T] | None = None

    def start(self, factory: pytest.TempPathFactory) -> None:
        if self.future is None:
            self.future = _THREAD.submit(self.build, factory.mktemp(self.name))

    def get(self, factory: pytest.TempPathFactory) -> T:
        """The result (raising what the build raised), waiting for it if need be."""
        self.start(factory)
        assert self.future is not None
        return self.future.result()

    def wait(self) -> None:
        """Let a started build finish (its processes write into the session's directory)."""
        if self.future is not None:
            self.future.exception()


def start_all(items: list[pytest.Item], factory: pytest.TempPathFactory) -> list[Prepared]:
    """Start what the modules of `items` hold, in the order the tests will need them."""
    started: list[Prepared] = []
    modules = (getattr(item, "module", None) for item in items)
    for module in dict.fromkeys(m for m in modules if m is not None):
        for value in vars(module).values():
            if isinstance(value, Prepared) and value not in started:
                value.start(factory)
                started.append(value)
    return started
