"""One consistency check for an index: SQLite rows vs Chroma vectors vs other parts.

The document rows in SQLite are the truth: each promises chunk ids
``<doc_id>:0000`` .. Every *part* of the index (the vectors; a persistent
lexical index, once there is one) must hold exactly those ids. A part that
lacks some is restored from the stored text (chunked again with the stored
chunker settings, which is deterministic); ids no row promises (orphans) are
deleted.

When it runs:

- on every open, cheaply (``Store.in_sync``: the vectors' revision stamp and
  their count); only a mismatch pays for the full comparison. Orphans (all a
  crash can leave, given the store's write order) are deleted right away;
  missing vectors are restored if the caller can embed (ingest, sync) and are
  otherwise a clear ``StoreError`` naming ``assistant check --repair``;
- on ``assistant check [--repair]``, always in full.

A part is anything with ``name``, ``ids()``, ``delete(ids)`` and
``restore(chunks)``: pass extra parts (e.g. an FTS5 lexical index) in
``parts``; they are compared on ``check`` and whenever the cheap check
fails (a part written in the same SQLite transaction as the rows cannot
drift on its own). The persistent lexical index (FTS5, lexical.py) is the second part.

A read-only index (dbfile.writable) is audited without the lock and never
repaired: what needs a repair is a ``ReadOnlyIndex`` error naming it. A damaged
SQLite or Chroma file is recover.py's (``assistant check --repair``). Not
handled: vectors whose numbers were altered in place.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..errors import StoreError
from ..types import Chunk, Document, DocumentInfo
from .dbfile import REBUILD_HINT, IndexDamaged, ReadOnlyIndex

if TYPE_CHECKING:
    from .embed import Embedder

REPAIR_HINT = "run `assistant check --repair`"


class LexicalPart(Protocol):
    """The lexical index as the check sees it (lexical.LexicalIndex is one)."""

    def chunk_ids(self) -> set[str]: ...


class CheckedStore(Protocol):
    """What the check needs of an index; ``store.Store`` is one. A protocol, so integrity does not import store."""

    path: Path
    read_only: bool

    @property
    def lexical(self) -> LexicalPart: ...

    def documents(self) -> list[DocumentInfo]: ...
    def document(self, doc_id: str) -> Document: ...
    def info(self, doc_id: str) -> DocumentInfo: ...
    def version_of(self, doc_id: str) -> tuple[str, str] | None: ...
    def expected_ids(self) -> dict[str, str]: ...
    def vector_ids(self) -> set[str]: ...
    def upsert_vectors(self, chunks: Sequence[Chunk], vectors: Sequence[Sequence[float]]) -> None: ...
    def delete_vectors(self, ids: Sequence[str]) -> None: ...
    def rebuild_lexical(self) -> int: ...
    def in_sync(self) -> bool: ...
    def mark_synced(self) -> None: ...
    def bump(self) -> None: ...
    def lock(self, *, wait: bool = True) -> AbstractContextManager[bool]: ...


class Part(Protocol):
    """One derived part of the index, keyed by chunk id."""

    name: str

    def ids(self) -> set[str]: ...

    def delete(self, ids: Sequence[str]) -> None: ...

    def restore(self, chunks: Sequence[Chunk]) -> None: ...


@dataclass(frozen=True)
class Audit:
    """What a full check found: per part, chunk ids missing and ids no document promises."""

    documents: int
    chunks: int
    missing: dict[str, list[str]] = field(default_factory=dict)
    orphans: dict[str, list[str]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # damaged files rebuilt before the comparison (recover.py), one clause each

    @property
    def ok(self) -> bool:
        return not any(self.missing.values()) and not any(self.orphans.values()) and not self.notes

    def summary(self) -> str:
        """One line, e.g. ``4 documents, 59 chunks; vectors: 59 missing, 2 orphans``."""
        problems = [f"{name}: {len(self.missing.get(name, []))} missing, {len(self.orphans.get(name, []))} orphans"
                    for name in sorted(set(self.missing) | set(self.orphans))
                    if self.missing.get(name) or self.orphans.get(name)]
        head = f"{self.documents} documents, {self.chunks} chunks"
        body = f"{head}; {'; '.join(problems)}" if problems else f"{head}; every part holds exactly those chunks"
        return "; ".join([body, *self.notes])


class Vectors:
    """The Chroma collection as a part; restoring needs the embedder."""

    name = "vectors"

    def __init__(self, store: CheckedStore, embedder: Embedder | None) -> None:
        self.store, self.embedder = store, embedder

    def ids(self) -> set[str]:
        return self.store.vector_ids()

    def delete(self, ids: Sequence[str]) -> None:
        self.store.delete_vectors(ids)

    def restore(self, chunks: Sequence[Chunk]) -> None:
        if self.embedder is None:
            raise StoreError(f"{len(chunks)} chunks have no vectors; {REPAIR_HINT}")
        texts = [c.text for c in chunks]
        vectors = [v for lo in range(0, len(texts), 64) for v in self.embedder.embed(texts[lo:lo + 64])]
        self.store.upsert_vectors(chunks, vectors)


class Lexical:
    """The persistent FTS5 index as a part (lexical.py); restoring re-indexes from the vectors' chunks."""

    name = "lexical index"

    def __init__(self, store: CheckedStore) -> None:
        self.store = store

    def ids(self) -> set[str]:
        return self.store.lexical.chunk_ids()

    def delete(self, ids: Sequence[str]) -> None:
        self.store.rebuild_lexical()  # rare (repair only): a rebuild is simpler than surgery on FTS rows

    def restore(self, chunks: Sequence[Chunk]) -> None:
        self.store.rebuild_lexical()  # runs after Vectors.restore, so every chunk is back in Chroma


