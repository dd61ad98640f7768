"""Key point analysis: a few short statements that sum up one side's texts, each with its prevalence.

``summarise`` takes the texts of one side (a library's sentences, or crowd
arguments), draws key point candidates FROM them (``candidates``: short,
well-formed sentences or clauses of at most 12 words, not questions, not
fragments, not restatements of the topic, near-duplicates merged), picks
greedily the distinct candidates that cover the most texts not yet covered,
then matches every text to its best key point (``match``) and counts
prevalence: matched texts, distinct documents, share of the side. A text
whose best score is below the threshold is unmatched, never forced.

Scores live in a "topic-free" space: every vector loses its component along
the topic (the motion's embedding, or the texts' mean when no topic is
given), because all texts of a debate share the topic and plain cosines
mostly measure that. A match score is that cosine plus its softmax over the
key points (``TEMPERATURE``): a text is scored against the alternatives, not
in a vacuum. The numbers below were chosen on ArgKP train (``eval/kpa_tune.py``)
and are reported on dev (``assistant eval kpa``, ``evaluation/kpa_eval.py``).

Not handled: rewording a key point (``wording.py`` does it with checks; measured
and not used by the overview, see there), negation
(an embedding puts "X is safe" near "X is not safe": the caller separates the
sides), texts that are not English (the clause rules are), and stance: the
caller gives one side's texts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .clauses import MAX_WORDS, clauses
from .gates import restates

Embed = Callable[[list[str]], list[list[float]]]

# Chosen on ArgKP *train* (eval/kpa_tune.py, eval/results/kpa_tune_train.json; docs/evaluation.md):
TEMPERATURE = 0.1  # softmax over key points: best track 1 mAP of 0.02-1.0 (0.05 and 0.2 within 0.01)
NULL_Z = 0.0  # "no key point" competes in the softmax at the mean text-key point cosine (+ this many deviations);
# it costs 0.004-0.012 mAP on train, and without it a side with one key point matched every one of its sentences
MATCH_MIN = 0.80  # match score (topic-free cosine + softmax) under which a text is unmatched: best argument accuracy
SUPPORT_MIN = 0.6  # topic-free cosine at which a candidate covers a text ...
SUPPORT_NN = 0.9  # ... or lower: this share of the side's median nearest-neighbour cosine. A library's sentences
# are worded more variously than crowd arguments: there a flat 0.55 let no clause cover three sentences of one point
DUPLICATE_MIN = 0.7  # topic-free cosine at which two candidates say the same thing
MIN_COVER = 3  # a key point must cover at least this many texts not covered by earlier ones
# SUPPORT_MIN was 0.55 until the embedder gave each text one vector, whatever its batch; the same sweep on the
# new vectors put 0.6 first. It put MIN_COVER 2 first too (one gold key point of 207 more); 3 stays, because
# on a library two sentences the stance step misfiled then make a listed key point (docs/evaluation.md,
# "Twelfth session")
K_MAX = 6  # key points per side at most; the product passes the request's k (default 6, Settings.k)


@dataclass(frozen=True)
class Candidate:
    """A statement drawn from ``texts[source]``; ``support``: the texts it covers, best first."""

    text: str
    source: int
    support: tuple[int, ...]


@dataclass(frozen=True)
class Matching:
    """Each text's best key point and score; ``best[i]`` is -1 when there are no key points."""

    best: tuple[int, ...]
    scores: tuple[float, ...]
    threshold: float

    def assigned(self, i: int) -> int | None:
        """The key point text ``i`` is matched to, or None (unmatched)."""
        return self.best[i] if self.best[i] >= 0 and self.scores[i] >= self.threshold else None

    @property
    def unmatched(self) -> tuple[int, ...]:
        return tuple(i for i in range(len(self.best)) if self.assigned(i) is None)


@dataclass(frozen=True)
class KeyPoint:
    """One key point and its prevalence: the texts matched to it, their documents, their share of the side."""

    text: str
    side: str
    sentences: tuple[int, ...]
    documents: int
    share: float
    source: int  # the text the statement was taken from


@dataclass(frozen=True)
class Summary:
    """One side's key points, most prevalent first, and the texts that match none of them."""

    side: str
    key_points: tuple[KeyPoint, ...]
    unmatched: tuple[int, ...]
    total: int


def candidates(texts: Sequence[str], embed: Embed, *, topic: str | None = None, max_words: int = MAX_WORDS,
               support_min: float = SUPPORT_MIN, support_nn: float | None = SUPPORT_NN,
               duplicate_min: float = DUPLICATE_MIN) -> list[Candidate]:
    """Key point candidates drawn from ``texts``, most central first, near-duplicates and topic restatements out."""
    return _Space.build(texts, embed, topic).candidates(max_words, support_min, support_nn, duplicate_min)


def match(texts: Sequence[str], key_points: Sequence[str], embed: Embed, *, topic: str | None = None,
          threshold: float = MATCH_MIN, temperature: float = TEMPERATURE, null_z: float | None = NULL_Z) -> Matching:
    """Each text's best key point and its score; under ``threshold`` the text is unmatched."""
    space = _Space.build(texts, embed, topic)
    return space.match(space.vectors(key_points), threshold, temperature, null_z)


