"""Retrieval quality on a gold set: recall@k, MRR@10 and nDCG@10 per variant.

A gold item lists verbatim quotes from named documents (file stem). A chunk
counts as relevant when its char span overlaps a quote's span in the same
document, so the gold set does not depend on how documents are chunked.
Uncovered items (no quotes) are skipped for retrieval; generation metrics are
in ``evaluate_generation``.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..api import Assistant
from ..errors import InputError
from ..index.retrieve import VARIANTS
from ..types import Answer
from ..writing import finish, gates
from ..writing.specs import SPECS
from .report import Report

DEPTH = 10


Span = tuple[str, int, int]  # (doc_id, start, end) of a gold quote


@dataclass(frozen=True)
class GoldItem:
    item_id: str
    kind: str  # question | motion | claim
    text: str
    spans: tuple[Span, ...]  # relevant passages; empty when the essays do not cover it
    covered: bool = True
    key_points: tuple[str, ...] = ()
    support: tuple[Span, ...] = ()
    oppose: tuple[Span, ...] = ()


@dataclass(frozen=True)
class RetrievalScores:
    variant: str
    items: int
    recall_at_k: float
    mrr_at_10: float
    ndcg_at_10: float
    k: int


def load_gold(path: Path, assistant: Assistant) -> list[GoldItem]:
    """All gold items, each quote located in the indexed documents."""
    by_stem = {Path(d.source).stem: d.doc_id for d in assistant.documents()}
    items = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)

        def spans(key: str, n: int = n, row: dict[str, Any] = row) -> tuple[Span, ...]:
            out = []
            for ref in row.get(key, []):
                doc_id = by_stem.get(ref["doc"])
                if doc_id is None:
                    raise InputError(f"{path}:{n}: document {ref['doc']!r} is not in the index")
                start = assistant.document(doc_id).text.find(ref["quote"])
                if start < 0:
                    raise InputError(f"{path}:{n}: quote not found in {ref['doc']}: {ref['quote'][:50]}")
                out.append((doc_id, start, start + len(ref["quote"])))
            return tuple(out)

        items.append(GoldItem(row["id"], row["kind"], row["text"], spans("relevant"), bool(row.get("covered", True)),
                              tuple(row.get("key_points", [])), spans("support"), spans("oppose")))
    return items


def evaluate_retrieval(assistant: Assistant, gold: list[GoldItem], *, k: int = 5,
                       variants: tuple[str, ...] = VARIANTS) -> list[RetrievalScores]:
    """Mean recall@k (share of gold quotes hit), MRR@10 and binary nDCG@10 per variant."""
    gold = [g for g in gold if g.spans]
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


# -- generation ------------------------------------------------------------------

MODE_OF = {"question": "ask", "motion": "brief", "claim": "rebut"}
MODES_OF = {"question": ("ask",), "motion": ("brief",), "claim": ("rebut", "steelman")}
KEY_POINT_MIN_COSINE = 0.55  # a key point counts as covered when some answer sentence is this close


@dataclass
class GenerationScores:
    mode: str
    path: str = "staged"  # a label: eval/compare.py puts old / new here
    items: int = 0
    quotes: int = 0
    verified: int = 0
    claims: int = 0
    cited_claims: int = 0
    key_points: int = 0
    key_points_hit: int = 0
    briefs_both_sides: int = 0
    stance_checked: int = 0
    stance_correct: int = 0
    refusals_expected: int = 0
    refusals_correct: int = 0
    answers_expected: int = 0
    false_refusals: int = 0
    seconds: float = 0.0
    restating: int = 0
    ids_in_prose: int = 0
    evidence_reused: int = 0
    passages_cited: int = 0
    prose_fields: int = 0
    # side -> [items with gold spans on that side, items where one reached the model, spans reached]
    reach: dict[str, list[int]] = field(default_factory=dict)
    unfinished: int = 0  # prose fields ending mid-word or mid-sentence (finish.unfinished)
    prompt_copies: int = 0  # prose fields repeating a run of a prompt template's instructions
    # ask: verified quotes of covered items, and those inside one of the item's gold "relevant" quotes
    # (a floor on citation precision: a sentence the gold set did not list may still answer)
    ask_quotes: int = 0
    ask_quotes_on_gold: int = 0

    def summary(self) -> dict[str, float | int | str | None]:
        def share(a: int, b: int) -> float | None:
            return round(a / b, 3) if b else None  # None: nothing to measure (JSON has no NaN)

        return {"path": self.path, "mode": self.mode, "items": self.items,
                "quotes_verified": share(self.verified, self.quotes),
                "claims_cited": share(self.cited_claims, self.claims),
                "key_point_coverage": share(self.key_points_hit, self.key_points),
                "briefs_both_sides": share(self.briefs_both_sides, self.items) if self.mode == "brief" else "-",
                "stance_vs_gold": share(self.stance_correct, self.stance_checked),
                "oppose_reached_items": share(*self.reach.get("oppose", [0, 0])[1::-1]),
                "oppose_reached_spans": share(self.reach.get("oppose", [0, 0, 0])[2],
                                              self.reach.get("oppose_spans", [0])[0]),
                "oppose_reached_items_passages": share(self.reach.get("oppose_passages", [0])[0],
                                                       self.reach.get("oppose", [0])[0]),
                "support_reached_items": share(*self.reach.get("support", [0, 0])[1::-1]),
                "correct_refusals": share(self.refusals_correct, self.refusals_expected),
                "false_refusals": share(self.false_refusals, self.answers_expected),
                "ask_quotes_on_gold": share(self.ask_quotes_on_gold, self.ask_quotes) if self.mode == "ask" else "-",
                "restating_claims": self.restating, "ids_in_prose": self.ids_in_prose,
                "evidence_reused": self.evidence_reused, "prose_fields": self.prose_fields,
                "unfinished_fields": self.unfinished, "prompt_copies": self.prompt_copies,
                "passages_cited": round(self.passages_cited / self.items, 1) if self.items else 0.0,
                "mean_seconds": round(self.seconds / self.items, 1) if self.items else 0.0}


def evaluate_generation(assistant: Assistant, gold: list[GoldItem], *, limit: int | None = None,
                        report: Report | None = None,
                        progress: Callable[[str], None] | None = None) -> list[GenerationScores]:
    """Run each gold item through its mode(s), and score citations, coverage, gates, refusals."""
    scores: dict[str, GenerationScores] = {}
    items = _spread(gold, limit)
    for i, item in enumerate(items, 1):
        for mode in MODES_OF[item.kind]:
            s = scores.setdefault(mode, GenerationScores(mode))
            started = time.perf_counter()
            answer = assistant.run(mode, item.text)
            s.seconds += time.perf_counter() - started
            s.items += 1
            score(assistant, item, answer, s)
            if progress:
                progress(f"{item.item_id} {mode}: {answer.verified_count} verified, {len(answer.points)} points")
        if report is not None:
            report.data["modes"] = [x.summary() for x in scores.values()]
            report.save()
            report.progress("generation", i, len(items))
    return sorted(scores.values(), key=lambda x: (x.mode, x.path))


def _spread(gold: list[GoldItem], limit: int | None) -> list[GoldItem]:
    """``limit`` items taken round-robin over (kind, covered), so every mode and refusals are measured."""
    if not limit or limit >= len(gold):
        return gold
    queues = {(k, c): [g for g in gold if g.kind == k and g.covered == c] for k in MODE_OF for c in (True, False)}
    out: list[GoldItem] = []
    while len(out) < limit and any(queues.values()):
        for q in queues.values():
            if q and len(out) < limit:
                out.append(q.pop(0))
    return out


def score(assistant: Assistant, item: GoldItem, answer: Answer, s: GenerationScores) -> None:
    """Add one answer's figures to ``s``: citations, gates, prose endings and echoes, refusals, coverage, stance."""
    measured = gates.measure(answer, assistant.embedder.embed)
    s.prose_fields += len(answer.prose)
    s.unfinished += sum(finish.unfinished(t) for t in _written_pieces(answer.prose))
    instructions = _instructions(assistant.settings.prompts_dir)
    s.prompt_copies += sum(finish.echoes(t, instructions, answer.request) for t in answer.prose)
    s.restating += measured["restating"]
    s.ids_in_prose += measured["ids_in_prose"]
    s.evidence_reused += measured["evidence_reused"]
    s.passages_cited += measured["passages_cited"]
    s.quotes += len(answer.quotes)
    s.verified += answer.verified_count
    s.claims += len(answer.points)
    s.cited_claims += sum(bool(p.verified_quotes) for p in answer.points)
    refused = not answer.covered or not answer.points
    if not item.covered:
        s.refusals_expected += 1
        s.refusals_correct += refused
        return
    s.answers_expected += 1
    s.false_refusals += refused
    if item.key_points and answer.points:
        s.key_points += len(item.key_points)
        s.key_points_hit += _key_points_hit(assistant, item.key_points, answer)
    if answer.mode == "ask":
        cited = [q for p in answer.points for q in p.verified_quotes]
        s.ask_quotes += len(cited)
        s.ask_quotes_on_gold += sum(any(_overlaps(q.doc_id, q.start, q.end, sp) for sp in item.spans) for q in cited)
    if answer.mode == "brief":
        sides = {p.section for p in answer.points if p.verified_quotes}
        s.briefs_both_sides += sides >= {"for", "against"}
    _score_sides(item, answer, s)


