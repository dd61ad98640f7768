"""The persisted index: chunk vectors in Chroma, documents in SQLite.

Layout of an index folder::

    index/
      chroma/              Chroma PersistentClient (collection "chunks", cosine)
      documents.sqlite     meta (embedder identity, schema) + full normalised texts

Full texts live beside the vectors so any quote can be located by char offset
in the document it came from. Chroma's default embedding function is never
used: vectors are always computed by our embedder and passed in. Not handled:
concurrent writers from several processes (one writer at a time).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from .errors import StoreError
from .remote_store import ChromaServer, GuardedCollection, collection_name
from .types import Chunk, Document, DocumentInfo

SCHEMA = 1
COLLECTION = "chunks"
BATCH = 1000  # below Chroma's max batch size
REBUILD_HINT = "delete the folder and run `assistant ingest` again"

_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY, source TEXT NOT NULL, title TEXT NOT NULL,
    author TEXT NOT NULL, publication TEXT NOT NULL, date TEXT NOT NULL,
    text TEXT NOT NULL, chunks INTEGER NOT NULL, chunker TEXT NOT NULL, added TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_source ON documents(source);
"""


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

    def __init__(self, path: Path, db: sqlite3.Connection, collection: Any) -> None:
        self.path = path
        self._db = db
        self._col = collection

    @classmethod
    def open(cls, path: Path, *, embedder: str, create: bool = False, server: ChromaServer | None = None) -> Store:
        """Open (or create) the index at ``path`` built with the embedder ``embedder``."""
        path = Path(path)
        db_path = path / "documents.sqlite"
        if not db_path.is_file() and not create:
            raise StoreError(f"no index at {path}: run `assistant ingest seeds/` (or give --index)")
        if path.exists() and not path.is_dir():
            raise StoreError(f"index path is not a folder: {path}")
        path.mkdir(parents=True, exist_ok=True)
        db = _connect(db_path)
        stored = _read_meta(db, path)
        if stored.get("embedder", embedder) != embedder:
            db.close()
            raise StoreError(
                f"index at {path} was built with embedder {stored['embedder']}, not {embedder}: "
                f"use that embedder, or {REBUILD_HINT}"
            )
        if not stored:
            with db:
                db.executemany("INSERT INTO meta VALUES (?, ?)",
                               [("schema", str(SCHEMA)), ("embedder", embedder), ("revision", "0")])
        return cls(path, db, _open_collection(path, embedder, server, db))

    # -- reading -----------------------------------------------------------

    def documents(self) -> list[DocumentInfo]:
        """Every stored document, oldest first."""
        rows = self._db.execute(
            "SELECT doc_id, title, source, chunks, length(text), added FROM documents ORDER BY added, doc_id"
        ).fetchall()
        return [DocumentInfo(*row) for row in rows]

    def document(self, doc_id: str) -> Document:
        """The full stored document."""
        row = self._db.execute(
            "SELECT doc_id, source, title, text, author, publication, date FROM documents WHERE doc_id = ?",
            (doc_id,),
        ).fetchone()
        if row is None:
            raise StoreError(f"no document {doc_id} in the index")
        return Document(*row)

    def info(self, doc_id: str) -> DocumentInfo:
        row = self._db.execute(
            "SELECT doc_id, title, source, chunks, length(text), added FROM documents WHERE doc_id = ?",
            (doc_id,),
        ).fetchone()
        if row is None:
            raise StoreError(f"no document {doc_id} in the index")
        return DocumentInfo(*row)

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
        got = self._col.get(include=["documents", "metadatas"])
        known = self._doc_ids()
        out = [_to_chunk(i, t, m) for i, t, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)]
        return sorted((c for c in out if c.doc_id in known), key=lambda c: (c.doc_id, c.index))

    def query(self, vector: Sequence[float], k: int) -> list[tuple[Chunk, float]]:
        """The ``k`` nearest chunks with cosine similarity, best first."""
        total = self._col.count()
        if total == 0:
            return []
        got = self._col.query(query_embeddings=[list(vector)], n_results=min(total, k + 8),
                              include=["documents", "metadatas", "distances"])
        known = self._doc_ids()
        hits = [
            (_to_chunk(i, t, m), 1.0 - float(d))
            for i, t, m, d in zip(got["ids"][0], got["documents"][0], got["metadatas"][0],
                                  got["distances"][0], strict=True)
        ]
        return [h for h in hits if h[0].doc_id in known][:k]

    # -- writing -----------------------------------------------------------

    def add(self, items: Sequence[tuple[Document, Sequence[Chunk]]],
            vectors: Sequence[Sequence[float]], *, chunker: str) -> list[str]:
        """Store documents with their chunks; ``vectors`` follow the chunks in order.

        Older versions from the same source are replaced. Vectors go in first
        and document rows last, in one transaction, so an interrupted add
        leaves only orphan vectors, which queries ignore and ``sweep`` removes.
        Returns the ids of the replaced documents.
        """
        chunks = [c for _, cs in items for c in cs]
        if len(chunks) != len(vectors):
            raise ValueError(f"{len(vectors)} vectors for {len(chunks)} chunks")
        for lo in range(0, len(chunks), BATCH):
            part = chunks[lo:lo + BATCH]
            self._col.upsert(ids=[c.chunk_id for c in part], documents=[c.text for c in part],
                             embeddings=[list(v) for v in vectors[lo:lo + BATCH]],
                             metadatas=[_to_meta(c) for c in part])
        new_ids = {doc.doc_id for doc, _ in items}
        replaced = sorted({old for doc, _ in items for old in self.ids_for_source(doc.source)} - new_ids)
        now = time.strftime("%Y-%m-%d %H:%M:%S")
        with self._write():
            self._db.executemany("DELETE FROM documents WHERE doc_id = ?", [(i,) for i in new_ids | set(replaced)])
            self._db.executemany(
                "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(d.doc_id, d.source, d.title, d.author, d.publication, d.date, d.text,
                  len(cs), chunker, now) for d, cs in items],
            )
        self._delete_where({"doc_id": {"$in": replaced}} if replaced else None)
        for doc, cs in items:  # a re-chunked document may now have fewer chunks
            self._delete_where({"$and": [{"doc_id": doc.doc_id}, {"index": {"$gte": len(cs)}}]})
        return replaced

    def remove(self, doc_id: str) -> None:
        """Delete a document and its chunks."""
        with self._write():
            self._db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))
        self._delete_where({"doc_id": doc_id})

    def sweep(self) -> int:
        """Delete vectors whose document row is gone (or stale chunks of a re-chunked doc)."""
        counts = dict(self._db.execute("SELECT doc_id, chunks FROM documents").fetchall())
        got = self._col.get(include=["metadatas"])
        stale = [i for i, m in zip(got["ids"], got["metadatas"], strict=True)
                 if m["doc_id"] not in counts or int(m["index"]) >= counts[m["doc_id"]]]
        for lo in range(0, len(stale), BATCH):
            self._col.delete(ids=stale[lo:lo + BATCH])
        return len(stale)

    def close(self) -> None:
        self._db.close()

    # -- helpers -----------------------------------------------------------

    def _delete_where(self, where: dict[str, Any] | None) -> None:
        if where is not None:
            self._col.delete(where=where)

    def _doc_ids(self) -> set[str]:
        return {r[0] for r in self._db.execute("SELECT doc_id FROM documents")}

    @contextmanager
    def _write(self) -> Iterator[None]:
        with self._db:
            yield
            self._db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'revision'")


