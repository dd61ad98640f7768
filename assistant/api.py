"""``Assistant``: the Python API that the CLI and the UI both drive.

Components (embedder, store) are built lazily from ``Settings`` or passed in,
so tests can hand in fakes. One instance per process is the intended use.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .config import Settings
from .embed import Embedder, load_embedder
from .errors import InputError, StoreError
from .ingest import ingest as _ingest
from .retrieve import Retriever
from .store import Store
from .types import Document, DocumentInfo, IngestReport, Passage


class Assistant:
    """Ingest, list, remove and search documents in one index.

    >>> a = Assistant(index_dir="/tmp/my-index")        # doctest: +SKIP
    >>> a.ingest(["seeds/"]); a.search("Does remote work hurt productivity?", k=3)  # doctest: +SKIP
    """

    def __init__(self, settings: Settings | None = None, *, embedder: Embedder | None = None,
                 **overrides: Any) -> None:
        self.settings = settings or Settings.load(**overrides)
        self._embedder = embedder
        self._store: Store | None = None
        self._retriever: Retriever | None = None

    # -- components ----------------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = load_embedder(self.settings.embedder, batch_size=self.settings.embed_batch)
        return self._embedder

    def store(self, *, create: bool = False) -> Store:
        """The index; ``create`` makes an empty one if none exists yet."""
        if self._store is None:
            self._store = Store.open(self.settings.index_dir, embedder=self.embedder.identity, create=create)
        return self._store

    @property
    def retriever(self) -> Retriever:
        if self._retriever is None:
            self._retriever = Retriever(self.store(), self.embedder, variant=self.settings.retrieval)
        return self._retriever

    # -- documents -------------------------------------------------------------

    def ingest(self, paths: Iterable[str | Path], *, show_progress: bool | None = None) -> IngestReport:
        """Add files or folders (.txt .md .pdf .html); unchanged files are skipped."""
        files = [Path(p) for p in paths]
        if not files:
            raise InputError("nothing to ingest: give one or more files or folders")
        s = self.settings
        return _ingest(files, store=self.store(create=True), embedder=self.embedder,
                       chunk_size=s.chunk_size, chunk_overlap=s.chunk_overlap,
                       max_bytes=int(s.max_file_mb * 1_000_000), batch_size=s.embed_batch,
                       show_progress=show_progress)

    def sync(self, folder: str | Path | None = None, *, show_progress: bool | None = None) -> IngestReport:
        """Make the index match a folder (default: seeds/): ingest it, drop its deleted files."""
        folder = Path(folder or self.settings.seeds_dir).resolve()
        if not folder.is_dir():
            raise InputError(f"not a folder: {folder}")
        report = self.ingest([folder], show_progress=show_progress)
        store = self.store()
        for info in store.documents():
            if Path(info.source).is_relative_to(folder) and not Path(info.source).exists():
                store.remove(info.doc_id)
        return report

    def documents(self) -> list[DocumentInfo]:
        return self.store().documents()

    def document(self, doc_id: str) -> Document:
        return self.store().document(doc_id)

    def remove(self, ref: str) -> DocumentInfo:
        """Remove one document by id (or unique id prefix), path, file name or title."""
        info = self.find(ref)
        self.store().remove(info.doc_id)
        return info

    def find(self, ref: str) -> DocumentInfo:
        """The one document that ``ref`` names."""
        ref = ref.strip()
        if not ref:
            raise InputError("empty document reference: give an id, path, file name or title")
        docs = self.documents()
        resolved = str(Path(ref).expanduser().resolve())
        for match in (
            lambda d: d.doc_id == ref,
            lambda d: d.source == resolved,
            lambda d: d.doc_id.startswith(ref),
            lambda d: Path(d.source).name == ref,
            lambda d: d.title.casefold() == ref.casefold(),
        ):
            hits = [d for d in docs if match(d)]
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                raise InputError(f"{ref!r} matches {len(hits)} documents; use the id from `assistant docs`")
        raise StoreError(f"no document matches {ref!r}; see `assistant docs`")

    # -- retrieval -------------------------------------------------------------

    def search(self, query: str, k: int | None = None, *, variant: str | None = None) -> list[Passage]:
        """The best ``k`` passages for ``query`` (default k from settings)."""
        if not query or not query.strip():
            raise InputError("empty query: type a question or some words to search for")
        k = self.settings.k if k is None else k
        if not 1 <= k <= 100:
            raise InputError(f"k must be between 1 and 100, got {k}")
        return self.retriever.search(query, k, variant=variant)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
            self._retriever = None
