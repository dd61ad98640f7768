"""Key point analysis scored on ArgKP: matching by the KPA 2021 shared task's metric, and generation.

**Matching** (track 1). For each topic and side, every argument is scored
against the gold key points of that side by two methods in the same run:
``embedding cosine`` (the plain baseline: cosine of the two embeddings) and
``key point matching`` (the overview's ``keypoints.match``: topic-free cosine
plus its softmax over the key points and "no key point"), and the same without
the "no key point" column (it costs some mAP; docs/evaluation.md). Scored by ``kpa_metric.track1_map``
(both revisions of the shared task's script). Also the product's unmatched
decision at ``keypoints.MATCH_MIN``: share matched, precision of the matched,
and the threshold that would maximise argument accuracy on the split at hand
(fit on train; dev only reports).

**Generation** (no key points given). ``keypoints.summarise`` runs on each
topic and side's arguments. A gold key point is covered when a generated one
matches it: by the labels (a strict majority of the generated point's matched
arguments are labelled 1 to it) and, as a check, by the product's own
matching (the gold key point's best generated point scores at least
``MATCH_MIN``). Prevalence: Spearman correlation, over generated points
matched to a gold one by the labels, of the generated share and the gold
share (arguments of the side labelled 1 to it).

**Wording** (``word=True``, needs the model). Every generated key point is
worded by the overview's ``wording.settle`` (one call per topic-side, each
wording checked). Old beside new on the same points: the clause alone (what
the overview showed before), the model's draft before any check, and what
is shown (the draft when it passed, else the clause). Each is scored as
``tag_eval`` scores tags: among all the topic's gold key points (both
sides), is the nearest one (embedder cosine) the gold key point the point's
matched arguments are labelled to (hit@1, and MRR)? Plus the share kept,
why the others were refused, words, unfinished texts shown, and seconds.

Results keep ids and figures, never the arguments', key points' or topics'
texts (ArgKP is never copied into the project): a topic is named by the
number in its ids (``arg_4_12`` -> ``4``). Develop on ``train``, report
``dev``. Not handled: the shared task's test split, and track 2's human
ranking of key point sets.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..writing import keypoints
from . import argkp
from .kpa_metric import spearman, track1_map
from .report import Report

SIDES = ((1, "pro"), (-1, "con"))
# Published track 1 results on the shared task's test split (3 topics, not dev), from the teams' papers
# (scored in the summer of 2021, by the script's 2021-06 revision); the overview paper's full table
# (Friedman et al., ArgMining 2021) was not available offline.
LEADERBOARD = (
    ("Modern Talking (Reimer et al. 2021), RoBERTa-base: best strict of all teams", 0.913, None),
    ("Matching the Statements (Phan et al. 2021), 4th place", 0.8956, 0.9632),
    ("Enigma (Kapadnis et al. 2021), 5th place", 0.872, 0.966),
)
NO_NULL = "key point matching without the no-key-point column"
Predictions = dict[str, dict[str, dict[str, float]]]  # method -> arg_id -> kp_id -> score
Decision = tuple[float, bool, bool]  # (product score, its key point labelled 1, some key point labelled 1)


def topic_id(args: Sequence[argkp.Argument]) -> str:
    """The number ArgKP's ids give a topic: ``arg_4_12`` -> ``4``.

    >>> topic_id([argkp.Argument("arg_4_12", "", "t", 1)])
    '4'
    """
    return args[0].arg_id.split("_")[1] if args else "?"


def _memo(embed: keypoints.Embed) -> keypoints.Embed:
    """Each distinct text embedded once per run (arguments are scored by both methods and summarised)."""
    seen: dict[str, list[float]] = {}

    def embed_once(texts: list[str]) -> list[list[float]]:
        missing = [t for t in dict.fromkeys(texts) if t not in seen]
        if missing:
            seen.update(zip(missing, embed(missing), strict=True))
        return [seen[t] for t in texts]

    return embed_once


def run_eval(assistant: Any, folder: Path, *, split: str = "dev", report: Report | None = None,
             word: bool = False, topics: int | None = None) -> dict[str, Any]:
    """Matching and generation on one ArgKP split; ``{"json", "text"}`` like the other evaluations.

    Needs only the assistant's embedder (no index, no model), unless ``word``: then the model words
    every generated key point. ``topics``: only the first N topics of the split.
    """
    embedder = assistant.embedder
    data = argkp.load(folder, split)
    if topics is not None:
        data = argkp.Split({t: data.arguments[t] for t in data.topics[:topics]}, data.key_points,
                           data.labels)
    embed = _memo(embedder.embed)
    report = report or Report()
    report.data.update({"split": split, "topics": [topic_id(data.arguments[t]) for t in data.topics],
                        "embedder": embedder.identity, "constants": constants(), "matching": {},
                        "generation": {}, "groups": []})
    preds: Predictions = {"embedding cosine": {}, "key point matching": {}, NO_NULL: {}}
    decisions: list[Decision] = []
    tally = GenerationTally()
    wordings = WordingTally(assistant, embed) if word else None
    groups = [(t, stance, side) for t in data.topics for stance, side in SIDES]
    for n, (topic, stance, side) in enumerate(groups, 1):
        args = [a for a in data.arguments[topic] if a.stance == stance]
        kps = [k for k in data.key_points.get(topic, []) if k.stance == stance]
        if args and kps:
            score_group(data, topic, args, kps, embed, preds, decisions)
        summary = keypoints.summarise([a.text for a in args], [a.arg_id for a in args], side, embed, topic=topic)
        report.data["groups"].append(tally.add(data, topic, args, kps, summary, embed))
        if wordings is not None:
            report.data["groups"][-1]["wording"] = wordings.add(data, topic, args, summary)
            report.data["wording"] = wordings.summary()
        report.data["matching"] = matching_rows(preds, data, decisions)
        report.data["generation"] = tally.summary()
        report.save()
        report.progress("kpa", n, len(groups), _running(report.data))
    return {"json": report.finish(), "text": text(split, report.data)}


def score_group(data: argkp.Split, topic: str, args: Sequence[argkp.Argument], kps: Sequence[argkp.KeyPoint],
                embed: keypoints.Embed, preds: Predictions, decisions: list[Decision]) -> None:
    """Both methods' best key point per argument, and the product's matched/unmatched evidence."""
    import numpy as np

    texts, kp_texts = [a.text for a in args], [k.text for k in kps]
    cos = np.asarray(embed(texts)) @ np.asarray(embed(kp_texts)).T
    for a, row in zip(args, cos, strict=True):
        best = int(row.argmax())
        preds["embedding cosine"][a.arg_id] = {kps[best].kp_id: float(row[best])}
    plain = keypoints.match(texts, kp_texts, embed, topic=topic, null_z=None)
    preds[NO_NULL].update({a.arg_id: {kps[plain.best[i]].kp_id: plain.scores[i]} for i, a in enumerate(args)})
    matching = keypoints.match(texts, kp_texts, embed, topic=topic)
    for i, a in enumerate(args):
        kp = kps[matching.best[i]].kp_id
        preds["key point matching"][a.arg_id] = {kp: matching.scores[i]}
        decisions.append((matching.scores[i], data.labels.get((a.arg_id, kp)) == 1,
                          any(data.labels.get((a.arg_id, k.kp_id)) == 1 for k in kps)))


def matching_rows(preds: Predictions, data: argkp.Split, decisions: Sequence[Decision]) -> dict[str, Any]:
    rows: dict[str, Any] = {name: track1_map(p, data) for name, p in preds.items()}
    rows["key point matching"].update(unmatched_decision(decisions, keypoints.MATCH_MIN))
    return rows


def unmatched_decision(decisions: Sequence[Decision], threshold: float) -> dict[str, Any]:
    """At ``threshold``: share matched, precision of the matched, accuracy over arguments, best threshold here.

    An argument is right when matched to a key point labelled 1, or unmatched with no key point labelled 1.

    >>> unmatched_decision([(0.9, True, True), (0.5, False, False)], 0.8)["argument_accuracy"]
    1.0
    """
    def at(t: float) -> tuple[float, float, float]:
        matched = [d for d in decisions if d[0] >= t]
        right = sum(d[1] for d in matched) + sum(not d[2] for d in decisions if d[0] < t)
        precision = sum(d[1] for d in matched) / len(matched) if matched else 0.0
        return len(matched) / len(decisions), precision, right / len(decisions)

    if not decisions:
        return {}
    share, precision, accuracy = at(threshold)
    grid = [round(0.2 + 0.05 * i, 2) for i in range(30)]
    best = max(grid, key=lambda t: at(t)[2])
    return {"matched_share": round(share, 3), "matched_precision": round(precision, 3),
            "argument_accuracy": round(accuracy, 3), "best_threshold_here": best,
            "best_accuracy_here": round(at(best)[2], 3)}


class GenerationTally:
    """Coverage and prevalence pairs over the topic-sides of a split."""

    def __init__(self) -> None:
        self.gold = self.covered_labels = self.covered_matching = 0
        self.words: list[int] = []  # per generated key point
        self.args = self.args_matched = 0
        self.pairs: list[tuple[float, float]] = []  # (generated share, gold share)

    def add(self, data: argkp.Split, topic: str, args: Sequence[argkp.Argument], kps: Sequence[argkp.KeyPoint],
            summary: keypoints.Summary, embed: keypoints.Embed) -> dict[str, Any]:
        """One topic-side: counts, and per generated point its source argument's id, matches, share, gold id."""
        ids = [a.arg_id for a in args]
        gold_share = {k.kp_id: sum(data.labels.get((i, k.kp_id)) == 1 for i in ids) / len(ids) for k in kps}
        gold = [gold_point(p, ids, kps, data.labels) for p in summary.key_points]
        by_matching = covered_by_matching(summary, kps, embed, topic)
        self.gold += len(kps)
        self.covered_labels += len({k for k in gold if k})
        self.covered_matching += len(by_matching)
        self.words += [len(p.text.split()) for p in summary.key_points]
        self.args += len(args)
        self.args_matched += len(args) - len(summary.unmatched)
        self.pairs += [(p.share, gold_share[k]) for p, k in zip(summary.key_points, gold, strict=True) if k]
        return {"topic": topic_id(args), "side": summary.side, "arguments": len(args), "gold": len(kps),
                "covered_labels": len({k for k in gold if k}), "covered_matching": len(by_matching),
                "generated": [{"source": ids[p.source], "matched": len(p.sentences), "share": p.share, "gold": k}
                              for p, k in zip(summary.key_points, gold, strict=True)]}

    def summary(self) -> dict[str, Any]:
        def share(a: int, b: int) -> float | None:
            return round(a / b, 3) if b else None

        return {"gold": self.gold, "coverage_labels": share(self.covered_labels, self.gold),
                "coverage_matching": share(self.covered_matching, self.gold), "generated": len(self.words),
                "mean_words": round(sum(self.words) / len(self.words), 1) if self.words else None,
                "arguments_matched": share(self.args_matched, self.args),
                "spearman": spearman([a for a, _ in self.pairs], [b for _, b in self.pairs]),
                "spearman_pairs": len(self.pairs)}