def _connect(db_path: Path) -> sqlite3.Connection:
    try:
        db = sqlite3.connect(db_path, check_same_thread=False)
        db.executescript(_DDL)
        return db
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"index is corrupted ({exc}): {db_path}; {REBUILD_HINT}") from None


def _read_meta(db: sqlite3.Connection, path: Path) -> dict[str, str]:
    meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    if meta and meta.get("schema") != str(SCHEMA):
        raise StoreError(f"index at {path} has schema {meta.get('schema')}, expected {SCHEMA}; {REBUILD_HINT}")
    return meta


def _open_collection(path: Path, embedder: str, server: ChromaServer | None = None,
                     db: sqlite3.Connection | None = None) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    try:
        if server is None:
            client = chromadb.PersistentClient(
                path=str(path / "chroma"),
                settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False),
            )
        else:
            client = chromadb.HttpClient(host=server.host, port=server.port, ssl=server.ssl,
                                         settings=ChromaSettings(anonymized_telemetry=False, **server.auth_settings()))
        collection = client.get_or_create_collection(
            collection_name(db, COLLECTION) if server and db else COLLECTION, embedding_function=None,
            metadata={"hnsw:space": "cosine", "embedder": embedder},
        )
    except Exception as exc:  # chromadb raises many types for a damaged folder or a missing server
        if server is not None:
            raise server.unreachable(exc) from None
        raise StoreError(f"cannot open the vector store at {path / 'chroma'} ({exc}); {REBUILD_HINT}") from None
    return GuardedCollection(collection, server) if server else collection


def _to_meta(c: Chunk) -> dict[str, Any]:
    return {"doc_id": c.doc_id, "title": c.title, "source": c.source,
            "index": c.index, "start": c.start, "end": c.end}


def _to_chunk(chunk_id: str, text: str, m: dict[str, Any]) -> Chunk:
    return Chunk(chunk_id=chunk_id, doc_id=str(m["doc_id"]), title=str(m["title"]),
                 source=str(m["source"]), index=int(m["index"]), start=int(m["start"]),
                 end=int(m["end"]), text=text)

