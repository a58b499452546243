"""Timing shared by the benchmarks: every command once to warm up, then rounds that run each
command in turn, so that all of them share the machine's noise."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

Command = TypeVar("Command")


def interleaved(
    commands: dict[str, Command], runs: int, once: Callable[[Command], float]
) -> dict[str, list[float]]:
    """Seconds per run of each command, `once` timing one run."""
    for command in commands.values():  # warm-up: page cache, imports
        once(command)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            times[name].append(once(command))
    return times
