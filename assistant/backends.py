"""The one factory that builds the store and the generator from ``Settings``.

Laptop default (nothing set): embedded Chroma under the index folder and the
bundled GGUF in-process through llama.cpp, fully offline. ``chroma_url``
(``ASSISTANT_CHROMA_URL`` / ``--chroma-url``) puts the vectors on a Chroma
server; ``llm_url`` (``ASSISTANT_LLM_URL`` / ``--llm-url``) sends generation to
an OpenAI-compatible server. Full texts and the lexical index stay with the
assistant process either way. Not handled: choosing backends per request.

>>> s = Settings.load(chroma_url="", llm_url="")
>>> describe(s), concurrency(s)
('embedded Chroma + in-process llama.cpp', 1)
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

from .config import Settings
from .index.store import Store
from .llm.base import Generator


def open_store(settings: Settings, *, embedder: str, create: bool = False,
               index_dir: Path | None = None) -> Store:
    """The index: vectors in embedded Chroma, or on the Chroma server from settings."""
    from .index.remote_store import ChromaServer

    server = ChromaServer(settings.chroma_url, settings.chroma_token) if settings.chroma_url else None
    return Store.open(index_dir or settings.index_dir, embedder=embedder, create=create, server=server)


def build_generator(settings: Settings) -> Generator:
    """The model: an OpenAI-compatible server from settings, else the local GGUF (loaded once per process)."""
    if settings.llm_url:
        from .llm.remote import RemoteGenerator

        # name / n_ctx are read-only properties there (resolved from the server): a Generator for readers.
        return cast(Generator, RemoteGenerator(settings.llm_url, model=settings.llm_model,
                                               api_key=settings.llm_api_key, n_ctx=settings.n_ctx,
                                               timeout=settings.llm_timeout))
    from .llm import models
    from .llm.local import load_generator

    registry = models.load_registry(settings.models_file)
    name, path = models.resolve(settings.model, registry, settings.models_dir)
    return load_generator(path, name=name, n_ctx=settings.n_ctx, threads=settings.threads or None,
                          judge=models.judges(settings.model, registry))


def concurrency(settings: Settings) -> int:
    """Requests the page serves at once: one per in-process model, the setting with a model server."""
    return settings.concurrency if settings.llm_url else 1


def describe(settings: Settings) -> str:
    """One line for the serve banner: which store and which model."""
    store = f"Chroma server {settings.chroma_url}" if settings.chroma_url else "embedded Chroma"
    model = f"model server {settings.llm_url}" if settings.llm_url else "in-process llama.cpp"
    return f"{store} + {model}"
