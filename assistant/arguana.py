"""Evaluation on real debates in the ArguAna format (see shared/benchmarks/README.md).

Two measures, both on a private temporary index of the file's points and
counters:

- counter-argument retrieval: for each point, its own counter is the one
  relevant document; the point itself is excluded from its ranking. Reported
  as nDCG@10, recall@10 and MRR@10 for plain dense retrieval and for the
  rebuttal path (the multi-query retrieval that `rebut` uses), same embedder;
- stance balance: briefs on a few debates' theses; evidence cited FOR should
  come from pro points or con counters, AGAINST from con points or pro
  counters.

Not handled: the BEIR corpus variant (we index this file's points only).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .api import Assistant
from .errors import InputError
from .modes import clean_request, gather
from .types import Document, Passage

FIELDS = ("debate", "thesis", "side", "point_id", "point", "counter")
DEPTH = 10


@dataclass(frozen=True)
class DebatePoint:
    debate: str
    thesis: str
    side: str  # pro | con
    point_id: str
    point: str
    counter: str


@dataclass(frozen=True)
class CounterScores:
    variant: str
    queries: int
    ndcg_at_10: float
    recall_at_10: float
    mrr_at_10: float


@dataclass(frozen=True)
class StanceScores:
    debates: int
    cited: int  # verified quotes in FOR/AGAINST arguments
    on_debate: int  # ... that come from the debate's own points or counters
    correct: int  # ... on the side the quote's origin predicts

    @property
    def accuracy(self) -> float:
        return self.correct / self.on_debate if self.on_debate else 0.0


def load_points(path: Path, limit: int | None = None) -> list[DebatePoint]:
    """Points from a JSONL file in the ArguAna format; ``limit`` keeps the first N."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path} is a folder: give a JSONL file in the ArguAna format")
    if not path.is_file():
        raise InputError(f"no such file: {path}")
    points = []
    try:
        with path.open(encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    points.append(DebatePoint(*(str(row[k]) for k in FIELDS)))
                except (json.JSONDecodeError, KeyError, TypeError) as exc:
                    raise InputError(f"{path}:{n}: not an ArguAna point ({exc.__class__.__name__}: {exc})") from None
                if limit and len(points) >= limit:
                    break
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text: give a JSONL file in the ArguAna format") from None
    if not points:
        raise InputError(f"{path} holds no points")
    return points


def _doc(text: str, source: str) -> Document:
    text = text.strip() + "\n"
    title = text.split("\n", 1)[0][:120]
    return Document(hashlib.sha256(text.encode()).hexdigest()[:16], source, title, text)


def build_corpus(points: Sequence[DebatePoint]) -> tuple[list[Document], dict[str, tuple[str, str]]]:
    """Documents for points and counters, and doc_id -> (point_id, "point" | "counter")."""
    docs: list[Document] = []
    origin: dict[str, tuple[str, str]] = {}
    for p in points:
        for kind, text in (("point", p.point), ("counter", p.counter)):
            if text.strip():
                doc = _doc(text, f"arguana:{p.point_id}#{kind}")
                docs.append(doc)
                origin.setdefault(doc.doc_id, (p.point_id, kind))
    return docs, origin


def doc_ranking(passages: Sequence[Passage], exclude: str) -> list[str]:
    """Unique document ids in passage order, without ``exclude``."""
    seen: list[str] = []
    for p in passages:
        if p.chunk.doc_id != exclude and p.chunk.doc_id not in seen:
            seen.append(p.chunk.doc_id)
    return seen[:DEPTH]


def evaluate_counters(a: Assistant, points: Sequence[DebatePoint]) -> list[CounterScores]:
    """Dense vs the rebuttal path at finding each point's own counter."""
    rankers = {
        "dense": lambda q: [Passage(c, s, r) for r, (c, s) in enumerate(a.retriever.dense(q, 4 * DEPTH), 1)],
        "rebuttal": lambda q: gather("rebut", clean_request("rebut", q).text, a.retriever, 4 * DEPTH),
    }
    totals = {v: [0.0, 0.0, 0.0] for v in rankers}
    queries = [(_doc(p.point, "").doc_id, _doc(p.counter, "").doc_id, p.point) for p in points if p.counter.strip()]
    for own, target, query in queries:
        for variant, rank in rankers.items():
            ranking = doc_ranking(rank(query), exclude=own)
            if target in ranking:
                r = ranking.index(target) + 1
                totals[variant][0] += 1 / math.log2(r + 1)
                totals[variant][1] += 1
                totals[variant][2] += 1 / r
    n = len(queries) or 1
    return [CounterScores(v, len(queries), t[0] / n, t[1] / n, t[2] / n) for v, t in totals.items()]


def evaluate_stance(a: Assistant, points: Sequence[DebatePoint], origin: dict[str, tuple[str, str]],
                    debates: int) -> StanceScores:
    """Briefs on the first ``debates`` theses that have both pro and con points."""
    by_id = {p.point_id: p for p in points}
    sides: dict[str, set[str]] = {}
    for p in points:
        sides.setdefault(p.debate, set()).add(p.side)
    chosen = [d for d, s in sides.items() if s >= {"pro", "con"}]  # file order (dicts keep it)
    cited = on_debate = correct = 0
    for debate in chosen[:debates]:
        thesis = next(p.thesis for p in points if p.debate == debate)
        brief = a.brief(thesis)
        for point in brief.points:
            for q in point.verified_quotes:
                cited += 1
                pid, kind = origin.get(q.doc_id, ("", ""))
                src = by_id.get(pid)
                if src is None or src.debate != debate:
                    continue
                on_debate += 1
                supports = (src.side == "pro") == (kind == "point")
                correct += supports == (point.section == "for")
    return StanceScores(min(debates, len(chosen)), cited, on_debate, correct)


def run_eval(a: Assistant, path: Path, *, limit: int | None = None, stance: int = 3) -> dict[str, Any]:
    """``assistant eval arguana``: index the file's points into ``a``'s (temporary) index, then score."""
    from dataclasses import asdict

    from .ingest import ingest_documents

    points = load_points(path, limit)
    docs, origin = build_corpus(points)
    s = a.settings
    ingest_documents(docs, store=a.store(create=True), embedder=a.embedder, chunk_size=s.chunk_size,
                     chunk_overlap=s.chunk_overlap, batch_size=s.embed_batch)
    counters = evaluate_counters(a, points)
    lines = [f"{len(points)} points, {len(docs)} documents from {path}", "",
             "| retrieval | queries | nDCG@10 | recall@10 | MRR@10 |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {c.variant} | {c.queries} | {c.ndcg_at_10:.3f} | {c.recall_at_10:.3f} | {c.mrr_at_10:.3f} |"
              for c in counters]
    out: dict[str, Any] = {"points": len(points), "documents": len(docs),
                           "counter_retrieval": [asdict(c) for c in counters]}
    if stance:
        st = evaluate_stance(a, points, origin, stance)
        out["stance"] = {**asdict(st), "accuracy": round(st.accuracy, 3), "model": a.generator.name}
        lines += ["", f"Stance balance ({a.generator.name}, {st.debates} debates): {st.correct}/{st.on_debate} "
                      f"quotes from the debate's own points on the expected side = {st.accuracy:.3f} "
                      f"({st.cited} verified quotes in all)"]
    return {"json": out, "text": "\n".join(lines)}
