"""The ONNX Runtime embedders against the torch one, their identities, and the automatic choice.

Real packaged model; the ONNX export is made once into the user cache (as set-up does).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assistant import Assistant, Settings
from assistant.errors import ConfigError, StoreError
from assistant.index import onnx_export
from assistant.index.embed import PACKAGED, OnnxEmbedder, SentenceTransformerEmbedder, choose_backend
from assistant.index.onnx_export import STAMP, export_dir, is_exported, write_stamp
from assistant.index.store import Store
from tests.conftest import REPO, SEEDS

pytestmark = pytest.mark.integration

SAMPLES = [
    "Remote work raises productivity for focused tasks.",
    "The motion: this house would ban zoos.",
    "Offshoring follows when a job can be done from anywhere; AI translation lowers the last barrier. " * 6,
    "x",
    "Homeward Bound: why companies want workers back in the office, and what the evidence says about it.",
]


def _cos(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))  # unit vectors


@pytest.fixture(scope="module")
def onnx_pair() -> tuple[OnnxEmbedder, OnnxEmbedder]:
    cache = Settings.load().cache_dir
    return OnnxEmbedder(cache_dir=cache), OnnxEmbedder(cache_dir=cache, quantized=True)


def test_onnx_vectors_match_torch(real_embedder: SentenceTransformerEmbedder,
                                  onnx_pair: tuple[OnnxEmbedder, OnnxEmbedder]) -> None:
    fp32, int8 = onnx_pair
    ref = real_embedder.embed(SAMPLES)
    for name, emb, bound in (("fp32", fp32, 0.999), ("int8", int8, 0.975)):
        got = emb.embed(SAMPLES)
        sims = [_cos(a, b) for a, b in zip(ref, got, strict=True)]
        assert min(sims) > bound, (name, sims)
        assert sum(sims) / len(sims) > 0.99 - (name == "int8") * 0.005, (name, sims)
    assert fp32.embed_query(SAMPLES[0]) == pytest.approx(fp32.embed(SAMPLES)[0], abs=1e-5)  # order kept


def test_a_text_gets_the_same_vector_whatever_it_is_embedded_with(
        onnx_pair: tuple[OnnxEmbedder, OnnxEmbedder]) -> None:
    """A chunk stored in a batch must be the vector its text gets alone (as a query is embedded).

    The int8 export quantises activations per call: in a batch, a text's vector moved by up to 0.02
    cosine with its companions (and their padding), so a re-ingested library retrieved differently.
    """
    for name, emb in zip(("fp32", "int8"), onnx_pair, strict=True):
        together = emb.embed(SAMPLES)
        alone = [emb.embed_query(t) for t in SAMPLES]
        sims = [_cos(a, b) for a, b in zip(together, alone, strict=True)]
        assert min(sims) > 0.99999, (name, sims)


def test_identities_are_honest(real_embedder: SentenceTransformerEmbedder,
                               onnx_pair: tuple[OnnxEmbedder, OnnxEmbedder]) -> None:
    fp32, int8 = onnx_pair
    assert fp32.identity == real_embedder.identity == "sentence-transformers/all-MiniLM-L6-v2"
    assert int8.identity == "sentence-transformers/all-MiniLM-L6-v2+onnx-int8"


def test_an_index_opens_only_with_its_own_embedder(tmp_path: Path,
                                                   onnx_pair: tuple[OnnxEmbedder, OnnxEmbedder]) -> None:
    fp32, int8 = onnx_pair
    Store.open(tmp_path / "ix", embedder=fp32.identity, create=True).close()
    with pytest.raises(StoreError, match=r"built with embedder sentence-transformers/all-MiniLM-L6-v2, not .*int8"):
        Store.open(tmp_path / "ix", embedder=int8.identity)


def test_auto_picks_the_backend_an_index_was_built_with(tmp_path: Path, real_embedder) -> None:
    old = Assistant(Settings.load(index_dir=tmp_path / "old"), embedder=real_embedder)
    old.ingest([SEEDS / "homeward-bound.md"], show_progress=False)  # a torch-built index
    old.close()
    reopened = Assistant(Settings.load(index_dir=tmp_path / "old"))
    assert isinstance(reopened.embedder, OnnxEmbedder) and not reopened.embedder.quantized
    assert reopened.search("return to office", 1)[0].chunk.title == "Homeward Bound"
    int8_identity = OnnxEmbedder(cache_dir=tmp_path, quantized=True).identity
    fresh = Assistant(Settings.load(index_dir=tmp_path / "new"))  # a new index: int8, the default
    assert isinstance(fresh.embedder, OnnxEmbedder) and fresh.embedder.identity == int8_identity
    Store.open(tmp_path / "int8", embedder=int8_identity, create=True).close()
    assert Assistant(Settings.load(index_dir=tmp_path / "int8")).embedder.identity == int8_identity
    forced = Assistant(Settings.load(index_dir=tmp_path / "old", embed_backend="torch"))
    assert isinstance(forced.embedder, SentenceTransformerEmbedder)


def test_backend_choice_rules() -> None:
    assert choose_backend("/some/folder", "auto", None) == "torch"
    assert choose_backend("all-MiniLM-L6-v2", "onnx", "sentence-transformers/all-MiniLM-L6-v2+onnx-int8") == "onnx"
    with pytest.raises(ConfigError, match="unknown embedder backend"):
        choose_backend("all-MiniLM-L6-v2", "gpu", None)


def test_search_with_onnx_never_imports_torch(seeded_index: Path) -> None:
    code = ("import sys; from assistant.app.cli import main; rc = main(['--index', sys.argv[1], 'search', "
            "'remote', 'work', '--k', '2']); print('torch' in sys.modules, 'sentence_transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(seeded_index)], capture_output=True, text=True,
                         cwd=REPO, check=True, timeout=300)
    assert out.stdout.strip().splitlines()[-1] == "False False"


def _model_folder(folder: Path) -> Path:
    """Small stand-ins for the files the export reads; the stamp only hashes them."""
    folder.mkdir(parents=True)
    (folder / "config.json").write_text('{"model_type": "bert"}', encoding="utf-8")
    (folder / "model.safetensors").write_bytes(os.urandom(4096))
    (folder / "tokenizer.json").write_text("{}", encoding="utf-8")
    (folder / "sentence_bert_config.json").write_text('{"max_seq_length": 128}', encoding="utf-8")
    return folder


def test_the_export_stamp_names_the_model_content_not_its_path(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A second checkout (or a moved venv) with the same model files reuses the export."""
    name, cache = "all-MiniLM-L6-v2", tmp_path / "cache"
    dist = PACKAGED[name][0]
    first = _model_folder(tmp_path / "checkout-a" / ".venv" / "model")
    folder = export_dir(cache, name)
    folder.mkdir(parents=True)
    write_stamp(dist, first, folder)  # what export() writes last
    second = tmp_path / "checkout-b" / ".venv" / "model"
    shutil.copytree(first, second)
    assert str(first) not in (folder / STAMP).read_text(encoding="utf-8")
    assert is_exported(name, first, cache, dist=dist) and is_exported(name, second, cache, dist=dist)
    (second / "README.md").write_text("not read by the export", encoding="utf-8")
    monkeypatch.setattr(onnx_export, "_sha256", lambda path: pytest.fail(f"hashed {path} again"))
    assert is_exported(name, second, cache, dist=dist)  # warm: digests cached by (path, size, mtime_ns)
    monkeypatch.undo()
    (second / "model.safetensors").write_bytes(os.urandom(4096))  # same size, other weights
    assert not is_exported(name, second, cache, dist=dist)
    assert is_exported(name, first, cache, dist=dist)
