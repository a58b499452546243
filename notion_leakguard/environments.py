"""Which deployment environment a dotenv file is for (`.env.production`: production).

A stand-in until the branch `ident` brings the real module (and its shared-key finder):
the inventory only calls `environment_of`."""

from __future__ import annotations

import posixpath

from notion_leakguard.envfiles import is_dotenv, is_template

_ALIASES = {"dev": "development", "prod": "production", "stage": "staging", "test": "test"}


def environment_of(path: str) -> str | None:
    """`development` for `.env.development` or `development.env`; None for `.env`, a
    template, a local override (`.env.local`) or anything that is not a dotenv file."""
    if not is_dotenv(path) or is_template(path):
        return None
    name = posixpath.basename(path)
    if name.startswith(".env."):
        word = name[len(".env.") :].split(".")[0]
    elif name.endswith(".env") and name != ".env":
        word = name[: -len(".env")]
    else:
        return None
    word = word.lower()
    if not word or word == "local":
        return None
    return _ALIASES.get(word, word)