WORDING_ROWS = ("clause (before)", "model draft, unchecked", "shown (after)")


class WordingTally:
    """Old beside new on the same generated key points: the clause, the model's draft, what is shown."""

    def __init__(self, assistant: Any, embed: keypoints.Embed) -> None:
        from ..writing import prompts

        s = assistant.settings
        self.generator, self.embed, self.prompts_dir = assistant.generator, embed, s.prompts_dir
        self.render = lambda name, **values: prompts.render(s.prompts_dir, name, **values)
        self.instructions = prompts.instructions(s.prompts_dir, "keypoint_word")
        self.points = self.kept = self.unfinished_shown = 0
        self.reasons: dict[str, int] = {}
        self.ranks: dict[str, list[int]] = {r: [] for r in WORDING_ROWS}
        self.words: dict[str, list[int]] = {r: [] for r in WORDING_ROWS}
        self.seconds = 0.0

    def add(self, data: argkp.Split, topic: str, args: Sequence[argkp.Argument],
            summary: keypoints.Summary) -> list[dict[str, Any]]:
        """Word one topic-side's key points; per point its gold id, the reason it was refused, three ranks."""
        import time

        from ..writing import finish, wording

        texts, ids = [a.text for a in args], [a.arg_id for a in args]
        groups = [wording.Group(p.text, tuple(texts[i] for i in (p.source, *[j for j in p.sentences
                                                                           if j != p.source])))
                  for p in summary.key_points]
        started = time.perf_counter()
        words = wording.settle(self.generator, self.render, self.embed, groups, topic, self.instructions)
        self.seconds += time.perf_counter() - started
        all_kps = data.key_points.get(topic, [])
        rows = []
        for p, w in zip(summary.key_points, words, strict=True):
            gold = gold_point(p, ids, all_kps, data.labels)
            self.points += 1
            self.kept += w.worded
            if w.failed:
                self.reasons[w.failed] = self.reasons.get(w.failed, 0) + 1
            self.unfinished_shown += finish.unfinished(w.text)
            row: dict[str, Any] = {"source": ids[p.source], "gold": gold, "failed": w.failed,
                                   "p_yes": None if w.p_yes is None else round(w.p_yes, 3)}
            for name, text in zip(WORDING_ROWS, (w.clause, w.draft, w.text), strict=True):
                self.words[name].append(len(text.split()))
                if gold:
                    rank = gold_rank(text, gold, all_kps, self.embed)
                    self.ranks[name].append(rank)
                    row[name] = rank
            rows.append(row)
        return rows

    def summary(self) -> dict[str, Any]:
        def figures(name: str) -> dict[str, Any]:
            ranks, n = self.ranks[name], len(self.ranks[name])
            return {"hit_at_1": round(sum(r == 1 for r in ranks) / n, 3) if n else None,
                    "mrr": round(sum(1 / r for r in ranks) / n, 3) if n else None, "scored": n,
                    "mean_words": round(sum(self.words[name]) / len(self.words[name]), 1) if self.words[name] else None}

        return {"points": self.points, "kept": self.kept, "refused": dict(sorted(self.reasons.items())),
                "unfinished_shown": self.unfinished_shown, "seconds": round(self.seconds, 1),
                "rows": {name: figures(name) for name in WORDING_ROWS}}


