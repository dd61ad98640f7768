"""Walk a folder for ingest: the files to read, and every entry that could not even be looked at.

Python 3.11's ``Path.rglob`` (what ingest used before) passes over three things
without a word: it does not descend into symlinked folders, it swallows the
``PermissionError`` of a subfolder it cannot list, and ``is_file()`` is simply
False for a dangling or looping symlink. This walk follows symlinked folders,
each real folder once (keyed by ``(st_dev, st_ino)``, so a link back to an
ancestor is reported as a loop instead of recursing), and returns what it
passed over with a one-line reason each.

Not handled: entries that change during the walk (one removed between the
listing and its ``stat`` is reported as skipped); files in a folder that can be
listed but not read are found here and fail later, when they are read.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..types import Skipped

Key = tuple[int, int]  # (st_dev, st_ino): one real folder, however many links lead to it


@dataclass(frozen=True)
class Walk:
    """What a walk found: files ``keep`` accepted (sorted), entries passed over, files ``keep`` refused."""

    files: list[Path] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    ignored: int = 0


def walk(root: Path, keep: Callable[[Path], bool]) -> Walk:
    """Every file under ``root`` that ``keep`` accepts, in path order, and what could not be looked at.

    ``root`` itself must be a folder that can be listed: its ``OSError`` is
    raised, since the user named it (the caller turns it into an error).
    """
    files: list[Path] = []
    skipped: list[Skipped] = []
    ignored = 0
    top = _key(root.stat())
    seen: dict[Key, Path] = {top: root}
    stack: list[tuple[Path, tuple[Key, ...]]] = [(root, (top,))]
    while stack:
        folder, ancestors = stack.pop()
        try:
            names = _list(folder)
        except OSError as exc:
            if folder == root:
                raise
            skipped.append(_skip(folder, f"cannot read folder: {exc.strerror}"))
            continue
        inside: list[tuple[Path, tuple[Key, ...]]] = []
        for name in names:
            path = folder / name
            try:
                st = path.stat()  # follows symlinks: a linked file or folder counts as what it links to
            except OSError as exc:
                skipped.append(_skip(path, _unreachable(path, exc)))
                continue
            if stat.S_ISDIR(st.st_mode):
                key = _key(st)
                if key in ancestors:
                    skipped.append(_skip(path, f"symlink loop: leads back to {_shown(seen[key])}"))
                elif key in seen:
                    skipped.append(_skip(path, f"same folder as {_shown(seen[key])}, whose files are included"))
                else:
                    seen[key] = path
                    inside.append((path, (*ancestors, key)))
            elif not keep(path):
                ignored += 1
            elif stat.S_ISREG(st.st_mode):
                files.append(path)
            else:
                skipped.append(_skip(path, "not a regular file: a pipe, socket or device"))
        stack.extend(reversed(inside))  # depth first, in name order
    return Walk(sorted(files), sorted(skipped, key=lambda s: s.path), ignored)


def _list(folder: Path) -> list[str]:
    with os.scandir(folder) as entries:
        return sorted(e.name for e in entries)


def _unreachable(path: Path, exc: OSError) -> str:
    """Why ``stat`` failed, in words: ``dangling symlink: old/a.md does not exist``, ..."""
    if exc.errno == errno.ELOOP:
        return "symlink loop: too many levels of symbolic links"
    if isinstance(exc, FileNotFoundError) and path.is_symlink():
        try:
            return f"dangling symlink: {_shown(Path(os.readlink(path)))} does not exist"
        except OSError:
            return "dangling symlink"
    if isinstance(exc, FileNotFoundError):
        return "removed while the folder was read"
    return f"cannot open: {exc.strerror}"


def _skip(path: Path, reason: str) -> Skipped:
    return Skipped(path=_shown(path), reason=reason)


def _shown(path: Path) -> str:
    """The path as printable text: bytes of a name that is not UTF-8 become U+FFFD, not a crash in print."""
    return os.fsencode(path).decode("utf-8", "replace")


def _key(st: os.stat_result) -> Key:
    return st.st_dev, st.st_ino
