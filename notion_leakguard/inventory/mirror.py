"""Clone URLs as local bare mirrors in a cache directory the user names: cloned on the first
run, fetched again on the next ones. A path that exists locally is never a URL."""

from __future__ import annotations

import hashlib
import os
import re
from urllib.parse import urlsplit, urlunsplit

from notion_leakguard import git
from notion_leakguard.errors import LeakguardError

_SCP_LIKE = re.compile(r"^[\w.+-]+@[\w.-]+:")  # git@github.com:org/repo.git
_USERINFO = re.compile(r"(?<=://)[^/@\s]*@")  # https://user:token@host/...
# Many repositories are cloned unattended (in worker processes, on a cluster): a URL that
# needs credentials no helper gives fails at once instead of prompting on the terminal.
_NO_PROMPT = ("-c", "core.askPass=true")


def is_url(location: str, base: str = ".") -> bool:
    """Whether `location` is a clone URL: it looks like one, and names no path under `base`."""
    if os.path.exists(os.path.join(base, location)):
        return False
    return "://" in location or _SCP_LIKE.match(location) is not None


def display(url: str) -> str:
    """The URL without a user name or password (https://user:token@host/...)."""
    if "://" not in url:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def cache_path(cache: str, url: str) -> str:
    """Where `url` is mirrored: a readable name from its last path part, and a hash of the
    whole URL (two repositories called `app` do not collide)."""
    tail = display(url).rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    name = re.sub(r"[^A-Za-z0-9._-]", "_", tail.removesuffix(".git")) or "repository"
    digest = hashlib.sha256(display(url).encode()).hexdigest()[:12]
    return os.path.join(cache, f"{name}-{digest}.git")


def mirrored(url: str, cache: str) -> str:
    """The local bare mirror of `url`, cloned now or brought up to date."""
    path = cache_path(cache, url)
    shown = display(url)
    if os.path.isdir(path):
        fetch = [*_NO_PROMPT, "fetch", "--prune", "--quiet", "origin"]
        result = git.run(fetch, cwd=path, check=False)
        if result.returncode:
            raise LeakguardError(
                f"{shown}: could not fetch into the cache {path}{_why(result.stderr)}"
            )
        return path
    os.makedirs(cache, exist_ok=True)
    partial = path + ".partial"
    if os.path.isdir(partial):  # an earlier run stopped half-way
        import shutil

        shutil.rmtree(partial)
    clone = [*_NO_PROMPT, "clone", "--mirror", "--quiet", "--", url, partial]
    result = git.run(clone, cwd=cache, check=False)
    if result.returncode:
        raise LeakguardError(
            f"{shown}: could not clone it into the cache {cache}{_why(result.stderr)}"
        )
    os.replace(partial, path)
    return path


def _why(stderr: bytes) -> str:
    """git's last line of complaint, without any user name or password in a URL."""
    lines = stderr.decode(errors="replace").strip().splitlines()
    return f" ({_USERINFO.sub('', lines[-1])[:200]})" if lines else ""
