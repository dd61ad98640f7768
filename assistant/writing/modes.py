"""ask / brief / steelman / rebut as lists of steps: code carries the structure.

A brief is: stance (label every sentence support / oppose / neutral), FOR
arguments (evidence groups of supporting sentences, one passage each, chosen
by code; the model picks 1-2 ids of its own group and tags them, without
seeing the motion), AGAINST likewise, then the frame (key terms, clashes,
gaps). The pipeline has already had the model write the other side's
statement (``counter.py``), which the stance step weighs against.
Steelman and rebut are the same shape with other sides and prompts; ask is
one write step (``answer.py``); the frames and the rebuttal speech are in
``frames.py``. Evidence can only come from the side the stance step gave
it, and a sentence used once is gone from later groups, so evidence reuse is
impossible by construction; the gates in ``gates.py`` drop restatements,
duplicates, made-up tags and id-talk. Not handled: more than three arguments a side.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ..events import Draft, Progress
from ..types import Clash, Point, Sentence
from . import faithful, gates, overview, schemas, stance
from .answer import ASK
from .fields import clip as _clip
from .fields import prose as _prose
from .fields import quotes as _quotes
from .frames import frame_step, parse_brief_frame, parse_rebut_frame, parse_steelman_frame
from .gates import ClaimFilter
from .specs import SPECS, ModeSpec
from .steps import Context, Step

MAX_ARGUMENTS = 3  # per side
GROUP_SIZE = 3  # candidate sentences offered per argument
RETRY_NOTE = (" Your last tags did not say what their sentences say: each tag must state, in the sentences' "
              "own terms, the fact, cause or consequence they give, not whether the statement debated is true.")
REWRITE_GATES = ("restating_dropped", "duplicate_dropped", "ungrounded_dropped")  # all of a side's tags: write again


@dataclass(frozen=True)
class Mode:
    """A mode's steps (code); everything else about it is its ``spec`` (specs.py)."""

    name: str
    steps: tuple[Step, ...]

    @property
    def spec(self) -> ModeSpec:
        return SPECS[self.name]


# -- stance ------------------------------------------------------------------------


def _label_stance(ctx: Context) -> None:
    """Every sentence's stance: the side a user set for it and this request, else the model's reading."""
    method = ctx.plans.stance_method or stance.DEFAULT_METHOD
    set_sides = {s.sid: side for s in ctx.sentences if (side := stance.set_side(s.text, ctx.sides))}
    read = [s for s in ctx.sentences if s.sid not in set_sides]
    found = stance.label(ctx.generator, ctx.messages, ctx.task, ctx.request,
                         read, method=method, opposite=ctx.counter or None,
                         on_progress=lambda done, total: ctx.emit(Progress("stance", done, total)))
    found |= {sid: stance.set_by_user(sid, side) for sid, side in set_sides.items()}
    ctx.stances = {s.sid: found[s.sid] for s in ctx.sentences if s.sid in found}  # reading order
    if set_sides:
        n = len(set_sides)
        ctx.notices.append(f"{n} of the sentences read {'has' if n == 1 else 'have'} the side you set for this "
                           "request, not the model's reading (`assistant sides list`).")


STANCE = Step("stance", "Weighing which sentences support or oppose it", action=_label_stance)


# -- evidence groups -------------------------------------------------------------


def groups(ctx: Context, side: str, n: int = MAX_ARGUMENTS) -> list[list[Sentence]]:
    """Up to ``n`` groups of unused ``side`` sentences, one passage each, strongest passage first."""
    by_id = ctx.by_id
    per_passage: dict[int, list[Sentence]] = {}
    for st in stance.ranked(ctx.stances, side, ctx.used):
        s = by_id[st.sid]
        per_passage.setdefault(s.passage, []).append(s)
    chosen = [sorted(ss[:GROUP_SIZE], key=lambda s: s.start) for ss in per_passage.values()][:n]
    return chosen


def labelled(ctx: Context, side: str) -> list[Sentence]:
    """The request's sentences the stance step put on ``side`` (support | oppose), in reading order."""
    return [s for s in ctx.sentences if s.sid in ctx.stances and ctx.stances[s.sid].label == side]


def _group_lines(found: list[list[Sentence]]) -> str:
    lines = []
    for i, g in enumerate(found, 1):
        quoted = " | ".join(f'{s.sid} "{_clip(s.text)}"' for s in g)
        lines.append(f"a{i} evidence group: {quoted}")
    return "\n".join(lines)

