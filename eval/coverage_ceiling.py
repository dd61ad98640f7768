"""What key-point coverage can an answer reach by quoting? The scorer's ceiling on the gold set (no model).

    .venv/bin/python eval/coverage_ceiling.py [--answers eval/results/X.json --side new] [--out eval/results/Y.json]

Key-point coverage (``assistant.evaluation.evaluate``) counts a gold key point as covered when some prose
field the model wrote is close to it (cosine >= ``KEY_POINT_MIN_COSINE``). Issue 20 sets targets for it
(ask and brief 0.6, rebut 0.4). This asks how far quoting alone could go, per kind of gold item:

- **every gold quote**: the prose is every quote the gold set marks relevant, verbatim (the best an
  extractive answer that cites exactly the right sentences could score);
- with ``--answers`` (a saved ``eval/compare.py`` run, one side): **gold quotes shown** (the gold
  quotes among the sentences that answer's model was shown: the ceiling left after retrieval and
  selection), **cited quotes** (the answer's own verified quotes verbatim, as if it wrote nothing else)
  and **as written** (the answer's prose: the scored figure).

Only covered items the answer answered count in the last three (the scorer's rule). The embedder is
the shipped one; the seeds are indexed in a temporary folder to map gold quotes to their documents.
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

from assistant import Assistant, Settings  # noqa: E402
from assistant.evaluation.evaluate import _overlaps, key_points_covered, load_gold  # noqa: E402
from assistant.evaluation.report import Report  # noqa: E402
from assistant.output.history import answer_from_dict  # noqa: E402

KINDS = {"question": "ask", "motion": "brief", "claim": "rebut / steelman"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--answers", type=Path, help="a saved eval/compare.py run")
    ap.add_argument("--side", default="new", help="which side of --answers (default new)")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    report = Report(args.out)
    rows = [json.loads(line) for line in (ROOT / "eval" / "gold_seeds.jsonl").read_text().splitlines() if line]
    with tempfile.TemporaryDirectory(prefix="assistant-ceiling-") as tmp:
        a = Assistant(Settings.load(index_dir=Path(tmp) / "index", save_history=False))
        a.sync(ROOT / "seeds", show_progress=False)
        embed = a.embedder.embed
        gold = {g.item_id: g for g in load_gold(ROOT / "eval" / "gold_seeds.jsonl", a)}
        every: dict[str, list[int]] = {}
        for row in rows:
            if row["covered"] and row.get("key_points"):
                hit = key_points_covered(embed, row["key_points"], [r["quote"] for r in row["relevant"]])
                every.setdefault(KINDS[row["kind"]], [0, 0])
                every[KINDS[row["kind"]]][0] += hit
                every[KINDS[row["kind"]]][1] += len(row["key_points"])
        report.data["every_gold_quote"] = {k: {"key_points": n, "covered": h, "coverage": round(h / n, 3)}
                                           for k, (h, n) in every.items()}
        if args.answers:
            key_points = {r["id"]: r.get("key_points", []) for r in rows}
            quotes = {r["id"]: [x["quote"] for x in r["relevant"]] for r in rows}
            found: dict[str, dict[str, list[int]]] = {}
            for run in json.loads(args.answers.read_text())["runs"]:
                item, ans = gold[run["item"]], answer_from_dict(run["answer"])
                if run["side"] != args.side or not item.covered or not ans.points or not key_points[item.item_id]:
                    continue
                shown_gold = [q for q, sp in zip(quotes[item.item_id], item.spans, strict=True)
                              if any(_overlaps(s.doc_id, s.start, s.end, sp) for s in ans.sentences)]
                texts = {"gold quotes shown": shown_gold,
                         "cited quotes": [q.text for q in ans.quotes if q.verified],
                         "as written": ans.prose}
                per = found.setdefault(run["mode"], {})
                for name, t in texts.items():
                    h, n = per.get(name, [0, 0])
                    per[name] = [h + key_points_covered(embed, key_points[item.item_id], t),
                                 n + len(key_points[item.item_id])]
            report.data["answers"] = {"file": str(args.answers), "side": args.side,
                                      "modes": {m: {k: {"key_points": n, "covered": h, "coverage": round(h / n, 3)}
                                                    for k, (h, n) in per.items()} for m, per in found.items()}}
        a.close()
    out: dict[str, Any] = report.finish()
    print(json.dumps({k: v for k, v in out.items() if k != "complete"}, indent=2))


if __name__ == "__main__":
    main()
