"""The request and its passages: validate the text, retrieve with each mode's queries.

Shared by the staged modes (``modes.py``) and the one-call path
(``oneshot.py``). A mode retrieves with several queries fused by reciprocal
rank ("for", "against", ...) so evidence for both sides reaches the model.
Not handled: query expansion by the model.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace

from .errors import InputError
from .retrieve import RRF_K, Retriever
from .types import Passage

MODES = ("ask", "brief", "steelman", "rebut")
MAX_REQUEST_CHARS = 600
QUERIES = {
    "ask": ("{r}",),
    "brief": ("{r}", "arguments and evidence for: {r}",
              "arguments and evidence against: {r}; problems, risks, criticism"),
    "steelman": ("{r}", "reasons and evidence supporting: {r}", "objections to: {r}"),
    "rebut": ("{r}", "evidence against: {r}; counter-arguments", "evidence supporting: {r}"),
}


@dataclass
class Request:
    mode: str
    text: str
    notices: list[str]


def clean_request(mode: str, text: str) -> Request:
    """Validate the mode and the text; trim over-long text with a notice."""
    if mode not in MODES:
        raise InputError(f"unknown mode {mode!r}: use one of {', '.join(MODES)}")
    text = " ".join((text or "").split())
    if not text:
        raise InputError(f"empty {mode} request: type a question, motion, position or claim")
    notices = []
    if len(text) > MAX_REQUEST_CHARS:
        text = text[:MAX_REQUEST_CHARS].rsplit(" ", 1)[0]
        notices.append(f"The request was trimmed to its first {len(text)} characters.")
    return Request(mode, text, notices)


def gather(mode: str, text: str, retriever: Retriever, k: int, *,
           doc_ids: Collection[str] | None = None) -> list[Passage]:
    """Passages for a mode: several queries fused by reciprocal rank, best ``k`` kept."""
    scores: dict[str, float] = {}
    best: dict[str, Passage] = {}
    for template in QUERIES[mode]:
        hits = retriever.search(template.format(r=text), k, **({"doc_ids": doc_ids} if doc_ids else {}))
        for p in hits:
            cid = p.chunk.chunk_id
            scores[cid] = scores.get(cid, 0.0) + 1.0 / (RRF_K + p.rank)
            if cid not in best or (p.dense_score or 0) > (best[cid].dense_score or 0):
                best[cid] = p
    order = sorted(scores, key=lambda c: (-scores[c], c))[:k]
    return [replace(best[c], score=scores[c], rank=i) for i, c in enumerate(order, 1)]


def top_dense(passages: Sequence[Passage]) -> float:
    """Best dense cosine among ``passages`` (1.0 when retrieval was lexical-only: let the model decide)."""
    scores = [p.dense_score for p in passages if p.dense_score is not None]
    return max(scores) if scores else 1.0