# Sections whose evidence must support the request; every other two-sided section must oppose it.
# sections whose evidence must support the request, from the modes' records (a steelman's replies too)
SUPPORTING = {x.key for spec in SPECS.values() for x in spec.sections if x.supports} | {"reply"}


def _score_sides(item: GoldItem, answer: Answer, s: GenerationScores) -> None:
    """Stance of cited evidence against the gold sides, and whether gold evidence reached the model at all."""
    for p in answer.points:
        if p.section == "answer":
            continue
        for q, section in [(q, p.section) for q in p.verified_quotes] + [(q, "reply") for q in p.reply_quotes
                                                                          if q.verified]:
            sup = any(_overlaps(q.doc_id, q.start, q.end, sp) for sp in item.support)
            opp = any(_overlaps(q.doc_id, q.start, q.end, sp) for sp in item.oppose)
            if sup != opp:  # evidence the gold set places on exactly one side
                s.stance_checked += 1
                s.stance_correct += (section in SUPPORTING) == sup
    if answer.mode == "ask":
        return
    passages = [(p.chunk.doc_id, p.chunk.start, p.chunk.end) for p in answer.passages]
    shown = [(x.doc_id, x.start, x.end) for x in answer.sentences] or passages  # an answer from before sentences
    for spans, side in ((item.oppose, "oppose"), (item.support, "support")):
        if spans:
            hit = sum(any(_overlaps(d, a, b, sp) for d, a, b in shown) for sp in spans)
            s.reach[side] = [x + y for x, y in zip(s.reach.get(side, [0, 0, 0]), [1, int(hit > 0), hit], strict=True)]
            s.reach[side + "_spans"] = [s.reach.get(side + "_spans", [0])[0] + len(spans)]
            # the same at passage level: comparable with answers saved before sentences were (they fall back)
            in_passages = any(_overlaps(d, a, b, sp) for d, a, b in passages for sp in spans)
            s.reach[side + "_passages"] = [s.reach.get(side + "_passages", [0])[0] + int(in_passages)]


