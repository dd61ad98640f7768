"""Does an ask point answer the question? A model check, measured on every gold question (not shipped).

    .venv/bin/python eval/answer_check.py [--model default] [--out eval/results/answer_check.json]
    .venv/bin/python eval/answer_check.py --rescore eval/results/answer_check.json

The faithfulness check (faithful.py) asks whether a point says what its sentences say; a copy of a
sentence passes it trivially, and on a question the library does not cover the model answered with
sentences that only share the question's words. The check here is the model's next-token
log-probabilities of " yes" / " no" after ``Question: "..." / Sentence: "..." / The sentence answers
the question:`` (every point of an answer on parallel sequences after one short prompt, as the stance
step reads its tails): P(yes). The bar is even odds, set before measuring (the gold set is the only data
with covered and uncovered questions, and it is the evaluation, so nothing is fitted on it).

Each gold question (``eval/gold_seeds.jsonl``, covered and uncovered) is answered once by the shipped
ask path; every point's P(yes) is read; three sides are scored on that same answer with the current
scorer: the answer as it is (old), points below the bar dropped and an answer left with none a refusal,
and the same with the answer's best point always kept (never a refusal). Partial results after every
item; per item the saved answer and its points' P(yes). ``--rescore FILE`` scores a saved run again
without the model. Result (docs/evaluation.md): neither checked side is better on every figure, so the
ask path does not use it. ``eval/answer_bar.py`` chose a bar for the same check on other data (ArguAna
debates); it was not shipped either.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant import Assistant, Settings  # noqa: E402
from assistant.evaluation.evaluate import GenerationScores, generation_table, load_gold, score  # noqa: E402
from assistant.evaluation.report import Report  # noqa: E402
from assistant.output.history import answer_from_dict  # noqa: E402
from assistant.output.render import answer_dict  # noqa: E402
from assistant.types import Answer  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
THRESHOLD = 0.5
CLIP_WORDS = 80
# an experiment's prompt, not the product's (prompts/ holds those)
SYSTEM = "You check answers: does a sentence answer a question?"
TASK = ("For each pair, answer yes if the sentence gives what the question asks for (the fact, reason, number "
        "or view asked about), no if it only shares the question's subject or words.")
SIDES = ("old (no check)", "even odds; none left: refusal", "even odds; the best point always kept")


def check(generator: Any, question: str, answers: list[str]) -> list[float]:
    """P(yes) that each text answers ``question``."""
    if not answers:
        return []
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": TASK}]
    tails = [f'Question: "{question}"\nSentence: "{" ".join(text.split()[:CLIP_WORDS])}"\n'
             "The sentence answers the question:" for text in answers]
    rows = generator.label_logprobs(messages, tails, [" yes", " no"])
    return [1 / (1 + math.exp(row[" no"] - row[" yes"])) for row in rows]


def variants(answer: Answer, p_yes: list[float]) -> dict[str, Answer]:
    """The old answer and the two checked ones, from the same generation."""
    kept = tuple(p for p, y in zip(answer.points, p_yes, strict=True) if y >= THRESHOLD)
    best = max(range(len(p_yes)), key=lambda i: p_yes[i]) if p_yes else -1
    kept_best = tuple(p for i, (p, y) in enumerate(zip(answer.points, p_yes, strict=True))
                      if y >= THRESHOLD or i == best)
    return {SIDES[0]: answer,
            SIDES[1]: dataclasses.replace(answer, points=kept, covered=answer.covered and bool(kept)),
            SIDES[2]: dataclasses.replace(answer, points=kept_best)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="default")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--rescore", type=Path, help="a saved run: score its answers again, run no model")
    args = ap.parse_args()
    report = Report(args.out)
    saved = json.loads(args.rescore.read_text())["items"] if args.rescore else None
    with tempfile.TemporaryDirectory(prefix="assistant-answer-check-") as tmp:
        a = Assistant(Settings.load(index_dir=Path(tmp) / "index", model=args.model, save_history=False))
        a.sync(ROOT / "seeds", show_progress=False)
        gold = {g.item_id: g for g in load_gold(ROOT / "eval" / "gold_seeds.jsonl", a) if g.kind == "question"}
        sides = {name: GenerationScores("ask", name) for name in SIDES}
        items: list[dict[str, Any]] = []
        for n, item_id in enumerate([it["item"] for it in saved] if saved else list(gold), 1):
            item = gold[item_id]
            if saved:
                answer, p_yes = answer_from_dict(saved[n - 1]["answer"]), saved[n - 1]["p_yes"]
            else:
                answer = a.run("ask", item.text)
                p_yes = check(a.generator, item.text, [p.text for p in answer.points])
            for side, ans in variants(answer, p_yes).items():
                sides[side].items += 1
                score(a, item, ans, sides[side])
            items.append({"item": item.item_id, "covered_gold": item.covered, "answered_old": answer.covered,
                          "points": [{"text": p.text, "p_yes": round(y, 3)}
                                     for p, y in zip(answer.points, p_yes, strict=True)],
                          "p_yes": p_yes, "answer": answer_dict(answer)})
            report.data["modes"] = [s.summary() for s in sides.values()]
            if not saved:
                report.data["items"] = items
            report.save()
            report.progress("answer check", n, len(gold))
        a.close()
    report.finish()
    print(generation_table(list(sides.values())))


if __name__ == "__main__":
    main()
