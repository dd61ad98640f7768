"""Could code choose an ask answer's sentences better than the model does? Two rankers on saved answers.

    .venv/bin/python eval/ask_rankers.py [--answers eval/results/ask_rebut_batch_free.json] [--side new]
        [--reads eval/results/ask_rankers.json] --out eval/results/ask_rankers.json

For every covered gold question of a saved ``eval/compare.py`` run, the sentences the ask model was shown
(14) are ranked by (a) cosine to the question (the shipped embedder) and (b) the default model's P(yes)
that the sentence answers the question (``answer_check.check``, 11 s a question on two threads), and (c)
their sum, P(yes) + 0.5 cosine (weights fixed before the run). Reported: how many of the shown gold
sentences each ranker's top 2 / 3 / 4 hold, beside the sentences the model cited; and the key-point
coverage the answer would score if the rankers' best uncited sentences were added to its points as
extractive points (``--reads`` reuses saved reads: no model). Result in docs/evaluation.md ("how far
quoting can take key-point coverage"): no ranker beats the model's own choice; adding sentences is padding.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "eval"))

from answer_check import check  # noqa: E402

from assistant import Assistant, Settings  # noqa: E402
from assistant.evaluation.evaluate import _overlaps, key_points_covered, load_gold  # noqa: E402
from assistant.evaluation.report import Report  # noqa: E402
from assistant.output.history import answer_from_dict  # noqa: E402


def top(scores: list[float], k: int) -> list[int]:
    return sorted(range(len(scores)), key=lambda i: -scores[i])[:k]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--answers", type=Path, default=ROOT / "eval" / "results" / "ask_rebut_batch_free.json")
    ap.add_argument("--side", default="new")
    ap.add_argument("--reads", type=Path, help="saved reads of an earlier run: run no model")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    report = Report(args.out)
    saved = {r["item"]: r for r in json.loads(args.reads.read_text())["reads"]} if args.reads else {}
    key_points = {json.loads(x)["id"]: json.loads(x).get("key_points", [])
                  for x in (ROOT / "eval" / "gold_seeds.jsonl").read_text().splitlines() if x}
    with tempfile.TemporaryDirectory(prefix="assistant-rankers-") as tmp:
        a = Assistant(Settings.load(index_dir=Path(tmp) / "index", model="default", save_history=False))
        a.sync(ROOT / "seeds", show_progress=False)
        gold = {g.item_id: g for g in load_gold(ROOT / "eval" / "gold_seeds.jsonl", a)}
        reads: list[dict[str, Any]] = []
        answers = {}
        for run in json.loads(args.answers.read_text())["runs"]:
            item = gold[run["item"]]
            if run["side"] != args.side or run["mode"] != "ask" or not item.covered:
                continue
            ans = answer_from_dict(run["answer"])
            shown = list(ans.sentences)
            if not shown:
                continue
            answers[item.item_id] = ans
            if item.item_id in saved:
                reads.append(saved[item.item_id])
                continue
            cited = {(q.doc_id, q.start) for q in ans.quotes if q.verified}
            qv, sv = a.embedder.embed([item.text]), a.embedder.embed([s.text for s in shown])
            reads.append({"item": item.item_id, "texts": [s.text for s in shown],
                          "gold": [any(_overlaps(s.doc_id, s.start, s.end, sp) for sp in item.spans) for s in shown],
                          "cited": [(s.doc_id, s.start) in cited for s in shown],
                          "cosine": [sum(x * y for x, y in zip(qv[0], v, strict=True)) for v in sv],
                          "p_yes": check(a.generator, item.text, [s.text for s in shown])})
            report.data["reads"] = reads
            report.save()
            report.progress("rankers", len(reads), 25)
        rankers = {"cosine": lambda r: r["cosine"], "P(yes)": lambda r: r["p_yes"],
                   "P(yes) + 0.5 cosine": lambda r: [p + 0.5 * c for p, c in zip(r["p_yes"], r["cosine"], strict=True)]}
        cited_gold = sum(g and c for r in reads for g, c in zip(r["gold"], r["cited"], strict=True))
        table: dict[str, Any] = {"gold sentences shown": sum(sum(r["gold"]) for r in reads),
                                 "model's citations": {"picked": sum(sum(r["cited"]) for r in reads),
                                                       "gold": cited_gold}}
        for name, score in rankers.items():
            for k in (2, 3, 4):
                picks = [(r, top(score(r), k)) for r in reads]
                table[f"{name}, top {k}"] = {"picked": sum(len(p) for _, p in picks),
                                            "gold": sum(r["gold"][i] for r, p in picks for i in p)}
        padded: dict[str, Any] = {}
        for name, score in rankers.items():
            for cap in (4, 5):
                hit = total = added = added_gold = 0
                for r in reads:
                    ans = answers[r["item"]]
                    if not ans.points or not key_points[r["item"]]:
                        continue
                    prose, n = list(ans.prose), len(ans.points)
                    for i in top(score(r), len(r["texts"])):
                        if n >= cap:
                            break
                        if not r["cited"][i]:
                            prose.append(r["texts"][i])
                            n, added, added_gold = n + 1, added + 1, added_gold + r["gold"][i]
                    hit += key_points_covered(a.embedder.embed, key_points[r["item"]], prose)
                    total += len(key_points[r["item"]])
                padded[f"{name}, up to {cap} points"] = {"coverage": round(hit / total, 3), "added": added,
                                                         "gold among added": added_gold}
        report.data["reads"] = reads
        report.data["ranked"] = table
        report.data["padded"] = padded
        a.close()
    report.finish()
    print(json.dumps({"ranked": table, "padded": padded}, indent=1))


if __name__ == "__main__":
    main()
