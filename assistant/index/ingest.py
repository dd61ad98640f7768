"""Files -> documents -> chunks -> vectors -> store, overlapped, all or nothing per document.

Every file is read and validated before anything is written (before the
index is even opened), so one bad file leaves the index exactly as it was;
a folder with several bad files gets one error naming them all. Unchanged files (same content hash and
chunker settings) are skipped; a changed file replaces its previous version.

The rest runs as a three-stage pipeline joined by bounded queues, so chunking
and the store writes overlap with embedding instead of waiting for it:

    chunker thread -> [units] -> embedding (this thread) -> [units + vectors] -> writer thread

A *unit* is a few whole documents with at least ``batch_size`` chunks; the
writer stores each unit with one ``Store.add`` (one Chroma upsert, one SQLite
transaction). An interrupted ingest therefore keeps every unit written before
the interruption and none of the one in flight; the next run skips the stored
documents as unchanged and resumes with the rest.

Several writers on one index take turns (index_lock.py): an ingest holds the
index's write lock from deciding what is new to its last write, so a second
``assistant ingest`` waits (saying so on stderr) and then reports its true
counts (the documents the first one stored are unchanged for it). What a folder walk
could not look at (symlink loops, dangling links, unreadable subfolders) is
listed in the report, not passed over in silence (folders.py).
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import FileError, InputError
from ..types import Chunk, Document, IngestReport
from .chunking import chunk_document, chunker_signature
from .corpus import read_document, scan
from .embed import Embedder
from .folders import Walk
from .index_lock import hold_lock, pause_for_tests
from .store import Store

UNIT_CHUNKS = 256  # chunks per embed call and store write: enough to sort by length, small to resume
QUEUE_UNITS = 2  # units waiting between two stages: bounds memory, keeps every stage busy
Unit = list[tuple[Document, list[Chunk]]]
_DONE = object()


def ingest(paths: Iterable[Path], *, store: Store | Callable[[], Store], embedder: Embedder, chunk_size: int,
           chunk_overlap: int, max_bytes: int, batch_size: int = UNIT_CHUNKS,
           show_progress: bool | None = None) -> IngestReport:
    """Add files and folders to ``store`` (or to the store that callable opens, once all files read)."""
    started = time.perf_counter()
    docs, found = read_all(paths, max_bytes=max_bytes)
    store = store() if callable(store) else store
    report = ingest_documents(docs, store=store, embedder=embedder, chunk_size=chunk_size,
                              chunk_overlap=chunk_overlap, batch_size=batch_size, show_progress=show_progress)
    return replace(report, seconds=time.perf_counter() - started, skipped=found.skipped, ignored=found.ignored)


def ingest_documents(docs: Sequence[Document], *, store: Store, embedder: Embedder, chunk_size: int,
                     chunk_overlap: int, batch_size: int = UNIT_CHUNKS,
                     show_progress: bool | None = None) -> IngestReport:
    """Add already-read documents (e.g. an evaluation corpus built in memory), holding the index lock."""
    started = time.perf_counter()
    docs = _unique(list(docs))
    chunker = chunker_signature(chunk_size, chunk_overlap)
    with hold_lock(store):  # from deciding what is new to the last write: a second writer waits its turn
        todo = [d for d in docs if store.version_of(d.doc_id) != (d.source, chunker)]
        todo_ids = {d.doc_id for d in todo}
        unchanged = [store.info(d.doc_id) for d in docs if d.doc_id not in todo_ids]
        replacing = {d.doc_id for d in todo if set(store.ids_for_source(d.source)) - {d.doc_id}}
        pause_for_tests()
        units = _units(todo, chunk_size, chunk_overlap, max(1, batch_size))
        with _Progress(len(todo), show_progress) as bar:
            written = run_pipeline(units, embedder,
                                   lambda unit, vectors: _write(store, unit, vectors, chunker, bar))
        infos = [store.info(doc.doc_id) for doc in todo]
    return IngestReport(
        added=[i for i in infos if i.doc_id not in replacing],
        replaced=[i for i in infos if i.doc_id in replacing],
        unchanged=unchanged,
        chunks_written=written,
        seconds=time.perf_counter() - started,
    )


def read_all(paths: Iterable[Path], *, max_bytes: int) -> tuple[list[Document], Walk]:
    """Read every file under ``paths``, or raise one error that lists every file that failed.

    Also returns what the folder walks found, with what they passed over
    (``Walk.skipped``: loops, dangling links, unreadable subfolders; not an
    error, since there is no file to read). A file that is found but fails to
    read is an error, as is a path the user named. The message stays on one line:
    ``2 of 5 files cannot be ingested, nothing was stored: a.pdf (encrypted PDF ...); b.txt (binary file ...)``.
    """
    bad: list[FileError] = []
    docs: list[Document] = []
    walks: list[Walk] = []
    for given in paths:
        try:
            walks.append(scan([given]))
        except FileError as exc:
            bad.append(exc)
    files = [f for w in walks for f in w.files]
    missing = len(bad)
    for path in files:
        try:
            docs.append(read_document(path, max_bytes=max_bytes))
        except FileError as exc:
            bad.append(exc)
    total = len(files) + missing
    if len(bad) == 1 and total == 1:
        raise bad[0]
    if bad:
        listed = "; ".join(f"{Path(e.path).name or e.path} ({e.reason})" for e in bad)
        raise InputError(f"{len(bad)} of {total} files cannot be ingested, so nothing was stored: {listed}")
    return docs, Walk(files, [s for w in walks for s in w.skipped], sum(w.ignored for w in walks))


def run_pipeline(units: Iterator[Unit], embedder: Embedder,
                 write: Callable[[Unit, list[list[float]]], None]) -> int:
    """Chunk in one thread, embed here, write in another; returns the chunks written.

    The first error in any stage stops the others and is raised here.
    """
    todo: queue.Queue[Any] = queue.Queue(QUEUE_UNITS)
    done: queue.Queue[Any] = queue.Queue(QUEUE_UNITS)
    stop = threading.Event()
    errors: list[BaseException] = []
    written = 0

    def produce() -> None:
        try:
            for unit in units:
                _put(todo, unit, stop.is_set)
        except BaseException as exc:  # handed to the caller below
            errors.append(exc)
        _put(todo, _DONE, stop.is_set)

    def consume() -> None:
        nonlocal written
        try:
            while (item := done.get()) is not _DONE:
                write(*item)
                written += sum(len(cs) for _, cs in item[0])
        except BaseException as exc:
            errors.append(exc)
            stop.set()

    threads = [threading.Thread(target=produce, name="ingest-chunker", daemon=True),
               threading.Thread(target=consume, name="ingest-writer", daemon=True)]
    for t in threads:
        t.start()
    writer_gone = lambda: not threads[1].is_alive()  # noqa: E731
    try:
        while (unit := _get(todo, stop.is_set)) is not _DONE:
            _put(done, (unit, embedder.embed([c.text for _, cs in unit for c in cs])), writer_gone)
    finally:
        _put(done, _DONE, writer_gone)  # the writer stores the units it already has, then ends
        threads[1].join()
        stop.set()
        _drain(todo)
    if errors:
        raise errors[0]
    return written


def _units(docs: Sequence[Document], size: int, overlap: int, min_chunks: int) -> Iterator[Unit]:
    """Whole documents with their chunks, grouped to at least ``min_chunks`` chunks."""
    unit: Unit = []
    count = 0
    for doc in docs:
        chunks = chunk_document(doc, size=size, overlap=overlap)
        unit.append((doc, chunks))
        count += len(chunks)
        if count >= min_chunks:
            yield unit
            unit, count = [], 0
    if unit:
        yield unit


def _write(store: Store, unit: Unit, vectors: list[list[float]], chunker: str, bar: _Progress) -> None:
    store.add(unit, vectors, chunker=chunker)
    bar.advance(len(unit), sum(len(cs) for _, cs in unit))


def _put(q: queue.Queue[Any], item: Any, give_up: Callable[[], bool]) -> None:
    """Put, unless ``give_up()`` turns true while waiting (so no thread blocks on a dead stage)."""
    while not give_up():
        try:
            q.put(item, timeout=0.1)
            return
        except queue.Full:
            pass


def _get(q: queue.Queue[Any], give_up: Callable[[], bool]) -> Any:
    """The next item, or ``_DONE`` once ``give_up()`` turns true while waiting."""
    while not give_up():
        try:
            return q.get(timeout=0.1)
        except queue.Empty:
            pass
    return _DONE


def _drain(q: queue.Queue[Any]) -> None:
    while True:
        try:
            q.get_nowait()
        except queue.Empty:
            return


class _Progress:
    """A tqdm bar on stderr (documents, chunks, chunks/s), only on a terminal unless asked."""

    def __init__(self, docs: int, show: bool | None) -> None:
        from tqdm import tqdm

        # delay: unless asked for, the bar appears only for ingests that take more than a moment
        self.bar = tqdm(total=docs, unit="doc", desc="ingest", file=sys.stderr, delay=0.0 if show else 1.0,
                        disable=(not sys.stderr.isatty()) if show is None else not show)
        self.chunks, self.started = 0, time.perf_counter()

    def advance(self, docs: int, chunks: int) -> None:
        self.chunks += chunks
        rate = self.chunks / max(time.perf_counter() - self.started, 1e-9)
        self.bar.set_postfix_str(f"{self.chunks} chunks, {rate:.1f} chunks/s", refresh=False)
        self.bar.update(docs)

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.close()


def _unique(docs: list[Document]) -> list[Document]:
    """Drop repeats of the same content within one call (first path wins)."""
    seen: set[str] = set()
    out = []
    for doc in docs:
        if doc.doc_id not in seen:
            seen.add(doc.doc_id)
            out.append(doc)
    return out
