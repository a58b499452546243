"""Which environment a file is for, by its path, and the keys found in more than one.

Notion's advice is a key per environment (development, staging, production): one key in
`.env.development` and `.env.production` means that rotating it for one breaks the other,
and that whoever can read the development file holds production's key. Pure: paths and
findings in, names out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple

from notion_leakguard.envfiles import TEMPLATE_WORDS, is_dotenv, is_template
from notion_leakguard.findings import Finding

DEVELOPMENT = "development"

# The words that name an environment in a path, and the environment each names.
WORDS = {
    "dev": DEVELOPMENT,
    "develop": DEVELOPMENT,
    "development": DEVELOPMENT,
    "local": DEVELOPMENT,  # .env.local: the developer's machine
    "stage": "staging",
    "staging": "staging",
    "preprod": "staging",
    "prod": "production",
    "prd": "production",
    "production": "production",
    "qa": "qa",
    "uat": "uat",
}
# Only in a dotenv file's name: elsewhere `test` names test code, not an environment.
DOTENV_WORDS = {**WORDS, "test": "test", "testing": "test"}

_TEMPLATES = {word: word for word in TEMPLATE_WORDS}  # `production.example.json`: no key
_WORD = re.compile(r"[a-z0-9]+")


def environment_of(path: str) -> str | None:
    """The environment a file (a POSIX path) is for, or None when its path names none.

    A word of the file name names it (`.env.production`, `.env.staging.local`, `prod.env`,
    `docker-compose.prod.yml`, `appsettings.Production.json`), else one of the nearest
    directory that has one (`deploy/production/.env`, `k8s/overlays/staging/secret.yaml`).
    A plain `.env` elsewhere is the default file a developer's machine reads: development.
    Templates (`.env.example`) and direnv's `.envrc` are for no environment."""
    *directories, name = path.split("/")
    if name == ".envrc" or is_template(name) or _named(name, _TEMPLATES):
        return None
    found = _named(name, DOTENV_WORDS if is_dotenv(name) else WORDS)
    for part in reversed(directories):
        found = found or _named(part, WORDS)
    if found is None and name == ".env":
        return DEVELOPMENT
    return found


def _named(part: str, words: dict[str, str]) -> str | None:
    for word in _WORD.findall(part.lower()):
        if word in words:
            return words[word]
    return None


class Shared(NamedTuple):
    """A key found in files of more than one environment."""

    preview: str
    fingerprint: str
    environments: tuple[str, ...]  # sorted, at least two
    paths: tuple[str, ...]  # the files with an environment, sorted


def shared_across(
    findings: Iterable[Finding],
    *,
    environment: Callable[[Finding], str | None] | None = None,
) -> list[Shared]:
    """The keys among `findings` that appear in more than one environment, by preview.
    `environment` says where a finding is (by default its file's environment; the
    inventory passes a finding's repository to find a key used in several)."""
    environment = environment or _of_file
    seen: dict[str, tuple[str, dict[str, set[str]]]] = {}
    for finding in _every_path(findings):
        if not finding.line:
            continue  # a file-level finding (a dotenv file not kept out of git) holds no key
        where = environment(finding)
        if where is None:
            continue
        _, places = seen.setdefault(finding.fingerprint, (finding.preview, {}))
        places.setdefault(where, set()).add(finding.path)
    shared = [
        Shared(
            preview,
            key,
            tuple(sorted(places)),
            tuple(sorted(set().union(*places.values()))),
        )
        for key, (preview, places) in seen.items()
        if len(places) > 1
    ]
    return sorted(shared, key=lambda s: (s.preview, s.fingerprint))


def _every_path(findings: Iterable[Finding]) -> Iterator[Finding]:
    """Each finding, and a copy at each other path its commit brought the key in (history
    reports a key once, where it first came)."""
    for finding in findings:
        yield finding
        if finding.origin is not None:
            yield from (finding._replace(path=path) for path in finding.origin.also)


def _of_file(finding: Finding) -> str | None:
    return environment_of(finding.path) if finding.kind == "file" else None


def sentence(shared: Shared) -> str:
    """`the same key is used for development and production: use a key per environment`."""
    *first, last = shared.environments
    return f"the same key is used for {', '.join(first)} and {last}: use a key per environment"