def gold_rank(text: str, gold: str, kps: Sequence[argkp.KeyPoint], embed: keypoints.Embed) -> int:
    """1-based rank of the gold key point among ``kps`` by cosine to ``text`` (an empty text ranks last)."""
    import numpy as np

    if not text.strip():
        return len(kps)
    vecs = np.asarray(embed([text, *[k.text for k in kps]]))
    sims = vecs[1:] @ vecs[0]
    order = [kps[i].kp_id for i in np.argsort(-sims, kind="stable")]
    return order.index(gold) + 1


def gold_point(point: keypoints.KeyPoint, ids: Sequence[str], kps: Sequence[argkp.KeyPoint],
               labels: dict[tuple[str, str], int]) -> str | None:
    """The gold key point a strict majority of the point's matched arguments are labelled 1 to, if any."""
    if not point.sentences or not kps:
        return None
    votes = {k.kp_id: sum(labels.get((ids[i], k.kp_id)) == 1 for i in point.sentences) for k in kps}
    best = max(votes, key=lambda k: votes[k])
    return best if votes[best] * 2 > len(point.sentences) else None


def covered_by_matching(summary: keypoints.Summary, kps: Sequence[argkp.KeyPoint], embed: keypoints.Embed,
                        topic: str) -> set[str]:
    """Gold key points whose best generated key point scores at least ``MATCH_MIN`` (the product's rule)."""
    if not summary.key_points or not kps:
        return set()
    m = keypoints.match([k.text for k in kps], [p.text for p in summary.key_points], embed, topic=topic)
    return {k.kp_id for i, k in enumerate(kps) if m.assigned(i) is not None}


