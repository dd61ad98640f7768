"""Export the packaged sentence-transformers model to ONNX, once, into the cache.

Writes ``<cache>/embedders/<name>-onnx/``: ``model.onnx`` (fp32, mean pooling
and L2 normalisation inside the graph, so the runtime needs only
onnxruntime and a tokenizer), ``model_int8.onnx`` (the same graph with
dynamically quantised int8 weights) and ``tokenizer.json``. A ``stamp.json``
written last says the export is complete; a half-written export is never
used. This is the only module that imports torch for the ONNX path, and only
while exporting (at set-up time, or once on first use).

The stamp names the model by the content of the files the export reads
(sha256), the package version and ``EXPORT_VERSION``, never by their path: a
second checkout or a moved virtualenv with the same model reuses the export.
Hashing the ~90 MB of weights takes a fraction of a second, so file digests
are cached in ``digests.json`` beside the stamp, keyed by (path, size,
mtime_ns); a warm check only stats the files. Not handled: exporting
arbitrary local folders (those embed with torch), GPU graphs, a file
rewritten with the same size and mtime_ns (its cached digest is trusted).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sys
import tempfile
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

from ..errors import ConfigError

EXPORT_VERSION = 2  # bump when the export changes: caches re-export once
OPSET = 17
FP32, INT8 = "model.onnx", "model_int8.onnx"
STAMP = "stamp.json"
DIGESTS = "digests.json"
# The files the export reads (weights in one of two formats); the stamp is keyed on their content.
MODEL_FILES = ("config.json", "model.safetensors", "pytorch_model.bin", "tokenizer.json",
               "sentence_bert_config.json")


def export_dir(cache_dir: Path, name: str) -> Path:
    """Where the ONNX files of a packaged model live."""
    return Path(cache_dir) / "embedders" / f"{name}-onnx"


def _source_label(dist: str, model_dir: Path, digests: Path) -> str:
    """``dist`` is the Python distribution that ships the model (embed.PACKAGED; passed in, embed imports us)."""
    return f"{dist}=={metadata.version(dist)}:sha256:{model_digest(model_dir, digests)}"


def is_exported(name: str, model_dir: Path, cache_dir: Path, *, dist: str) -> bool:
    """True when a complete export of a model with these exact files is in the cache (wherever they live)."""
    return _complete(dist, model_dir, export_dir(cache_dir, name))


def _complete(dist: str, model_dir: Path, folder: Path) -> bool:
    try:
        data = json.loads((folder / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (isinstance(data, dict) and data.get("version") == EXPORT_VERSION
            and data.get("source") == _source_label(dist, model_dir, folder / DIGESTS))


def model_digest(model_dir: Path, digests: Path | None = None) -> str:
    """sha256 over the names and contents of the model files the export reads.

    ``digests`` caches each file's digest by (path, size, mtime_ns); it is an
    optimisation only, so an unreadable or unwritable cache file is ignored.
    """
    cache = _read_digests(digests)
    parts, changed = [], False
    for rel in MODEL_FILES:
        path = model_dir / rel
        try:
            st = path.stat()
        except OSError:
            continue  # e.g. pytorch_model.bin next to model.safetensors is optional
        key = str(path.resolve())
        seen = cache.get(key)
        if isinstance(seen, list) and seen[:2] == [st.st_size, st.st_mtime_ns]:
            digest = str(seen[2])
        else:
            try:
                digest, changed = _sha256(path), True
            except OSError as exc:
                raise ConfigError(f"cannot read the embedder file {path}: {exc.strerror or exc}") from None
            cache[key] = [st.st_size, st.st_mtime_ns, digest]
        parts.append(f"{rel}:{digest}")
    if changed and digests is not None:
        _write_digests(digests, cache)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _read_digests(path: Path | None) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path else {}
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_digests(path: Path, cache: dict[str, Any]) -> None:
    # Entries of files that are gone (an old checkout) are dropped; written whole, then renamed.
    live = {k: v for k, v in cache.items() if os.path.exists(k)}
    try:
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(json.dumps(live), encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass  # a read-only cache still works, it just hashes again next time


def write_stamp(dist: str, model_dir: Path, folder: Path) -> None:
    """Mark ``folder`` as a complete export of the model in ``model_dir``, shipped by ``dist`` (written last)."""
    label = _source_label(dist, model_dir, folder / DIGESTS)
    (folder / STAMP).write_text(json.dumps({"version": EXPORT_VERSION, "source": label,
                                            "max_seq_length": max_seq_length(model_dir)}), encoding="utf-8")


def ensure_exported(name: str, model_dir: Path, cache_dir: Path, *, dist: str, quiet: bool = False) -> Path:
    """The export folder, exporting first (with a message on stderr) when it is missing."""
    out = export_dir(cache_dir, name)
    if not is_exported(name, model_dir, cache_dir, dist=dist):
        if not quiet:
            print(f"exporting the embedder {name} to ONNX (once, about a minute): {out}", file=sys.stderr, flush=True)
        export(dist, model_dir, out)
    return out


def export(dist: str, model_dir: Path, out: Path) -> None:
    """Write fp32 and int8 ONNX files and the tokenizer into ``out`` (replacing it whole)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        with warnings.catch_warnings():  # tracer and quantizer advice, not news for the user
            warnings.simplefilter("ignore")
            logging.disable(logging.WARNING)
            _export_fp32(model_dir, tmp / FP32)
            _quantize(tmp / FP32, tmp / INT8)
        shutil.copy2(model_dir / "tokenizer.json", tmp / "tokenizer.json")
        write_stamp(dist, model_dir, tmp)
        if out.exists():
            shutil.rmtree(out, ignore_errors=True)
        try:
            tmp.rename(out)
        except OSError:
            if not _complete(dist, model_dir, out):
                raise
            # another process finished the same export first (two first commands at once): use theirs
    except ModuleNotFoundError as exc:
        raise ConfigError(f"the ONNX export needs the package {exc.name}: pip install {exc.name}") from None
    finally:
        logging.disable(logging.NOTSET)
        shutil.rmtree(tmp, ignore_errors=True)


def max_seq_length(model_dir: Path) -> int:
    """sentence-transformers' truncation length for this model (256 for all-MiniLM-L6-v2)."""
    try:
        return int(json.loads((model_dir / "sentence_bert_config.json").read_text())["max_seq_length"])
    except (OSError, ValueError, KeyError):
        return 256


def _export_fp32(model_dir: Path, path: Path) -> None:
    import torch
    from transformers import AutoModel

    class Pooled(torch.nn.Module):
        """BERT, then sentence-transformers' mean pooling and L2 normalisation."""

        def __init__(self, bert: Any) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                               token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2.0, dim=1)

    model = Pooled(AutoModel.from_pretrained(str(model_dir), local_files_only=True)).eval()
    ids = torch.ones((2, 8), dtype=torch.long)
    axes = {0: "batch", 1: "tokens"}
    with torch.no_grad():
        torch.onnx.export(
            model, (ids, torch.ones_like(ids), torch.zeros_like(ids)), str(path),
            input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["embedding"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes, "embedding": {0: "batch"}},
            opset_version=OPSET, dynamo=False,
        )


def _quantize(src: Path, dst: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Per-channel scales keep cosine to fp32 at ~0.99 (per-tensor: ~0.95); reduce_range (7-bit
    # weights) avoids the u8 x s8 overflow of AVX2 kernels without VNNI, the common laptop case.
    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=True, reduce_range=True)