def audit(store: CheckedStore, parts: Sequence[Part]) -> Audit:
    """Compare every part with the chunk ids the document rows promise."""
    expected = set(store.expected_ids())
    missing, orphans = {}, {}
    for part in parts:
        held = part.ids()
        missing[part.name] = sorted(expected - held)
        orphans[part.name] = sorted(held - expected)
    return Audit(len(store.documents()), len(expected), missing, orphans)


def repair(store: CheckedStore, found: Audit, parts: Sequence[Part]) -> None:
    """Delete orphans, then restore missing chunks from the stored documents."""
    for part in parts:
        part.delete(found.orphans.get(part.name, []))
        if found.missing.get(part.name):
            part.restore(rechunk(store, found.missing[part.name]))
    store.bump()
    store.mark_synced()


def rechunk(store: CheckedStore, chunk_ids: Sequence[str]) -> list[Chunk]:
    """The chunks with these ids, cut again from the stored text with the stored chunker settings."""
    from .chunking import chunk_document, chunker_signature

    wanted = set(chunk_ids)
    out: list[Chunk] = []
    owners = store.expected_ids()
    for doc_id in sorted({owners[c] for c in wanted}):
        info, (_, chunker) = store.info(doc_id), store.version_of(doc_id) or ("", "")
        try:
            size, overlap = (int(x) for x in chunker.split(":")[1:])
        except ValueError:
            size = overlap = -1
        if chunker_signature(size, overlap) != chunker:
            raise StoreError(f"document {doc_id} was chunked with unknown settings {chunker!r}, so its "
                             f"vectors cannot be remade here; {REBUILD_HINT}")
        chunks = chunk_document(store.document(doc_id), size=size, overlap=overlap)
        if len(chunks) != info.chunks:
            raise StoreError(f"document {doc_id} no longer chunks into {info.chunks} pieces (was the chunker "
                             f"upgraded?); {REBUILD_HINT}")
        out += [c for c in chunks if c.chunk_id in wanted]
    return out


def ensure(store: CheckedStore, *, embedder: Embedder | None = None, parts: Sequence[Part] = ()) -> Audit | None:
    """The check on open and on ingest: repair what a crash left; missing data needs ``embedder``.

    Returns the audit if a full check ran, None if the cheap check passed or
    another process is writing (its pending vectors are not damage).
    """
    if store.in_sync():
        return None
    if store.read_only:  # nothing can be repaired here; a lagging stamp or orphans (queries skip them) are harmless
        found = audit(store, [Vectors(store, None), Lexical(store), *parts])
        if not any(found.missing.values()):
            return None
        raise ReadOnlyIndex(store.path, f"it needs a repair ({found.summary()}) that only its owner can run, "
                                        "with `assistant check --repair`")
    with store.lock(wait=False) as mine:
        if not mine:
            return None
        all_parts: list[Part] = [Vectors(store, embedder), Lexical(store), *parts]
        found = audit(store, all_parts)
        if any(found.missing.values()) and embedder is None:
            raise IndexDamaged(store.path, found.summary(), part="vectors")
        repair(store, found, all_parts)
        return found


def check(store: CheckedStore, *, embedder: Embedder | None, fix: bool, parts: Sequence[Part] = ()) -> Audit:
    """``assistant check [--repair]``: always the full comparison; repair only with ``fix``."""
    if store.read_only and not fix:  # no writer can take the lock file there; nothing to wait for
        return audit(store, [Vectors(store, None), Lexical(store), *parts])
    with store.lock() as _:
        all_parts: list[Part] = [Vectors(store, embedder), Lexical(store), *parts]
        found = audit(store, all_parts)
        if fix and not found.ok:
            repair(store, found, all_parts)
        return found
