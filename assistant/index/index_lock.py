"""Writers on one index take turns: the index's write lock, with a word on stderr when waiting.

An ingest holds the lock (``Store.lock``, a flock on ``index/write.lock``) from
deciding what is new to its last write, and ``sync`` for its whole run, so a
second writer waits and then sees the first one's documents as unchanged. A new
index is made by one process at a time (``open_to_write``). Not handled: a
writer on another machine over a network file system whose flock is not shared.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import partial
from pathlib import Path

from ..errors import AssistantError
from .store import Store
from .writelock import write_lock

HOLD_ENV = "ASSISTANT_TEST_HOLD_LOCK"  # test hook: seconds to sit on the lock after deciding what is new
_ANNOUNCED: set[Path] = set()  # indexes this process said it waits for
_HOLDING: Counter[Path] = Counter()  # indexes whose lock this process holds through hold_lock, how deeply


@contextmanager
def hold_lock(store: Store) -> Iterator[None]:
    """The index's write lock; if another process holds it, say so on stderr and wait for it."""
    with _turn(store.lock, store.path):
        _HOLDING[store.path] += 1
        try:
            yield
        finally:
            _HOLDING[store.path] -= 1


def open_to_write(index: Path, open_store: Callable[..., Store]) -> Store:
    """``open_store(repair=True)``, but a new index is made by one process at a time.

    Two first ingests at once would both create Chroma's tables and the
    index's meta rows, and the second would fail. An index is whole once its
    vectors' revision stamp exists (``Store.open`` writes it last); until then
    it is opened under the write lock, without repair (nothing to repair yet,
    and the embedder then loads after the lock is let go). Not while this
    process holds the lock itself (``sync``): no one else can be making it, and
    a second descriptor of the lock file would wait for this process forever.
    """
    made = (index / "chroma" / "revision").is_file() or (index / "vectors.revision").is_file()
    if not made and not _HOLDING[index]:
        try:
            index.mkdir(parents=True, exist_ok=True)
            with _turn(partial(write_lock, index), index):
                open_store(repair=False)
        except (OSError, AssistantError):
            pass  # no folder or lock file possible, damage to repair...: the open below does it or says why
    return open_store(repair=True)


@contextmanager
def _turn(lock: Callable[..., AbstractContextManager[bool]], index: Path) -> Iterator[None]:
    """Hold ``lock``; when another process has it, say so on stderr (once per index and process), then wait."""
    with lock(wait=False) as mine:
        if mine:
            yield
            return
    if index not in _ANNOUNCED:  # a first ingest may wait twice: for the index to be made, then to write
        _ANNOUNCED.add(index)
        print(f"waiting for another process writing to the index at {index} ...", file=sys.stderr, flush=True)
    with lock(wait=True) as _:
        yield


def pause_for_tests() -> None:
    """Test hook: sit on the lock for ASSISTANT_TEST_HOLD_LOCK seconds (so a second writer must wait)."""
    seconds = os.environ.get(HOLD_ENV)
    if seconds:
        time.sleep(float(seconds))
