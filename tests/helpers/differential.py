"""A pytest plugin for tests/test_accelerator.py: every buffer any test hands to the
scanner's passes is also put to the accelerator's pre-check, and a buffer the pre-check
turns away must be one in which the pure passes find nothing (with the pre-check, the
scanner runs exactly the pure passes on every other buffer, so the findings are the same).
At the end it prints how many buffers the pre-check saw and turned away."""

from __future__ import annotations

from typing import Any

import pytest

from notion_leakguard import accelerator, scanner

_COUNTS = {"seen": 0, "turned away": 0}


def pytest_configure(config: pytest.Config) -> None:
    gate = accelerator.gate()
    assert gate is not None, "the differential run needs hyperscan"
    pure = scanner._hits

    def checked(buffer: bytes, lo: int, hi: int, **options: Any) -> list[Any]:
        hits = pure(buffer, lo, hi, **options)
        _COUNTS["seen"] += 1
        if not gate(buffer, options["binary"]):
            _COUNTS["turned away"] += 1
            assert hits == [], f"the pre-check turned away a buffer with {len(hits)} finding(s)"
        return hits

    scanner._hits = checked  # type: ignore[assignment]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    terminalreporter.write_line(
        "differential: {seen} buffers, {turned away} turned away".format(**_COUNTS)
    )
