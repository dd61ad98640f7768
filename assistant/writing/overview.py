"""The overview mode's steps: per side, the library's key points, each with its prevalence and its cards.

After the stance step (``modes.STANCE``, the same one a brief runs) has
labelled every gathered sentence support / oppose / neutral, each side's
sentences go to ``keypoints.summarise``: key points are clauses of the
library's own sentences (at most 12 words), each with the sentences matched
to it, their documents and their share of the side. With a model marked
``judge`` in models.txt (the default one), each match is then checked by the
model (``says``: does the sentence make the key point?) and a sentence that
fails is unmatched (``keypoints.confirm``). Every matched sentence
becomes a verified quote (``cite.verify``: the stored text at its offsets),
so a key point is a tag over cards. A sentence that matches no key point is
counted in a notice, never forced under one, unless the user set its side
(``output/sides.py``): then it is listed as a point of its own, so a claim the
user marked is never hidden for being the only one of its kind. Neutral
sentences are left out and counted too. The FOR side's key points are sent
(``Draft``) before the AGAINST side is summarised.

Not handled: rewording a key point with the model. ``wording.py`` does it with
checks, and ``assistant eval kpa --word`` measured it on ArgKP: the 1.5B model
copies the clause in 3 of 4 cases and lengthens most of the rest past 12
words; the one shown change on train moved a key point away from its gold
one, so the verbatim clause stays the key point (docs/evaluation.md). Also
not handled: sentences whose side depends on their neighbours (the stance
step's limit).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import lru_cache

from ..events import Draft
from ..types import Point, Prevalence, Sentence
from . import faithful, keypoints
from .cite import verify
from .clauses import MAX_WORDS, clauses
from .fields import with_stance
from .finish import DANGLING
from .gates import cosine
from .steps import Context, Step

THIN = 2  # a side with fewer labelled sentences than this is called thin, as in a brief
SIDES = (("keypoint_for", "support", "FOR"), ("keypoint_against", "oppose", "AGAINST"))


def _clip(text: str, words: int = 25) -> str:
    parts = text.split()
    return " ".join(parts[:words]) + (" ..." if len(parts) > words else "")


def summarise_side(ctx: Context, section: str, side: str, name: str) -> None:
    """One side's key points as points with prevalence and verified quotes; notices for what is not listed."""
    mine = [s for s in ctx.sentences if s.sid in ctx.stances and ctx.stances[s.sid].label == side]
    doc_text = lru_cache(maxsize=None)(ctx.doc_text)  # one read of each document for all its quotes
    if len(mine) < THIN:
        lone = f' ("{_clip(mine[0].text)}")' if mine else ""
        why = ", too little to build a side on" if mine else ""
        ctx.notices.append(f"Your library has little evidence {name} this motion: {len(mine)} "
                           f"sentence{'s' * (len(mine) != 1)} of the {len(ctx.sentences)} read "
                           f"argue{'s' * (len(mine) == 1)} it{lone}{why}.")
        list_set_by_user(ctx, section, name, mine, range(len(mine)), len(mine), doc_text)
        return
    texts, docs = [s.text for s in mine], [s.doc_id for s in mine]
    summary = keypoints.summarise(texts, docs, side, ctx.embed, topic=ctx.request,
                                  k_max=ctx.plans.key_points or keypoints.K_MAX)
    confirmed = keypoints.confirm(summary, texts, docs, lambda cards: says(ctx, cards))
    if len(confirmed.unmatched) > len(summary.unmatched):
        ctx.count("keypoint_unconfirmed", len(confirmed.unmatched) - len(summary.unmatched))
    summary = confirmed
    for kp in summary.key_points:
        quotes = verify([mine[i].sid for i in kp.sentences], ctx.sentences, ctx.passages, doc_text)
        quotes = tuple(with_stance(ctx, q) for q in quotes)
        prevalence = Prevalence(len(kp.sentences), kp.documents, kp.share, summary.total)
        ctx.points.append(Point(section, kp.text, quotes=quotes, prevalence=prevalence))
    listed = list_set_by_user(ctx, section, name, mine, summary.unmatched, summary.total, doc_text)
    left = len(summary.unmatched) - listed
    if not summary.key_points and left:
        ctx.notices.append(f"The {left} {'other ' * bool(listed)}sentences {name} this motion share no key "
                           "point: each makes a point of its own (not listed).")
    elif left:
        ctx.notices.append(f"{left} of the {len(mine)} sentences {name} this motion match none of its key "
                           "points (not listed).")
    ctx.emit(Draft(tuple(ctx.points)))


