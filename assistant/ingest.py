"""Files -> documents -> chunks -> vectors -> store, all or nothing per call.

Every file is read and validated before anything is written (before the
index is even opened), so one bad file leaves the index exactly as it was;
a folder with several bad files gets one error naming them all. Unchanged files (same content hash and
chunker settings) are skipped; a changed file replaces its previous version.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from .chunking import chunk_document, chunker_signature
from .corpus import find_files, read_document
from .embed import Embedder
from .errors import FileError, InputError
from .store import Store
from .types import Chunk, Document, IngestReport


def ingest(paths: Iterable[Path], *, store: Store | Callable[[], Store], embedder: Embedder, chunk_size: int,
           chunk_overlap: int, max_bytes: int, batch_size: int = 64,
           show_progress: bool | None = None) -> IngestReport:
    """Add files and folders to ``store`` (or to the store that callable opens, once all files read)."""
    started = time.perf_counter()
    docs = read_all(paths, max_bytes=max_bytes)
    store = store() if callable(store) else store
    report = ingest_documents(docs, store=store, embedder=embedder, chunk_size=chunk_size,
                              chunk_overlap=chunk_overlap, batch_size=batch_size, show_progress=show_progress)
    return replace(report, seconds=time.perf_counter() - started)


def ingest_documents(docs: Sequence[Document], *, store: Store, embedder: Embedder, chunk_size: int,
                     chunk_overlap: int, batch_size: int = 64, show_progress: bool | None = None) -> IngestReport:
    """Add already-read documents (e.g. an evaluation corpus built in memory)."""
    started = time.perf_counter()
    docs = _unique(list(docs))
    chunker = chunker_signature(chunk_size, chunk_overlap)
    fresh: list[tuple[Document, list[Chunk]]] = []
    unchanged = []
    for doc in docs:
        if store.version_of(doc.doc_id) == (doc.source, chunker):
            unchanged.append(store.info(doc.doc_id))
        else:
            fresh.append((doc, chunk_document(doc, size=chunk_size, overlap=chunk_overlap)))
    replacing = {d.doc_id for d, _ in fresh if set(store.ids_for_source(d.source)) - {d.doc_id}}
    texts = [c.text for _, cs in fresh for c in cs]
    vectors = _embed(embedder, texts, batch_size, show_progress)
    if fresh:
        store.add(fresh, vectors, chunker=chunker)
    infos = [store.info(doc.doc_id) for doc, _ in fresh]
    return IngestReport(
        added=[i for i in infos if i.doc_id not in replacing],
        replaced=[i for i in infos if i.doc_id in replacing],
        unchanged=unchanged,
        chunks_written=len(texts),
        seconds=time.perf_counter() - started,
    )


def read_all(paths: Iterable[Path], *, max_bytes: int) -> list[Document]:
    """Read every file under ``paths``, or raise one error that lists every file that failed.

    The message stays on one line: ``2 of 5 files cannot be ingested, nothing was stored:
    a.pdf (encrypted PDF ...); b.txt (binary file ...)``.
    """
    bad: list[FileError] = []
    docs: list[Document] = []
    files: list[Path] = []
    for given in paths:
        try:
            files += find_files([given])
        except FileError as exc:
            bad.append(exc)
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
    return docs


def _unique(docs: list[Document]) -> list[Document]:
    """Drop repeats of the same content within one call (first path wins)."""
    seen: set[str] = set()
    out = []
    for doc in docs:
        if doc.doc_id not in seen:
            seen.add(doc.doc_id)
            out.append(doc)
    return out


def _embed(embedder: Embedder, texts: list[str], batch: int, show: bool | None) -> list[list[float]]:
    if not texts:
        return []
    from tqdm import tqdm

    vectors: list[list[float]] = []
    # delay: the bar appears only for ingests that take more than a moment
    with tqdm(total=len(texts), unit="chunk", desc="embedding", file=sys.stderr, delay=1.0,
              disable=(not sys.stderr.isatty()) if show is None else not show) as bar:
        for lo in range(0, len(texts), batch):
            vectors.extend(embedder.embed(texts[lo:lo + batch]))
            bar.update(min(batch, len(texts) - lo))
    return vectors
