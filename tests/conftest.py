"""Shared fixtures: every test gets its own index folder under tmp_path."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant import Assistant, Settings
from tests.fakes import FakeEmbedder

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"


@pytest.fixture(autouse=True)
def _isolated_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test writes into the repo tree: the index always lives under tmp_path."""
    monkeypatch.setenv("ASSISTANT_INDEX", str(tmp_path / "index"))


@pytest.fixture(scope="session")
def real_embedder():
    """The packaged all-MiniLM-L6-v2, loaded once per test session."""
    from assistant.index.embed import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()


@pytest.fixture
def fake_assistant(tmp_path: Path) -> Assistant:
    return Assistant(Settings.load(index_dir=tmp_path / "index"), embedder=FakeEmbedder())


@pytest.fixture
def real_assistant(tmp_path: Path, real_embedder) -> Assistant:
    return Assistant(Settings.load(index_dir=tmp_path / "index"), embedder=real_embedder)


@pytest.fixture(scope="session")
def seeded_index(tmp_path_factory: pytest.TempPathFactory, real_embedder) -> Path:
    """An index of the shipped seeds built with the real embedder, once per session."""
    index = tmp_path_factory.mktemp("seeded") / "index"
    a = Assistant(Settings.load(index_dir=index), embedder=real_embedder)
    a.ingest([SEEDS], show_progress=False)
    a.close()
    return index


@pytest.fixture
def seeded_assistant(seeded_index: Path, tmp_path: Path, real_embedder) -> Assistant:
    """A private copy of the seeded index, so tests may change it."""
    index = tmp_path / "seeded-index"
    shutil.copytree(seeded_index, index)
    return Assistant(Settings.load(index_dir=index), embedder=real_embedder)


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path
