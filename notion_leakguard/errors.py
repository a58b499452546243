"""The one exception type for operational failures (mapped to exit code 2 by the CLI)."""

from __future__ import annotations


class LeakguardError(Exception):
    """The command could not do its job: bad arguments, git missing, not a repository, ..."""
