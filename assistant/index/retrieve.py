"""Query -> ranked passages: dense (Chroma), lexical (FTS5 BM25), or both fused.

Fusion is reciprocal-rank fusion (RRF, k=60) over each retriever's top
``depth`` hits: robust to the two scores' different scales and needs no
tuning. Which variant is the default is decided by the seeds gold set
(see docs/retrieval.md). Not handled: cross-encoder re-ranking (no packaged
model), query expansion.
"""

from __future__ import annotations

from collections.abc import Collection

from ..errors import InputError
from ..types import Chunk, Passage
from .embed import Embedder
from .store import Store

RRF_K = 60
VARIANTS = ("dense", "lexical", "hybrid")


class Retriever:
    """Ranks stored chunks for a query with the chosen variant."""

    def __init__(self, store: Store, embedder: Embedder, *, variant: str = "hybrid", depth: int = 30) -> None:
        if variant not in VARIANTS:
            raise InputError(f"unknown retrieval variant {variant!r}: use one of {', '.join(VARIANTS)}")
        self.store, self.embedder, self.variant, self.depth = store, embedder, variant, depth

    def search(self, query: str, k: int, *, variant: str | None = None,
               doc_ids: Collection[str] | None = None) -> list[Passage]:
        """The ``k`` best passages for ``query``, best first; ``doc_ids`` restricts the documents searched."""
        query = " ".join(query.split())
        if not query:
            raise InputError("empty query: type a question or some words to search for")
        variant = variant or self.variant
        if variant not in VARIANTS:
            raise InputError(f"unknown retrieval variant {variant!r}: use one of {', '.join(VARIANTS)}")
        if doc_ids is not None and not doc_ids:
            raise InputError("empty scope: choose at least one document to search")
        dense = self.dense(query, max(k, self.depth), doc_ids=doc_ids) if variant != "lexical" else []
        lexical = self.lexical(query, max(k, self.depth), doc_ids=doc_ids) if variant != "dense" else []
        if variant == "dense":
            return [Passage(c, s, r, dense_score=s) for r, (c, s) in enumerate(dense[:k], 1)]
        if variant == "lexical":
            return [Passage(c, s, r, lexical_score=s) for r, (c, s) in enumerate(lexical[:k], 1)]
        return fuse(dense, lexical, k)

    def dense(self, query: str, k: int, *, doc_ids: Collection[str] | None = None) -> list[tuple[Chunk, float]]:
        return self.store.query(self.embedder.embed_query(query), k, doc_ids=doc_ids)

    def lexical(self, query: str, k: int, *, doc_ids: Collection[str] | None = None) -> list[tuple[Chunk, float]]:
        """BM25 hits from the store's persistent index; ``doc_ids`` limits them to those documents."""
        return self.store.lexical.search(query, k, doc_ids=doc_ids)


def fuse(dense: list[tuple[Chunk, float]], lexical: list[tuple[Chunk, float]], k: int) -> list[Passage]:
    """Reciprocal-rank fusion of two ranked lists.

    >>> a, b = _demo_chunk("a"), _demo_chunk("b")
    >>> [p.chunk.chunk_id for p in fuse([(a, .9), (b, .8)], [(b, 7.0)], 2)]
    ['b', 'a']
    """
    scores: dict[str, float] = {}
    chunks: dict[str, Chunk] = {}
    dense_s = {c.chunk_id: s for c, s in dense}
    lex_s = {c.chunk_id: s for c, s in lexical}
    for ranked in (dense, lexical):
        for rank, (chunk, _) in enumerate(ranked, 1):
            chunks[chunk.chunk_id] = chunk
            scores[chunk.chunk_id] = scores.get(chunk.chunk_id, 0.0) + 1.0 / (RRF_K + rank)
    order = sorted(scores, key=lambda cid: (-scores[cid], cid))[:k]
    return [
        Passage(chunks[cid], scores[cid], rank, dense_score=dense_s.get(cid), lexical_score=lex_s.get(cid))
        for rank, cid in enumerate(order, 1)
    ]


def _demo_chunk(cid: str) -> Chunk:
    return Chunk(cid, "d", "T", "/t.txt", 0, 0, 1, "x")
