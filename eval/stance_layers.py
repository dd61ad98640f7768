"""Which layer should the stance probe read? Hidden states of several layers on the probe's train rows, LOTO.

    python eval/stance_layers.py extract CACHE.json OUT [--topics N] [--threads 1]   # ~50 min on one core
    python eval/stance_layers.py loto OUT.npz LOGIT_CACHE [C,...] [variant,...]

``extract`` reads the rows of a logit feature cache of ``eval/fit_stance_probe.py`` (topic, argument,
off-topic or not, and the opposite statement written then) on the paired prompts, forward and swapped,
on a context of its own with llama.cpp's eval callback, and keeps ``l_out-L`` for L in ``LAYERS`` (the
tail's last token and the mean over its tokens) and ``result_norm`` (the final hidden state). One tail at
a time right after the prompt, as ``LlamaGenerator.tail_states`` reads them (bit-identical, checked on
a topic). ``loto`` scores each variant leave-one-topic-out with the fitter's own code beside the logit
features of the same cache (LOGIT_CACHE: ``fit_stance_probe.py``'s ``--cache``, path without
suffix). ArgKP train topics only; dev is never read. Results: docs/evaluation.md, "Issue 19, eighth
session".
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "eval"))
from assistant import Settings  # noqa: E402
from assistant.backends import build_generator  # noqa: E402
from assistant.evaluation import argkp  # noqa: E402
from assistant.llm.hidden_states import Capture  # noqa: E402
from assistant.writing import prompts, stance_probe  # noqa: E402

LAYERS = [6, 10, 14, 18, 22, 25]


def extract(args) -> None:  # type: ignore[no-untyped-def]
    import llama_cpp

    saved = json.loads(args.cache.read_text())
    meta, opps = saved["meta"], saved["opps"]
    settings = Settings.load(model="default")
    gen = build_generator(settings)
    llm = gen.llm
    render = lambda name, **v: prompts.render(settings.prompts_dir, name, **v)  # noqa: E731
    n_embd = llama_cpp.llama_model_n_embd(llm.model)
    names = {f"l_out-{i}" for i in LAYERS} | {"result_norm"}
    cap = Capture(n_embd, names)
    p = llama_cpp.llama_context_default_params()
    p.n_ctx, p.n_batch, p.n_ubatch, p.n_seq_max = 1024, 512, 512, 1
    p.n_threads = p.n_threads_batch = args.threads
    p.cb_eval = cap.callback
    ctx = llama_cpp.llama_init_from_model(llm.model, p)
    mem = llama_cpp.llama_get_memory(ctx)
    data = {**argkp.load(ROOT.parent / "shared" / "benchmarks" / "argkp", "train").arguments}
    by_id = {a.arg_id: a for args_ in data.values() for a in args_}
    topics = list(dict.fromkeys(m["topic"] for m in meta))
    if args.topics:
        topics = topics[: args.topics]
    rows = [m for m in meta if m["topic"] in topics]
    keys = sorted(names)
    feats = {k: np.zeros((len(rows), 2, 2, n_embd), np.float32) for k in keys}  # row, orientation, (last, mean)

    def decode(tokens: list[int], start: int, want_last: bool) -> None:
        batch = llama_cpp.llama_batch_init(len(tokens), 0, 1)
        try:
            for i, tok in enumerate(tokens):
                batch.token[i], batch.pos[i], batch.n_seq_id[i] = tok, start + i, 1
                batch.seq_id[i][0], batch.logits[i] = 0, want_last and i == len(tokens) - 1
            batch.n_tokens = len(tokens)
            if llama_cpp.llama_decode(ctx, batch) != 0:
                raise RuntimeError("decode failed")
        finally:
            llama_cpp.llama_batch_free(batch)

    started = time.time()
    for topic in topics:
        t0 = time.time()
        idx = [i for i, m in enumerate(rows) if m["topic"] == topic]
        for o, (a, b) in enumerate([(topic, opps[topic]), (opps[topic], topic)]):
            prompt = gen.prompt_tokens(stance_probe.messages(render, a, b))
            llama_cpp.llama_memory_clear(mem, True)
            cap.got.clear()
            decode(prompt, 0, False)
            for i in idx:
                text = by_id[rows[i]["arg_id"]].text
                toks = llm.tokenize(stance_probe.tail(text).encode(), add_bos=False, special=False)
                llama_cpp.llama_memory_seq_rm(mem, 0, len(prompt), -1)
                cap.got.clear()
                decode(toks, len(prompt), True)
                for k in keys:
                    h = cap.got[k]
                    feats[k][i, o, 0] = h[-1]
                    feats[k][i, o, 1] = h.mean(axis=0) if k != "result_norm" else h[-1]
        np.savez(args.out.with_suffix(".npz"), **{k.replace("-", "_"): v[: max(idx) + 1] for k, v in feats.items()})
        args.out.with_suffix(".json").write_text(json.dumps({"meta": rows[: max(idx) + 1], "layers": keys}))
        print(f"{topic}: {len(idx)} rows, {time.time() - t0:.0f} s (total {time.time() - started:.0f} s)", flush=True)


def loto(argv: list[str]) -> None:
    """argv: OUT.npz (extract's), the logit cache (path without suffix), [C,...], [variant,...]."""
    import fit_stance_probe as f

    mid = np.load(argv[0])
    meta = json.loads(Path(argv[0]).with_suffix(".json").read_text())["meta"]
    n = len(meta)
    cs = [float(c) for c in (argv[2].split(",") if len(argv) > 2 else ["0.01"])]
    only = argv[3].split(",") if len(argv) > 3 else None
    base, y, groups, saved = f.design(Path(argv[1]))
    base, y, groups = base[:n], y[:n], groups[:n]
    assert [m["arg_id"] for m in meta] == [m["arg_id"] for m in saved["meta"][:n]], "not the same rows"

    def report(name: str, x: np.ndarray, c: float) -> dict:
        p = f.cross_validate(x, y, groups, c)
        table = {round(t, 2): f.shares(p, y, t) for t in np.arange(0.34, 0.99, 0.02)}
        thr = next((t for t, r in table.items() if r["wrong"] <= 0.08), 0.98)
        on = y != 2
        side = np.where(p[:, 0] >= p[:, 1], 0, 1)
        acc = float(np.mean(side[on] == y[on]))
        r = {"name": name, "c": c, "threshold": thr, **table[thr], "side_acc": round(acc, 3),
             "at_0.66": table[0.66]}
        print(json.dumps(r), flush=True)
        return r

    out = []
    variants = {"final_logits": base}
    for k in sorted(mid.files):
        h = mid[k]
        for pool, name in ((0, "last"), (1, "mean")):
            if k == "result_norm" and pool == 1:
                continue
            fwd, swp = h[:, 0, pool], h[:, 1, pool]
            variants[f"{k}_{name}"] = np.hstack([fwd - swp, fwd + swp])
    for name, x in variants.items():
        if only and name not in only:
            continue
        for c in cs:
            out.append(report(name, x, c))
    Path(argv[0]).with_suffix(".loto.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    import argparse

    if sys.argv[1:2] == ["loto"]:
        loto(sys.argv[2:])
    else:
        ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
        ap.add_argument("what", choices=["extract"])
        ap.add_argument("cache", type=Path)
        ap.add_argument("out", type=Path)
        ap.add_argument("--topics", type=int, default=0)
        ap.add_argument("--threads", type=int, default=1)
        extract(ap.parse_args())
