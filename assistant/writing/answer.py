"""ask: one write step, points with verified evidence; a sentence that answers is itself an answer."""

from __future__ import annotations

from typing import Any

from ..events import Draft
from ..types import Point
from . import faithful, gates, schemas
from .fields import items as _items
from .fields import prose as _prose
from .fields import quotes as _quotes
from .steps import Context, Step

MAX_ANSWER_POINTS = 4  # as many as the schema lets the model write


def _parse_answer(ctx: Context, data: dict[str, Any]) -> None:
    """Points with verified evidence; a point naming no verified sentence is dropped.

    A point that copies its evidence sentence is kept as an extractive answer (shown as the quote
    under a one-line lead, render.py): for a factual question the sentence itself is the best answer.
    Asking the model to reword copies dropped right answers on the gold set ("Business Insider
    reported that up to 50% of Dell Workers have chosen not to return to the office" became "the
    sources do not cover this"; docs/evaluation.md). For the same reason a point whose text is only
    sentence ids ("S12") is read as those sentences, each an extractive point, not dropped.
    """
    allowed = {s.sid for s in ctx.sentences}
    for item in _items(data, "points"):
        if not isinstance(item, dict):
            continue
        text = _prose(ctx, item.get("text"))
        ctx.used.clear()  # an answer's points may share evidence: reuse is a brief's problem
        quotes = _quotes(ctx, item.get("evidence"), allowed)
        if not text:  # the model named sentences and wrote nothing else: each one is an extractive point
            shown = {p.text for p in ctx.points}
            extracted = [q for q in quotes if q.verified and q.text not in shown]
            ctx.points.extend(Point("answer", q.text, quotes=(q,)) for q in extracted)
            ctx.count("ids_as_extractive" if extracted else "copy_dropped")
            continue
        if any(q.verified for q in quotes):
            ctx.points.append(Point("answer", text, quotes=quotes))
    del ctx.points[MAX_ANSWER_POINTS:]
    _drop_unfaithful(ctx)
    gaps = _prose(ctx, data.get("gaps"))
    ctx.prose.gaps = (gaps,) if gaps else ()
    ctx.covered = bool(ctx.points)  # covered means: at least one point with verified evidence
    ctx.emit(Draft(tuple(ctx.points)))


def _drop_unfaithful(ctx: Context) -> None:
    """A point in the model's own words stays only if it says what its sentences say (faithful.check).

    On the gold set the model answered questions the essays do not cover with claims its cited
    sentences do not make ("No, remote working has not pushed people out of cities ..."); a copy of
    its sentence (extractive) needs no check. A failing point is dropped, not rewritten: for a
    question the fallback is a refusal, never a sentence that may not answer it. With a model whose
    check decides nothing (``faithful.unjudged``: fast, test) this stays so: showing its points' sentences
    instead answered 3 of the 6 uncovered gold questions with unrelated sentences (fast model,
    docs/evaluation.md, fourteenth session), so such a model's ask mostly refuses.
    """
    own = [(i, p) for i, p in enumerate(ctx.points)
           if not gates.is_copy(p.text, [q.text for q in p.verified_quotes])]
    if not own:
        return
    cards = [(p.text, " ".join(q.text for q in p.verified_quotes)) for _, p in own]
    failing = {i for (i, _), card, p_yes in zip(own, cards, faithful.check(ctx.generator, ctx.task, cards), strict=True)
               if not faithful.passes(*card, p_yes)}
    if failing:
        ctx.count("unfaithful_dropped", len(failing))
        ctx.points = [p for i, p in enumerate(ctx.points) if i not in failing]


ASK = Step("answer", "Writing the answer", prompt="ask", max_tokens=400,
           schema=lambda ctx: schemas.answer([s.sid for s in ctx.sentences]), parse=_parse_answer)
