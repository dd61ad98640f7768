"""The persisted index: chunk vectors in Chroma, documents in SQLite.

Layout of an index folder::

    index/
      chroma/              Chroma PersistentClient (collection "chunks", cosine)
      chroma/revision      the SQLite revision the vectors were last made whole at
      documents.sqlite     meta (embedder identity, schema, revision) + full normalised texts
                           + provenance, user-set metadata (document_meta) and saved answers (history.py)
                           + the lexical (FTS5) index of chunk tokens, see lexical.py
      write.lock           held (flock) by the one process writing

Write order, so that a crash at any instant leaves a state the next open
repairs (see integrity.py): 1. bump the revision in SQLite (the write is now
pending: the vectors' stamp lags behind); 2. write vectors; 3. commit the
document rows (old rows out, new rows in, one transaction); 4. delete the
vectors of replaced documents (by chunk id, from the old rows' chunk counts: a
Chroma ``where`` delete scans the collection); 5. stamp the vectors with the revision. A
crash between 1 and 5 can only leave vectors without rows (orphans), never
rows without vectors.

An index this process may not write (dbfile.writable) is opened read-only:
SQLite in ``mode=ro``, the vectors from a private temporary copy
(vector_store.py), and every write (``lock``, the revision stamp, an upgrade)
refused with ``ReadOnlyIndex``. Damage anywhere is ``IndexDamaged`` (dbfile.py).

Full texts live beside the vectors so any quote can be located by char offset
in the document it came from. Chroma's default embedding function is never
used: vectors are always computed by our embedder and passed in. Not handled:
concurrent writers from several processes beyond a file lock that makes them
take turns (needs ``fcntl``: POSIX only).
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
from collections.abc import Collection, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

from ..errors import ConfigError, StoreError
from ..types import Chunk, Document, DocumentInfo
from .chunking import chunk_id
from .dbfile import REBUILD_HINT, ReadOnlyIndex, connect_tables, writable
from .lexical import LexicalIndex
from .remote_store import ChromaServer
from .vector_store import discard_copy, forget_client, open_collection
from .writelock import crash_point, write_lock

SCHEMA = 1
COLLECTION = "chunks"
BATCH = 1000  # below Chroma's max batch size
GET_PAGE = 5000  # rows per read of the whole collection (see Store._pages)

# Fields `assistant meta` may set; stored per source path, so they outlive a re-ingest.
EDITABLE = ("title", "author", "publication", "date", "url", "qualifications")
_INFO = "doc_id, title, source, chunks, length(text), added, author, publication, date, url, qualifications"


class IndexStore(Protocol):
    """What the pipeline needs from an index; ``Store`` (embedded Chroma or a Chroma server) is one."""

    path: Path

    @property
    def revision(self) -> int: ...
    def documents(self) -> list[DocumentInfo]: ...
    def document(self, doc_id: str) -> Document: ...
    def info(self, doc_id: str) -> DocumentInfo: ...
    def version_of(self, doc_id: str) -> tuple[str, str] | None: ...
    def ids_for_source(self, source: str) -> list[str]: ...
    def chunk_count(self) -> int: ...
    def chunks(self) -> list[Chunk]: ...
    def query(self, vector: Sequence[float], k: int) -> list[tuple[Chunk, float]]: ...
    def add(self, items: Sequence[tuple[Document, Sequence[Chunk]]],
            vectors: Sequence[Sequence[float]], *, chunker: str) -> list[str]: ...
    def remove(self, doc_id: str) -> None: ...
    def sweep(self) -> int: ...
    def close(self) -> None: ...


class Store:
    """An index folder: open it with ``Store.open`` (``create=True`` to make one).

    Vectors live in an embedded Chroma under the folder, or on a Chroma server
    (``server=``); full texts always stay in the folder's SQLite.
    """

    def __init__(self, path: Path, db: sqlite3.Connection, collection: Any, *, read_only: bool = False,
                 scratch: Path | None = None) -> None:
        self.path = path
        self._db = db
        self._col = collection
        self.lexical = LexicalIndex(db)
        self._lock_depth = 0  # Store.lock() held by this store, and how deeply
        self.read_only = read_only  # opened without write access: every write is refused up front
        self._scratch = scratch  # the temporary copy of a read-only index's vectors

    @classmethod
    def open(cls, path: Path, *, embedder: str, create: bool = False, server: ChromaServer | None = None) -> Store:
        """Open (or create) the index at ``path`` built with the embedder ``embedder``.

        ``create`` also makes a missing vector store afresh (the caller then re-embeds); without it
        a missing one is ``IndexDamaged``. An index this process may not write opens read-only.
        """
        path = Path(path)
        db_path = path / "documents.sqlite"
        check_index_path(path)
        if not db_path.is_file() and not create:
            raise StoreError(f"no index at {path}: run `assistant ingest seeds/` (or give --index)")
        read_only = db_path.is_file() and not writable(path)
        if not read_only:
            _make_folder(path)
        db = connect_tables(db_path, path, read_only=read_only)
        try:
            stored = _read_meta(db, path)
            if stored.get("embedder", embedder) != embedder:
                raise StoreError(f"index at {path} was built with embedder {stored['embedder']}, not {embedder}: "
                                 f"use that embedder, or build a new index with this one "
                                 "(`assistant --index NEW_FOLDER ingest ...`)")
            if not stored:
                if read_only:
                    raise ReadOnlyIndex(path, "it was never finished (no meta rows) and cannot be set up here")
                with db:
                    db.executemany("INSERT INTO meta VALUES (?, ?)",
                                   [("schema", str(SCHEMA)), ("embedder", embedder), ("revision", "0")])
            # rows that promise no chunks lose nothing to a fresh vector store (an index from before
            # Chroma held its vectors, or one whose documents were all empty)
            empty = not db.execute("SELECT 1 FROM documents WHERE chunks > 0 LIMIT 1").fetchone()
            collection, scratch = open_collection(path, name=COLLECTION, embedder=embedder, server=server, db=db,
                                                  read_only=read_only, create=create or empty)
        except BaseException:
            db.close()
            raise
        store = cls(path, db, collection, read_only=read_only, scratch=scratch)
        try:
            if not stored:
                store.mark_synced()
            store._ensure_lexical()
        except BaseException:
            store.close()
            raise
        return store

    @staticmethod
    def recorded_embedder(path: Path) -> str | None:
        """The embedder identity an existing index was built with (None: no readable index), read-only."""
        db_path = Path(path) / "documents.sqlite"
        if not db_path.is_file():
            return None
        try:
            with closing(sqlite3.connect(f"{db_path.as_uri()}?mode=ro", uri=True)) as db:
                row = db.execute("SELECT value FROM meta WHERE key = 'embedder'").fetchone()
        except sqlite3.DatabaseError:
            return None  # Store.open reports the damage
        return str(row[0]) if row else None

    # -- reading -----------------------------------------------------------

    def documents(self) -> list[DocumentInfo]:
        """Every stored document, oldest first."""
        rows = self._db.execute(f"SELECT {_INFO} FROM documents ORDER BY added, doc_id").fetchall()
        return [replace(DocumentInfo(*row), **self.overrides(row[2])) for row in rows]

    def document(self, doc_id: str) -> Document:
        """The full stored document, with user-set metadata over what the file said."""
        row = self._db.execute(
            "SELECT doc_id, source, title, text, author, publication, date, url, qualifications, "
            "substr(added, 1, 10) FROM documents WHERE doc_id = ?", (doc_id,),
        ).fetchone()
        if row is None:
            raise StoreError(f"no document {doc_id} in the index")
        return replace(Document(*row), **self.overrides(row[1]))

    def info(self, doc_id: str) -> DocumentInfo:
        row = self._db.execute(f"SELECT {_INFO} FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
        if row is None:
            raise StoreError(f"no document {doc_id} in the index")
        return replace(DocumentInfo(*row), **self.overrides(row[2]))

    def overrides(self, source: str) -> dict[str, Any]:  # str values; Any: they go into replace(**...)
        """Metadata set with `assistant meta` for the document read from ``source``."""
        return dict(self._db.execute("SELECT key, value FROM document_meta WHERE source = ?", (source,)))

    def set_meta(self, doc_id: str, fields: dict[str, str]) -> None:
        """Store metadata with a document (not in its file); an empty value clears a field."""
        bad = sorted(set(fields) - set(EDITABLE))
        if bad:
            raise ValueError(f"not editable: {', '.join(bad)}")
        source = self.info(doc_id).source
        with self._db:
            for key, value in fields.items():
                self._db.execute("DELETE FROM document_meta WHERE source = ? AND key = ?", (source, key))
                if value.strip():
                    self._db.execute("INSERT INTO document_meta VALUES (?, ?, ?)", (source, key, value.strip()))

    def version_of(self, doc_id: str) -> tuple[str, str] | None:
        """(source, chunker) of a stored document, or None."""
        row = self._db.execute("SELECT source, chunker FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
        return (row[0], row[1]) if row else None

    def ids_for_source(self, source: str) -> list[str]:
        rows = self._db.execute("SELECT doc_id FROM documents WHERE source = ?", (source,)).fetchall()
        return [r[0] for r in rows]

    @property
    def revision(self) -> int:
        """Bumped on every change; lets in-memory caches (BM25) know they are stale."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'revision'").fetchone()
        return int(row[0]) if row else 0

    def chunk_count(self) -> int:
        return int(self._db.execute("SELECT coalesce(sum(chunks), 0) FROM documents").fetchone()[0])

    def chunks(self) -> list[Chunk]:
        """Every chunk of every stored document, in document and chunk order."""
        known = self._chunk_counts()
        out = [_to_chunk(i, t, m) for got in self._pages(["documents", "metadatas"])
               for i, t, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)]
        return sorted((c for c in out if c.index < known.get(c.doc_id, 0)), key=lambda c: (c.doc_id, c.index))

    def query(self, vector: Sequence[float], k: int, *,
              doc_ids: Collection[str] | None = None) -> list[tuple[Chunk, float]]:
        """The ``k`` nearest chunks with cosine similarity, best first; ``doc_ids`` limits the scope."""
        total = self._col.count()
        if total == 0 or (doc_ids is not None and not doc_ids):
            return []
        where = {"doc_id": {"$in": sorted(doc_ids)}} if doc_ids is not None else None
        n = min(total, k + 8)
        while n > 0:
            # Vectors without a document row (a write in progress in another process, or not yet
            # repaired) are skipped; widen the window until k known hits or the whole collection.
            got = self._col.query(query_embeddings=[list(vector)], n_results=n, where=where,
                                  include=["documents", "metadatas", "distances"])
            hits = [
                (_to_chunk(i, t, m), 1.0 - float(d))
                for i, t, m, d in zip(got["ids"][0], got["documents"][0], got["metadatas"][0],
                                      got["distances"][0], strict=True)
            ]
            known = self._chunk_counts({c.doc_id for c, _ in hits})  # only the returned documents: fast at 200k
            hits = [h for h in hits if h[0].index < known.get(h[0].doc_id, 0)]
            if len(hits) >= k or n >= total:
                return hits[:k]
            n = min(total, n * 4)
        return []

    # -- writing -----------------------------------------------------------

    def add(self, items: Sequence[tuple[Document, Sequence[Chunk]]],
            vectors: Sequence[Sequence[float]], *, chunker: str) -> list[str]:
        """Store documents with their chunks; ``vectors`` follow the chunks in order.

        Older versions from the same source are replaced. The write order (see
        the module docstring) means an interrupted add leaves only orphan
        vectors, which queries skip and the next open deletes.
        Returns the ids of the replaced documents.
        """
        chunks = [c for _, cs in items for c in cs]
        if len(chunks) != len(vectors):
            raise ValueError(f"{len(vectors)} vectors for {len(chunks)} chunks")
        with self.lock():
            with self._write():  # 1. pending: revision moves ahead of the vectors' stamp
                pass
            crash_point("before_vectors")
            self.upsert_vectors(chunks, vectors)  # 2.
            crash_point("after_vectors")
            new_ids = {doc.doc_id for doc, _ in items}
            replaced = sorted({old for doc, _ in items for old in self.ids_for_source(doc.source)} - new_ids)
            before = self._chunk_counts(new_ids | set(replaced))  # what the rows promised until step 3
            now = time.strftime("%Y-%m-%d %H:%M:%S")
            with self._write():  # 3.
                self._db.executemany("DELETE FROM documents WHERE doc_id = ?",
                                     [(i,) for i in new_ids | set(replaced)])
                self._db.executemany(
                    "INSERT INTO documents (doc_id, source, title, author, publication, date, text, chunks, "
                    "chunker, added, url, qualifications) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(d.doc_id, d.source, d.title, d.author, d.publication, d.date, d.text,
                      len(cs), chunker, now, d.url, d.qualifications) for d, cs in items],
                )
                self.lexical.remove(new_ids | set(replaced))  # same transaction as the rows
                self.lexical.add(chunks)
                crash_point("in_commit")
            crash_point("after_commit")
            # 4. by id, not by a metadata filter: a filtered delete scans the collection, and one per
            # document made ingest slow down as the index grew (303 -> 128 chunks/s from 17k to 33k chunks)
            stale = [chunk_id(old, i) for old in replaced for i in range(before.get(old, 0))]
            stale += [chunk_id(doc.doc_id, i) for doc, cs in items  # a re-chunked document may have fewer
                      for i in range(len(cs), before.get(doc.doc_id, 0))]
            self.delete_vectors(stale)
            self.mark_synced()  # 5.
        return replaced

    def remove(self, doc_id: str) -> None:
        """Delete a document and its chunks (row first: a crash leaves orphans, repaired on open)."""
        with self.lock():
            count = self._chunk_counts({doc_id}).get(doc_id, 0)
            with self._write():
                self._db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))
                self.lexical.remove({doc_id})
            crash_point("remove_after_commit")
            self.delete_vectors([chunk_id(doc_id, i) for i in range(count)])
            self.mark_synced()

    def sweep(self) -> int:
        """Delete vectors whose document row is gone (or stale chunks of a re-chunked doc)."""
        stale = sorted(self.vector_ids() - set(self.expected_ids()))
        self.delete_vectors(stale)
        return len(stale)

    # -- consistency (used by integrity.py) ----------------------------------

    def expected_ids(self) -> dict[str, str]:
        """chunk id -> doc id for every chunk the document rows promise."""
        rows = self._db.execute("SELECT doc_id, chunks FROM documents").fetchall()
        return {chunk_id(doc_id, i): doc_id for doc_id, n in rows for i in range(n)}

    def vector_ids(self) -> set[str]:
        return {i for got in self._pages([]) for i in got["ids"]}

    def vector_sources(self) -> dict[str, tuple[str, str]]:
        """doc id -> (source, title) as the vectors' metadata has them (for rows lost to damage, recover.py)."""
        return {str(m["doc_id"]): (str(m["source"]), str(m["title"]))
                for got in self._pages(["metadatas"]) for m in got["metadatas"]}

    def _pages(self, include: list[Any]) -> Iterator[Any]:
        """The whole collection in pages: one ``get`` of every row fails past ~32k chunks
        (Chroma's SQLite: "too many SQL variables"; found at 50k by benchmarks/bench_scale.py)."""
        offset = 0
        while True:
            got = self._col.get(include=include, limit=GET_PAGE, offset=offset)
            yield got
            if len(got["ids"]) < GET_PAGE:
                return
            offset += GET_PAGE

    def upsert_vectors(self, chunks: Sequence[Chunk], vectors: Sequence[Sequence[float]]) -> None:
        for lo in range(0, len(chunks), BATCH):
            part = chunks[lo:lo + BATCH]
            self._col.upsert(ids=[c.chunk_id for c in part], documents=[c.text for c in part],
                             embeddings=[list(v) for v in vectors[lo:lo + BATCH]],
                             metadatas=[_to_meta(c) for c in part])

    def delete_vectors(self, ids: Sequence[str]) -> None:
        for lo in range(0, len(ids), BATCH):
            self._col.delete(ids=list(ids[lo:lo + BATCH]))

    def in_sync(self) -> bool:
        """Cheap check on open: vectors stamped with the current revision, and as many as promised."""
        return self.synced_revision() == self.revision and self._col.count() == self.chunk_count()

    @property
    def _stamp(self) -> Path:
        """Where the vectors' revision stamp lives: in the embedded Chroma folder, else beside the rows."""
        embedded = self.path / "chroma"
        return embedded / "revision" if embedded.is_dir() else self.path / "vectors.revision"

    def synced_revision(self) -> int:
        try:
            return int(self._stamp.read_text().strip())
        except (OSError, ValueError):
            return -1

    def mark_synced(self) -> None:
        """Stamp the vectors as whole at the current revision (written atomically)."""
        self._writable("stamping its vectors")
        stamp = self._stamp
        tmp = stamp.with_suffix(".tmp")
        tmp.write_text(str(self.revision))
        os.replace(tmp, stamp)

    def bump(self) -> None:
        """A new revision (after a repair): caches built on the old one rebuild."""
        with self._write():
            pass

    @contextmanager
    def lock(self, *, wait: bool = True) -> Iterator[bool]:
        """The index's write lock (see ``writelock.write_lock``), re-entrant on this store.

        An ingest holds it from deciding what is new to its last write, and every ``add`` inside
        takes it again: flock would block on a second descriptor of the same file in one process.
        """
        self._writable("this command needs to write to it")
        if self._lock_depth:
            self._lock_depth += 1
            try:
                yield True
            finally:
                self._lock_depth -= 1
            return
        with write_lock(self.path, wait=wait) as mine:
            self._lock_depth = 1 if mine else 0
            try:
                yield mine
            finally:
                self._lock_depth = 0

    def rebuild_lexical(self) -> int:
        """Re-index every stored chunk lexically (repair); returns the number of chunks."""
        chunks = self.chunks()
        with self._db:
            self.lexical.rebuild(chunks)
        return len(chunks)

    def probe(self) -> None:
        """Read every layer of the vector store once (count, a page of ids, a nearest-neighbour query).

        Chroma loads its HNSW files only when a query needs them, so damage there shows up
        here (as ``IndexDamaged``) rather than in the middle of a search.
        """
        got = self._col.get(limit=1, include=["embeddings"])
        if len(got["ids"]):
            self._col.query(query_embeddings=[list(got["embeddings"][0])], n_results=1, include=[])

    def close(self) -> None:
        self._db.close()
        discard_copy(self._scratch)
        self._scratch = None

    def discard(self) -> None:
        """Close and delete this index folder (only for one created by a failed first ingest)."""
        import shutil

        self.close()
        forget_client(self.path / "chroma")
        shutil.rmtree(self.path, ignore_errors=True)

    # -- helpers -----------------------------------------------------------

    def _ensure_lexical(self) -> None:
        """Build the lexical index once for an index made before it (or with another tokenizer)."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'lexical'").fetchone()
        if row and row[0] == self.lexical.version:
            return
        self._writable("it needs a one-time upgrade (its lexical index) that only its owner can run, e.g. with "
                       "`assistant check --repair`")
        count = self.chunk_count()
        if count:
            print(f"upgrading the index at {self.path}: building its lexical index of {count} chunks "
                  "(once)", file=sys.stderr, flush=True)
        with self._db:
            self.lexical.rebuild(self.chunks() if count else [])
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('lexical', ?)", (self.lexical.version,))

    def _chunk_counts(self, doc_ids: set[str] | None = None) -> dict[str, int]:
        """doc_id -> chunk count, for every document or only those of ``doc_ids``."""
        if doc_ids is None:
            return dict(self._db.execute("SELECT doc_id, chunks FROM documents").fetchall())
        rows = self._db.execute("SELECT doc_id, chunks FROM documents WHERE doc_id IN "
                                "(SELECT value FROM json_each(?))", (json.dumps(sorted(doc_ids)),))
        return dict(rows.fetchall())

    def _doc_ids(self) -> set[str]:
        return {r[0] for r in self._db.execute("SELECT doc_id FROM documents")}

    def _writable(self, doing: str) -> None:
        if self.read_only:
            raise ReadOnlyIndex(self.path, doing)

    @contextmanager
    def _write(self) -> Iterator[None]:
        self._writable("this command needs to write to it")
        with self._db:
            yield
            self._db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'revision'")


def check_index_path(path: Path) -> None:
    """Fail early if ``path`` cannot be an index folder (a file, a name too long, ...)."""
    try:
        if path.exists() and not path.is_dir():
            raise ConfigError(f"index path is not a folder: {path}")
    except OSError as exc:
        raise ConfigError(f"bad index path {str(path)[:80]}: {exc.strerror}") from None


def _make_folder(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except PermissionError:
        raise ReadOnlyIndex(path, "cannot create the index folder there") from None
    except OSError as exc:
        raise StoreError(f"cannot create the index folder {path}: {exc.strerror}") from None


def _read_meta(db: sqlite3.Connection, path: Path) -> dict[str, str]:
    meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    if meta and meta.get("schema") != str(SCHEMA):
        raise StoreError(f"index at {path} has schema {meta.get('schema')}, expected {SCHEMA}; use the version "
                         f"of the assistant that made it, or {REBUILD_HINT}")
    return meta


def _to_meta(c: Chunk) -> dict[str, Any]:
    return {"doc_id": c.doc_id, "title": c.title, "source": c.source,
            "index": c.index, "start": c.start, "end": c.end}


def _to_chunk(chunk_id: str, text: str, m: dict[str, Any]) -> Chunk:
    return Chunk(chunk_id=chunk_id, doc_id=str(m["doc_id"]), title=str(m["title"]),
                 source=str(m["source"]), index=int(m["index"]), start=int(m["start"]),
                 end=int(m["end"]), text=text)

