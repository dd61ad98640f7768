"""Does the other side's material reach the model? Gold support/oppose sentences in the sources block.

    .venv/bin/python eval/reach.py [--model default] [--out eval/results/reach.json]

For every gold motion (brief) and claim (rebut, steelman) of ``eval/gold_seeds.jsonl`` with gold oppose
or support quotes, the product's own gathering runs: the model writes the other side's statement
(``counter.opposite``), retrieval alternates the request's and the counter's rankings (``gather``), and
``pipeline.select`` keeps the sentences the model will read. Variants change only the gathering, so the
same counter statement serves all of them. Reported per variant and side: the share of items where at
least one gold quote reached the sentences shown, and the share of gold quotes that did; also in the
passages (before the sentence cut). No generation beyond the counter statements and, for the "critic"
variant, one sentence per item: the model's main reason against the request, searched as a third
ranking (a hypothetical-document query).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant import Assistant, Settings  # noqa: E402
from assistant.evaluation.evaluate import load_gold  # noqa: E402
from assistant.writing.cite import number_sentences  # noqa: E402
from assistant.writing.counter import opposite  # noqa: E402
from assistant.writing.gather import alternate, gather  # noqa: E402
from assistant.writing.pipeline import select  # noqa: E402
from assistant.writing.specs import SPECS  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
# name -> (k passages, sentences kept, a critic's reason as a third query)
VARIANTS = {"now (k 6, 16 sentences)": (6, 16, False), "k 8, 16 sentences": (8, 16, False),
            "k 8, 20 sentences": (8, 20, False), "k 10, 24 sentences": (10, 24, False),
            "k 18, 16 sentences": (18, 16, False), "k 24, 16 sentences": (24, 16, False),
            "k 6, 16 sentences, + critic's reason": (6, 16, True)}
# an experiment's prompt, not the product's (prompts/ holds those)
CRITIC = ("TASK: A critic disagrees with the statement below. In one sentence, write the critic's main reason, "
          "as a plain claim about the world (not about the statement). Write only that sentence.\nSTATEMENT: {r}")


def critic(a: Assistant, text: str) -> str:
    from assistant.writing import prompts

    messages = [{"role": "system", "content": prompts.render(a.settings.prompts_dir, "system")},
                {"role": "user", "content": CRITIC.format(r=text)}]
    lines = a.generator.generate(messages, max_tokens=60, temperature=0.0).text.strip().splitlines()
    return lines[0].strip() if lines else ""


def hit(spans, shown) -> int:  # type: ignore[no-untyped-def]
    return sum(any(d == s[0] and a < s[2] and s[1] < b for d, a, b in shown) for s in spans)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="default")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="assistant-reach-") as tmp:
        a = Assistant(Settings.load(index_dir=Path(tmp) / "index", model=args.model, temperature=0.0))
        a.sync(ROOT / "seeds", show_progress=False)
        gold = [g for g in load_gold(ROOT / "eval" / "gold_seeds.jsonl", a)
                if g.kind in ("motion", "claim") and (g.oppose or g.support)]
        tally: dict[str, dict[str, list[int]]] = {v: {} for v in VARIANTS}
        for n, item in enumerate(gold, 1):
            mode = "brief" if item.kind == "motion" else "rebut"
            counter = opposite(a.generator, a.settings.prompts_dir, item.text) or ""
            reason = critic(a, item.text)
            for name, (k, limit, with_reason) in VARIANTS.items():
                found = gather(mode, item.text, a.retriever, k, counter=counter or None)
                sides = tuple(x for x in (item.text, counter) if x)
                if with_reason and reason:
                    found = alternate([found, a.retriever.search(reason, k)], k)
                    sides += (reason,)
                kept = select(number_sentences(found), [q.format(r=item.text) for q in SPECS[mode].queries],
                              a.embedder.embed, limit, sides=sides if counter else ())
                shown = [(s.doc_id, s.start, s.end) for s in kept]
                passages = [(p.chunk.doc_id, p.chunk.start, p.chunk.end) for p in found]
                for side, spans in (("oppose", item.oppose), ("support", item.support)):
                    if spans:
                        h, hp = hit(spans, shown), hit(spans, passages)
                        row = tally[name].setdefault(side, [0, 0, 0, 0, 0])
                        for i, x in enumerate((1, int(h > 0), h, len(spans), hp)):
                            row[i] += x
            print(f"[reach {n}/{len(gold)}] {item.item_id}", file=sys.stderr, flush=True)
        a.close()
    result = {v: {side: {"items": r[0], "items_reached": round(r[1] / r[0], 3),
                         "quotes_reached": round(r[2] / r[3], 3), "quotes_in_passages": round(r[4] / r[3], 3)}
                  for side, r in sides.items()} for v, sides in tally.items()}
    result["default_max_sentences"] = {m: s.max_sentences for m, s in SPECS.items()}  # type: ignore[assignment]
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
