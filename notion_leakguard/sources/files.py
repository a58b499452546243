"""Files and directories as a source: which files a scan covers, as fragments to read.

Inside a git work tree a directory is listed by git (so ignored files are skipped the way
git skips them); elsewhere it is walked. `.git` is never entered and symbolic links met on
a walk are not followed; paths named on the command line always are. What git listed is
kept (`Walk.listings`) so that `envfiles` can judge the dotenv files among it afterwards.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from typing import BinaryIO

from notion_leakguard import envfiles, git
from notion_leakguard.envfiles import Listing
from notion_leakguard.errors import LeakguardError
from notion_leakguard.findings import Note, Skipped
from notion_leakguard.sources import Fragment, Item, OnDisk, read_stream

STDIN = "-"

OUTSIDE_GIT_NOTE = Note(
    "dotenv files found outside a git repository: whether git would ignore them was not checked"
)


def stdin(stream: BinaryIO) -> Fragment:
    return Fragment(STDIN, read_stream(stream))


class Walk:
    """The files to scan for PATH arguments (files or directories), lazily, so scanning can
    start while a large tree is still being listed. A missing path fails at once.

    A directory named here that git ignores as a whole (`dist/`) is walked in full: named
    paths are always scanned. With `use_git` False every directory is walked that way."""

    def __init__(
        self,
        paths: Sequence[str],
        *,
        cwd: str,
        dotenv: envfiles.DotenvNames = envfiles.STANDARD,
        use_git: bool = True,
    ) -> None:
        for argument in paths:
            if not os.path.lexists(os.path.join(cwd, argument)):
                raise LeakguardError(f"{argument}: no such file or directory")
        self.paths = paths
        self.cwd = cwd
        self.dotenv = dotenv
        self.use_git = use_git
        self.listings: list[Listing] = []  # filled as the walk goes

    def __iter__(self) -> Iterator[Item]:
        for argument in self.paths:
            full = os.path.join(self.cwd, argument)
            display = display_path(full, cwd=self.cwd)
            if not os.path.isdir(full):
                yield Fragment(display, OnDisk(full, follow_symlinks=True))
            elif not self.use_git:
                yield from self._walk(full, display, in_git=False)
            else:
                yield from self._directory(full, display, named=True)

    def _directory(self, directory: str, display: str, *, named: bool = False) -> Iterator[Item]:
        try:
            root = git.top_level(directory)
        except LeakguardError:
            yield from self._walk(directory, display, in_git=False)
            return
        if named and _ignored(directory, root):
            yield from self._walk(directory, display, in_git=True)
            return
        listed = git.listed_files(directory)
        self.listings.append(Listing(directory, display, listed))
        for item in listed:
            full = os.path.join(directory, item.path)
            shown = _join(display, item.path)
            try:
                info = os.lstat(full)
            except FileNotFoundError:
                continue  # deleted in the work tree but still in the index: nothing to read
            except OSError as error:
                yield Skipped(shown, error.strerror or str(error))
                continue
            if stat.S_ISREG(info.st_mode):
                yield Fragment(shown, OnDisk(full))
            elif stat.S_ISDIR(info.st_mode):  # a submodule: its own repository
                if os.path.lexists(os.path.join(full, ".git")):
                    yield from self._directory(full, shown)
                else:  # cloned without --recurse-submodules: an empty directory
                    yield Note(
                        f"submodule {shown} is not checked out, so it was not scanned "
                        "(git submodule update --init, then scan again)"
                    )
            elif not stat.S_ISLNK(info.st_mode):
                yield Skipped(shown, "not a regular file")

    def _walk(self, directory: str, display: str, *, in_git: bool) -> Iterator[Item]:
        """Every file below `directory` in name order, depth first, without git (`in_git`:
        inside a work tree whose ignore rules were set aside on purpose). One loop, not a
        generator per level that would hand each file up through every level above it."""
        levels: list[tuple[Iterator[os.DirEntry[str]], str]] = []
        opened = _listing(directory, display)
        if isinstance(opened, Skipped):
            yield opened
        else:
            levels.append((opened, display))
        while levels:
            entries, above = levels[-1]
            for entry in entries:
                shown = _join(above, entry.name)
                try:
                    if entry.is_symlink():
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        if entry.name == ".git":
                            continue
                        opened = _listing(entry.path, shown)
                        if isinstance(opened, Skipped):
                            yield opened
                            continue
                        levels.append((opened, shown))
                        break  # into the directory; this level goes on after it
                    elif entry.is_file(follow_symlinks=False):
                        yield Fragment(shown, OnDisk(entry.path))
                        if not in_git and self.dotenv.matches(entry.name):
                            yield OUTSIDE_GIT_NOTE
                    elif entry.name != ".git":
                        yield Skipped(shown, "not a regular file")
                except OSError as error:
                    yield Skipped(shown, error.strerror or str(error))
            else:
                levels.pop()


def _listing(directory: str, display: str) -> Iterator[os.DirEntry[str]] | Skipped:
    """The entries of `directory` in name order, or why it cannot be listed."""
    try:
        with os.scandir(directory) as entries:
            return iter(sorted(entries, key=lambda entry: entry.name))
    except OSError as error:
        return Skipped(display, error.strerror or str(error))


def _ignored(directory: str, root: str) -> bool:
    """Whether git ignores `directory` (inside the work tree at `root`) as a whole."""
    relative = os.path.relpath(os.path.realpath(directory), os.path.realpath(root))
    if relative == "." or relative.startswith(".."):
        return False
    try:
        return bool(git.ignored([relative.replace(os.sep, "/") + "/"], cwd=root))
    except LeakguardError:
        return False  # git cannot say (a path it refuses): list the directory as usual


def display_path(path: str, *, cwd: str) -> str:
    relative = os.path.relpath(path, cwd)
    return relative.replace(os.sep, "/") if os.sep != "/" else relative


def _join(display: str, name: str) -> str:
    return name if display == "." else f"{display}/{name}"
