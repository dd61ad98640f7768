"""The overview mode's steps: per side, the library's key points, each with its prevalence and its cards.

After the stance step (``modes.STANCE``, the same one a brief runs) has
labelled every gathered sentence support / oppose / neutral, each side's
sentences go to ``keypoints.summarise``: key points are clauses of the
library's own sentences (at most 12 words), each with the sentences matched
to it, their documents and their share of the side. Every matched sentence
becomes a verified quote (``cite.verify``: the stored text at its offsets),
so a key point is a tag over cards. A sentence that matches no key point is
counted in a notice, never forced under one; neutral sentences are left out
and counted too. The FOR side's key points are sent (``Draft``) before the
AGAINST side is summarised.

Not handled: rewording a key point with the model (the verbatim clause is
the key point; a model wording would need the faithfulness check of
``faithful.py`` per point, a cost not yet measured), and sentences whose
side depends on their neighbours (the stance step's limit).
"""

from __future__ import annotations

from functools import lru_cache

from ..events import Draft
from ..types import Point, Prevalence
from . import keypoints
from .cite import verify
from .fields import with_stance
from .steps import Context, Step

THIN = 2  # a side with fewer labelled sentences than this is called thin, as in a brief
SIDES = (("keypoint_for", "support", "FOR"), ("keypoint_against", "oppose", "AGAINST"))


def _clip(text: str, words: int = 25) -> str:
    parts = text.split()
    return " ".join(parts[:words]) + (" ..." if len(parts) > words else "")


def summarise_side(ctx: Context, section: str, side: str, name: str) -> None:
    """One side's key points as points with prevalence and verified quotes; notices for what is not listed."""
    mine = [s for s in ctx.sentences if s.sid in ctx.stances and ctx.stances[s.sid].label == side]
    if len(mine) < THIN:
        lone = f' ("{_clip(mine[0].text)}")' if mine else ""
        why = ", too little to build a side on" if mine else ""
        ctx.notices.append(f"Your library has little evidence {name} this motion: {len(mine)} "
                           f"sentence{'s' * (len(mine) != 1)} of the {len(ctx.sentences)} read "
                           f"argue{'s' * (len(mine) == 1)} it{lone}{why}.")
        return
    summary = keypoints.summarise([s.text for s in mine], [s.doc_id for s in mine], side, ctx.embed,
                                  topic=ctx.request, k_max=ctx.plans.key_points or keypoints.K_MAX)
    doc_text = lru_cache(maxsize=None)(ctx.doc_text)  # one read of each document for all its quotes
    for kp in summary.key_points:
        quotes = verify([mine[i].sid for i in kp.sentences], ctx.sentences, ctx.passages, doc_text)
        quotes = tuple(with_stance(ctx, q) for q in quotes)
        prevalence = Prevalence(len(kp.sentences), kp.documents, kp.share, summary.total)
        ctx.points.append(Point(section, kp.text, quotes=quotes, prevalence=prevalence))
    if not summary.key_points:
        ctx.notices.append(f"The {len(mine)} sentences {name} this motion share no key point: each makes a "
                           "point of its own (not listed).")
    elif summary.unmatched:
        ctx.notices.append(f"{len(summary.unmatched)} of the {len(mine)} sentences {name} this motion match "
                           "none of its key points (not listed).")
    ctx.emit(Draft(tuple(ctx.points)))


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