def summarise(texts: Sequence[str], doc_ids: Sequence[str], side: str, embed: Embed, *, topic: str | None = None,
              k_max: int = K_MAX, min_cover: int = MIN_COVER, threshold: float = MATCH_MIN,
              support_min: float = SUPPORT_MIN, support_nn: float | None = SUPPORT_NN,
              duplicate_min: float = DUPLICATE_MIN, temperature: float = TEMPERATURE,
              null_z: float | None = NULL_Z) -> Summary:
    """Key points of one side's texts with their prevalence, most prevalent first.

    ``doc_ids[i]`` is the document of ``texts[i]`` (prevalence counts documents too).
    """
    if len(doc_ids) != len(texts):
        raise ValueError("summarise needs one document id per text")
    if not texts:
        return Summary(side, (), (), 0)
    space = _Space.build(texts, embed, topic)
    chosen = select(space.candidates(MAX_WORDS, support_min, support_nn, duplicate_min), k_max, min_cover)
    matching = space.match(space.vectors([c.text for c in chosen]), threshold, temperature, null_z)
    return prevalence(chosen, matching, doc_ids, side)


def select(cands: Sequence[Candidate], k_max: int, min_cover: int) -> list[Candidate]:
    """Greedy cover: each pick covers the most texts no earlier pick covers; stop under ``min_cover``.

    >>> c = [Candidate("a", 0, (0, 1, 2)), Candidate("b", 3, (1, 2)), Candidate("c", 4, (4, 5))]
    >>> [x.text for x in select(c, 5, 2)]
    ['a', 'c']
    """
    chosen: list[Candidate] = []
    covered: set[int] = set()
    left = list(cands)
    while left and len(chosen) < k_max:
        gains = [len(set(c.support) - covered) for c in left]
        best = max(range(len(left)), key=lambda i: gains[i])  # first of equals: the more central one
        if gains[best] < min_cover:
            break
        chosen.append(left.pop(best))
        covered |= set(chosen[-1].support)
    return chosen


def prevalence(chosen: Sequence[Candidate], matching: Matching, doc_ids: Sequence[str], side: str) -> Summary:
    """Count each key point's texts and documents; order by texts, then documents; empty key points dropped."""
    members: dict[int, list[int]] = {}
    for i in range(len(doc_ids)):
        k = matching.assigned(i)
        if k is not None:
            members.setdefault(k, []).append(i)
    total = len(doc_ids)
    points = [KeyPoint(c.text, side, tuple(members[k]), len({doc_ids[i] for i in members[k]}),
                       round(len(members[k]) / total, 4), c.source)
              for k, c in enumerate(chosen) if members.get(k)]
    points.sort(key=lambda p: (-len(p.sentences), -p.documents))
    return Summary(side, tuple(points), matching.unmatched, total)


def confirm(summary: Summary, texts: Sequence[str], doc_ids: Sequence[str],
            says: Callable[[list[tuple[str, str]]], list[bool]]) -> Summary:
    """Keep a text under its key point only when ``says(key point, text)`` holds; the rest become unmatched.

    Matching is by embeddings, which put sentences near key points they do not make (on the seeds, the list
    item "Working for multiple organizations simultaneously" under "The increase in distributed work
    capabilities"). ``says`` is the overview's check by the model (``faithful.check`` read as in a tag:
    does the sentence say the key point?), one card per matched text. A key point left with no text is
    dropped; prevalence is counted again and the order follows it.

    >>> s = Summary("pro", (KeyPoint("a", "pro", (0, 1), 2, 0.667, 0),), (2,), 3)
    >>> c = confirm(s, ["x", "y", "z"], ["d1", "d2", "d3"], lambda cards: [t == "x" for _, t in cards])
    >>> c.key_points[0].sentences, c.key_points[0].documents, c.key_points[0].share, c.unmatched
    ((0,), 1, 0.3333, (1, 2))
    """
    cards = [(p.text, texts[i]) for p in summary.key_points for i in p.sentences]
    verdicts = iter(says(cards) if cards else [])
    points: list[KeyPoint] = []
    dropped: list[int] = []
    for p in summary.key_points:
        kept: list[int] = []
        for i in p.sentences:
            (kept if next(verdicts) else dropped).append(i)
        if kept:
            points.append(KeyPoint(p.text, p.side, tuple(kept), len({doc_ids[i] for i in kept}),
                                   round(len(kept) / summary.total, 4), p.source))
    points.sort(key=lambda p: (-len(p.sentences), -p.documents))
    return Summary(summary.side, tuple(points), tuple(sorted({*summary.unmatched, *dropped})), summary.total)


