"""ask / brief / steelman / rebut as lists of steps: code carries the structure.

A brief is: stance (label every sentence support / oppose / neutral), FOR
arguments (evidence groups of supporting sentences, one passage each, chosen
by code; the model picks 1-2 ids of its own group and tags them, without
seeing the motion), AGAINST likewise, then the frame (key terms, clashes,
gaps). The pipeline has already had the model write the other side's
statement (``counter.py``), which the stance step weighs against.
Steelman and rebut are the same shape with other sides and prompts; ask is
one write step. Evidence can only come from the side the stance step gave
it, and a sentence used once is gone from later groups, so evidence reuse is
impossible by construction; the gates in ``gates.py`` drop restatements,
duplicates, made-up tags and id-talk. Not handled: more than three arguments a side.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..events import Draft, Progress
from ..types import Clash, KeyTerm, Point, Quote, Sentence
from . import faithful, gates, overview, schemas, stance
from .cite import verify
from .gates import ClaimFilter, scrub
from .specs import SECTIONS, SPECS, ModeSpec
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
    method = ctx.plans.stance_method or stance.DEFAULT_METHOD
    ctx.stances = stance.label(ctx.generator, ctx.messages, ctx.task, ctx.request,
                               ctx.sentences, method=method, opposite=ctx.counter or None,
                               on_progress=lambda done, total: ctx.emit(Progress("stance", done, total)))


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


def _clip(text: str, words: int = 30) -> str:
    parts = text.split()
    return " ".join(parts[:words]) + (" ..." if len(parts) > words else "")


def _quotes(ctx: Context, ids: object, allowed: set[str]) -> tuple[Quote, ...]:
    """Verified quotes for the ids the model picked, limited to ``allowed``; marks them used."""
    picked = [i for i in (ids if isinstance(ids, list) else []) if isinstance(i, str) and i in allowed]
    picked = [i for i in dict.fromkeys(picked) if i not in ctx.used]
    ctx.used.update(picked)
    found = verify(picked, ctx.sentences, ctx.passages, ctx.doc_text)
    return tuple(replace(q, stance=ctx.stances[q.ref].label) if q.ref in ctx.stances else q for q in found)


def _claim_filter(ctx: Context) -> ClaimFilter:
    if ctx.plans.claims is None:
        ctx.plans.claims = ClaimFilter(ctx.request, ctx.embed, also=(ctx.counter,) if ctx.counter else ())
    return ctx.plans.claims


def _prose(ctx: Context, text: object) -> str:
    cleaned, changed = scrub(str(text or "").strip())
    if changed:
        ctx.count("ids_in_prose_repaired")
    return cleaned


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
            quotes = () if rejected not in ("", "restating_dropped") else _quotes(ctx, item.get("evidence"),
                                                                               {s.sid for s in g})
            if rejected == "restating_dropped":  # the card stands; its tag becomes a clause of its evidence
                claim = _span_tag(ctx, quotes)
                rejected = "" if claim else rejected
            if rejected:
                ctx.count(rejected)
                continue
            if quotes:
                ctx.points.append(Point(section, claim, "", quotes))
        settle_tags(ctx, before)
        ctx.emit(Draft(tuple(ctx.points)))

    return Step(name, label, prompt="side", max_tokens=60 * n, schema=schema, variables=variables, parse=parse)


def _span_tag(ctx: Context, quotes: Sequence[Quote]) -> str:
    """A tag that only restated the request (or its opposite) becomes a verbatim clause of its evidence.

    The evidence was chosen by code for its side, so the card stands; only the model's words added
    nothing (steelman objections were mostly the position negated, and all were dropped: gold set,
    docs/evaluation.md). "" when no evidence was verified.
    """
    verified = [q for q in quotes if q.verified]
    if not verified:
        return ""
    ctx.count("restating_replaced")
    return faithful.verbatim_span(verified[0].text, ctx.embed)


def settle_tags(ctx: Context, start: int) -> None:
    """The points from ``start`` on keep their tag (or objection) only if it says what their evidence says."""
    mine = [(i, p) for i, p in enumerate(ctx.points) if i >= start and p.verified_quotes]
    if not mine:
        return
    cards = [(p.text, " ".join(q.text for q in p.verified_quotes)) for _, p in mine]
    render = lambda name, **values: ctx.task(name, **values)  # noqa: E731
    settled = faithful.settle(ctx.generator, render, ctx.embed, cards, ctx.count)
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
            quotes = () if rejected not in ("", "restating_dropped") else _quotes(ctx, item.get("evidence"),
                                                                               {s.sid for s in g})
            if rejected == "restating_dropped":  # an objection is often the position's plain negation
                text = _span_tag(ctx, quotes)
                rejected = "" if text else rejected
            if rejected:
                ctx.count(rejected)
                continue
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


# -- frames ------------------------------------------------------------------------


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


def _items(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    return value if isinstance(value, list) else []


def _parse_brief_frame(ctx: Context, data: dict[str, Any]) -> None:
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


def _parse_steelman_frame(ctx: Context, data: dict[str, Any]) -> None:
    """The thesis states the position; a thesis that refuses it ("The sources do not directly address
    the claim ...", gold set) or says nothing gives way to the position as the user put it."""
    raw = str(data.get("thesis") or "")
    thesis = "" if gates.says_sources_lack(raw) else _prose(ctx, raw)
    ctx.prose.thesis = thesis or ctx.request
    ctx.prose.gaps = tuple(g for g in (_prose(ctx, x) for x in _items(data, "gaps")) if g)


def _parse_rebut_frame(ctx: Context, data: dict[str, Any]) -> None:
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
    lines.append(f"So {len(weak)} piece{'s' * (len(weak) > 1)} of evidence stand against it.")
    return " ".join(lines)


def _sentence(tag: str) -> str:
    """A tag as a sentence: its own end punctuation, or a full stop.

    >>> _sentence("Remote work saves time"), _sentence("Does it? Yes.")
    ('Remote work saves time.', 'Does it? Yes.')
    """
    tag = tag.strip()
    return tag if tag[-1:] in ".!?…" else tag + "."


# -- ask ---------------------------------------------------------------------------


MAX_ANSWER_POINTS = 4  # as many as the schema lets the model write


def _parse_answer(ctx: Context, data: dict[str, Any]) -> None:
    """Points with verified evidence; a point that is only ids is dropped.

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
    gaps = _prose(ctx, data.get("gaps"))
    ctx.prose.gaps = (gaps,) if gaps else ()
    ctx.covered = bool(ctx.points)  # covered means: at least one point with verified evidence
    ctx.emit(Draft(tuple(ctx.points)))


ASK = Step("answer", "Writing the answer", prompt="ask", max_tokens=400,
           schema=lambda ctx: schemas.answer([s.sid for s in ctx.sentences]), parse=_parse_answer)


# -- the modes -----------------------------------------------------------------------


MODES: dict[str, Mode] = {
    "ask": Mode("ask", (ASK,)),
    "brief": Mode("brief", (
        STANCE,
        side_step("for", "support", "for", "Writing the arguments FOR", least=THIN),
        side_step("against", "oppose", "against", "Writing the arguments AGAINST", least=THIN),
        frame_step("brief", _parse_brief_frame, 260, "Framing the clash"),
        THIN_SIDES,
    )),
    "steelman": Mode("steelman", (
        STANCE,
        coverage_step("support", "The sources do not address this position: no sentence argues for it."),
        side_step("reasons", "support", "reason", "Writing the best reasons"),
        objections_step(),
        frame_step("steelman", _parse_steelman_frame, 160, "Stating the thesis"),
    )),
    "rebut": Mode("rebut", (
        STANCE,
        coverage_step("oppose", "The sources do not address this claim: no sentence argues against it."),
        side_step("weak_points", "oppose", "weak_point", "Finding the weak points"),
        side_step("concessions", "support", "concession", "Finding honest concessions", n=2),
        frame_step("rebut", _parse_rebut_frame, 160, "Listing the claim's assumptions; the speech from the cards"),
    )),
    "overview": Mode("overview", (STANCE, *overview.STEPS)),  # no write step: key points are library clauses
}
