"""Choose and measure the tag-faithfulness check (writing/faithful.py) on IBM ArgKP; train chooses, dev reports.

    .venv/bin/python eval/faithful_threshold.py ../shared/benchmarks/argkp --args 150 \
        --out eval/results/faithful_check.json

A card here is (tag = a key point, evidence = an argument). Per argument with a gold match, three cards:
its matched key point (faithful, y=1), a key point of the same side it was labelled *not* to match
(y=0, "same-side") and a key point of the other side (y=0, "other-side": the misreading that hurts
most, a tag that says the opposite of its card). Both checks are scored on the same cards:

- ``model``: the product's own ``faithful.check`` (P(yes) from the model's log-probabilities);
- ``cosine``: embedding similarity of tag and evidence (the product's embedder), the cheaper baseline.

On train: each method's AUC and the threshold that keeps 90% of faithful cards (a rewrite costs time and
a verbatim span is a worse tag than a good paraphrase, so most good tags must pass). On dev, with the
train thresholds: kept share of faithful cards, rejected share of same-side and other-side cards, AUC.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant import Settings  # noqa: E402
from assistant.backends import build_generator  # noqa: E402
from assistant.evaluation import argkp  # noqa: E402
from assistant.index.embed import load_embedder  # noqa: E402
from assistant.writing import faithful, prompts  # noqa: E402

KEEP = 0.90  # share of faithful cards a threshold must keep, on train


def cards(data: argkp.Split, n_args: int, seed: int) -> list[tuple[str, str, int, str]]:
    rng = random.Random(seed)
    kps = {k.kp_id: k for t in data.key_points.values() for k in t}
    args = {a.arg_id: a for t in data.arguments.values() for a in t}
    by_arg: dict[str, dict[str, int]] = {}
    for (a, k), label in data.labels.items():
        by_arg.setdefault(a, {})[k] = label
    matched = sorted(a for a, ks in by_arg.items() if 1 in ks.values())
    rng.shuffle(matched)
    out = []
    for a in matched[:n_args]:
        arg = args[a]
        yes = sorted(k for k, v in by_arg[a].items() if v == 1)
        no = sorted(k for k, v in by_arg[a].items() if v == 0)
        other = sorted(k.kp_id for k in data.key_points[arg.topic] if k.stance != arg.stance)
        out.append((kps[rng.choice(yes)].text, arg.text, 1, "match"))
        if no:
            out.append((kps[rng.choice(no)].text, arg.text, 0, "same-side"))
        if other:
            out.append((kps[rng.choice(other)].text, arg.text, 0, "other-side"))
    return out


def auc(score: np.ndarray, y: np.ndarray) -> float:
    pos, neg = score[y == 1], score[y == 0]
    return float((pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean())


def scores(split: str, folder: Path, n_args: int, gen, emb, render) -> dict:  # type: ignore[no-untyped-def]
    data = argkp.load(folder, split)
    items = cards(data, n_args, seed=5)
    started = time.time()
    model = np.array(faithful.check(gen, render, [(t, e) for t, e, _, _ in items]))
    took = time.time() - started
    tv = np.array(emb.embed([t for t, _, _, _ in items]))
    ev = np.array(emb.embed([e for _, e, _, _ in items]))
    cosine = (tv * ev).sum(axis=1)
    return {"items": items, "model": model, "cosine": cosine, "seconds_per_card": took / max(len(items), 1),
            "y": np.array([y for _, _, y, _ in items]), "kind": np.array([k for _, _, _, k in items])}


def report(s: dict, thresholds: dict[str, float]) -> dict:  # type: ignore[type-arg]
    out = {"cards": len(s["y"]), "seconds_per_card": round(s["seconds_per_card"], 3)}
    for name in ("model", "cosine"):
        score, t = s[name], thresholds[name]
        kept = score >= t
        out[name] = {"auc": round(auc(score, s["y"]), 3), "threshold": round(t, 3),
                     "faithful_kept": round(float(kept[s["y"] == 1].mean()), 3),
                     **{f"{kind}_rejected": round(float((~kept[s["kind"] == kind]).mean()), 3)
                        for kind in ("same-side", "other-side")}}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("argkp", type=Path)
    ap.add_argument("--args", type=int, default=150, help="arguments per split (3 cards each)")
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    settings = Settings.load()
    gen = build_generator(settings)
    emb = load_embedder(settings.embedder, batch_size=settings.embed_batch, backend=settings.embed_backend,
                        cache_dir=settings.cache_dir)
    render = lambda name, **v: prompts.render(settings.prompts_dir, name, **v)  # noqa: E731
    train = scores("train", a.argkp, a.args, gen, emb, render)
    thresholds = {name: float(np.quantile(train[name][train["y"] == 1], 1 - KEEP)) for name in ("model", "cosine")}
    dev = scores("dev", a.argkp, a.args, gen, emb, render)
    result = {"model": gen.name, "keep_target": KEEP, "shipped_threshold": faithful.THRESHOLD,
              "train": report(train, thresholds), "dev": report(dev, thresholds),
              "dev_at_shipped": report(dev, {"model": faithful.THRESHOLD, "cosine": thresholds["cosine"]})}
    print(json.dumps(result, indent=2))
    if a.out:
        a.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
