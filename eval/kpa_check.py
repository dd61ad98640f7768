"""Does the model's check of each card against its key point help the overview? Old beside new on ArgKP.

    .venv/bin/python eval/kpa_check.py ../shared/benchmarks/argkp --split dev [--topics N] [--out FILE]

The overview matches a sentence to a key point by embeddings (``keypoints.match``). The new side keeps a
match only when the model says the sentence makes the key point (``keypoints.confirm`` with
``faithful.check``, the tag check at its shipped bar, 0.5: nothing here is tuned).
Three studies, each old beside new on the same texts in one run (the check reads each matched card once):

- **matching** (gold key points given, track 1): of the arguments the product matches (score at least
  ``MATCH_MIN``), share matched, precision (matched to a key point labelled 1), argument accuracy
  (matched right, or unmatched when no key point is labelled 1), and the shared task's mAP with failing
  matches ranked below every passing one;
- **generation** (no key points given): ``eval kpa``'s figures (gold coverage by the labels, arguments
  matched, prevalence Spearman) for ``summarise`` alone and followed by ``confirm``;
- **misfiled**: what the overview meets when the stance step errs. Each topic-side's arguments are mixed
  with a share of the *other* side's (``--misfiled``, default 0.15, drawn with a fixed seed), summarised,
  and the other-side arguments listed under a key point are counted: per listed card, and key points
  whose cards are mostly other-side.

Figures only; no ArgKP text is written (topics are named by the number in their ids).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant import Settings  # noqa: E402
from assistant.backends import build_generator  # noqa: E402
from assistant.evaluation import argkp, kpa_eval  # noqa: E402
from assistant.evaluation.kpa_metric import track1_map  # noqa: E402
from assistant.evaluation.report import Report  # noqa: E402
from assistant.index.embed import load_embedder  # noqa: E402
from assistant.writing import faithful, keypoints, prompts  # noqa: E402


class Checker:
    """``faithful.check`` at its bar on (key point, text) cards, each distinct card read once, timed."""

    def __init__(self, generator: Any, render: Any) -> None:
        self.generator, self.render = generator, render
        self.seen: dict[tuple[str, str], float] = {}
        self.seconds, self.reads = 0.0, 0

    def p_yes(self, cards: list[tuple[str, str]]) -> list[float]:
        todo = [c for c in dict.fromkeys(cards) if c not in self.seen]
        for start in range(0, len(todo), 16):
            chunk = todo[start:start + 16]
            began = time.perf_counter()
            self.seen.update(zip(chunk, faithful.check(self.generator, self.render, chunk), strict=True))
            self.seconds += time.perf_counter() - began
            self.reads += len(chunk)
        return [self.seen[c] for c in cards]

    def says(self, cards: list[tuple[str, str]]) -> list[bool]:
        return [p >= faithful.THRESHOLD for p in self.p_yes(cards)]  # as overview.says


def matching(data: argkp.Split, groups: list[tuple[str, int, str]], embed: Any, check: Checker) -> dict[str, Any]:
    decisions: dict[str, list[kpa_eval.Decision]] = {"old": [], "new": []}
    preds: dict[str, dict[str, dict[str, float]]] = {"old": {}, "new": {}}
    for topic, stance, _ in groups:
        args = [a for a in data.arguments[topic] if a.stance == stance]
        kps = [k for k in data.key_points.get(topic, []) if k.stance == stance]
        if not args or not kps:
            continue
        m = keypoints.match([a.text for a in args], [k.text for k in kps], embed, topic=topic)
        todo = [i for i, s in enumerate(m.scores) if s >= keypoints.MATCH_MIN]
        ok = dict(zip(todo, check.says([(kps[m.best[i]].text, args[i].text) for i in todo]), strict=True))
        for i, a in enumerate(args):
            kp = kps[m.best[i]].kp_id
            right = data.labels.get((a.arg_id, kp)) == 1
            some = any(data.labels.get((a.arg_id, k.kp_id)) == 1 for k in kps)
            decisions["old"].append((m.scores[i], right, some))
            # a failing match is unmatched: scored below every threshold and below every passing match
            new = m.scores[i] if ok.get(i, True) else m.scores[i] - 10.0
            decisions["new"].append((new, right, some))
            preds["old"][a.arg_id] = {kp: m.scores[i]}
            preds["new"][a.arg_id] = {kp: new}
    return {side: {**track1_map(preds[side], data),
                   **kpa_eval.unmatched_decision(decisions[side], keypoints.MATCH_MIN)} for side in ("old", "new")}


def generation(data: argkp.Split, groups: list[tuple[str, int, str]], embed: Any, check: Checker) -> dict[str, Any]:
    tallies = {"old": kpa_eval.GenerationTally(), "new": kpa_eval.GenerationTally()}
    for topic, stance, side in groups:
        args = [a for a in data.arguments[topic] if a.stance == stance]
        kps = [k for k in data.key_points.get(topic, []) if k.stance == stance]
        texts, ids = [a.text for a in args], [a.arg_id for a in args]
        old = keypoints.summarise(texts, ids, side, embed, topic=topic)
        tallies["old"].add(data, topic, args, kps, old, embed)
        tallies["new"].add(data, topic, args, kps, keypoints.confirm(old, texts, ids, check.says), embed)
    return {side: t.summary() for side, t in tallies.items()}


def misfiled(data: argkp.Split, groups: list[tuple[str, int, str]], embed: Any, check: Checker,
             share: float, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    out = {s: {"cards": 0, "misfiled_cards": 0, "key_points": 0, "misfiled_key_points": 0, "own_cards": 0}
           for s in ("old", "new")}
    mixed = 0
    for topic, stance, side in groups:
        own = [a for a in data.arguments[topic] if a.stance == stance]
        other = [a for a in data.arguments[topic] if a.stance == -stance]
        wrong = rng.sample(other, min(len(other), round(share * len(own))))
        args = own + wrong
        rng.shuffle(args)
        mixed += len(wrong)
        texts, ids = [a.text for a in args], [a.arg_id for a in args]
        old = keypoints.summarise(texts, ids, side, embed, topic=topic)
        for name, summary in (("old", old), ("new", keypoints.confirm(old, texts, ids, check.says))):
            o = out[name]
            for p in summary.key_points:
                bad = sum(args[i].stance != stance for i in p.sentences)
                o["cards"] += len(p.sentences)
                o["misfiled_cards"] += bad
                o["own_cards"] += len(p.sentences) - bad
                o["key_points"] += 1
                o["misfiled_key_points"] += bad * 2 > len(p.sentences)
    for o in out.values():
        o["misfiled_share_of_cards"] = round(o["misfiled_cards"] / o["cards"], 3) if o["cards"] else None
        o["misfiled_listed_of_mixed_in"] = round(o["misfiled_cards"] / mixed, 3) if mixed else None
    return {"mixed_in": mixed, "share": share, **out}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("argkp", type=Path)
    ap.add_argument("--split", default="dev", choices=("train", "dev"))
    ap.add_argument("--topics", type=int, help="only the first N topics of the split")
    ap.add_argument("--misfiled", type=float, default=0.15)
    ap.add_argument("--model", default="default")
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    settings = Settings.load(model=a.model)
    check = Checker(build_generator(settings), lambda name, **v: prompts.render(settings.prompts_dir, name, **v))
    embedder = load_embedder(settings.embedder, batch_size=settings.embed_batch, backend=settings.embed_backend,
                             cache_dir=settings.cache_dir)
    embed = kpa_eval._memo(embedder.embed)
    data = argkp.load(a.argkp, a.split)
    topics = data.topics[:a.topics] if a.topics else data.topics
    groups = [(t, stance, side) for t in topics for stance, side in kpa_eval.SIDES]
    report = Report(a.out) if a.out else Report()
    report.data.update({"split": a.split, "model": settings.model, "bar": faithful.THRESHOLD,
                        "topics": [kpa_eval.topic_id(data.arguments[t]) for t in topics]})
    for name, run in (("matching", lambda: matching(data, groups, embed, check)),
                      ("generation", lambda: generation(data, groups, embed, check)),
                      ("misfiled", lambda: misfiled(data, groups, embed, check, a.misfiled, seed=13))):
        report.data[name] = run()
        report.data["check"] = {"cards_read": check.reads, "seconds": round(check.seconds, 1),
                                "seconds_per_card": round(check.seconds / max(check.reads, 1), 3)}
        report.save()
        print(name, json.dumps(report.data[name]), flush=True)
    report.finish()


if __name__ == "__main__":
    main()
