"""The overlapped ingest pipeline: interrupted runs resume, errors stop every stage.

A real ingest subprocess (real Chroma, real SQLite; the fake embedder, slowed
down so the kill lands mid-way) is killed with SIGKILL and run again.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from assistant import Assistant, Settings
from assistant.index.ingest import ingest
from tests.conftest import REPO, write
from tests.fakes import FakeEmbedder

DOCS = 40

# argv: index folder, docs folder. Slow fake embedder, one document per store write.
CHILD = """
import sys, time
from pathlib import Path
from assistant import Settings
from assistant.index.ingest import ingest
from assistant.index.store import Store
from tests.fakes import FakeEmbedder

class Slow(FakeEmbedder):
    def embed(self, texts):
        time.sleep(0.15)
        return super().embed(texts)

e = Slow()
s = Settings.load(index_dir=sys.argv[1])
store = Store.open(s.index_dir, embedder=e.identity, create=True)
r = ingest([Path(sys.argv[2])], store=store, embedder=e, chunk_size=s.chunk_size, chunk_overlap=s.chunk_overlap,
           max_bytes=10**7, batch_size=1, show_progress=False)
print(len(r.added), len(r.unchanged), r.chunks_written)
"""


def _corpus(folder: Path) -> None:
    for i in range(DOCS):
        write(folder / f"doc{i:02d}.txt", f"Document {i} about topic{i}. " + "Filler sentence here. " * 60)


def _stored_docs(index: Path) -> int:
    try:
        with sqlite3.connect(index / "documents.sqlite") as db:
            return int(db.execute("SELECT count(*) FROM documents").fetchone()[0])
    except sqlite3.Error:
        return 0


def _run_child(index: Path, docs: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", CHILD, str(index), str(docs)], cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(REPO)})


@pytest.mark.integration
def test_a_killed_ingest_resumes_and_stores_everything_once(tmp_path: Path) -> None:
    docs, index = tmp_path / "docs", tmp_path / "index"
    _corpus(docs)
    proc = _run_child(index, docs)
    deadline = time.monotonic() + 300
    while _stored_docs(index) < 5 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    done_before = _stored_docs(index)
    assert 5 <= done_before < DOCS, "the kill should land mid-way"

    again = _run_child(index, docs)
    out, err = again.communicate(timeout=600)
    assert again.returncode == 0, err
    added, unchanged, chunks = map(int, out.split())
    assert (added, unchanged) == (DOCS - done_before, done_before)

    a = Assistant(Settings.load(index_dir=index), embedder=FakeEmbedder())
    store = a.store()
    stored = store.chunks()
    assert len(a.documents()) == DOCS
    assert len(stored) == len({c.chunk_id for c in stored}) == store.chunk_count()
    assert store.lexical.count() == store.chunk_count()
    store.sweep()  # vectors of the unit in flight at the kill were overwritten, not duplicated
    assert store._col.count() == store.chunk_count()
    for i in (0, DOCS - 1):
        assert f"topic{i}." in a.search(f"topic{i}", 1, variant="lexical")[0].chunk.text
    a.close()


class Failing(FakeEmbedder):
    """Fails on the n-th call."""

    def __init__(self, fail_on: int) -> None:
        super().__init__()
        self.fail_on = fail_on

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if self.calls + 1 == self.fail_on:
            self.calls += 1
            raise RuntimeError("embedder broke")
        return super().embed(texts)


def test_an_embedder_error_stops_the_pipeline_and_keeps_finished_documents(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    _corpus(docs)
    a = Assistant(Settings.load(index_dir=tmp_path / "index"), embedder=Failing(fail_on=4))
    with pytest.raises(RuntimeError, match="embedder broke"):
        ingest([docs], store=a.store(create=True), embedder=a.embedder, chunk_size=800, chunk_overlap=120,
               max_bytes=10**7, batch_size=1, show_progress=False)
    assert len(a.documents()) == 3  # the three units embedded before the failure


def test_a_store_error_stops_the_pipeline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = tmp_path / "docs"
    _corpus(docs)
    a = Assistant(Settings.load(index_dir=tmp_path / "index"), embedder=FakeEmbedder())
    store = a.store(create=True)

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(store, "add", broken)
    started = time.monotonic()
    with pytest.raises(OSError, match="disk full"):
        ingest([docs], store=store, embedder=a.embedder, chunk_size=800, chunk_overlap=120,
               max_bytes=10**7, batch_size=1, show_progress=False)
    assert time.monotonic() - started < 30 and not a.documents()


def test_progress_bar_counts_documents_and_chunks(fake_assistant: Assistant, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    docs = tmp_path / "docs"
    _corpus(docs)
    report = fake_assistant.ingest([docs], show_progress=True)
    err = capsys.readouterr().err
    assert len(report.added) == DOCS and f"{DOCS}/{DOCS}" in err and f"{report.chunks_written} chunks" in err
