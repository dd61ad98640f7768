"""``Assistant``: the Python API that the CLI and the UI both drive.

Components (embedder, store) are built lazily from ``Settings`` or passed in,
so tests can hand in fakes. One instance per process is the intended use.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .config import Settings
from .embed import Embedder, load_embedder
from .errors import ConfigError, InputError, StoreError
from .ingest import ingest as _ingest
from .llm import Generator, OnToken
from .retrieve import Retriever
from .store import Store
from .types import Answer, Document, DocumentInfo, IngestReport, Passage


class Assistant:
    """Ingest, list, remove and search documents in one index; ask, brief, steelman, rebut.

    Example (see README): ``Assistant(index_dir="/tmp/ix").ingest(["seeds/"])``.
    """

    def __init__(self, settings: Settings | None = None, *, embedder: Embedder | None = None,
                 generator: Generator | None = None, **overrides: Any) -> None:
        self.settings = settings or Settings.load(**overrides)
        self._embedder = embedder
        self._generator = generator
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
            from .backends import open_store

            self._store = open_store(self.settings, embedder=self.embedder.identity, create=create)
        return self._store

    @property
    def generator(self) -> Generator:
        """The model from settings: a model server, or the local GGUF verified and loaded once per process."""
        if self._generator is None:
            from .backends import build_generator

            self._generator = build_generator(self.settings)
        return self._generator

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
        store.sweep()  # vectors orphaned by an interrupted ingest
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

    # -- writing -----------------------------------------------------------------

    def run(self, mode: str, text: str, *, k: int | None = None, passages: Sequence[Passage] | None = None,
            on_token: OnToken | None = None, temperature: float | None = None,
            max_tokens: int | None = None) -> Answer:
        """One ask / brief / steelman / rebut request, verified. ``passages``: reuse (follow-up)."""
        from .modes import run

        s = self.settings
        store = self.store()  # before the model loads: a missing index fails fast
        answer = run(mode, text, retriever=self.retriever, store=store, generator=self.generator,
                     prompts_dir=s.prompts_dir, k=k or s.k, passages=passages, on_token=on_token,
                     temperature=s.temperature if temperature is None else temperature,
                     max_tokens=max_tokens or s.max_tokens or None)
        return _with_backend_notices(answer, self.generator)

    def use_model(self, ref: str) -> str:
        """Switch to another model (role, name or .gguf path); it loads on the next request."""
        from dataclasses import replace

        from . import models

        s = self.settings
        if s.llm_url:
            raise ConfigError(f"the model is chosen by the model server at {s.llm_url}, not here")
        name, _ = models.resolve(ref, models.load_registry(s.models_file), s.models_dir)
        if self._generator is None or self._generator.name != name:
            self.settings = replace(s, model=ref)
            self._generator = None
        return name

    def installed_models(self) -> list[str]:
        """Names of bundled models whose packages are installed (for pickers)."""
        from . import models

        s = self.settings
        if s.llm_url:  # the server decides; nothing to pick here
            return []
        return [e.name for e in models.load_registry(s.models_file)
                if models.status(e, s.models_dir).state in {"installed", "verified"}]

    def ask(self, question: str, **kw: Any) -> Answer:
        """An answer from the corpus with verified citations, or "not covered"."""
        return self.run("ask", question, **kw)

    def brief(self, motion: str, **kw: Any) -> Answer:
        """A balanced debate brief: key terms, FOR and AGAINST with evidence, clashes, gaps."""
        return self.run("brief", motion, **kw)

    def steelman(self, position: str, **kw: Any) -> Answer:
        """The strongest charitable version of a position, with objections and replies."""
        return self.run("steelman", position, **kw)

    def rebut(self, claim: str, **kw: Any) -> Answer:
        """Assumptions, weak points with counter-evidence, concessions and a rebuttal speech."""
        return self.run("rebut", claim, **kw)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
            self._retriever = None


def _with_backend_notices(answer: Answer, generator: Generator) -> Answer:
    """Add what a model server could not do (estimated token counts, unconstrained output) to an answer it wrote."""
    from dataclasses import replace

    extra = [n for n in getattr(generator, "notices", ()) if n not in answer.notices]
    if not extra or not answer.timings.generated_tokens:
        return answer
    return replace(answer, notices=(*answer.notices, *extra))
