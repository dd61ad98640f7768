"""The evaluation harness: gold-set retrieval, generation scoring, and ArguAna-format files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant import Assistant
from assistant.errors import InputError
from assistant.evaluation import stance_eval
from assistant.evaluation.arguana import build_corpus, doc_ranking, evaluate_briefs, evaluate_counters, load_points
from assistant.evaluation.evaluate import GoldItem, _spread, evaluate_generation, evaluate_retrieval, load_gold
from assistant.evaluation.report import Report
from assistant.index.ingest import ingest_documents
from assistant.types import Chunk, Passage
from tests.conftest import REPO, write
from tests.fakes import FakeStanceGenerator
from tests.ui_support import CitingGenerator

GOLD = REPO / "eval" / "gold_seeds.jsonl"
DEBATES = [
    {"debate": "ban-cars", "thesis": "This house would ban cars from city centres", "side": "pro",
     "point_id": "ban-cars/pro/pro01", "point": "Clean air\n\nCars pollute city air and harm children's lungs.",
     "counter": "Modern electric cars emit no exhaust, so the air argument is outdated."},
    {"debate": "ban-cars", "thesis": "This house would ban cars from city centres", "side": "con",
     "point_id": "ban-cars/con/con01", "point": "Shops need customers\n\nRetailers depend on drivers who shop.",
     "counter": "Pedestrianised streets raise footfall and retail takings."},
    {"debate": "school-uniform", "thesis": "This house would abolish school uniforms", "side": "pro",
     "point_id": "school-uniform/pro/pro01", "point": "Expression\n\nUniforms suppress pupils' self-expression.",
     "counter": "Pupils express themselves in many ways beyond clothing, such as art and debate."},
    {"debate": "school-uniform", "thesis": "This house would abolish school uniforms", "side": "con",
     "point_id": "school-uniform/con/con01", "point": "Equality\n\nUniforms hide income differences between pupils.",
     "counter": "Expensive branded uniforms make poor families pay more, not less."},
]


def test_gold_set_is_complete_and_locatable(seeded_assistant: Assistant) -> None:
    gold = load_gold(GOLD, seeded_assistant)
    assert len(gold) >= 25
    kinds = {g.kind for g in gold}
    assert kinds == {"question", "motion", "claim"}
    assert sum(not g.covered for g in gold) >= 5
    for g in gold:
        assert g.covered == bool(g.spans)
        for doc_id, start, end in g.spans + g.support + g.oppose:
            assert end - start >= 20 and seeded_assistant.document(doc_id).text[start:end]


def test_retrieval_metrics_are_sane_and_hybrid_is_not_worse(seeded_assistant: Assistant) -> None:
    rows = {r.variant: r for r in evaluate_retrieval(seeded_assistant, load_gold(GOLD, seeded_assistant), k=5)}
    assert set(rows) == {"dense", "lexical", "hybrid"}
    for r in rows.values():
        assert 0 < r.recall_at_k <= 1 and 0 < r.mrr_at_10 <= 1 and 0 < r.ndcg_at_10 <= 1
    assert rows["hybrid"].mrr_at_10 >= rows["dense"].mrr_at_10
    assert rows["hybrid"].recall_at_k > 0.6


def test_spread_takes_kinds_and_coverage_round_robin() -> None:
    kinds = ["question"] * 5 + ["motion"] * 2 + ["claim"]
    items = [GoldItem(f"g{i}", kind, "t", (), covered=i != 4) for i, kind in enumerate(kinds)]
    picked = _spread(items, 5)
    assert [g.kind for g in picked] == ["question", "question", "motion", "claim", "question"]
    assert [g.covered for g in picked] == [True, False, True, True, True]


def test_generation_scores_with_a_citing_model(seeded_assistant: Assistant) -> None:
    seeded_assistant._generator = CitingGenerator()
    gold = load_gold(GOLD, seeded_assistant)
    rows = {r.mode: r for r in evaluate_generation(seeded_assistant, gold, limit=9)}
    modes = {"ask", "brief", "rebut", "steelman"}
    assert set(rows) == modes
    staged = rows
    assert staged["rebut"].items == staged["steelman"].items  # a claim runs through both
    assert sum(staged[m].items for m in ("ask", "brief", "rebut")) == 9
    for r in rows.values():
        assert r.verified == r.quotes  # ids from the schema always verify
    for m in ("ask", "brief", "rebut"):
        assert staged[m].quotes and staged[m].summary()["claims_cited"] == 1.0
    assert staged["brief"].briefs_both_sides == staged["brief"].items
    assert staged["brief"].evidence_reused == 0 and staged["brief"].ids_in_prose == 0
    ask = staged["ask"]  # citation precision floor: counted over the covered questions' verified quotes
    assert 0 < ask.ask_quotes <= ask.verified and 0 <= ask.ask_quotes_on_gold <= ask.ask_quotes
    assert staged["brief"].summary()["ask_quotes_on_gold"] == "-"


def test_arguana_file_loading_and_errors(tmp_path: Path) -> None:
    path = write(tmp_path / "d.jsonl", "\n".join(json.dumps(d) for d in DEBATES) + "\n")
    points = load_points(path)
    assert len(points) == 4 and points[0].side == "pro"
    assert len(load_points(path, limit=2)) == 2
    docs, origin = build_corpus(points)
    assert len(docs) == 8 and sorted(set(k for _, k in origin.values())) == ["counter", "point"]
    bad = write(tmp_path / "bad.jsonl", '{"debate": "x"}\n')
    with pytest.raises(InputError, match="bad.jsonl:1: not an ArguAna point"):
        load_points(bad)
    with pytest.raises(InputError, match="no such file"):
        load_points(tmp_path / "missing.jsonl")


def test_doc_ranking_excludes_the_query_document() -> None:
    def p(doc: str) -> Passage:
        return Passage(Chunk(f"{doc}:0", doc, "t", "s", 0, 0, 1, "x"), 1.0, 1)

    assert doc_ranking([p("a"), p("b"), p("a"), p("c")], exclude="b") == ["a", "c"]


def test_counter_retrieval_and_stance_on_a_small_file(real_assistant: Assistant, tmp_path: Path) -> None:
    points = load_points(write(tmp_path / "d.jsonl", "\n".join(json.dumps(d) for d in DEBATES)))
    docs, origin = build_corpus(points)
    s = real_assistant.settings
    ingest_documents(docs, store=real_assistant.store(create=True), embedder=real_assistant.embedder,
                     chunk_size=s.chunk_size, chunk_overlap=s.chunk_overlap)
    rows = {r.variant: r for r in evaluate_counters(real_assistant, points)}
    assert set(rows) == {"dense", "rebuttal"}
    for r in rows.values():
        assert r.queries == 4 and r.recall_at_10 == 1.0 and 0.3 < r.mrr_at_10 <= 1.0
    real_assistant._generator = CitingGenerator()
    report = Report(tmp_path / "partial.json")
    got = evaluate_briefs(real_assistant, points, origin, 2, report)
    assert got["briefs"] == 2 and got["evidence_reuse_rate"] == 0.0
    assert json.loads((tmp_path / "partial.json").read_text())["briefs"]["briefs"] == 2  # saved as it goes


def test_stance_step_score_on_debates_with_an_honest_fake() -> None:
    """The stance-step evaluation scores a method that knows the truth at 1.0, and one that inverts it at 0.0."""
    points = [p for d in DEBATES for p in load_points_from(d)]
    items = stance_eval.debate_items(points, 2)
    assert len(items) == 2 and all({t for _, t in i.texts} == {"support", "oppose"} for i in items)
    truth = {" ".join(text.split()): t for i in items for text, t in i.texts}

    def knows(sentence: str) -> str:
        return next(t for text, t in truth.items() if " ".join(sentence.split()) in text)

    for stance_of, want in ((knows, 1.0), (lambda s: "oppose" if knows(s) == "support" else "support", 0.0)):
        got = stance_eval.evaluate(FakeStanceGenerator(stance_of), REPO / "prompts", items, call_debates=0)
        assert all(got[m]["passage_accuracy"] == want for m in ("symmetric", "logprob", "contrast"))


def load_points_from(row: dict) -> list:  # type: ignore[type-arg]
    from assistant.evaluation.arguana import DebatePoint

    return [DebatePoint(*(str(row[k]) for k in ("debate", "thesis", "side", "point_id", "point", "counter")))]


@pytest.mark.integration
def test_cli_eval_arguana_json(tmp_path: Path) -> None:
    path = write(tmp_path / "d.jsonl", "\n".join(json.dumps(d) for d in DEBATES))
    proc = subprocess.run([sys.executable, "-m", "assistant", "eval", "arguana", str(path), "--stance", "0",
                           "--briefs", "0", "--json"], capture_output=True, text=True, cwd=REPO, timeout=300,
                          env={**os.environ, "ASSISTANT_INDEX": str(tmp_path / "unused")})
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["points"] == 4 and {r["variant"] for r in out["counter_retrieval"]} == {"dense", "rebuttal"}
    assert not (tmp_path / "unused").exists()  # eval never touches the user's index
    proc = subprocess.run([sys.executable, "-m", "assistant", "eval", "arguana"], capture_output=True, text=True,
                          cwd=REPO, timeout=60)
    assert proc.returncode == 2 and "needs the path" in proc.stderr
