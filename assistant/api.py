"""``Assistant``: the Python API that the CLI and the UI both drive.

Components (embedder, store) are built lazily from ``Settings`` or passed in,
so tests can hand in fakes. One instance per process is the intended use.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import Settings
from .errors import AssistantError, ConfigError, InputError, StoreError
from .events import Event
from .index import integrity
from .index.embed import Embedder, load_embedder
from .index.ingest import ingest as _ingest
from .index.retrieve import Retriever
from .index.store import Store, check_index_path
from .llm.base import Generator, OnToken
from .output.history import History, SavedAnswer, mark_changed
from .output.sides import SetSide, Sides, side_label
from .types import Answer, Document, DocumentInfo, IngestReport, Passage

if TYPE_CHECKING:
    from .index.integrity import Audit
    from .streaming import Events


class Assistant:
    """Ingest, list, remove and search documents in one index; ask, brief, steelman, rebut.

    Example (see README): ``Assistant(index_dir="/tmp/ix").ingest(["seeds/"])``.
    """

    def __init__(self, settings: Settings | None = None, *, embedder: Embedder | str | None = None,
                 generator: Generator | None = None, **overrides: Any) -> None:
        if isinstance(embedder, str):  # a name or folder (CLI --embedder): a setting, like ASSISTANT_EMBEDDER
            from dataclasses import replace

            settings = replace(settings, embedder=embedder) if settings else None
            overrides["embedder"], embedder = embedder, None
        self.settings = settings or Settings.load(**overrides)
        self._embedder = embedder
        self._generator = generator
        self._store: Store | None = None
        self._retriever: Retriever | None = None
        self._history: History | None = None
        self._sides: Sides | None = None
        self.last_saved: int | None = None  # history id of the last answer run() saved
        self._warm_thread: threading.Thread | None = None
        self.warm_error: str | None = None  # why the last warm-up stopped early, for the page
        self.warm_seconds: dict[str, float] = {}  # what the last warm-up loaded, and how long it took

    # -- components ----------------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            s = self.settings
            self._embedder = load_embedder(s.embedder, batch_size=s.embed_batch, backend=s.embed_backend,
                                           cache_dir=s.cache_dir, recorded=Store.recorded_embedder(s.index_dir))
        return self._embedder

    def store(self, *, create: bool = False, repair: bool = False) -> Store:
        """The index, checked (see integrity.py); ``create`` makes an empty one if none exists yet.

        What a crash left is repaired on open; missing vectors are re-embedded
        only with ``repair`` (ingest, sync), else they are a ``StoreError``; with ``repair`` the SQLite
        file is read whole first and a damaged vector store rebuilt (recover.py). An index this process may not
        write opens read-only. The store is embedded Chroma, or a Chroma server when ``chroma_url``
        is set (backends.py).
        """
        if self._store is None:
            from functools import partial

            from .backends import open_store
            from .index.recover import open_writable

            opener = partial(open_store, self.settings, embedder=self.embedder.identity, create=create)
            store = (open_writable(opener, self.settings.index_dir, embedded=not self.settings.chroma_url)
                     if repair else opener())
            try:
                integrity.ensure(store, embedder=self.embedder if repair else None)
            except BaseException:
                store.close()
                raise
            self._store = store
        elif repair:
            integrity.ensure(self._store, embedder=self.embedder)
        return self._store

    def check(self, *, repair: bool = False) -> Audit:
        """Compare the document rows with the vectors in full; ``repair`` fixes what differs.

        ``repair`` first rebuilds a damaged SQLite file or vector store from what is intact and
        re-reads documents whose rows were lost from their source files (recover.py); what it
        did is in the audit's ``notes``. Without ``repair``, damage anywhere is a ``StoreError``.
        """
        from functools import partial

        from .backends import open_store
        from .index import recover

        opener = partial(open_store, self.settings, embedder=self.embedder.identity)
        if not repair:
            self._store = self._store or opener()
            recover.verify(self._store)
            return integrity.check(self._store, embedder=None, fix=False)
        self.close()  # the repair may replace files under an open store: start from them afresh
        self._store, mending = recover.mend(self.settings.index_dir, opener, identity=self.embedder.identity,
                                            embedded=not self.settings.chroma_url)
        notes = mending.notes + recover.reread(mending.lost, lambda source: self.ingest([source], show_progress=False))
        found = integrity.check(self._store, embedder=self.embedder, fix=True)
        return replace(found, notes=tuple(notes))

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
        from .writing import prompts

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
        from functools import partial

        from .index.index_lock import open_to_write

        s = self.settings
        check_index_path(s.index_dir)
        fresh = not s.index_dir.exists()
        opened = partial(open_to_write, s.index_dir, partial(self.store, create=True))  # once all files are read
        try:
            return _ingest(files, store=opened, embedder=self.embedder,
                           chunk_size=s.chunk_size, chunk_overlap=s.chunk_overlap,
                           max_bytes=s.max_file_bytes, show_progress=show_progress)
        except BaseException:
            if fresh:  # a failed first ingest leaves no empty index behind
                self._discard_empty_index()
            raise

    def _discard_empty_index(self) -> None:
        if self._store is not None:
            if self._store.documents():
                return
            self._store.discard()
            self._store, self._retriever = None, None

    def sync(self, folder: str | Path | None = None, *, show_progress: bool | None = None) -> IngestReport:
        """Make the index match a folder (default: seeds/): ingest it, drop its deleted files, in one turn."""
        folder = Path(folder or self.settings.seeds_dir).resolve()
        if not folder.is_dir():
            raise InputError(f"not a folder: {folder}")
        if not self.settings.index_dir.exists():  # a first sync: nothing stored yet to sweep or drop
            return self.ingest([folder], show_progress=show_progress)
        from .index.index_lock import hold_lock

        store = self.store(create=True, repair=True)
        # One turn for the whole sync: the sweep would take another writer's pending vectors for orphans.
        with hold_lock(store):
            report = self.ingest([folder], show_progress=show_progress)
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
        """The one document that ``ref`` names; a reference naming none or several is bad input (exit 2)."""
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
        raise InputError(f"no document matches {ref!r}; see `assistant docs`")

    # -- retrieval -------------------------------------------------------------

    def search(self, query: str, k: int | None = None, *, variant: str | None = None,
               docs: Sequence[str] | None = None) -> list[Passage]:
        """The best ``k`` passages for ``query`` (default k from settings); ``docs`` limits the scope."""
        if not query or not query.strip():
            raise InputError("empty query: type a question or some words to search for")
        k = self.settings.k if k is None else k
        if not 1 <= k <= 100:
            raise InputError(f"k must be between 1 and 100, got {k}")
        self._await_warm_up()
        return self.retriever.search(query, k, variant=variant, doc_ids=self.scope(docs))

    # -- writing -----------------------------------------------------------------

    def run(self, mode: str, text: str, *, k: int | None = None, passages: Sequence[Passage] | None = None,
            on_token: OnToken | None = None, on_event: Callable[[Event], None] | None = None,
            temperature: float | None = None, max_tokens: int | None = None,
            stance_method: str | None = None, docs: Sequence[str] | None = None) -> Answer:
        """One ask / brief / steelman / rebut request, verified. ``passages``: reuse (follow-up).

        ``docs`` (ids, file names or titles) restricts retrieval to those documents. The answer is
        saved in the index's history unless ``settings.save_history`` is off; ``on_event`` receives
        the events of ``assistant.events`` as they happen.
        """
        self._await_warm_up()
        s = self.settings
        store = self.store()  # before the model loads: a missing index fails fast
        doc_ids = self.scope(docs)
        common: dict[str, Any] = dict(retriever=self.retriever, store=store, generator=self.generator,
                                      prompts_dir=s.prompts_dir, k=k or s.k, passages=passages, on_token=on_token,
                                      temperature=s.temperature if temperature is None else temperature,
                                      max_tokens=max_tokens or s.max_tokens or None, doc_ids=doc_ids)
        from .writing.pipeline import run

        sides = self.sides().for_request(text)
        answer = run(mode, text, on_event=on_event, stance_method=stance_method, sides=sides, **common)
        answer = _with_backend_notices(answer, self.generator)
        return self._save(answer, k=k or s.k, temperature=temperature, max_tokens=max_tokens, doc_ids=doc_ids)

    def stream(self, mode: str, text: str, **kw: Any) -> Events:
        """Run a request in a worker thread and yield its events; the last is ``Finished``.

        Closing the iterator early (a Stop button, a closed tab) stops the model at its
        next token. Errors meant for the user are raised from the iterator.
        """
        from .streaming import stream

        return stream(self.run, mode, text, **kw)

    def use_model(self, ref: str) -> str:
        """Switch to another model (role, name or .gguf path); it loads on the next request."""
        from dataclasses import replace

        from .llm import models

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
        from .llm import models

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

    # -- scope, provenance, history and exports ---------------------------------------

    def scope(self, docs: Sequence[str] | None) -> list[str] | None:
        """Document ids for ``docs`` (ids, file names, titles); None = the whole corpus."""
        if docs is None:
            return None
        refs = [d for d in docs if d is not None]
        if not refs:
            raise InputError("empty scope: name at least one document (see `assistant docs`)")
        self.documents()  # a missing index is an environment error, not bad input
        try:
            return sorted({self.find(ref).doc_id for ref in refs})
        except StoreError as exc:
            raise InputError(str(exc)) from None

    def lookup(self, doc_id: str) -> Document | None:
        """The stored document, or None if it is not (or no longer) in the index."""
        try:
            return self.store().document(doc_id)
        except StoreError:
            return None

    def set_meta(self, ref: str, **fields: str | None) -> DocumentInfo:
        """Set provenance (title, author, date, publication, url, qualifications) kept with a document."""
        info = self.find(ref)
        given = {k: v for k, v in fields.items() if v is not None}
        if not given:
            raise InputError("nothing to set: give --author, --date, --title, --publication, --url or --quals")
        self.store().set_meta(info.doc_id, given)
        return self.store().info(info.doc_id)

    def history(self) -> History:
        """Saved answers of this index."""
        if self._history is None:
            self._history = History(self.store().path / "documents.sqlite")
        return self._history

    def sides(self) -> Sides:
        """The sides users set for sentences of this index (``output/sides.py``)."""
        if self._sides is None:
            self._sides = Sides(self.store().path / "documents.sqlite")
        return self._sides

    def set_side(self, request: str, sentence: str, side: str) -> SetSide:
        """Keep ``side`` (for / against / neither) for ``sentence`` in every later answer to ``request``.

        The sentence must be in a stored document (case, spacing and punctuation aside): a side
        set for a sentence the library does not hold would never take effect.
        """
        label = side_label(side)
        doc_id = self._holding(sentence)
        return self.sides().set(request, sentence, label, doc_id=doc_id)

    def clear_side(self, request: str, sentence: str) -> bool:
        """Forget the side set for ``sentence`` towards ``request``; False when none was set."""
        return self.sides().clear(request, sentence)

    def _holding(self, sentence: str) -> str:
        """The id of a stored document that holds ``sentence``; an ``InputError`` when none does."""
        from .writing.stance import padded

        wanted = padded(sentence)
        if not wanted.strip():
            raise InputError("setting a side needs a sentence of the library")
        store = self.store()
        for info in store.documents():
            if wanted in padded(store.document(info.doc_id).text):
                return info.doc_id
        raise InputError("that sentence is not in the library: copy it from a card of an answer")

    def saved(self, ref: int | str) -> SavedAnswer:
        """A saved answer, its quotes marked where the source has changed since."""
        saved = self.history().load(ref)
        return replace(saved, answer=mark_changed(saved.answer, self.lookup))

    def saved_lookup(self, saved: SavedAnswer) -> Callable[[str], Document | None]:
        """Provenance for a saved answer's cites: the document now, else as it was when saved."""
        return lambda doc_id: self.lookup(doc_id) or saved.documents.get(doc_id)

    def export(self, answer: Answer, path: str | Path) -> Path:
        """Write ``answer`` as .md, .json, .docx or .pdf (chosen by the suffix)."""
        from .output.export import export

        return export(answer, path, documents=self.lookup)

    def _save(self, answer: Answer, **settings: Any) -> Answer:
        self.last_saved = None
        if not self.settings.save_history:
            return answer
        s = self.settings
        settings |= {"retrieval": s.retrieval, "embedder": s.embedder, "model": s.model}
        try:
            self.last_saved = self.history().save(answer, settings=settings, documents=self.lookup)
        except (sqlite3.Error, StoreError) as exc:  # the answer still reaches the user
            return replace(answer, notices=(*answer.notices, f"Not saved to history: {exc}"))
        return answer

    def close(self) -> None:
        if self._history is not None:
            self._history.close()
            self._history = None
        if self._sides is not None:
            self._sides.close()
            self._sides = None
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
