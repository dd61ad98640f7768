"""The index: content-hash ids, replace-on-change, remove, and clear errors.

Real Chroma in tmp_path with the deterministic fake embedder.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant import Assistant, Settings
from assistant.errors import InputError, StoreError
from tests.conftest import SEEDS, write
from tests.fakes import FakeEmbedder


def _chunk_ids(a: Assistant) -> list[str]:
    return sorted(c.chunk_id for c in a.store().chunks())


def _no_stray_vectors(a: Assistant) -> bool:
    """Chroma holds exactly the vectors the document rows promise (``chunks()`` alone hides strays)."""
    store = a.store()
    return store.vector_ids() == set(store.expected_ids())


def test_ingest_seeds_lists_documents_with_chunk_counts(fake_assistant: Assistant) -> None:
    report = fake_assistant.ingest([SEEDS], show_progress=False)
    assert len(report.added) == 4 and not report.unchanged
    docs = fake_assistant.documents()
    assert {d.title for d in docs} >= {"Homeward Bound", "AI + remote work = more offshoring"}
    assert sum(d.chunks for d in docs) == report.chunks_written == len(_chunk_ids(fake_assistant))


def test_reingesting_unchanged_files_is_a_no_op(fake_assistant: Assistant) -> None:
    fake_assistant.ingest([SEEDS], show_progress=False)
    before = _chunk_ids(fake_assistant)
    embedder = fake_assistant.embedder
    assert isinstance(embedder, FakeEmbedder)
    calls = embedder.calls
    report = fake_assistant.ingest([SEEDS], show_progress=False)
    assert len(report.unchanged) == 4 and not report.added and report.chunks_written == 0
    assert embedder.calls == calls
    assert _chunk_ids(fake_assistant) == before


def test_changed_file_replaces_its_chunks(fake_assistant: Assistant, tmp_path: Path) -> None:
    path = write(tmp_path / "essay.md", "First version. " * 200)
    fake_assistant.ingest([path], show_progress=False)
    old = fake_assistant.documents()[0]
    write(path, "Second version, much shorter.\n")
    report = fake_assistant.ingest([path], show_progress=False)
    assert [d.doc_id for d in report.replaced] != [old.doc_id] and len(report.replaced) == 1
    docs = fake_assistant.documents()
    assert len(docs) == 1 and docs[0].chunks == 1
    ids = _chunk_ids(fake_assistant)
    assert len(ids) == 1 and not any(i.startswith(old.doc_id) for i in ids)
    assert _no_stray_vectors(fake_assistant)
    assert "Second version" in fake_assistant.search("second version", 3)[0].chunk.text


def test_rechunking_with_new_settings_leaves_no_stale_chunks(tmp_path: Path) -> None:
    path = SEEDS / "homeward-bound.md"
    small = Assistant(Settings.load(index_dir=tmp_path / "ix", chunk_size=300, chunk_overlap=0),
                      embedder=FakeEmbedder())
    small.ingest([path], show_progress=False)
    many = len(_chunk_ids(small))
    small.close()
    big = Assistant(Settings.load(index_dir=tmp_path / "ix", chunk_size=1500, chunk_overlap=0),
                    embedder=FakeEmbedder())
    report = big.ingest([path], show_progress=False)
    assert report.chunks_written < many
    assert len(_chunk_ids(big)) == big.documents()[0].chunks == report.chunks_written
    assert _no_stray_vectors(big)


def test_remove_by_id_prefix_name_or_title(fake_assistant: Assistant) -> None:
    fake_assistant.ingest([SEEDS], show_progress=False)
    docs = {d.title: d for d in fake_assistant.documents()}
    hb = docs["Homeward Bound"]
    assert fake_assistant.remove(hb.doc_id[:6]).doc_id == hb.doc_id
    assert fake_assistant.remove("ai-remote-work-offshoring.md").title == "AI + remote work = more offshoring"
    assert fake_assistant.remove("can remote work solve the ai productivity paradox?").chunks > 0
    left = fake_assistant.documents()
    assert len(left) == 1
    assert {c.doc_id for c in fake_assistant.store().chunks()} == {left[0].doc_id}
    assert _no_stray_vectors(fake_assistant)
    assert fake_assistant.search("office", 50)  # the rest still searchable
    with pytest.raises(InputError, match="no document matches"):
        fake_assistant.remove("Homeward Bound")


def test_bad_file_in_a_batch_writes_nothing(fake_assistant: Assistant, tmp_path: Path) -> None:
    fake_assistant.ingest([SEEDS / "homeward-bound.md"], show_progress=False)
    before = (fake_assistant.documents(), _chunk_ids(fake_assistant))
    good = write(tmp_path / "new" / "good.txt", "A perfectly good essay.\n")
    write(tmp_path / "new" / "empty.txt", "")
    with pytest.raises(InputError, match="no text"):
        fake_assistant.ingest([good.parent], show_progress=False)
    assert (fake_assistant.documents(), _chunk_ids(fake_assistant)) == before


def test_missing_index_is_a_clear_error(tmp_path: Path) -> None:
    a = Assistant(Settings.load(index_dir=tmp_path / "nowhere"), embedder=FakeEmbedder())
    with pytest.raises(StoreError, match="no index at"):
        a.search("anything")
    assert not (tmp_path / "nowhere").exists()


def test_corrupted_index_is_a_clear_error(tmp_path: Path) -> None:
    index = tmp_path / "ix"
    index.mkdir()
    (index / "documents.sqlite").write_bytes(b"this is not a database" * 100)
    a = Assistant(Settings.load(index_dir=index), embedder=FakeEmbedder())
    with pytest.raises(StoreError, match="corrupted"):
        a.documents()


def test_other_embedder_is_refused(fake_assistant: Assistant, tmp_path: Path) -> None:
    fake_assistant.ingest([SEEDS / "homeward-bound.md"], show_progress=False)
    fake_assistant.close()
    other = Assistant(Settings.load(index_dir=tmp_path / "index"), embedder=FakeEmbedder(dim=32, name="other"))
    with pytest.raises(StoreError, match="built with embedder fake/fake-hash/64"):
        other.search("productivity")


def test_orphan_vectors_are_ignored_and_swept(fake_assistant: Assistant) -> None:
    fake_assistant.ingest([SEEDS / "homeward-bound.md"], show_progress=False)
    store = fake_assistant.store()
    doc_id = fake_assistant.documents()[0].doc_id
    with store._db:  # simulate a crash after vectors were written but before the row
        store._db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))
    assert fake_assistant.search("working from home", 5, variant="dense") == []
    assert store.sweep() > 0
    assert store._col.count() == 0


def test_reading_every_chunk_works_in_pages(fake_assistant: Assistant, monkeypatch: pytest.MonkeyPatch) -> None:
    """One read of the whole collection fails past ~32k chunks, so it is read in pages; tiny pages here."""
    from assistant.index import store as store_module

    fake_assistant.ingest([SEEDS], show_progress=False)
    whole = [(c.chunk_id, c.text) for c in fake_assistant.store().chunks()]
    ids = fake_assistant.store().vector_ids()
    monkeypatch.setattr(store_module, "GET_PAGE", 7)  # 59 chunks: 9 pages, the last one short
    assert [(c.chunk_id, c.text) for c in fake_assistant.store().chunks()] == whole
    assert fake_assistant.store().vector_ids() == ids and len(ids) == len(whole) > 7
    monkeypatch.setattr(store_module, "GET_PAGE", len(whole))  # exactly full pages, then an empty one
    assert len(fake_assistant.store().chunks()) == len(whole)
