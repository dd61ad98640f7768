"""One request end to end: retrieve, prepare the sources block, run the mode's steps, assemble.

The sources block is built once per request: passages are split into
numbered sentences (overlapping chunk text counted once), the sentences most
relevant to the request are kept (the mode's ``max_sentences``, specs.py), and passages are
dropped lowest-ranked first if the prompt would not fit the context window.
Every step then shares that prefix. ``on_event`` receives the events of
``events.py`` as they happen. Not handled: running two requests on one
model at once (the generator serialises them).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path

from ..events import Event, Finished, Progress, SourcesFound, StepStarted, Token
from ..index.retrieve import Retriever
from ..index.store import Store
from ..llm.base import Generator, OnToken
from ..types import Answer, Gates, Passage, Point, Sentence, Timings
from . import stance
from .cite import number_sentences, renumber
from .counter import MAX_TOKENS as COUNTER_TOKENS
from .counter import opposite
from .gates import cosine
from .gather import Request, clean_request, gather, pin, top_dense
from .injection import screen
from .modes import MODES, THIN
from .steps import Context, run_steps

TWO_SIDED = ("brief", "steelman", "rebut", "overview")  # modes that argue both sides: they get the counter statement
TASK_RESERVE = 260  # tokens kept free for the longest step task
OUTPUT_RESERVE = 400  # and for its answer


def run(mode: str, text: str, *, retriever: Retriever, store: Store, generator: Generator, prompts_dir: Path,
        k: int, temperature: float = 0.2, passages: Sequence[Passage] | None = None,
        max_tokens: int | None = None, on_token: OnToken | None = None,
        on_event: Callable[[Event], None] | None = None, stance_method: str | None = None,
        doc_ids: Collection[str] | None = None, sides: Mapping[str, str] | None = None) -> Answer:
    """One staged request. ``passages`` reuses earlier ones (a follow-up).

    ``sides``: the sides a user set for this request's sentences (``stance.key`` of a sentence ->
    support | oppose | neutral); the stance step takes them instead of reading those sentences, and
    those set FOR or AGAINST are read whatever their rank (``gather.pin``, ``select``'s ``keep``).
    """
    started = time.perf_counter()
    req = clean_request(mode, text)

    def emit(event: Event) -> None:
        if on_token is not None and isinstance(event, Token):
            on_token(event.text)
        if on_event is not None:
            on_event(event)

    spec = MODES[mode].spec
    n = spec.passages or k  # overview: a fixed, wide gather; its k is key points per side
    found = list(passages) if passages is not None else gather(mode, req.text, retriever, n, doc_ids=doc_ids)
    if not found or (passages is None and top_dense(found) < spec.min_score):
        retrieval_ms = (time.perf_counter() - started) * 1000
        emit(SourcesFound(tuple(found)))
        answer = not_covered(req, generator.name, found, retrieval_ms)
        emit(Finished(answer))
        return answer
    emit(SourcesFound(tuple(found)))  # shown at once, before any model work
    counter = ""
    set_sides = dict(sides or {}) if mode in TWO_SIDED else {}  # a mode with no stance step (ask) keeps none
    if mode in TWO_SIDED:  # the other side's statement: retrieval, stance and the AGAINST step use it
        emit(StepStarted("counter", "Finding the other side's case"))
        written = [0]

        def tick(_: str) -> None:  # each token is a point where Stop is honoured
            written[0] += 1
            emit(Progress("counter", written[0], COUNTER_TOKENS))

        counter = opposite(generator, prompts_dir, req.text, on_token=tick) or ""
        if counter and passages is None:
            found = gather(mode, req.text, retriever, n, doc_ids=doc_ids, counter=counter)
            emit(SourcesFound(tuple(found)))  # the passages in turn from both sides replace the first list
        if set_sides and passages is None:  # the sentences a user set a side for are read, wherever they rank
            found = pin(found, set_sides, retriever, n, doc_ids=doc_ids)
            emit(SourcesFound(tuple(found)))
    retrieval_ms = (time.perf_counter() - started) * 1000
    embed = retriever.embedder.embed
    kept, screened = screen(number_sentences(found))  # sources are material, never instructions
    if not kept:  # nothing left that the model may read or cite
        answer = not_covered(req, generator.name, found, retrieval_ms, extra=tuple(screened))
        emit(Finished(answer))
        return answer
    sentences = select(kept, [q.format(r=req.text) for q in spec.queries], embed, spec.max_sentences,
                       sides=(req.text, counter) if counter else (),
                       keep=lambda s: stance.set_side(s.text, set_sides) in ("support", "oppose"))
    ctx = Context(mode, req.text, found, sentences, generator, prompts_dir, temperature, emit, embed,
                  lambda doc_id: store.document(doc_id).text, counter=counter,
                  notices=list(req.notices) + screened, sides=set_sides)
    ctx.plans.stance_method, ctx.plans.key_points = stance_method, k
    if spec.reads_sources:  # a mode that never shows the block reads more sentences than would fit it
        fit(ctx)
    run_steps(MODES[mode].steps, ctx, max_tokens=max_tokens)
    answer = assemble(ctx, retrieval_ms, started)
    emit(Finished(answer))
    return answer


def select(sentences: list[Sentence], queries: list[str], embed: Callable[[list[str]], list[list[float]]],
           limit: int, *, sides: Sequence[str] = (), keep: Callable[[Sentence], bool] | None = None) -> list[Sentence]:
    """The ``limit`` sentences most similar to any of ``queries``, in their original order, renumbered.

    With ``sides`` (the request and the other side's statement) the sentences nearest each
    side are taken in turn, so neither side's evidence is cut for the other's. ``keep``: sentences
    taken first whatever their rank (a user set their side), up to half of ``limit``.
    """
    if len(sentences) <= limit:
        return sentences
    forced = [i for i, s in enumerate(sentences) if keep is not None and keep(s)][:limit // 2]
    sv = embed([s.text for s in sentences])
    if sides:
        rankings = [sorted(range(len(sentences)), key=lambda i: -sims[i])
                    for sims in ([cosine(v, q) for v in sv] for q in embed(list(sides)))]
        chosen: dict[int, None] = dict.fromkeys(forced)
        for row in zip(*rankings, strict=True):
            for i in row:
                if len(chosen) < limit:
                    chosen.setdefault(i)
        return renumber([sentences[i] for i in sorted(chosen)])
    qv = embed(queries)
    score = [max(cosine(v, q) for q in qv) for v in sv]
    ranked = [i for i in sorted(range(len(sentences)), key=lambda i: -score[i]) if i not in forced]
    return renumber([sentences[i] for i in sorted([*forced, *ranked][:limit])])


def fit(ctx: Context) -> None:
    """Drop the lowest-ranked passages until the shared prefix leaves room for a step."""
    budget = ctx.generator.n_ctx - TASK_RESERVE - OUTPUT_RESERVE
    total = len(ctx.passages)
    while len(ctx.passages) > 1:
        prefix = "\n".join(m["content"] for m in ctx.messages(""))
        if ctx.generator.count_tokens(prefix) <= budget:
            break
        last = len(ctx.passages)
        ctx.passages = ctx.passages[:-1]
        ctx.sentences = renumber([s for s in ctx.sentences if s.passage != last])
    if len(ctx.passages) < total:
        ctx.notices.append(f"Only {len(ctx.passages)} of {total} passages fit the model's context window.")


def assemble(ctx: Context, retrieval_ms: float, started: float) -> Answer:
    """The verified answer with timings (summed over steps) and gate counts."""
    gens = [g for _, g in ctx.generations]
    first = gens[0] if gens else None
    timings = Timings(retrieval_ms=retrieval_ms,
                      prompt_tokens=max((g.prompt_tokens for g in gens), default=0),
                      ttft_ms=(first.ttft_s * 1000) if first else 0.0,
                      generated_tokens=sum(g.completion_tokens for g in gens),
                      generation_s=sum(g.total_s - g.ttft_s for g in gens),
                      total_ms=(time.perf_counter() - started) * 1000)
    points = tuple(ctx.points)
    if not any(p.verified_quotes for p in points):
        ctx.covered = False  # in every mode: an answer with no grounded point is no answer
    if not ctx.covered and not any(n.startswith("The sources do not") for n in ctx.notices):
        # A step that found nothing to say (coverage_step) said why; a run whose points were all
        # dropped (unverified, copies, unreadable output) says it here, so no front end shows silence.
        ctx.notices.append(no_point_notice(ctx))
    notices = ctx.notices
    gate_counts = Gates(**ctx.gates, evidence_reused=reused(points))
    return Answer(ctx.mode, ctx.request, ctx.generator.name, tuple(ctx.passages), points,
                  sentences=tuple(ctx.sentences), stances=tuple((k, v.label) for k, v in ctx.stances.items()),
                  covered=ctx.covered, notices=tuple(notices), timings=timings, gates=gate_counts,
                  **ctx.prose.fields())


def no_point_notice(ctx: Context) -> str:
    """Why an answer has no point. When the stance step left both sides thin, that is the reason, not the sources.

    Saying "the sources do not cover this" there would be wrong: retrieval found passages on the motion and
    they are shown; what failed is that too few of their sentences argue a side clearly enough to be cards.
    """
    what = MODES[ctx.mode].spec.request
    sides = Counter(st.label for st in ctx.stances.values())
    if ctx.stances and max(sides["support"], sides["oppose"]) < THIN:
        return (f"No side could be built: of the {len(ctx.sentences)} sentences read, {sides['support']} "
                f"argue{'s' * (sides['support'] == 1)} FOR this {what} and {sides['oppose']} AGAINST it, too "
                "few to build on; the passages found are listed as sources.")
    return f"The sources do not cover this {what}: no point could be grounded in them."


def reused(points: Sequence[Point]) -> int:
    """Evidence sentences cited by more than one point (an ask answer may share; others may not)."""
    seen: dict[tuple[str, int], int] = {}
    for p in points:
        if p.section == "answer":
            continue
        for q in (*p.verified_quotes, *(q for q in p.reply_quotes if q.verified)):
            seen[(q.doc_id, q.start)] = seen.get((q.doc_id, q.start), 0) + 1
    return sum(n - 1 for n in seen.values() if n > 1)


def not_covered(req: Request, model: str, found: list[Passage], retrieval_ms: float,
                extra: tuple[str, ...] = ()) -> Answer:
    what = MODES[req.mode].spec.request
    note = f"The sources do not cover this {what}: no passage is close enough to it."
    return Answer(req.mode, req.text, model, tuple(found), (), covered=False, notices=(*req.notices, *extra, note),
                  gaps=(note,), timings=Timings(retrieval_ms=retrieval_ms, total_ms=retrieval_ms))
