"""The seeds overview with the default model, its cards old (embeddings only) beside new (checked by the model).

    .venv/bin/python eval/overview_seeds_check.py [--out eval/results/overview_seeds_checked.json]

One run of the overview (new code: each card checked, ``overview.says``) on a fresh index of ``seeds/``;
then, from the same run's stance labels, each side's key points as the old code listed them
(``keypoints.summarise`` alone) with every card's P(yes) from the check, so old and new rest on the same
labels (the stance step is the slow part and is not run twice). Written for a reader's hand check.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant import Assistant, Settings  # noqa: E402
from assistant.output.render import answer_dict  # noqa: E402
from assistant.writing import faithful, keypoints, prompts  # noqa: E402

MOTION = "Remote work makes companies more productive"
ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="default")
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="assistant-overview-check-") as tmp:
        lib = Assistant(Settings.load(index_dir=Path(tmp) / "index", model=a.model, save_history=False))
        lib.sync(ROOT / "seeds", show_progress=False)
        started = time.time()
        answer = lib.run("overview", MOTION)
        seconds = round(time.time() - started, 1)
        stances = dict(answer.stances)
        render = lambda name, **v: prompts.render(lib.settings.prompts_dir, name, **v)  # noqa: E731
        old = {}
        for side in ("support", "oppose"):
            mine = [s for s in answer.sentences if stances.get(s.sid) == side]
            texts = [s.text for s in mine]
            summary = keypoints.summarise(texts, [s.doc_id for s in mine], side, lib.embedder.embed, topic=MOTION)
            p_yes = iter(faithful.check(lib.generator, render,
                                        [(p.text, texts[i]) for p in summary.key_points for i in p.sentences]))
            old[side] = [{"key_point": p.text, "cards": [{"sid": mine[i].sid, "text": texts[i],
                                                          "p_yes": round(next(p_yes), 3)} for i in p.sentences]}
                         for p in summary.key_points]
        data = answer_dict(answer)
        lib.close()
    result = {"motion": MOTION, "model": data["model"], "seconds_end_to_end": seconds,
              "stance_labels": {s: sum(v == s for v in stances.values()) for s in ("support", "oppose", "neutral")},
              "old_key_points_with_p_yes": old,
              "new": {"claims": [{"side": c["side"], "text": c["text"], "prevalence": c.get("prevalence"),
                                  "quotes": [q.get("text", "") for q in c.get("quotes", [])]} for c in data["claims"]],
                      "notices": data["notices"], "gates": data["gates"]}}
    text = json.dumps(result, indent=1, ensure_ascii=False)
    print(text)
    if a.out:
        a.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
