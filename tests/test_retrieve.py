"""Retrieval: BM25 and fusion logic (unit), and real search over the seeds (integration)."""

from __future__ import annotations

import pytest

from assistant import Assistant
from assistant.errors import InputError
from assistant.index.lexical import BM25, tokenize
from assistant.index.retrieve import fuse
from assistant.types import Chunk


def _chunk(cid: str) -> Chunk:
    return Chunk(cid, "d", "T", "/t.txt", 0, 0, 1, cid)


def test_bm25_prefers_rare_matching_terms() -> None:
    index = BM25(["the office is open", "remote work and productivity", "office office office chairs"])
    top = index.top("remote productivity", 3)
    assert top[0][0] == 1 and len(top) == 1
    assert index.top("office", 3)[0][0] == 2
    assert index.top("nonexistent words", 3) == []


def test_tokenize_drops_stopwords_and_possessives() -> None:
    assert tokenize("The company's remote-work policy") == ["company", "remote", "work", "policy"]


def test_fusion_rewards_agreement_and_keeps_both_scores() -> None:
    a, b, c = _chunk("a"), _chunk("b"), _chunk("c")
    fused = fuse([(a, 0.9), (b, 0.8)], [(c, 9.0), (b, 7.0)], 3)
    assert [p.chunk.chunk_id for p in fused] == ["b", "a", "c"]
    assert (fused[0].dense_score, fused[0].lexical_score) == (0.8, 7.0)
    assert fused[1].lexical_score is None and [p.rank for p in fused] == [1, 2, 3]


@pytest.mark.integration
@pytest.mark.parametrize("variant", ["dense", "lexical", "hybrid"])
def test_search_finds_productivity_passages_in_seeds(seeded_assistant: Assistant, variant: str) -> None:
    passages = seeded_assistant.search("Does working from home hurt productivity?", 5, variant=variant)
    assert len(passages) == 5
    titles = {p.chunk.title for p in passages}
    assert titles & {"Homeward Bound", "Can Remote Work Solve the AI Productivity Paradox?"}
    for p in passages:
        doc = seeded_assistant.document(p.chunk.doc_id)
        assert doc.text[p.chunk.start:p.chunk.end] == p.chunk.text
    assert [p.rank for p in passages] == [1, 2, 3, 4, 5]
    assert all(a.score >= b.score for a, b in zip(passages, passages[1:], strict=False))


@pytest.mark.integration
def test_search_ranks_the_offshoring_essay_first_for_offshoring(seeded_assistant: Assistant) -> None:
    top = seeded_assistant.search("Will AI and remote work send jobs to cheaper countries?", 3)
    assert top[0].chunk.title == "AI + remote work = more offshoring"


@pytest.mark.integration
def test_lexical_index_follows_store_changes(seeded_assistant: Assistant, tmp_path) -> None:
    assert not any("zyzzyva" in p.chunk.text for p in seeded_assistant.search("zyzzyva", 3, variant="lexical"))
    note = tmp_path / "note.txt"
    note.write_text("The zyzzyva weevil has nothing to do with remote work.\n")
    seeded_assistant.ingest([note], show_progress=False)
    assert "zyzzyva" in seeded_assistant.search("zyzzyva", 3, variant="lexical")[0].chunk.text


@pytest.mark.parametrize("query", ["", "   ", "\n\t"])
def test_empty_query_is_refused(fake_assistant: Assistant, query: str) -> None:
    with pytest.raises(InputError, match="empty query"):
        fake_assistant.search(query)