def _written_pieces(prose: list[str]) -> list[str]:
    """Prose as it was written: a brief's clash issue is two card tags joined by code ("FOR: a / AGAINST: b").

    Judged whole, its length could equal a schema cap by chance and look cut (a 160-character issue
    did, in the gold run); each tag is judged on its own.

    >>> _written_pieces(["FOR: Offices cost money. / AGAINST: Homes cost less", "Plain."])
    ['Offices cost money.', 'Homes cost less', 'Plain.']
    """
    out = []
    for text in prose:
        if text.startswith("FOR: ") and " / AGAINST: " in text:
            out += text[len("FOR: "):].split(" / AGAINST: ", 1)
        else:
            out.append(text)
    return out


def _instructions(prompts_dir: Path) -> str:
    """Every prompt template's own words (placeholders removed), one text per line."""
    import re

    return "\n".join(re.sub(r"\{\{\w+\}\}", " ", p.read_text(encoding="utf-8"))
                     for p in sorted(Path(prompts_dir).glob("*.txt")))


def _overlaps(doc_id: str, start: int, end: int, span: Span) -> bool:
    return doc_id == span[0] and start < span[2] and span[1] < end


def _key_points_hit(assistant: Assistant, key_points: tuple[str, ...], answer: Answer) -> int:
    return key_points_covered(assistant.embedder.embed, key_points, answer.prose)


def key_points_covered(embed: Callable[[list[str]], list[list[float]]], key_points: Sequence[str],
                       texts: Sequence[str]) -> int:
    """How many ``key_points`` some text is close to (cosine >= ``KEY_POINT_MIN_COSINE``): the coverage count."""
    if not texts or not key_points:
        return 0
    kp, sent = embed(list(key_points)), embed(list(texts))
    return sum(max(sum(x * y for x, y in zip(k, t, strict=True)) for t in sent) >= KEY_POINT_MIN_COSINE
               for k in kp)


def generation_table(rows: list[GenerationScores]) -> str:
    """A Markdown table of generation scores."""
    data = [r.summary() for r in rows]
    if not data:
        return "No items evaluated."
    keys = list(data[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join("n/a" if d[k] is None else str(d[k]) for k in keys) + " |" for d in data]
    return "\n".join(lines)


def run_eval(a: Assistant, what: str, gold_path: Path | None, *, k: int = 5, limit: int | None = None,
             report: Report | None = None,
             progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """``assistant eval retrieval|generation`` on a private index of the seeds: {"json", "text"}."""
    from dataclasses import asdict

    a.sync(show_progress=False)
    gold = load_gold(gold_path or a.settings.home / "eval" / "gold_seeds.jsonl", a)
    if what == "retrieval":
        rows = evaluate_retrieval(a, gold, k=k)
        return {"json": [asdict(r) for r in rows], "text": scores_table(rows)}
    report = report or Report()
    s = a.settings
    settings = {"k": s.k, "temperature": s.temperature, "retrieval": s.retrieval}
    report.data.update({"model": a.generator.name, "settings": settings})
    gen = evaluate_generation(a, gold, limit=limit, report=report, progress=progress)
    report.data["modes"] = [r.summary() for r in gen]
    head = f"model {a.generator.name}, " + ", ".join(f"{key}={v}" for key, v in settings.items())
    return {"json": report.finish(), "text": head + "\n\n" + generation_table(gen)}
