"""The index's write lock (flock on ``index/write.lock``) and the test hook that kills a writer mid-write.

Below store.py and integrity.py, which both take the lock. Not handled: a lock
across machines (a network file system's flock is not to be trusted).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CRASH_ENV = "ASSISTANT_TEST_CRASH_AT"


@contextmanager
def write_lock(index: Path, *, wait: bool = True) -> Iterator[bool]:
    """Hold ``index/write.lock`` (flock); yields False if ``wait`` is off and another process holds it.

    The kernel drops the lock when its holder dies, so a lock that can be
    taken while a write looks pending means that write crashed.
    """
    try:
        import fcntl
    except ImportError:  # not POSIX: no cross-process lock, one writer at a time by convention
        yield True
        return
    with open(index / "write.lock", "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def crash_point(name: str) -> None:
    """Test hook: SIGKILL this process here when ASSISTANT_TEST_CRASH_AT=name; inert otherwise."""
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