def _claim_filter(ctx: Context) -> ClaimFilter:
    if ctx.plans.claims is None:
        ctx.plans.claims = ClaimFilter(ctx.request, ctx.embed, also=(ctx.counter,) if ctx.counter else ())
    return ctx.plans.claims

# -- argument steps --------------------------------------------------------------


def side_step(name: str, side: str, section: str, label: str, n: int = MAX_ARGUMENTS, least: int = 1) -> Step:
    """Arguments on one side: evidence groups chosen by code, words by the model.

    ``least``: labelled sentences the side needs before the model writes it (a brief's thin side is
    not written only to be dropped by ``thin_sides``).
    """

    def schema(ctx: Context) -> dict[str, Any] | None:
        found = groups(ctx, side, n) if len(labelled(ctx, side)) >= least else []
        ctx.plans.groups[name] = found
        return schemas.arguments([[s.sid for s in g] for g in found]) if found else None

    def variables(ctx: Context) -> dict[str, str]:
        found = ctx.plans.groups[name]
        note = RETRY_NOTE if name in ctx.plans.retried else ""
        return {"groups": _group_lines(found), "note": note}

    def parse(ctx: Context, data: dict[str, Any]) -> None:
        before = len(ctx.points)
        judged: list[tuple[list[Sentence], dict[str, Any], str, str]] = []
        for i, g in enumerate(ctx.plans.groups[name], 1):
            item = data.get(f"a{i}")
            if not isinstance(item, dict):
                continue
            claim = _prose(ctx, item.get("claim"))
            # A tag may echo its card's own words (debaters do); a tag that was nothing but ids or "the
            # sources" talk, that shares too few words with its group, or that restates the request, its
            # opposite or another tag is dropped. There is no reasoning field: a card is tag + evidence.
            # (A restating tag is not replaced by a clause of its evidence: tried, and on a one-sided
            # library it put FOR sentences the stance step had misread under AGAINST; the model's tag
            # restating the motion was the sign of it. tests/test_smoke_default.py)
            if not claim:
                rejected = "copy_dropped"
            elif not gates.grounded(claim, [s.text for s in g]):
                rejected = "ungrounded_dropped"
            else:
                rejected = _claim_filter(ctx).check(claim)
            judged.append((g, item, claim, rejected))
        rejections = [r for *_, r in judged if r]
        if judged and len(rejections) == len(judged) and set(rejections) & set(REWRITE_GATES) \
                and name not in ctx.plans.retried:
            for r in rejections:
                ctx.count(r)
            ctx.plans.retried.add(name)  # a gate rejected every tag: write this side once more
            ctx.count("regenerated")
            ctx.plans.rerun = name
            ctx.emit(Draft(tuple(ctx.points)))
            return
        for g, item, claim, rejected in judged:
            if rejected:
                ctx.count(rejected)
                continue
            quotes = _quotes(ctx, item.get("evidence"), {s.sid for s in g})
            if quotes:
                ctx.points.append(Point(section, claim, "", quotes))
        settle_tags(ctx, before)
        ctx.emit(Draft(tuple(ctx.points)))

    return Step(name, label, prompt="side", max_tokens=60 * n, schema=schema, variables=variables, parse=parse)


def settle_tags(ctx: Context, start: int) -> None:
    """The points from ``start`` on keep their tag (or objection) only if it says what their evidence says."""
    mine = [(i, p) for i, p in enumerate(ctx.points) if i >= start and p.verified_quotes]
    if not mine:
        return
    cards = [(p.text, " ".join(q.text for q in p.verified_quotes)) for _, p in mine]
    settled = faithful.settle(ctx.generator, ctx.task, ctx.embed, cards, ctx.count)
    for (i, p), tag in zip(mine, settled, strict=True):
        ctx.points[i] = replace(p, text=tag)


def coverage_step(primary: str, message: str) -> Step:
    """After stance: a mode with no evidence on its primary side says so instead of forcing an answer."""
    def check(ctx: Context) -> None:
        if not any(st.label == primary for st in ctx.stances.values()):
            ctx.covered = False
            ctx.notices.append(message)
            ctx.prose.gaps = (message,)

    return Step("coverage", "Checking the sources address it", action=check)


