"""Choose the overview's key point constants (assistant/writing/keypoints.py) on IBM ArgKP *train*; never dev.

    python eval/kpa_tune.py ../shared/benchmarks/argkp --out eval/results/kpa_tune_train.json

Embedder only (a few minutes on 2 cores). Three sweeps, each given the winners of the ones before:

1. ``TEMPERATURE`` of the softmax over key points: track 1 mAP (strict and relaxed, both revisions of the
   shared task's script, ``evaluation/kpa_metric.py``) of ``keypoints.match`` against the gold key points;
   chosen by the sum of the four figures, without the "no key point" column;
2. ``NULL_Z`` (where "no key point" competes in the softmax) and ``MATCH_MIN`` (the score under which an
   argument is unmatched): the pair with the best argument accuracy (matched to a key point labelled 1, or
   unmatched when none is); mAP for every ``NULL_Z`` is recorded too;
3. generation (``SUPPORT_MIN``, ``SUPPORT_NN``, ``DUPLICATE_MIN``, ``MIN_COVER``): coverage of the gold key
   points by the labels (``kpa_eval.GenerationTally``), ties broken by the prevalence Spearman, then by the
   lower cover floor (a library's sentences vary more in wording than any train side: docs/evaluation.md).

The results keep figures only, never ArgKP text (CDLA-Sharing 1.0, see its readme).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.config import Settings  # noqa: E402
from assistant.evaluation import argkp, kpa_eval  # noqa: E402
from assistant.evaluation.kpa_metric import track1_map  # noqa: E402
from assistant.index.embed import load_embedder  # noqa: E402
from assistant.writing import keypoints  # noqa: E402

TEMPERATURES = (0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 1e6)  # 1e6: the topic-free cosine alone (softmax flat)
NULLS = (None, 0.0, 0.5, 1.0, 1.5, 2.0)  # NULL_Z; None: no "no key point" column in the softmax
SUPPORT = (0.5, 0.55, 0.6)  # SUPPORT_MIN
SUPPORT_NN = (None, 0.6, 0.7, 0.8, 0.9)  # None: the absolute SUPPORT_MIN alone
DUPLICATE = (0.7, 0.8)
COVER = (2, 3)


def groups(data: argkp.Split) -> list[tuple[str, int, str, list[argkp.Argument], list[argkp.KeyPoint]]]:
    out = []
    for topic in data.topics:
        for stance, side in kpa_eval.SIDES:
            args = [a for a in data.arguments[topic] if a.stance == stance]
            kps = [k for k in data.key_points.get(topic, []) if k.stance == stance]
            out.append((topic, stance, side, args, kps))
    return out


def sweep_matching(data: argkp.Split, embed: keypoints.Embed) -> dict[str, dict[str, float]]:
    """Track 1 mAP per (temperature, null_z)."""
    rows = {}
    for t, null in itertools.product(TEMPERATURES, NULLS):
        preds: dict[str, dict[str, float]] = {}
        for topic, _, _, args, kps in groups(data):
            if args and kps:
                m = keypoints.match([a.text for a in args], [k.text for k in kps], embed, topic=topic, temperature=t,
                                    null_z=null)
                preds.update({a.arg_id: {kps[m.best[i]].kp_id: m.scores[i]} for i, a in enumerate(args)})
        rows[f"temperature {t}, null_z {null}"] = track1_map(preds, data)
        print(f"temperature {t}, null_z {null}: {rows[f'temperature {t}, null_z {null}']}", file=sys.stderr, flush=True)
    return rows


def threshold(data: argkp.Split, embed: keypoints.Embed, temperature: float, null: float | None
              ) -> dict[str, float]:
    decisions = []
    for topic, _, _, args, kps in groups(data):
        if args and kps:
            m = keypoints.match([a.text for a in args], [k.text for k in kps], embed, topic=topic,
                                temperature=temperature, null_z=null)
            for i, a in enumerate(args):
                kp = kps[m.best[i]].kp_id
                decisions.append((m.scores[i], data.labels.get((a.arg_id, kp)) == 1,
                                  any(data.labels.get((a.arg_id, k.kp_id)) == 1 for k in kps)))
    return kpa_eval.unmatched_decision(decisions, keypoints.MATCH_MIN)


def sweep_generation(data: argkp.Split, embed: keypoints.Embed, temperature: float, null: float | None,
                     match_min: float) -> dict[str, dict[str, float | None]]:
    rows = {}
    for support, z, duplicate, cover in itertools.product(SUPPORT, SUPPORT_NN, DUPLICATE, COVER):
        tally = kpa_eval.GenerationTally()
        for topic, _, side, args, kps in groups(data):
            summary = keypoints.summarise([a.text for a in args], [a.arg_id for a in args], side, embed, topic=topic,
                                          min_cover=cover, threshold=match_min, support_min=support, support_nn=z,
                                          duplicate_min=duplicate, temperature=temperature, null_z=null)
            tally.add(data, topic, args, kps, summary, embed)
        key = f"support {support}, support_nn {z}, duplicate {duplicate}, cover {cover}"
        rows[key] = tally.summary()
        print(f"{key}: {rows[key]}", file=sys.stderr, flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    started = time.perf_counter()
    data = argkp.load(args.folder, "train")
    s = Settings.load()  # the product's embedder, as `assistant eval kpa` gets it
    embedder = load_embedder(s.embedder, batch_size=s.embed_batch, backend=s.embed_backend, cache_dir=s.cache_dir)
    embed = kpa_eval._memo(embedder.embed)
    matching = sweep_matching(data, embed)
    best_t = max(TEMPERATURES, key=lambda t: sum(matching[f"temperature {t}, null_z None"].values()))
    decisions = {str(null): threshold(data, embed, best_t, null) for null in NULLS}
    # Without the "no key point" column a side with one key point matches every sentence (seen on the seeds
    # library): None is measured and reported, not chosen. The column is chosen for the decision it serves.
    best_null = max((n for n in NULLS if n is not None), key=lambda n: decisions[str(n)]["best_accuracy_here"])
    decision = decisions[str(best_null)]
    gen = sweep_generation(data, embed, best_t, best_null, decision["best_threshold_here"])
    best_g = max(gen, key=lambda k: (gen[k]["coverage_labels"] or 0, gen[k]["spearman"] or -1, "None" not in k))
    result = {"split": "train", "embedder": embedder.identity, "matching": matching,
              "chosen_matching": {"temperature": best_t, "null_z": best_null},
              "unmatched_decisions": decisions, "unmatched_decision": decision, "generation": gen,
              "chosen_generation": best_g,
              "k_max": keypoints.K_MAX, "seconds": round(time.perf_counter() - started, 1)}
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: result[k] for k in ("chosen_matching", "unmatched_decision", "chosen_generation")}))


if __name__ == "__main__":
    main()
