"""The stance probe fitted and read three ways, on train features only; each also with the motion negated.

    .venv/bin/python eval/compare_stance_probes.py --cache /tmp/stance-train --out eval/results/stance_probe_mirror.json

``--cache`` is ``eval/fit_stance_probe.py``'s feature cache, extracted for all 24 ArgKP train topics. Fitted
on the first 16 topics (the shipped probe's), reported leave-one-topic-out on those 16 and on the 8 topics
the fit never saw; a threshold per way is chosen on the 16 by the fitter's rule (wrong share <= 0.08).
"Motion negated" reads every row as if motion and opposite were swapped (features ``(-D, S)``, gold sides
exchanged): a side taken from the argument's words instead of from the motion shows up there as wrong.
The ways: the plain fit read directly (what shipped until issue 19's fifth session), the plain fit read
symmetrised (``stance_probe.Probe.scores``, shipped), and a fit on mirrored rows (``--mirror``).

``--more-data`` asks instead whether more training data helps the symmetrised read: leave-one-topic-out over
all 24 topics, fitted on the first 20 arguments a side of the other topics (the cache's first 1,200 rows) or
on all of them (a cache topped up with ``fit_stance_probe.py --per-side 40``), both scored on every row of
the held-out topic, at each ``--c``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import fit_stance_probe as f  # noqa: E402

from assistant.writing import stance_probe  # noqa: E402

FLIP = np.array([1, 0, 2])  # supports <-> opposes, off-topic stays


def direct(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The probe's probabilities read one way only (as shipped before the fifth session)."""
    return stance_probe.Probe("", np.arange(x.shape[1] // 2), w, b, 0.5)._raw(x)


def more_data(cache: Path, cs: list[float]) -> dict[str, dict]:  # type: ignore[type-arg]
    x, y, g, saved = f.design(cache)
    first = first_per_side(saved["meta"][: len(y)], f.PER_SIDE)
    out = {}
    for c in cs:
        for name, rows in (("20 a side", first), ("all", np.ones(len(y), bool))):
            p = np.zeros((len(y), 3))
            for t in sorted(set(g)):
                held = g == t
                p[held] = f.probabilities(x[held], *f.fit(x[rows & ~held], y[rows & ~held], c))
            table = {f"{t:.2f}": f.shares(p, y, t) for t in np.arange(0.34, 0.99, 0.02)}
            thr = float(next((t for t, r in table.items() if r["wrong"] <= 0.08), "0.98"))
            key = f"fit on {name} ({int(rows.sum())} rows), C={c}"
            out[key] = {"threshold": thr, "loto24": table[f"{thr:.2f}"], "loto24_argmax": f.shares(p, y, 0.0)}
            print(key, json.dumps(out[key]), flush=True)
    return out


def first_per_side(meta: list[dict], n: int) -> np.ndarray:  # type: ignore[type-arg]
    """Rows a plain extraction holds: the first ``n`` arguments of each topic and side, and every off-topic row.

    >>> first_per_side([{"topic": "t", "off": False, "stance": 1}] * 3 + [{"topic": "t", "off": True, "stance": -1}], 2)
    array([ True,  True, False,  True])
    """
    seen: dict[tuple[str, int], int] = {}
    keep = []
    for m in meta:
        key = (m["topic"], m["stance"])
        keep.append(m["off"] or seen.get(key, 0) < n)
        if not m["off"]:
            seen[key] = seen.get(key, 0) + 1
    return np.array(keep)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", type=Path, required=True)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--c", type=float, default=0.01)
    ap.add_argument("--more-data", action="store_true", help="fit on 20 a side vs all rows, leave one topic out")
    ap.add_argument("--cs", default="0.003,0.01", help="--more-data: inverse regularisation strengths")
    args = ap.parse_args()
    if args.more_data:
        result = more_data(args.cache, [float(c) for c in args.cs.split(",")])
        if args.out:
            args.out.write_text(json.dumps(result, indent=1) + "\n")
        return
    x, y, g, _ = f.design(args.cache)
    order = list(dict.fromkeys(g))
    half = x.shape[1] // 2
    first = np.isin(g, order[:16])
    negate = lambda m: np.hstack([-m[:, :half], m[:, half:]])  # noqa: E731
    out = {}
    for mirror in (False, True):
        xf, yf, gf = x[first], y[first], g[first]
        folds = {t: f.fit(xf[gf != t], yf[gf != t], args.c, mirror) for t in order[:16]}
        full = f.fit(xf, yf, args.c, mirror)
        for symmetrised in ((False, True) if not mirror else (True,)):
            read = f.probabilities if symmetrised else direct
            p, pn = np.zeros((len(yf), 3)), np.zeros((len(yf), 3))
            for t, (w, b) in folds.items():
                h = gf == t
                p[h], pn[h] = read(xf[h], w, b), read(negate(xf[h]), w, b)
            table = {f"{t:.2f}": f.shares(p, yf, t) for t in np.arange(0.34, 0.99, 0.02)}
            thr = float(next((t for t, r in table.items() if r["wrong"] <= 0.08), "0.98"))
            q, qn = read(x[~first], *full), read(negate(x[~first]), *full)
            name = f"fit {'mirrored' if mirror else 'plain'}, read {'symmetrised' if symmetrised else 'directly'}"
            out[name] = {"threshold": thr,
                         "loto16": f.shares(p, yf, thr), "loto16_negated": f.shares(pn, FLIP[yf], thr),
                         "loto16_argmax": f.shares(p, yf, 0.0), "loto16_negated_argmax": f.shares(pn, FLIP[yf], 0.0),
                         "unseen8": f.shares(q, y[~first], thr),
                         "unseen8_negated": f.shares(qn, FLIP[y[~first]], thr),
                         "unseen8_argmax": f.shares(q, y[~first], 0.0),
                         "unseen8_negated_argmax": f.shares(qn, FLIP[y[~first]], 0.0)}
            print(name, json.dumps(out[name]), flush=True)
    if args.out:
        args.out.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