def objections_step() -> Step:
    """Steelman: the strongest objections (opposing groups), each with a reply."""
    def schema(ctx: Context) -> dict[str, Any] | None:
        found = groups(ctx, "oppose", 2)
        ctx.plans.groups["objections"] = found
        reply = [st.sid for st in stance.ranked(ctx.stances, "support", ctx.used)][:6]
        ctx.plans.reply_ids = reply
        return schemas.objections([[s.sid for s in g] for g in found], reply) if found else None

    def variables(ctx: Context) -> dict[str, str]:
        reply, found = ctx.plans.reply_ids, ctx.plans.groups["objections"]
        return {"count": str(len(found)), "groups": _group_lines(found),
                "reply_ids": ", ".join(reply) or "none"}

    def parse(ctx: Context, data: dict[str, Any]) -> None:
        before = len(ctx.points)
        for i, g in enumerate(ctx.plans.groups["objections"], 1):
            item = data.get(f"a{i}")
            if not isinstance(item, dict):
                continue
            text = _prose(ctx, item.get("objection"))
            rejected = "copy_dropped" if not text else _claim_filter(ctx).check(text)
            if rejected:
                ctx.count(rejected)
                continue
            quotes = _quotes(ctx, item.get("evidence"), {s.sid for s in g})
            reply_quotes = _quotes(ctx, item.get("reply_evidence"), set(ctx.plans.reply_ids))
            ctx.points.append(Point("objection", text, "", quotes, _prose(ctx, item.get("reply")), reply_quotes))
        settle_tags(ctx, before)
        ctx.emit(Draft(tuple(ctx.points)))

    return Step("objections", "Finding the strongest objections and replies", prompt="objections", max_tokens=300,
                schema=schema, variables=variables, parse=parse)


# -- thin sides ----------------------------------------------------------------------

THIN = 2  # a side with fewer labelled sentences than this (or no grounded argument) is called thin


def thin_sides(ctx: Context) -> None:
    """Brief: a side the library barely argues says so, and the clashes say what the other side must show.

    A real library is rarely balanced; filling a thin side with sentences that do not argue it is
    worse than saying it is thin (a debater would read them aloud).
    """
    statements = {"for": ctx.request, "against": ctx.counter or stance.negate(ctx.request)}
    for section, side in (("for", "support"), ("against", "oppose")):
        found = labelled(ctx, side)
        grounded = any(p.section == section and p.verified_quotes for p in ctx.points)
        if len(found) >= THIN and grounded:
            continue
        # One sentence is no side: it is named in the notice for the user to judge, never shown as a card
        # (with 2.5 % wrong labels, docs/evaluation.md, a lone sentence is the likeliest mistake).
        name, n = section.upper(), len(found)
        if n < THIN:
            ctx.points = [p for p in ctx.points if p.section != section]
            ctx.prose.clashes = tuple(c for c in ctx.prose.clashes if not c.issue.startswith("FOR: "))  # card pairs
        lone = f' ("{_clip(found[0].text, 25)}")' if n == 1 else ""
        why = ("" if not n else ", too little to build a side on" if n < THIN
               else ", and none could be tagged as an argument")
        ctx.notices.append(f"Your library has little evidence {name} this motion: {n} sentence{'s' * (n != 1)} "
                           f"of the {len(ctx.sentences)} read argue{'s' * (n == 1)} it{lone}{why}.")
        must = statements[section].rstrip(".")
        clash = Clash(f"Little evidence {name} the motion in your library",
                      f"To argue {name}, a speaker would have to show that {must[:1].lower() + must[1:]}.")
        ctx.prose.clashes = (clash, *ctx.prose.clashes)


THIN_SIDES = Step("thin_sides", "Checking each side has evidence", action=thin_sides)

# -- the modes -----------------------------------------------------------------------


MODES: dict[str, Mode] = {
    "ask": Mode("ask", (ASK,)),
    "brief": Mode("brief", (
        STANCE,
        side_step("for", "support", "for", "Writing the arguments FOR", least=THIN),
        side_step("against", "oppose", "against", "Writing the arguments AGAINST", least=THIN),
        frame_step("brief", parse_brief_frame, 260, "Framing the clash"),
        THIN_SIDES,
    )),
    "steelman": Mode("steelman", (
        STANCE,
        coverage_step("support", gates.NO_SUPPORT),
        side_step("reasons", "support", "reason", "Writing the best reasons"),
        objections_step(),
        frame_step("steelman", parse_steelman_frame, 160, "Stating the thesis"),
    )),
    "rebut": Mode("rebut", (
        STANCE,
        coverage_step("oppose", gates.NO_OPPOSE),
        side_step("weak_points", "oppose", "weak_point", "Finding the weak points"),
        side_step("concessions", "support", "concession", "Finding honest concessions", n=2),
        frame_step("rebut", parse_rebut_frame, 160, "Listing the claim's assumptions; the speech from the cards"),
    )),
    "overview": Mode("overview", (STANCE, *overview.STEPS)),  # no write step: key points are library clauses
}
