"""What a user's corrections buy: every gold motion as a brief, before and after the user sets sides.

    .venv/bin/python eval/sides_workflow.py [--model default] [--items g26,g27] --out eval/results/sides_workflow.json

The stance step is the model's reading and is often wrong on essay sentences (docs/evaluation.md); the
product's answer is that a user can set a sentence's side ("Correct a side" on the page, ``assistant
sides set``), and every later answer to the request keeps it and reads the sentence. This measures that
loop on every gold motion (``eval/gold_seeds.jsonl``), three briefs each on one private index of the seeds:

- ``before``: the brief as it is, no side set;
- ``fixed``: a user who corrects what the first brief showed: every sentence it read (the page offers
  its cards and the other sentences read) that the gold set places on one side, and that the stance
  step labelled otherwise, is set to the gold side; nothing else (a sentence the gold set does not
  place is left to the model, as we cannot say what the user would do);
- ``marked``: a user who also marks the evidence they know their library holds: every gold support and
  oppose quote of the motion is set to its side, read or not (pinned: ``gather.pin``).

Each brief is scored by the current scorer (``evaluate.score``): stance of cited evidence against the
gold, gold oppose sentences reaching the model, both sides, key-point coverage, time. Sides set are
deleted between motions. "fixed" and "marked" are right by construction on what was set; the figures say
how much of the brief that is, whether the rest of the brief changes, and what the pinning costs in time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant import Assistant, Settings  # noqa: E402
from assistant.evaluation.evaluate import GenerationScores, generation_table, load_gold, score  # noqa: E402
from assistant.evaluation.report import Report  # noqa: E402
from assistant.output.render import answer_dict  # noqa: E402

ROUNDS = ("before", "fixed", "marked")


def overlaps(doc_id: str, start: int, end: int, span: tuple[str, int, int]) -> bool:
    return doc_id == span[0] and start < span[2] and span[1] < end


def gold_side(item: Any, doc_id: str, start: int, end: int) -> str:
    sup = any(overlaps(doc_id, start, end, sp) for sp in item.support)
    opp = any(overlaps(doc_id, start, end, sp) for sp in item.oppose)
    return "support" if sup and not opp else "oppose" if opp and not sup else ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="default")
    ap.add_argument("--items", help="comma-separated gold ids (default: every motion)")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    report = Report(args.out)
    with tempfile.TemporaryDirectory(prefix="assistant-sides-") as tmp:
        a = Assistant(Settings.load(index_dir=Path(tmp) / "index", model=args.model, save_history=False))
        a.sync(ROOT / "seeds", show_progress=False)
        gold = [g for g in load_gold(ROOT / "eval" / "gold_seeds.jsonl", a) if g.kind == "motion"]
        if args.items:
            wanted = set(args.items.split(","))
            gold = [g for g in gold if g.item_id in wanted]
        scores = {r: GenerationScores("brief", r) for r in ROUNDS}
        items: list[dict[str, Any]] = []
        for n, item in enumerate(gold, 1):
            row: dict[str, Any] = {"item": item.item_id, "set": {}}
            for rnd in ROUNDS:
                if rnd == "fixed":  # the sentences the first brief read that the gold places, labelled otherwise
                    first = row["before"]["_answer"]
                    labels = dict(first.stances)
                    for s in first.sentences:
                        side = gold_side(item, s.doc_id, s.start, s.end)
                        if side and labels.get(s.sid) != side:
                            a.set_side(item.text, s.text, "for" if side == "support" else "against")
                elif rnd == "marked":  # and every gold quote of the motion, read or not
                    for spans, side in ((item.support, "for"), (item.oppose, "against")):
                        for doc_id, start, end in spans:
                            a.set_side(item.text, a.document(doc_id).text[start:end], side)
                row["set"][rnd] = len(a.sides().entries(item.text))
                started = time.perf_counter()
                answer = a.run("brief", item.text)
                seconds = time.perf_counter() - started
                scores[rnd].items += 1
                scores[rnd].seconds += seconds
                score(a, item, answer, scores[rnd])
                cited = [(p.section, q) for p in answer.points for q in p.verified_quotes]
                row[rnd] = {"_answer": answer, "seconds": round(seconds, 1), "cards": len(cited),
                            "cards_set_by_user": sum(q.corrected for _, q in cited),
                            "cards_gold_placed": sum(bool(gold_side(item, q.doc_id, q.start, q.end)) for _, q in cited),
                            "answer": answer_dict(answer)}
            for sside in a.sides().entries(item.text):
                a.clear_side(item.text, sside.sentence)
            items.append({k: ({kk: vv for kk, vv in v.items() if kk != "_answer"} if isinstance(v, dict)
                              and "_answer" in v else v) for k, v in row.items()})
            report.data["modes"] = [s.summary() for s in scores.values()]
            report.data["items"] = items
            report.save()
            report.progress("sides workflow", n, len(gold))
        a.close()
    report.finish()
    print(generation_table(list(scores.values())))


if __name__ == "__main__":
    main()
