"""Does the logit probe learn essay prose from ArgKP train arguments wrapped in essay frames? (issue 19, ninth session)

    python eval/stance_essay_frames.py extract --cache /work/cache/stance-train --out /tmp/frames   # ~35 min
    python eval/stance_essay_frames.py fit --cache /work/cache/stance-train --frames /tmp/frames \
        --probe eval/results/stance_probe_essay_frames.npz

On the gold set's essay quotes the shipped probe decides a third of them wrongly, against 5-12 % on ArgKP
(docs/evaluation.md). Essay sentences report opinions, hedge, and answer a point made before ("he's just
plain wrong"). The only data this project may fit on is ArgKP's train topics, so this wraps each of the
shipped probe's 800 train rows (its 16 topics; ``fit_stance_probe.py``'s cache, same opposite statements)
in one frame drawn from a fixed list, chosen before any result was seen: five that keep the side
(reported speech, hedges, "That, at least, is the argument.") and one that flips it ("Some claim that X,
but that is simply not true."; off-topic rows stay off-topic). ``extract`` reads the framed rows as the
product reads sentences (``tail_logits`` on both paired prompts); ``fit`` compares, leave-one-topic-out:
the shipped recipe (original rows only) and the same fitted on original plus framed rows, each scored on
the original and on the framed rows, per frame, and writes the augmented probe (threshold by the shipped
pooled rule) for ``assistant eval stance --methods paired:FILE``. Not handled: frames from real essays
(the gold set is the evaluation, never training data).
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
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fit_stance_probe import cross_validate, design, fit, probabilities, shares, token_ids  # noqa: E402

from assistant.evaluation import argkp  # noqa: E402
from assistant.writing import prompts, stance_probe  # noqa: E402

SAME = ["According to one commentator, {a}.", "Many people believe that {a}.", "It is often said that {a}.",
        "The report makes a simple point: {A}", "{A} That, at least, is the argument."]
FLIP = ["Some claim that {a}, but that is simply not true."]
TOPICS, SEED = 16, 9  # the shipped probe's topics; the frames' draw


def frame(text: str, rng: random.Random) -> tuple[str, bool]:
    """The argument in one frame, and whether the frame flips its side.

    >>> frame("Uniforms cut costs.", random.Random(0))
    ('The report makes a simple point: Uniforms cut costs.', False)
    """
    t = text.strip()
    inner = (t[0].lower() + t[1:]).rstrip(".!? ")
    chosen = rng.choice(SAME + FLIP)
    return chosen.format(a=inner, A=t if t[-1] in ".!?" else t + "."), chosen in FLIP


def extract(argkp_dir: Path, cache: Path, out: Path, threads: int) -> None:
    from assistant import Settings
    from assistant.backends import build_generator

    settings = Settings.load(model="default", threads=threads)
    gen = build_generator(settings)
    render = lambda name, **v: prompts.render(settings.prompts_dir, name, **v)  # noqa: E731
    saved = json.loads(cache.with_suffix(".json").read_text())
    data = argkp.load(argkp_dir, "train")
    text_of = {a.arg_id: a.text for args in data.arguments.values() for a in args}
    ids = np.array(token_ids(gen))
    if ids.tolist() != saved["ids"]:
        raise SystemExit("the token ids differ from the cache's: another model?")
    rng = random.Random(SEED)
    meta, feats = [], []
    for topic in data.topics[:TOPICS]:
        started = time.time()
        rows = [m for m in saved["meta"] if m["topic"] == topic]
        framed = [frame(text_of[m["arg_id"]], rng) for m in rows]
        fwd, swp = stance_probe.read_both(lambda m, t, p: gen.tail_logits(m, t, ids, on_progress=p), render, topic,
                                          saved["opps"][topic], [t for t, _ in framed])
        feats.append(np.stack([fwd, swp], axis=1))
        meta += [{**m, "stance": -m["stance"] if flip and not m["off"] else m["stance"], "text": t, "flip": flip}
                 for m, (t, flip) in zip(rows, framed, strict=True)]
        np.save(out.with_suffix(".npy"), np.concatenate(feats))
        out.with_suffix(".json").write_text(json.dumps({**saved, "meta": meta, "layer": -1}))
        print(f"{topic}: {len(rows)} rows, {time.time() - started:.0f} s", flush=True)


def compare(cache: Path, frames: Path, probe: Path, report: Path | None) -> None:
    fo, yo, go, saved = design(cache)
    fa, ya, ga, _ = design(frames)
    meta = json.loads(frames.with_suffix(".json").read_text())["meta"]
    topics = sorted(set(ga))
    keep = np.isin(go, topics)
    fo, yo, go = fo[keep], yo[keep], go[keep]
    shipped_orig, shipped_framed = np.zeros((len(yo), 3)), np.zeros((len(ya), 3))
    for t in topics:  # the shipped recipe, held-out topic read in both styles
        w, b = fit(fo[go != t], yo[go != t], 0.01)
        shipped_orig[go == t] = probabilities(fo[go == t], w, b)
        shipped_framed[ga == t] = probabilities(fa[ga == t], w, b)
    both, y_both, g_both = np.vstack([fo, fa]), np.concatenate([yo, ya]), np.concatenate([go, ga])
    augmented = cross_validate(both, y_both, g_both, 0.01)
    table = {f"{t:.2f}": shares(augmented, y_both, t) for t in np.arange(0.34, 0.99, 0.02)}
    threshold = float(next((t for t, r in table.items() if r["wrong"] <= 0.08), "0.98"))  # the shipped rule
    flip = np.array([m["flip"] for m in meta])
    on = ya != 2
    result: dict[str, object] = {"threshold": threshold}
    for name, p, y in (("shipped fit, original rows", shipped_orig, yo),
                       ("shipped fit, framed rows", shipped_framed, ya),
                       ("augmented fit, original rows", augmented[: len(yo)], yo),
                       ("augmented fit, framed rows", augmented[len(yo):], ya)):
        row = {"argmax": shares(p, y, 0.0), "at 0.66": shares(p, y, 0.66),
               f"at {threshold:.2f}": shares(p, y, threshold)}
        if "framed" in name:
            side = np.where(p[:, 0] >= p[:, 1], 0, 1)
            row["argmax right, flip frame"] = round(float(np.mean(side[on & flip] == ya[on & flip])), 3)
            row["argmax right, same-side frames"] = round(float(np.mean(side[on & ~flip] == ya[on & ~flip])), 3)
        result[name] = row
        print(name, json.dumps(row), flush=True)
    w, b = fit(both, y_both, 0.01)
    np.savez_compressed(probe, model=np.array(saved["model"]), ids=np.array(saved["ids"], dtype=np.int32),
                        weights=w, bias=b, threshold=np.array(threshold), layer=np.array(-1))
    if report:
        report.write_text(json.dumps(result, indent=2))
    print(f"wrote {probe} (threshold {threshold})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("step", choices=["extract", "fit"])
    ap.add_argument("--argkp", type=Path, default=Path("../shared/benchmarks/argkp"))
    ap.add_argument("--cache", type=Path, required=True, help="fit_stance_probe.py's logit cache (path without suffix)")
    ap.add_argument("--out", "--frames", dest="frames", type=Path, help="the framed rows' cache (path without suffix)")
    ap.add_argument("--probe", type=Path, default=Path("eval/results/stance_probe_essay_frames.npz"))
    ap.add_argument("--report", type=Path)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    if args.frames is None:
        raise SystemExit("give --out (extract) or --frames (fit): the framed rows' cache")
    if args.step == "extract":
        extract(args.argkp, args.cache, args.frames, args.threads)
    else:
        compare(args.cache, args.frames, args.probe, args.report)


if __name__ == "__main__":
    main()
