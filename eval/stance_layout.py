"""Do the stance step's labels depend on what the model read before? Same reads, other cache histories.

    .venv/bin/python eval/stance_layout.py [--claims 3] [--out eval/results/stance_layout.json]

For the first gold claims (``eval/gold_seeds.jsonl``), the rebuttal's own sentences (the counter
statement, gathering and sentence cut of the product) are scored by the stance probe three times, each
in a new ``LlamaGenerator``: (1) first thing, (2) after another prompt was written and its cells stashed,
(3) first thing again (determinism control). Reported per claim: the largest change in P(support) or
P(oppose) and the labels flipped, (2) against (1) and (3) against (1). At ``47183af`` (before the probe
read from an empty cache) (2) moved P by up to 0.455 and flipped up to 3 of 16 labels; since ``55fc9d5``
both are 0 (docs/evaluation.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant import Assistant, Settings  # noqa: E402
from assistant.llm.local import LlamaGenerator  # noqa: E402
from assistant.writing import prompts, stance_probe  # noqa: E402
from assistant.writing.cite import number_sentences  # noqa: E402
from assistant.writing.counter import opposite  # noqa: E402
from assistant.writing.gather import gather  # noqa: E402
from assistant.writing.pipeline import select  # noqa: E402
from assistant.writing.specs import SPECS  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


Scores = list[stance_probe.Scored]


def read(g0: Any, render: Any, claim: str, counter: str, texts: list[str],
         before: bool) -> tuple[Scores, float]:
    """The probe's scores in a new generator; ``before``: after a long prompt of its own (its cells stashed)."""
    gen = LlamaGenerator(g0.path, name=g0.name, n_ctx=g0.n_ctx)
    if before:
        gen.generate([{"role": "system", "content": render("system")},
                      {"role": "user", "content": " ".join(texts)}], max_tokens=8, temperature=0.0)
    return stance_probe.score(gen, render, claim, counter, texts)


def compared(first: Scores, other: Scores, need: float) -> dict[str, float]:
    def label(p: stance_probe.Scored) -> str:
        side = "support" if p.support >= p.oppose else "oppose"
        return side if max(p.support, p.oppose) >= need else "neutral"

    pairs = list(zip(first, other, strict=True))
    return {"max_change": round(max(max(abs(x.support - y.support), abs(x.oppose - y.oppose)) for x, y in pairs), 4),
            "flipped": sum(label(x) != label(y) for x, y in pairs)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--claims", type=int, default=3)
    ap.add_argument("--index", type=Path, help="an index of the seeds (default: built in a temporary folder)")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="assistant-layout-") as tmp:
        index = args.index or Path(tmp) / "index"
        a = Assistant(Settings.load(index_dir=index, model="default", save_history=False))
        if not args.index:
            a.sync(ROOT / "seeds", show_progress=False)
        render = lambda name, **v: prompts.render(a.settings.prompts_dir, name, **v)  # noqa: E731
        gold = [json.loads(line) for line in (ROOT / "eval" / "gold_seeds.jsonl").open()]
        claims = [g["text"] for g in gold if g["kind"] == "claim"][:args.claims]
        g0, rows = a.generator, []
        for claim in claims:
            counter = opposite(g0, a.settings.prompts_dir, claim) or ""
            found = gather("rebut", claim, a.retriever, 6, counter=counter)
            kept = select(number_sentences(found), [q.format(r=claim) for q in SPECS["rebut"].queries],
                          a.embedder.embed, SPECS["rebut"].max_sentences, sides=(claim, counter))
            texts = [s.text for s in kept]
            first, need = read(g0, render, claim, counter, texts, False)
            after, _ = read(g0, render, claim, counter, texts, True)
            again, _ = read(g0, render, claim, counter, texts, False)
            row = {"claim": claim, "sentences": len(texts), "after_other_prompt": compared(first, after, need),
                   "fresh_again": compared(first, again, need)}
            rows.append(row)
            print(json.dumps(row), flush=True)
        a.close()
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
