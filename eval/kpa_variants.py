"""Variants of the overview's key point code measured beside the shipped one on ArgKP (embedder only).

    .venv/bin/python eval/kpa_variants.py ../shared/benchmarks/argkp --split train [--out FILE]

Two studies, each old beside new in one run on the same topic-sides (docs/evaluation.md, "Issue 22,
eleventh session"); choose on train, report dev:

- **prevalence:** Spearman of a generated key point's share against its gold key point's share, for five
  ways of counting a key point's share: the shipped hard count (matched over ``MATCH_MIN``), the same with
  no threshold, the soft count (softmax probabilities summed, with and without the "no key point" column)
  and the greedy cover's support. Pooled over all topic-sides (as ``eval kpa``) and the mean within a
  topic-side (the ranking a reader sees; sides with 2 or more scored points).
- **clause endings:** key points that end on a dangling small word ("... society and"), under the shipped
  clause rule, a clause break that strands no word (no split in "such as", "those who", "with which";
  "and so" cut before the "and"), and four fixes (drop or trim such clauses, always or only when the
  clause was cut), with ``eval kpa``'s generation figures for each.

Every text is embedded on its own (batch of one), so the figures do not depend on the order in which the
variants run (the int8 embedder's vectors depend on batch companions). Figures only; no ArgKP text is
written.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.config import Settings  # noqa: E402
from assistant.evaluation import argkp, kpa_eval  # noqa: E402
from assistant.evaluation.kpa_metric import spearman  # noqa: E402
from assistant.index.embed import load_embedder  # noqa: E402
from assistant.writing import clauses as C  # noqa: E402
from assistant.writing import finish  # noqa: E402
from assistant.writing import keypoints as K  # noqa: E402

ENDS = finish.DANGLING | {"such"}
# A clause break that strands no word (measured 2026-12-03, not shipped): it does not split "such as",
# "those who", "with which", and an "and" before "so" goes with the break ("... society and so ..." -> "... society").
NO_STRAND_BREAK = re.compile(r"\s*[;:()\u2013\u2014]\s*|\s+-\s+|,?\s+(?:and\s+)?(?:because|since|(?<!\bsuch\s)as|"
                             r"so that|so|therefore|thus|but|although|though|while|whereas|otherwise)\s+|"
                             r",?(?<!\bthose)(?<!\bwith)(?<!\bin)(?<!\bof)(?<!\bby)(?<!\bto)\s+"
                             r"(?=(?:which|who|meaning)\s)", re.I)
COUNTS = ("hard (shipped)", "hard, no threshold", "soft", "soft, no null column", "cover support")


def groups(data: argkp.Split) -> list[tuple[str, str, list[argkp.Argument], list[argkp.KeyPoint]]]:
    out = []
    for topic in data.topics:
        for stance, side in kpa_eval.SIDES:
            args = [a for a in data.arguments[topic] if a.stance == stance]
            kps = [k for k in data.key_points.get(topic, []) if k.stance == stance]
            if args and kps:
                out.append((topic, side, args, kps))
    return out


def prevalence(data: argkp.Split, embed: K.Embed) -> dict[str, Any]:
    pairs: dict[str, list[tuple[float, float]]] = {c: [] for c in COUNTS}
    within: dict[str, list[float]] = {c: [] for c in COUNTS}
    for topic, side, args, kps in groups(data):
        texts, ids, n = [a.text for a in args], [a.arg_id for a in args], len(args)
        space = K._Space.build(texts, embed, topic)
        chosen = K.select(space.candidates(K.MAX_WORDS, K.SUPPORT_MIN, K.SUPPORT_NN, K.DUPLICATE_MIN), K.K_MAX,
                          K.MIN_COVER)
        if not chosen:
            continue
        kv = space.vectors([c.text for c in chosen])
        m = space.match(kv, K.MATCH_MIN, K.TEMPERATURE, K.NULL_Z)
        cos = space.text_vecs @ kv.T
        with_null = np.hstack([cos, np.full((n, 1), K.above(cos, K.NULL_Z))])
        shares = {COUNTS[0]: [sum(m.assigned(i) == j for i in range(n)) / n for j in range(len(chosen))],
                  COUNTS[1]: [float((cos.argmax(1) == j).sum()) / n for j in range(len(chosen))],
                  COUNTS[2]: list(_softmax(with_null)[:, :-1].sum(0) / n),
                  COUNTS[3]: list(_softmax(cos).sum(0) / n),
                  COUNTS[4]: [len(c.support) / n for c in chosen]}
        summary = K.prevalence(chosen, m, ids, side)
        by_source = {p.source: kpa_eval.gold_point(p, ids, kps, data.labels) for p in summary.key_points}
        gold_share = {k.kp_id: sum(data.labels.get((i, k.kp_id)) == 1 for i in ids) / n for k in kps}
        golds = [by_source.get(c.source) for c in chosen]
        for name, s in shares.items():
            scored = [(s[j], gold_share[g]) for j, g in enumerate(golds) if g]
            pairs[name] += scored
            if len(scored) >= 2:
                rho = spearman([a for a, _ in scored], [b for _, b in scored])
                if rho is not None and not np.isnan(rho):
                    within[name].append(rho)
    return {name: {"spearman_pooled": spearman([a for a, _ in pairs[name]], [b for _, b in pairs[name]]),
                   "pairs": len(pairs[name]),
                   "spearman_within_mean": round(float(np.mean(within[name])), 3) if within[name] else None,
                   "sides": len(within[name])} for name in COUNTS}


def _softmax(m: Any) -> Any:
    e = np.exp((m - m.max(1, keepdims=True)) / K.TEMPERATURE)
    return e / e.sum(1, keepdims=True)


def clause_rule(drop: bool, cut_only: bool, brk: re.Pattern[str] | None = None,
                fix: bool = True) -> Callable[..., list[str]]:
    """``clauses`` with clauses ending on a dangling word dropped or trimmed (always, or only when cut).

    ``brk``: the clause break (default the shipped one); ``fix=False`` leaves dangling endings alone.
    """
    def rule(text: str, max_words: int = C.MAX_WORDS) -> list[str]:
        out: list[str] = []
        for sentence in C._SENTENCE_END.split(text):
            if not sentence.strip() or sentence.rstrip().endswith("?"):
                continue
            whole = [sentence] if len(C._WORD.findall(sentence)) <= max_words else []
            pieces = [p for p in (brk or C._CLAUSE_BREAK).split(sentence) if p and p.strip()]
            for part in whole + (pieces if len(pieces) > 1 else []):
                clean = C._tidy(part)
                words = clean.split()
                if fix and words and words[-1].lower() in ENDS and not (cut_only and part in whole):
                    if drop:
                        continue
                    while len(words) > C.MIN_WORDS and words[-1].lower() in ENDS:
                        words.pop()
                    clean = " ".join(words).rstrip(",;:")
                if clean and C._well_formed(clean, max_words) and clean not in out:
                    out.append(clean)
        return out

    return rule


def endings(data: argkp.Split, embed: K.Embed) -> dict[str, Any]:
    rules = {"shipped": C.clauses, "break that strands no word": clause_rule(False, False, NO_STRAND_BREAK, fix=False),
             "drop any": clause_rule(True, False), "trim any": clause_rule(False, False),
             "drop when cut": clause_rule(True, True), "trim when cut": clause_rule(False, True)}
    out = {}
    for name, rule in rules.items():
        K.clauses = rule  # type: ignore[assignment]
        tally, dangling = kpa_eval.GenerationTally(), 0
        for topic, side, args, kps in groups(data):
            summary = K.summarise([a.text for a in args], [a.arg_id for a in args], side, embed, topic=topic)
            tally.add(data, topic, args, kps, summary, embed)
            dangling += sum(p.text.split()[-1].lower() in ENDS for p in summary.key_points)
        out[name] = {**tally.summary(), "dangling_shown": dangling}
    K.clauses = C.clauses
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--split", choices=["train", "dev"], default="train")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    s = Settings.load()
    embedder = load_embedder(s.embedder, batch_size=s.embed_batch, backend=s.embed_backend, cache_dir=s.cache_dir)
    # One text per call: the int8 ONNX embedder scales activations per batch, so a text's vector depends on
    # its batch companions (cosine 0.992 to itself); embedded alone, every variant sees the same vectors.
    embed = kpa_eval._memo(lambda texts: [embedder.embed([t])[0] for t in texts])
    data = argkp.load(args.folder, args.split)
    result = {"split": args.split, "embedder": embedder.identity, "prevalence": prevalence(data, embed),
              "clause_endings": endings(data, embed)}
    text = json.dumps(result, indent=1)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
