"""The KPA 2021 shared task's track 1 metric, and Spearman's rho, without pandas or scikit-learn.

``track1_map`` follows ``code/track_1_kp_matching.py`` of
github.com/IBM/KPA_2021_shared_task: each argument keeps its best key point;
per topic and stance the pairs are ranked by score and the top half kept (an
argument without a prediction is a "dummy" pair, label 0, score 0, set to
0.99 if it reaches the top half); average precision there (scikit-learn's:
tied scores are one threshold), with undecided pairs (absent from the labels
file) as no match (strict) or match (relaxed); the mean over topic-stance
groups. The script's last revision (2021-09-23, "consider the maximum
possible recall") multiplies each AP by the share of positives in the top
half; the revision the competition ran with (2021-06-23) did not: both are
computed. Not handled: the script's random choice among tied key points of
one argument (here the first in the prediction's order wins).
"""

from __future__ import annotations

from collections.abc import Sequence

from .argkp import Split

DUMMY = "dummy_id"


def average_precision(labels: Sequence[int], scores: Sequence[float]) -> float:
    """scikit-learn's ``average_precision_score``: tied scores are one threshold; no positive -> 0.

    >>> average_precision([1, 0, 1, 0], [0.9, 0.9, 0.5, 0.1])  # P 1/2 at R 1/2, P 2/3 at R 1
    0.5833333333333333
    """
    positives = sum(labels)
    if not positives:
        return 0.0
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    ap, tp, seen, last_recall = 0.0, 0, 0, 0.0
    for n, i in enumerate(order):
        tp += labels[i]
        seen += 1
        if n + 1 < len(order) and scores[order[n + 1]] == scores[i]:
            continue  # the rest of a tie belongs to the same threshold
        recall = tp / positives
        ap += (recall - last_recall) * tp / seen
        last_recall = recall
    return ap


def group_ap(pairs: Sequence[tuple[str, float, int]], *, factor: bool) -> float:
    """One topic-stance group: pairs (kp_id, score, label) -> AP of the top half, as the script does it.

    >>> group_ap([("k1", 0.9, 1), ("k2", 0.8, 0), ("k1", 0.2, 1), ("k2", 0.1, 0)], factor=False)
    1.0
    >>> group_ap([("k1", 0.9, 1), ("k2", 0.8, 0), ("k1", 0.2, 1), ("k2", 0.1, 0)], factor=True)
    0.5
    """
    import numpy as np

    # pandas' sort_values(ascending=False) (its nargsort), so that the same tied pairs make the cut
    scores = np.array([p[1] for p in pairs], dtype=np.float64)[::-1]
    order = np.arange(len(pairs))[::-1][scores.argsort(kind="quicksort")][::-1]
    top = [pairs[i] for i in order[:int(len(pairs) * 0.5)]]
    labels = [label for _, _, label in top]
    ap = average_precision(labels, [0.99 if kp == DUMMY else score for kp, score, _ in top])
    return ap * sum(labels) / len(top) if factor and top else ap


def track1_map(predictions: dict[str, dict[str, float]], split: Split) -> dict[str, float]:
    """Strict and relaxed mAP of ``{arg_id: {kp_id: score}}``, both script revisions.

    Keys: ``strict``, ``relaxed`` (the current script), ``strict_2021_06``, ``relaxed_2021_06``.
    """
    known = {k.kp_id for kps in split.key_points.values() for k in kps}
    groups: dict[tuple[str, int], list[tuple[str, float, int | None]]] = {}
    for topic, args in split.arguments.items():
        for a in args:
            valid = {k: s for k, s in predictions.get(a.arg_id, {}).items() if k in known}
            kp, score = max(valid.items(), key=lambda x: x[1]) if valid else (DUMMY, 0.0)
            label = 0 if kp == DUMMY else split.labels.get((a.arg_id, kp))
            groups.setdefault((topic, a.stance), []).append((kp, score, label))
    out = {}
    for name, undecided in (("strict", 0), ("relaxed", 1)):
        for suffix, factor in (("", True), ("_2021_06", False)):
            aps = [group_ap([(k, s, undecided if lab is None else lab) for k, s, lab in g], factor=factor)
                   for g in groups.values()]
            out[name + suffix] = round(sum(aps) / len(aps), 4) if aps else 0.0
    return out


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Spearman's rho with average ranks for ties; None under 3 pairs or without variation.

    >>> spearman([1, 2, 3, 4], [10, 20, 40, 30])
    0.8
    """
    if len(xs) < 3:
        return None
    rx, ry = ranks(xs), ranks(ys)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    vx, vy = sum((a - mx) ** 2 for a in rx), sum((b - my) ** 2 for b in ry)
    return round(cov / (vx * vy) ** 0.5, 4) if vx and vy else None


def ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks, ties sharing their mean rank.

    >>> ranks([10, 30, 20, 20])
    [1.0, 4.0, 2.5, 2.5]
    """
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return out
