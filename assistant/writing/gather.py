"""The request and its passages: validate the text, retrieve with each mode's queries.

Used by the modes (``modes.py``) and the evaluations. A mode retrieves
with several queries fused by reciprocal rank ("for", "against", ...) so evidence for both sides reaches the model.
Given the other side's statement (``counter.py``), a two-sided mode instead
takes passages in turn from the request's ranking and the counter's: fused
ranks favour passages both queries find, which are the request's own side,
and on the seeds left every passage of the case against out of a brief.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import zip_longest

from ..errors import InputError
from ..index.retrieve import RRF_K, Retriever
from ..types import Passage
from .specs import SPECS
from .stance import padded

MAX_REQUEST_CHARS = 600


@dataclass
class Request:
    mode: str
    text: str
    notices: list[str]


def clean_request(mode: str, text: str) -> Request:
    """Validate the mode and the text; trim over-long text with a notice."""
    if mode not in SPECS:
        raise InputError(f"unknown mode {mode!r}: use one of {', '.join(SPECS)}")
    text = " ".join((text or "").split())
    if not text:
        raise InputError(f"empty {mode} request: type a question, motion, position or claim")
    notices = []
    if len(text) > MAX_REQUEST_CHARS:
        text = text[:MAX_REQUEST_CHARS].rsplit(" ", 1)[0]
        notices.append(f"The request was trimmed to its first {len(text)} characters.")
    return Request(mode, text, notices)


def gather(mode: str, text: str, retriever: Retriever, k: int, *,
           doc_ids: Collection[str] | None = None, counter: str | None = None) -> list[Passage]:
    """Passages for a mode: several queries fused by reciprocal rank, best ``k`` kept.

    With ``counter`` (the other side's statement) the request's and the counter's rankings
    take turns, so at least half of the ``k`` come from each side's own search.
    """
    if counter:
        scope = doc_ids or None
        return alternate([retriever.search(text, k, doc_ids=scope), retriever.search(counter, k, doc_ids=scope)], k)
    scores: dict[str, float] = {}
    best: dict[str, Passage] = {}
    for template in SPECS[mode].queries:
        hits = retriever.search(template.format(r=text), k, doc_ids=doc_ids or None)
        for p in hits:
            cid = p.chunk.chunk_id
            scores[cid] = scores.get(cid, 0.0) + 1.0 / (RRF_K + p.rank)
            if cid not in best or (p.dense_score or 0) > (best[cid].dense_score or 0):
                best[cid] = p
    order = sorted(scores, key=lambda c: (-scores[c], c))[:k]
    return [replace(best[c], score=scores[c], rank=i) for i, c in enumerate(order, 1)]


PIN_MAX = 6  # passages brought in for sentences a user set FOR or AGAINST the request, at most


def pin(found: Sequence[Passage], sides: Mapping[str, str], retriever: Retriever, k: int, *,
        doc_ids: Collection[str] | None = None) -> list[Passage]:
    """``found`` with the passages that hold the sentences a user set FOR or AGAINST the request, in ``k`` in all.

    A user who set a sentence's side said it is evidence for this request, so a later answer reads it
    even when retrieval ranks it low: each such sentence (``sides``: ``stance.key`` -> side) not in
    ``found`` is searched for (within ``doc_ids``) and its passage put first, taking the place of the
    lowest-ranked ones; at most ``PIN_MAX``, and never more than half of ``k``.
    """
    wanted = [part for part, side in sides.items() if side in ("support", "oppose")]
    if not wanted:
        return list(found)
    have = [padded(p.chunk.text) for p in found]
    pinned: list[Passage] = []
    for part in wanted:
        if len(pinned) >= min(PIN_MAX, k // 2):
            break
        if any(f" {part} " in text for text in have):
            continue
        hit = next((p for p in retriever.search(part, 3, doc_ids=doc_ids or None)
                    if f" {part} " in padded(p.chunk.text)), None)
        if hit is not None and all(hit.chunk.chunk_id != q.chunk.chunk_id for q in pinned):
            pinned.append(hit)
            have.append(padded(hit.chunk.text))
    if not pinned:
        return list(found)
    ids = {p.chunk.chunk_id for p in pinned}
    rest = [p for p in found if p.chunk.chunk_id not in ids][:max(k - len(pinned), 0)]
    return [replace(p, rank=i) for i, p in enumerate([*pinned, *rest], 1)]


def alternate(rankings: Sequence[Sequence[Passage]], k: int) -> list[Passage]:
    """Up to ``k`` distinct passages taken from each ranking in turn, renumbered."""
    seen: set[str] = set()
    out: list[Passage] = []
    for row in zip_longest(*rankings):
        for p in row:
            if p is not None and p.chunk.chunk_id not in seen and len(out) < k:
                seen.add(p.chunk.chunk_id)
                out.append(replace(p, rank=len(out) + 1))
    return out


def top_dense(passages: Sequence[Passage]) -> float:
    """Best dense cosine among ``passages`` (1.0 when retrieval was lexical-only: let the model decide)."""
    scores = [p.dense_score for p in passages if p.dense_score is not None]
    return max(scores) if scores else 1.0