class _Space:
    """The texts' vectors with the topic direction removed, and the scores computed there."""

    def __init__(self, texts: Sequence[str], embed: Embed, raw: Any, topic: str | None, topic_vec: Any) -> None:
        import numpy as np

        direction = topic_vec if topic_vec is not None else raw.mean(axis=0) if len(raw) else np.zeros(1)
        self.direction = direction / max(float(np.linalg.norm(direction)), 1e-9)
        self.texts, self.embed, self.topic, self.topic_vec = list(texts), embed, topic, topic_vec
        self.text_vecs = self.project(raw)

    @classmethod
    def build(cls, texts: Sequence[str], embed: Embed, topic: str | None) -> _Space:
        raw = _array(embed(list(texts)) if texts else [])
        return cls(texts, embed, raw, topic, _array(embed([topic]))[0] if topic else None)

    def project(self, m: Any) -> Any:
        """Each row without its component along the topic, unit length again."""
        import numpy as np

        if len(m) == 0:
            return m
        out = m - np.outer(m @ self.direction, self.direction)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)

    def neighbour(self) -> float:
        """The median, over texts, of each one's cosine to its nearest other text (1.0 under two texts)."""
        import numpy as np

        if len(self.text_vecs) < 2:
            return 1.0
        sims = self.text_vecs @ self.text_vecs.T
        np.fill_diagonal(sims, -1.0)
        return float(np.median(sims.max(axis=1)))

    def vectors(self, texts: Sequence[str]) -> Any:
        return self.project(_array(self.embed(list(texts)) if texts else []))

    def match(self, kp_vecs: Any, threshold: float, temperature: float, null_z: float | None) -> Matching:
        import numpy as np

        if len(kp_vecs) == 0 or not self.texts:
            return Matching((-1,) * len(self.texts), (0.0,) * len(self.texts), threshold)
        cosines = self.text_vecs @ kp_vecs.T
        scores = match_scores(cosines, temperature, null=None if null_z is None else above(cosines, null_z))
        best = scores.argmax(axis=1)
        return Matching(tuple(int(b) for b in best), tuple(float(s) for s in scores[np.arange(len(best)), best]),
                        threshold)

    def candidates(self, max_words: int, support_min: float, support_nn: float | None,
                   duplicate_min: float) -> list[Candidate]:
        import numpy as np

        drawn: dict[str, int] = {}
        for i, text in enumerate(self.texts):
            for clause in clauses(text, max_words):
                drawn.setdefault(clause, i)
        statements = list(drawn)
        raw = _array(self.embed(statements) if statements else [])
        if self.topic and len(raw):  # "homeschooling should be banned" is the motion, not a point about it
            keep = [not restates(s, self.topic, float(v @ self.topic_vec))
                    for s, v in zip(statements, raw, strict=True)]
            statements, raw = [s for s, k in zip(statements, keep, strict=True) if k], raw[np.array(keep)]
        if not statements:
            return []
        vecs = self.project(raw)
        sims = vecs @ self.text_vecs.T
        floor = support_min if support_nn is None else min(support_min, support_nn * self.neighbour())
        cover = [np.flatnonzero(row >= floor) for row in sims]
        order = sorted(range(len(statements)), key=lambda j: (-len(cover[j]), -float(sims[j].mean())))
        kept: list[int] = []
        for j in order:
            if all(float(vecs[j] @ vecs[k]) < duplicate_min for k in kept):
                kept.append(j)
        return [Candidate(statements[j], drawn[statements[j]],
                          tuple(int(i) for i in cover[j][np.argsort(-sims[j][cover[j]], kind="stable")]))
                for j in kept]


def _array(vectors: Any) -> Any:
    import numpy as np

    return np.asarray(vectors, dtype=np.float32).reshape(len(vectors), -1) if len(vectors) else np.zeros((0, 0))


def above(m: Any, z: float) -> float:
    """The value ``z`` standard deviations above the mean of ``m``: "unusually similar" on this side.

    >>> import numpy as np
    >>> above(np.array([[0.0, 1.0], [0.0, 1.0]]), 1.0)
    1.0
    """
    return float(m.mean() + z * m.std()) if m.size else 0.0


def match_scores(cosines: Any, temperature: float = TEMPERATURE, null: float | None = None) -> Any:
    """Topic-free cosine plus its softmax over the key points (rows: texts, columns: key points).

    With ``null``, "no key point" takes part in the softmax as one more column of that cosine, so a
    lone key point does not win every text by default.

    >>> import numpy as np
    >>> s = match_scores(np.array([[0.5, 0.5], [0.9, 0.1]]))
    >>> [round(float(x), 3) for x in s[0]], round(float(s[1, 0]), 3)
    ([1.0, 1.0], 1.9)
    >>> round(float(match_scores(np.array([[0.2]]), null=0.5)[0, 0]), 3)  # well below "no key point"
    0.247
    """
    import numpy as np

    full = cosines if null is None else np.hstack([cosines, np.full((len(cosines), 1), null)])
    z = (full - full.max(axis=1, keepdims=True)) / temperature
    e = np.exp(z)
    return cosines + (e / e.sum(axis=1, keepdims=True))[:, :cosines.shape[1]]
