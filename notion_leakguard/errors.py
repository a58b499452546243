"""The one exception type for operational failures (mapped to exit code 2 by the CLI)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class LeakguardError(Exception):
    """The command could not do its job: bad arguments, git missing, not a repository, ..."""


@contextmanager
def file_errors(doing: str) -> Iterator[None]:
    """An OSError inside becomes `LeakguardError("{doing}: {reason}")`, e.g. `doing` =
    "cannot write out.json"."""
    try:
        yield
    except OSError as error:
        raise LeakguardError(f"{doing}: {error.strerror or error}") from None
