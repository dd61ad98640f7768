"""Evaluation on real debates in the ArguAna format (see shared/benchmarks/README.md).

Two measures, both on a private temporary index of the file's points and
counters:

- counter-argument retrieval: for each point, its own counter is the one
  relevant document; the point itself is excluded from its ranking. Reported
  as nDCG@10, recall@10 and MRR@10 for plain dense retrieval and for the
  rebuttal path (the multi-query retrieval that `rebut` uses), same embedder;
- the stance step alone on many debates (``stance_eval.py``), and full
  briefs on a few debates' theses: evidence cited FOR should come from pro points or con counters, AGAINST
  from con points or pro counters; plus the quality gates' measures.

Not handled: the BEIR corpus variant (we index this file's points only).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..api import Assistant
from ..errors import InputError
from ..types import Document, Passage
from ..writing import gates
from ..writing.gather import clean_request, gather
from .report import Report

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


def evaluate_briefs(a: Assistant, points: Sequence[DebatePoint], origin: dict[str, tuple[str, str]],
                    debates: int, report: Report) -> dict[str, Any]:
    """Full briefs on the first ``debates`` theses that have both sides.

    Stance of cited evidence: FOR should come from pro points or con counters, AGAINST from con points or
    pro counters (only quotes from the debate's own texts count). Also the gates' measures.
    """
    by_id = {p.point_id: p for p in points}
    sides: dict[str, set[str]] = {}
    for p in points:
        sides.setdefault(p.debate, set()).add(p.side)
    chosen = [d for d, s in sides.items() if s >= {"pro", "con"}][:debates]  # file order (dicts keep it)
    t = _BriefTally()
    for i, debate in enumerate(chosen, 1):
        thesis = next(p.thesis for p in points if p.debate == debate)
        started = time.perf_counter()
        brief = a.brief(thesis)
        t.seconds += time.perf_counter() - started
        t.add(gates.measure(brief, a.embedder.embed))
        for gate, n in asdict(brief.gates).items():
            t.gates[gate] = t.gates.get(gate, 0) + n
        for point in brief.points:
            for q in point.verified_quotes:
                pid, kind = origin.get(q.doc_id, ("", ""))
                src = by_id.get(pid)
                if src is None or src.debate != debate:
                    continue
                t.on_debate += 1
                t.correct += ((src.side == "pro") == (kind == "point")) == (point.section == "for")
        report.data["briefs"] = t.summary()
        report.save()
        report.progress("briefs", i, len(chosen), f"stance {t.summary()['stance_accuracy']}")
    return t.summary()


@dataclass
class _BriefTally:
    briefs: int = 0
    on_debate: int = 0
    correct: int = 0
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    gates: dict[str, int] = field(default_factory=dict)  # what the staged path's gates caught, summed

    def add(self, measured: dict[str, int]) -> None:
        self.briefs += 1
        self.counts["both_sides"] = self.counts.get("both_sides", 0) + (measured["sides"] == 2)
        for key, value in measured.items():
            self.counts[key] = self.counts.get(key, 0) + value

    def summary(self) -> dict[str, Any]:
        c, n = self.counts, self.briefs or 1
        return {"briefs": self.briefs,
                "stance_accuracy": round(self.correct / self.on_debate, 3) if self.on_debate else None,
                "quotes_on_debate": self.on_debate,
                "evidence_reuse_rate": round(c.get("evidence_reused", 0) / c["quotes"], 3) if c.get("quotes") else 0.0,
                "claims_restating_rate": round(c.get("restating", 0) / c["claims"], 3) if c.get("claims") else 0.0,
                "ids_in_prose": c.get("ids_in_prose", 0),
                "distinct_passages_per_brief": round(c.get("passages_cited", 0) / n, 2),
                "both_sides_rate": round(c.get("both_sides", 0) / n, 3),
                "seconds_per_brief": round(self.seconds / n, 1), "gates_caught": dict(self.gates)}


def run_eval(a: Assistant, path: Path, *, limit: int | None = None, stance: int = 40, briefs: int = 10,
             call_debates: int = 10, report: Report | None = None) -> dict[str, Any]:
    """``assistant eval arguana``: index the file's points into ``a``'s (temporary) index, then score."""
    from dataclasses import asdict

    from ..index.ingest import ingest_documents
    from . import stance_eval

    report = report or Report()
    points = load_points(path, limit)
    all_points = load_points(path) if stance and limit else points
    docs, origin = build_corpus(points)
    s = a.settings
    ingest_documents(docs, store=a.store(create=True), embedder=a.embedder, chunk_size=s.chunk_size,
                     chunk_overlap=s.chunk_overlap, batch_size=s.embed_batch)
    counters = evaluate_counters(a, points)
    report.data.update({"points": len(points), "documents": len(docs),
                        "counter_retrieval": [asdict(c) for c in counters]})
    report.save()
    lines = [f"{len(points)} points, {len(docs)} documents from {path}", "",
             "| retrieval | queries | nDCG@10 | recall@10 | MRR@10 |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {c.variant} | {c.queries} | {c.ndcg_at_10:.3f} | {c.recall_at_10:.3f} | {c.mrr_at_10:.3f} |"
              for c in counters]
    if stance:
        report.data["model"] = a.generator.name
        items = stance_eval.debate_items(all_points, stance)
        step = stance_eval.evaluate(a.generator, s.prompts_dir, items, call_debates=call_debates, report=report)
        report.data["stance_step"] = step
        lines += ["", f"Stance step ({a.generator.name}, {len(items)} debates, "
                      f"{stance_eval.TEXTS_PER_SIDE} texts a side):", "",
                  "| method | debates | passage accuracy | sentence accuracy (decided) | decided | s/debate |",
                  "|---|---:|---:|---:|---:|---:|"]
        lines += [f"| {m} | {r['debates']} | {r['passage_accuracy']} | {r['sentence_accuracy_decided']} | "
                  f"{r['decided_share']} | {r['seconds_per_debate']} |" for m, r in step.items() if isinstance(r, dict)]
    if briefs:
        got = evaluate_briefs(a, points, origin, briefs, report)
        report.data["briefs"] = got
        lines += ["", f"Full briefs ({a.generator.name}):", "", "| " + " | ".join(got) + " |",
                  "|" + "---:|" * len(got), "| " + " | ".join(str(v) for v in got.values()) + " |"]
    return {"json": report.finish(), "text": "\n".join(lines)}
