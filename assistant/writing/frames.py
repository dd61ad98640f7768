"""The frame step of brief, steelman and rebut, and the rebuttal speech built from the cards.

The frame is the last write step: a brief's key terms, clashes (two cards named by id, the model
says only what decides between them) and gaps; a steelman's thesis and gaps; a rebuttal's
assumptions. The rebuttal speech is not written by the model: code reads the verified cards out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..types import Clash, KeyTerm, Point
from . import gates, schemas
from .fields import items as _items
from .fields import prose as _prose
from .specs import SECTIONS
from .steps import Context, Step

NAMES = {key: s.tag for key, s in SECTIONS.items()}


def _card_ids(ctx: Context) -> dict[str, Point]:
    """F1, F2, ... for FOR arguments and A1, A2, ... for AGAINST ones: how a frame cites a card by tag."""
    out: dict[str, Point] = {}
    for section, prefix in (("for", "F"), ("against", "A")):
        for n, p in enumerate((p for p in ctx.points if p.section == section and p.verified_quotes), 1):
            out[f"{prefix}{n}"] = p
    return out


def _argument_lines(ctx: Context) -> str:
    if ctx.mode == "brief":
        return "\n".join(f"- {cid} ({NAMES[p.section]}): {p.text}" for cid, p in _card_ids(ctx).items()) or "- (none)"
    return "\n".join(f"- {NAMES.get(p.section, p.section)}: {p.text}" for p in ctx.points) or "- (none)"


def _frame_schema(ctx: Context) -> dict[str, Any]:
    if ctx.mode == "brief":
        ids = list(_card_ids(ctx))
        return schemas.frame_brief([i for i in ids if i[0] == "F"], [i for i in ids if i[0] == "A"])
    return {"steelman": schemas.frame_steelman, "rebut": schemas.frame_rebut}[ctx.mode]()


def frame_step(mode: str, parse: Callable[[Context, dict[str, Any]], None], max_tokens: int, label: str) -> Step:
    return Step(f"frame_{mode}", label, prompt=f"frame_{mode}", max_tokens=max_tokens, schema=_frame_schema,
                variables=lambda ctx: {"arguments": _argument_lines(ctx)}, parse=parse)


def parse_brief_frame(ctx: Context, data: dict[str, Any]) -> None:
    ctx.prose.key_terms = tuple(KeyTerm(str(t.get("term", "")).strip(), _prose(ctx, t.get("definition")))
                                   for t in _items(data, "key_terms") if isinstance(t, dict))
    cards = _card_ids(ctx)
    clashes = []
    for c in _items(data, "clashes"):  # the issue is the two cards' tags, named by code; the model says what decides
        pro, con = (cards.get(str(c.get(k))) for k in ("for", "against")) if isinstance(c, dict) else (None, None)
        decider = _prose(ctx, c.get("decider")) if isinstance(c, dict) else ""
        if pro and con and decider:
            clashes.append(Clash(f"FOR: {pro.text} / AGAINST: {con.text}", decider))
    ctx.prose.clashes = tuple(dict.fromkeys(clashes))
    ctx.prose.gaps = tuple(g for g in (_prose(ctx, x) for x in _items(data, "gaps")) if g)


def parse_steelman_frame(ctx: Context, data: dict[str, Any]) -> None:
    """The thesis states the position; a thesis that refuses it ("The sources do not directly address
    the claim ...", gold set) or says nothing gives way to the position as the user put it."""
    raw = str(data.get("thesis") or "")
    thesis = "" if gates.says_sources_lack(raw) else _prose(ctx, raw)
    ctx.prose.thesis = thesis or ctx.request
    ctx.prose.gaps = tuple(g for g in (_prose(ctx, x) for x in _items(data, "gaps")) if g)


def parse_rebut_frame(ctx: Context, data: dict[str, Any]) -> None:
    ctx.prose.assumptions = tuple(a for a in (_prose(ctx, x) for x in _items(data, "assumptions")) if a)
    ctx.prose.speech = speech(ctx.request, ctx.points)


ORDINALS = ("First", "Second", "Third", "Fourth", "Fifth")


def speech(claim: str, points: Sequence[Point]) -> str:
    """A rebuttal speech built from the verified cards: each weak point's tag, then its evidence read out.

    Every sentence is a tag that passed the faithfulness check or a verbatim quote, so the speech
    says nothing its cards do not, and it always ends where it should.
    """
    weak = [p for p in points if p.section == "weak_point" and p.verified_quotes]
    if not weak:
        return ""
    lines = [f"The claim “{claim.rstrip('.')}” does not survive the evidence."]
    for ordinal, p in zip(ORDINALS, weak, strict=False):
        q = p.verified_quotes[0]
        lines.append(f"{ordinal}: {_sentence(p.text)} As {q.title} puts it: “{q.text.strip()}”")
    for p in (p for p in points if p.section == "concession" and p.verified_quotes):
        lines.append(f"We grant this: {_sentence(p.text)} It does not carry the claim.")
    lines.append(f"So {len(weak)} piece{'s' * (len(weak) > 1)} of evidence stand{'s' * (len(weak) == 1)} against it.")
    return " ".join(lines)


def _sentence(tag: str) -> str:
    """A tag as a sentence: its own end punctuation, or a full stop.

    >>> _sentence("Remote work saves time"), _sentence("Does it? Yes.")
    ('Remote work saves time.', 'Does it? Yes.')
    """
    tag = tag.strip()
    return tag if tag[-1:] in ".!?…" else tag + "."
