"""Choose a bar for "does the answer answer the question?" on a library that is not the gold set.

    .venv/bin/python eval/answer_bar.py ../shared/benchmarks/arguana-dev.jsonl [--model default]
        [--per-side 16] [--out eval/results/answer_bar.json]

The seventh session measured the model's check "the sentence answers the question" (``eval/answer_check.py``,
P(yes) after ``Question: / Sentence: / The sentence answers the question:``) on the gold questions, where a
bar near 0.2 on an answer's best point would refuse the uncovered question g44 and no covered one; but that
bar was read off the evaluation set. This script gets a bar from other data, by a rule fixed before the run.

- **Library:** ArguAna debates (``arguana-dev.jsonl``): for every theme, two debates go into a fresh
  private index (each debate one document: its points and counterpoints), two others are held out.
- **Questions:** the model writes one question for each of ``--per-side`` sentences drawn from the library
  debates (covered: the library holds the answer) and as many from the held-out debates (uncovered: the
  library holds the same themes and words, not the answer). An experiment's prompt, not the product's.
- Each question is asked once through the shipped ask path; every point's P(yes) is read (the check of
  ``answer_check.py``).
- **Rule, fixed before the run:** the bar is the highest of 0.05, 0.10, ..., 0.50 at which refusing an
  answer whose best point is under the bar refuses no covered question that the ask path answered.

Nothing of ArguAna is kept: the results hold debate ids, the bar, counts and P(yes) values; the model's
questions are kept only with ``--keep-questions`` (for reading; they paraphrase ArguAna sentences).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from answer_check import check  # noqa: E402

from assistant import Assistant, Settings  # noqa: E402
from assistant.evaluation.report import Report  # noqa: E402
from assistant.llm.base import parse_json  # noqa: E402

BARS = tuple(round(0.05 * i, 2) for i in range(1, 11))
SEED = 20261203
ASK = ('Sentence: "{sentence}"\nWrite one short question (at most 20 words) that this sentence answers, as '
       "someone who has not read it would ask it. Do not copy the sentence.")


def debates(path: Path) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            out[row["debate"]].append(row)
    return out


def split(all_debates: dict[str, list[dict[str, Any]]], rng: random.Random) -> tuple[list[str], list[str]]:
    """Two library debates and two held-out ones per theme."""
    by_theme: dict[str, list[str]] = defaultdict(list)
    for name, rows in sorted(all_debates.items()):
        by_theme[rows[0]["theme"]].append(name)
    library, held = [], []
    for theme in sorted(by_theme):
        names = rng.sample(by_theme[theme], min(4, len(by_theme[theme])))
        library += names[:2]
        held += names[2:4]
    return library, held


def document(rows: list[dict[str, Any]]) -> str:
    parts = [f"# {rows[0]['thesis']}"]
    for r in rows:
        parts += [r["point"], r["counter"]]
    return "\n\n".join(_clean(p) for p in parts)


def _clean(text: str) -> str:
    return re.sub(r"\s*\[[ivxlc\d]+\]", "", text)


def sentences(rows: list[dict[str, Any]]) -> list[str]:
    """Sentences of 12-40 words of a debate's points and counterpoints (not their title lines)."""
    out = []
    for r in rows:
        for part in (r["point"].split("\n\n", 1)[-1], r["counter"]):
            for s in re.split(r"(?<=[.!?])\s+", _clean(part)):
                if 12 <= len(s.split()) <= 40 and not s.endswith("?"):
                    out.append(s.strip())
    return out


def question(generator: Any, sentence: str) -> str:
    schema = {"type": "object", "additionalProperties": False, "required": ["question"],
              "properties": {"question": {"type": "string", "minLength": 8, "maxLength": 160}}}
    messages = [{"role": "system", "content": "You write short, plain questions."},
                {"role": "user", "content": ASK.format(sentence=sentence)}]
    gen = generator.generate(messages, schema=schema, max_tokens=60, temperature=0.0)
    q = str(parse_json(gen.text).get("question") or "").strip()
    return q if q.endswith("?") else q + "?"


def choose(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Refusals per bar, and the bar by the fixed rule."""
    def refused(it: dict[str, Any], bar: float) -> bool:
        return not it["answered"] or max(it["p_yes"], default=0.0) < bar

    rows = {}
    covered = [it for it in items if it["covered"]]
    uncovered = [it for it in items if not it["covered"]]
    for bar in (0.0, *BARS):
        rows[str(bar)] = {"false_refusals": sum(refused(it, bar) for it in covered),
                          "correct_refusals": sum(refused(it, bar) for it in uncovered)}
    base = rows["0.0"]["false_refusals"]
    chosen = max((b for b in BARS if rows[str(b)]["false_refusals"] == base), default=0.0)
    return {"covered": len(covered), "uncovered": len(uncovered), "by_bar": rows, "bar": chosen}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("arguana", type=Path)
    ap.add_argument("--model", default="default")
    ap.add_argument("--per-side", type=int, default=16)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--keep-questions", action="store_true")
    args = ap.parse_args()
    rng = random.Random(SEED)
    all_debates = debates(args.arguana)
    library, held = split(all_debates, rng)
    report = Report(args.out)
    report.data.update({"seed": SEED, "library": library, "held_out": held, "items": []})
    with tempfile.TemporaryDirectory(prefix="assistant-answer-bar-") as tmp:
        folder = Path(tmp) / "library"
        folder.mkdir()
        for name in library:
            (folder / f"{name}.md").write_text(document(all_debates[name]), encoding="utf-8")
        a = Assistant(Settings.load(index_dir=Path(tmp) / "index", model=args.model, save_history=False))
        a.sync(folder, show_progress=False)
        covered = [(True, rng.choice(sentences(all_debates[d]))) for d in rng.sample(library, args.per_side)
                   if sentences(all_debates[d])]
        uncovered = [(False, rng.choice(sentences(all_debates[d]))) for d in rng.sample(held, args.per_side)
                     if sentences(all_debates[d])]
        drawn = [x for pair in zip(covered, uncovered, strict=False) for x in pair]  # in turn: partial runs stay even
        for n, (held_in, sentence) in enumerate(drawn, 1):
            q = question(a.generator, sentence)
            answer = a.run("ask", q)
            p_yes = check(a.generator, q, [p.text for p in answer.points])
            item = {"covered": held_in, "answered": answer.covered, "p_yes": [round(y, 3) for y in p_yes]}
            if args.keep_questions:
                item.update({"question": q, "sentence": sentence, "points": [p.text for p in answer.points]})
            report.data["items"].append(item)
            report.data["result"] = choose(report.data["items"])
            report.save()
            report.progress("answer bar", n, len(drawn), f"bar so far {report.data['result']['bar']}")
        a.close()
    report.finish()
    r = report.data["result"]
    print(f"covered {r['covered']}, uncovered {r['uncovered']}; bar by the rule: {r['bar']}")
    for bar, row in r["by_bar"].items():
        print(f"  bar {bar}: false refusals {row['false_refusals']}, correct refusals {row['correct_refusals']}")


if __name__ == "__main__":
    main()
