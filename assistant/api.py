"""``Assistant``: the Python API that the CLI and the UI both drive.

Components (embedder, store) are built lazily from ``Settings`` or passed in,
so tests can hand in fakes. One instance per process is the intended use.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .config import Settings
from .embed import Embedder, load_embedder
from .errors import AssistantError, InputError, StoreError
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
        self._warm_thread: threading.Thread | None = None
        self.warm_error: str | None = None  # why the last warm-up stopped early, for the page
        self.warm_seconds: dict[str, float] = {}  # what the last warm-up loaded, and how long it took

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
    def generator(self) -> Generator:
        """The local model from settings, verified and loaded once per process."""
        if self._generator is None:
            from . import models
            from .llm import load_generator

            s = self.settings
            name, path = models.resolve(s.model, models.load_registry(s.models_file), s.models_dir)
            self._generator = load_generator(path, name=name, n_ctx=s.n_ctx, threads=s.threads or None)
        return self._generator

    @property
    def retriever(self) -> Retriever:
        if self._retriever is None:
            self._retriever = Retriever(self.store(), self.embedder, variant=self.settings.retrieval)
        return self._retriever

    # -- start-up --------------------------------------------------------------

    def warm_up(self, *, background: bool = False) -> None:
        """Load what the first request needs: embedder, index, BM25, model, and read the system rules.

        ``background``: in a thread; requests that arrive meanwhile wait for it
        (``warming`` says whether it is still running). An error is kept in
        ``warm_error`` and left for the request that needs the part to report.
        """
        if background:
            self._warm_thread = threading.Thread(target=self._warm_up, name="warm-up", daemon=True)
            self._warm_thread.start()
        else:
            self._warm_up()

    @property
    def warming(self) -> bool:
        return self._warm_thread is not None and self._warm_thread.is_alive()

    def _warm_up(self) -> None:
        self.warm_error = None
        steps = [("embedder", lambda: self.embedder.embed_query("warm up")),
                 ("index", lambda: self.retriever.search("warm up", 1, variant="hybrid")),  # + BM25 build
                 ("model", lambda: self.generator.count_tokens("warm up")),
                 ("system prefix", self._warm_prefix)]
        for name, step in steps:
            started = time.perf_counter()
            try:
                step()
            except AssistantError as exc:
                self.warm_error = str(exc)
                return
            except Exception:  # a bug: keep serving, the traceback goes to the server log
                traceback.print_exc()
                self.warm_error = f"internal error while loading the {name} (details in the server log)"
                return
            self.warm_seconds[name] = round(time.perf_counter() - started, 3)

    def _warm_prefix(self) -> None:
        """Have the model read the system rules, the start of every prompt, ahead of the first request."""
        from . import prompts

        warm = getattr(self.generator, "warm", None)  # an in-process model; remote ones have no cache of ours
        if warm is not None:
            warm([{"role": "system", "content": prompts.render(self.settings.prompts_dir, "system")}])

    def _await_warm_up(self) -> None:
        """Block a request until a background warm-up is done (it loads the same parts)."""
        thread = self._warm_thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

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
        self._await_warm_up()
        return self.retriever.search(query, k, variant=variant)

    # -- writing -----------------------------------------------------------------

    def run(self, mode: str, text: str, *, k: int | None = None, passages: Sequence[Passage] | None = None,
            on_token: OnToken | None = None, temperature: float | None = None,
            max_tokens: int | None = None) -> Answer:
        """One ask / brief / steelman / rebut request, verified. ``passages``: reuse (follow-up)."""
        from .modes import run

        self._await_warm_up()
        s = self.settings
        store = self.store()  # before the model loads: a missing index fails fast
        return run(mode, text, retriever=self.retriever, store=store, generator=self.generator,
                   prompts_dir=s.prompts_dir, k=k or s.k, passages=passages, on_token=on_token,
                   temperature=s.temperature if temperature is None else temperature,
                   max_tokens=max_tokens or s.max_tokens or None)

    def use_model(self, ref: str) -> str:
        """Switch to another model (role, name or .gguf path); it loads on the next request."""
        from dataclasses import replace

        from . import models

        s = self.settings
        name, _ = models.resolve(ref, models.load_registry(s.models_file), s.models_dir)
        if self._generator is None or self._generator.name != name:
            self.settings = replace(s, model=ref)
            self._generator = None
        return name

    def installed_models(self) -> list[str]:
        """Names of bundled models whose packages are installed (for pickers)."""
        from . import models

        s = self.settings
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
