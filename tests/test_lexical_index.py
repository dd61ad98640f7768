"""The persistent lexical index (FTS5 in documents.sqlite): updates, removal, restarts, upgrade.

Real Chroma and SQLite in tmp_path with the deterministic fake embedder.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from assistant import Assistant, Settings
from assistant.index.lexical import match_expression
from assistant.index.store import Store
from tests.conftest import REPO, SEEDS, write
from tests.fakes import FakeEmbedder


def _hits(a: Assistant, query: str, k: int = 5) -> list[str]:
    return [c.chunk_id for c, _ in a.store().lexical.search(query, k)]


def test_ingest_and_remove_update_the_index_incrementally(fake_assistant: Assistant, tmp_path: Path) -> None:
    fake_assistant.ingest([SEEDS], show_progress=False)
    store = fake_assistant.store()
    assert store.lexical.count() == store.chunk_count()
    assert store.lexical.chunk_ids() == {c.chunk_id for c in store.chunks()}
    assert not _hits(fake_assistant, "zyzzyva")
    note = write(tmp_path / "note.txt", "The zyzzyva weevil has nothing to do with remote work.\n")
    fake_assistant.ingest([note], show_progress=False)
    hits = fake_assistant.search("zyzzyva weevils", 3, variant="lexical")
    assert hits[0].chunk.text.startswith("The zyzzyva weevil") and hits[0].lexical_score > 0
    assert fake_assistant.document(hits[0].chunk.doc_id).text[hits[0].chunk.start:hits[0].chunk.end] == \
        hits[0].chunk.text
    fake_assistant.remove("note.txt")
    assert not _hits(fake_assistant, "zyzzyva")
    assert store.lexical.count() == store.chunk_count()


def test_a_changed_file_leaves_no_stale_terms(fake_assistant: Assistant, tmp_path: Path) -> None:
    path = write(tmp_path / "essay.txt", "Quokkas thrive on Rottnest Island.\n")
    fake_assistant.ingest([path], show_progress=False)
    write(path, "Numbats eat termites.\n")
    fake_assistant.ingest([path], show_progress=False)
    assert not _hits(fake_assistant, "quokkas") and len(_hits(fake_assistant, "numbats termites")) == 1
    assert fake_assistant.store().lexical.count() == 1


def test_a_new_process_finds_the_same_hits(fake_assistant: Assistant) -> None:
    fake_assistant.ingest([SEEDS], show_progress=False)
    query = "remote work productivity offshoring"
    here = _hits(fake_assistant, query)
    fake_assistant.close()
    code = ("import json, sys; from assistant.index.store import Store; "
            "s = Store.open(sys.argv[1], embedder=sys.argv[2]); "
            "print(json.dumps([c.chunk_id for c, _ in s.lexical.search(sys.argv[3], 5)]))")
    out = subprocess.run([sys.executable, "-c", code, str(fake_assistant.settings.index_dir),
                          FakeEmbedder().identity, query], capture_output=True, text=True, cwd=REPO,
                         check=True, timeout=300)
    assert json.loads(out.stdout) == here and len(here) == 5
    assert "upgrading" not in out.stderr


def test_scope_limits_hits_to_the_given_documents(fake_assistant: Assistant) -> None:
    fake_assistant.ingest([SEEDS], show_progress=False)
    docs = fake_assistant.documents()
    one = {docs[0].doc_id}
    hits = fake_assistant.retriever.lexical("remote work office", 10, doc_ids=one)
    assert hits and {c.doc_id for c, _ in hits} == one
    assert fake_assistant.retriever.lexical("remote work", 10, doc_ids=set()) == []


@pytest.mark.parametrize("query", ['"', 'NEAR(remote work', "remote* AND -office", "col:umn ^start",
                                   "'); DROP TABLE documents; --", "the of and", "OR OR NOT", "émigré naïve"])
def test_user_text_is_never_fts5_syntax(fake_assistant: Assistant, query: str) -> None:
    fake_assistant.ingest([SEEDS], show_progress=False)
    fake_assistant.search(query + " remote", 3, variant="lexical")  # must not raise
    assert isinstance(fake_assistant.store().lexical.search(query, 3), list)


def test_match_expression_quotes_terms() -> None:
    assert match_expression('say "hi" now') == '"say" OR "hi" OR "now"'
    assert match_expression("the and of") == ""


def _make_old(index: Path) -> None:
    """Turn an index into one made before the lexical index existed."""
    with sqlite3.connect(index / "documents.sqlite") as db:
        db.execute("DROP TABLE lex_fts")
        db.execute("DROP TABLE lex_chunks")
        db.execute("DELETE FROM meta WHERE key = 'lexical'")


def test_an_old_index_is_upgraded_once_on_open(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    index = tmp_path / "old"
    a = Assistant(Settings.load(index_dir=index), embedder=FakeEmbedder())
    a.ingest([SEEDS], show_progress=False)
    before = _hits(a, "remote work productivity")
    a.close()
    _make_old(index)
    capsys.readouterr()
    store = Store.open(index, embedder=FakeEmbedder().identity)
    assert "upgrading the index" in capsys.readouterr().err
    assert [c.chunk_id for c, _ in store.lexical.search("remote work productivity", 5)] == before
    store.close()
    Store.open(index, embedder=FakeEmbedder().identity).close()
    assert capsys.readouterr().err == ""


def test_rebuild_repairs_a_damaged_index(fake_assistant: Assistant) -> None:
    fake_assistant.ingest([SEEDS], show_progress=False)
    store = fake_assistant.store()
    before = _hits(fake_assistant, "hybrid work output")
    with sqlite3.connect(store.path / "documents.sqlite") as db:
        db.execute("DELETE FROM lex_chunks WHERE doc_id = ?", (store.documents()[0].doc_id,))
    assert store.lexical.count() < store.chunk_count()
    assert store.rebuild_lexical() == store.chunk_count()
    assert store.lexical.count() == store.chunk_count()
    assert _hits(fake_assistant, "hybrid work output") == before