def constants() -> dict[str, float]:
    names = ("MAX_WORDS", "TEMPERATURE", "NULL_Z", "MATCH_MIN", "SUPPORT_MIN", "SUPPORT_NN", "DUPLICATE_MIN",
             "MIN_COVER", "K_MAX")
    return {n.lower(): getattr(keypoints, n) for n in names}


def _running(data: dict[str, Any]) -> str:
    cells = [f"{name} strict {r['strict']}" for name, r in data["matching"].items()]
    return ", ".join(cells + [f"coverage {data['generation']['coverage_labels']}"])


def text(split: str, data: dict[str, Any]) -> str:
    """Markdown: the matching table with the published figures, then the generation table."""
    lines = [f"ArgKP {split}, {len(data['topics'])} topics, embedder {data['embedder']}", "",
             "| method | mAP strict | mAP relaxed | strict (2021-06 script) | relaxed (2021-06 script) |",
             "|---|---:|---:|---:|---:|"]
    for name, r in data["matching"].items():
        lines.append(f"| {name} | {r['strict']} | {r['relaxed']} | {r['strict_2021_06']} | {r['relaxed_2021_06']} |")
    for name, strict, relaxed in LEADERBOARD:  # scored while the competition ran: the 2021-06 script
        lines.append(f"| {name} (published, test split) | - | - | {strict} | {relaxed or '-'} |")
    d = data["matching"].get("key point matching", {})
    if d:
        lines += ["", f"Unmatched at MATCH_MIN {keypoints.MATCH_MIN}: {d['matched_share']} of arguments matched, "
                      f"precision {d['matched_precision']}, argument accuracy {d['argument_accuracy']} "
                      f"(best threshold on this split {d['best_threshold_here']}: {d['best_accuracy_here']})."]
    g = data["generation"]
    lines += ["", "| split | gold key points | covered (labels) | covered (matching) | generated | mean words | "
                  "arguments matched | Spearman prevalence (pairs) |", "|---|---:|---:|---:|---:|---:|---:|---:|",
              f"| {split} | {g['gold']} | {g['coverage_labels']} | {g['coverage_matching']} | {g['generated']} | "
              f"{g['mean_words']} | {g['arguments_matched']} | {g['spearman']} ({g['spearman_pairs']}) |"]
    w = data.get("wording")
    if w:
        lines += ["", f"Key point wording: {w['kept']} of {w['points']} worded by the model and kept; refused "
                      f"{w['refused']}; unfinished shown {w['unfinished_shown']}; {w['seconds']} s of model time.",
                  "", "| key point text | hit@1 (gold key point nearest) | MRR | scored | mean words |",
                  "|---|---:|---:|---:|---:|"]
        for name, r in w["rows"].items():
            lines.append(f"| {name} | {r['hit_at_1']} | {r['mrr']} | {r['scored']} | {r['mean_words']} |")
    return "\n".join(lines)