def says(ctx: Context, cards: list[tuple[str, str]]) -> list[bool]:
    """Does each sentence make its key point? The tag check (``faithful.check``): the model's P(yes), bar 0.5.

    Only the P(yes) bar: a key point is a clause of the library, and ``faithful.passes``'s other rules
    (a dangling last word, a foreign script) would drop every card of it, not a misread one.

    Embeddings alone put a sentence under a key point it does not make. On ArgKP dev (``eval/kpa_check.py``)
    the check raises the share of matches labelled right from 0.613 to 0.656, keeps 8 of the 69 other-side
    arguments that embeddings listed off the page, and costs 1.7 s per card on one core
    (docs/evaluation.md, "Thirteenth session: overview cards checked by the model"). On the seeds it failed
    1 card of 23 and kept one on the wrong side (the stance step's error, not matching's).
    """
    if not getattr(ctx.generator, "judge", False):  # a model whose yes/no reads are not measured as a check
        return [True] * len(cards)
    return [p >= faithful.THRESHOLD for p in faithful.check(ctx.generator, ctx.task, cards)]


def list_set_by_user(ctx: Context, section: str, name: str, mine: list[Sentence], unmatched: Iterable[int],
                     total: int, doc_text: Callable[[str], str]) -> int:
    """Sentences a user set on this side that no key point holds, each listed as a point of its own.

    The stance step's labels alone are not trusted for this (on the seeds, 6 of the 9 sentences it put
    AGAINST argue FOR or neither: docs/evaluation.md), so only sides the user set (``output/sides.py``)
    are listed, at most ``keypoints.K_MAX`` per side; each point is labelled with verbatim words of its
    sentence (``own_label``) over that sentence's card. Returns how many were listed.
    """
    chosen = [mine[i] for i in unmatched if ctx.stances[mine[i].sid].corrected][:keypoints.K_MAX]
    for sentence in chosen:
        quotes = tuple(with_stance(ctx, q) for q in verify([sentence.sid], ctx.sentences, ctx.passages, doc_text))
        ctx.points.append(Point(section, own_label(sentence.text, ctx.embed),
                                reasoning=f"A point you set {name} this motion; no other sentence here shares it.",
                                quotes=quotes, prevalence=Prevalence(1, 1, round(1 / max(total, 1), 4), total)))
    return len(chosen)


def own_label(text: str, embed: Callable[[list[str]], list[list[float]]]) -> str:
    """A lone sentence's point: its clause nearest the whole (``clauses``), else its opening words, marked cut.

    The opening words end at the last comma within ``MAX_WORDS`` words, never on a dangling small word.

    >>> own_label("Cars pollute.", lambda texts: [[1.0]] * len(texts))
    'Cars pollute'
    >>> own_label("We are creating a whole generation and probably a generation beyond that of people who are "
    ...           "used to actually not doing what I call proper work.", lambda texts: [[1.0]] * len(texts))
    'We are creating a whole generation and probably a generation beyond …'
    """
    found = clauses(text)
    if found:
        whole, *vecs = embed([text, *found])
        return found[max(range(len(found)), key=lambda i: cosine(whole, vecs[i]))]
    words = text.strip().strip("“”\"'").rstrip(".!").split()
    if len(words) <= MAX_WORDS + 3:
        return " ".join(words)
    cut = words[:MAX_WORDS]
    commas = [i for i, w in enumerate(cut[:-1]) if i >= 3 and w.endswith(",")]
    cut = cut[:commas[-1] + 1] if commas else cut  # at a clause boundary when there is one
    while len(cut) > 3 and cut[-1].lower().strip(",;:") in DANGLING:
        cut.pop()
    return " ".join(cut).rstrip(",;:") + " …"


def side_step(section: str, side: str, name: str) -> Step:
    return Step(f"keypoints_{name.lower()}", f"Finding the key points {name} and counting them",
                action=lambda ctx: summarise_side(ctx, section, side, name))


def count_neutral(ctx: Context) -> None:
    """Say how many sentences argue neither side (they are read, and left out)."""
    neutral = sum(1 for s in ctx.sentences if s.sid in ctx.stances and ctx.stances[s.sid].label == "neutral")
    if neutral:
        ctx.notices.append(f"{neutral} of the {len(ctx.sentences)} sentences read argue neither side "
                           "and are left out.")


STEPS = (Step("neutral", "Counting the sentences that argue neither side", action=count_neutral),
         *(side_step(section, side, name) for section, side, name in SIDES))
