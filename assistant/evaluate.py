"""Retrieval quality on a gold set: recall@k, MRR@10 and nDCG@10 per variant.

A gold item lists verbatim quotes from named documents (file stem). A chunk
counts as relevant when its char span overlaps a quote's span in the same
document, so the gold set does not depend on how documents are chunked.
Uncovered items (no quotes) are skipped here; generation-side metrics are
not handled yet.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from .api import Assistant
from .errors import InputError
from .retrieve import VARIANTS

DEPTH = 10


@dataclass(frozen=True)
class GoldItem:
    item_id: str
    kind: str
    text: str
    spans: tuple[tuple[str, int, int], ...]  # (doc_id, start, end) of each gold quote


@dataclass(frozen=True)
class RetrievalScores:
    variant: str
    items: int
    recall_at_k: float
    mrr_at_10: float
    ndcg_at_10: float
    k: int


def load_gold(path: Path, assistant: Assistant) -> list[GoldItem]:
    """Covered gold items with each quote located in the indexed documents."""
    by_stem = {Path(d.source).stem: d.doc_id for d in assistant.documents()}
    items = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        spans = []
        for ref in row.get("relevant", []):
            doc_id = by_stem.get(ref["doc"])
            if doc_id is None:
                raise InputError(f"{path}:{n}: document {ref['doc']!r} is not in the index")
            start = assistant.document(doc_id).text.find(ref["quote"])
            if start < 0:
                raise InputError(f"{path}:{n}: quote not found in {ref['doc']}: {ref['quote'][:50]}")
            spans.append((doc_id, start, start + len(ref["quote"])))
        if spans:
            items.append(GoldItem(row["id"], row["kind"], row["text"], tuple(spans)))
    return items


def evaluate_retrieval(assistant: Assistant, gold: list[GoldItem], *, k: int = 5,
                       variants: tuple[str, ...] = VARIANTS) -> list[RetrievalScores]:
    """Mean recall@k (share of gold quotes hit), MRR@10 and binary nDCG@10 per variant."""
    chunks = assistant.store().chunks()
    ideal = {item.item_id: sum(_relevant(c.doc_id, c.start, c.end, item) for c in chunks) for item in gold}
    results = []
    for variant in variants:
        recall = mrr = ndcg = 0.0
        for item in gold:
            ranked = assistant.search(item.text, DEPTH, variant=variant)
            rel = [_relevant(p.chunk.doc_id, p.chunk.start, p.chunk.end, item) for p in ranked]
            hit_quotes = {s for p in ranked[:k] for s in item.spans
                          if p.chunk.doc_id == s[0] and p.chunk.start < s[2] and s[1] < p.chunk.end}
            recall += len(hit_quotes) / len(item.spans)
            mrr += next((1 / r for r, ok in enumerate(rel, 1) if ok), 0.0)
            dcg = sum(1 / math.log2(r + 1) for r, ok in enumerate(rel, 1) if ok)
            best = min(ideal[item.item_id], DEPTH)
            ndcg += dcg / sum(1 / math.log2(r + 1) for r in range(1, best + 1)) if best else 0.0
        n = len(gold) or 1
        results.append(RetrievalScores(variant, len(gold), recall / n, mrr / n, ndcg / n, k))
    return results


def _relevant(doc_id: str, start: int, end: int, item: GoldItem) -> bool:
    return any(doc_id == d and start < e and s < end for d, s, e in item.spans)


def scores_table(rows: list[RetrievalScores]) -> str:
    """A Markdown table of retrieval scores."""
    k = rows[0].k if rows else 5
    lines = [f"| variant | items | recall@{k} | MRR@10 | nDCG@10 |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {r.variant} | {r.items} | {r.recall_at_k:.3f} | {r.mrr_at_10:.3f} | {r.ndcg_at_10:.3f} |"
              for r in rows]
    return "\n".join(lines)
