"""The one-call path: the whole answer in one grammar-constrained JSON object.

This was the only path before the staged modes (``modes.py``); it stays as
the baseline that ``assistant eval`` measures the staged path against
(``--one-call``), and for comparison by users. Prompt order: the shared
rules, the numbered sources, then the mode's task (``prompts/oneshot_*.txt``).
Not handled: stance checks and quality gates (that is the staged path).
"""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

from ..index.retrieve import Retriever
from ..index.store import Store
from ..llm.local import Generator, OnToken, parse_json
from ..types import Answer, Clash, KeyTerm, Passage, Point, Quote, Sentence, Timings
from . import prompts
from .cite import number_sentences, sources_block, verify
from .gather import Request, clean_request, gather, top_dense
from .injection import screen
from .schemas import schema_for

MAX_TOKENS = {"ask": 400, "brief": 900, "steelman": 800, "rebut": 800}
# Top dense cosine below which `ask` answers "not covered" without calling the model.
# Measured on eval/gold_seeds.jsonl: covered questions score 0.344-0.79, off-topic ones < 0.2;
# near-miss uncovered questions (0.34-0.52) overlap covered ones, so the model decides those.
ASK_MIN_SCORE = 0.30


def messages_for(prompts_dir: Path, mode: str, request: str, block: str) -> list[dict[str, str]]:
    """System rules, then sources, then the task: the stable part first."""
    user = prompts.render(prompts_dir, "sources", sources=block) + "\n\n" + \
        prompts.render(prompts_dir, f"oneshot_{mode}", request=request)
    return [{"role": "system", "content": prompts.render(prompts_dir, "oneshot_system")},
            {"role": "user", "content": user}]


def fit_prompt(passages: list[Passage], mode: str, request: str, generator: Generator, prompts_dir: Path,
               notices: list[str]) -> tuple[list[Passage], list[Sentence], list[dict[str, str]]]:
    """The prompt with as many passages as fit the context window (lowest-ranked dropped first)."""
    budget = generator.n_ctx - MAX_TOKENS[mode] - 64
    kept = list(passages)
    while True:
        sentences, screened = screen(number_sentences(kept, dedupe=False))  # sources are material
        messages = messages_for(prompts_dir, mode, request, sources_block(kept, sentences))
        if len(kept) <= 1 or generator.count_tokens("\n".join(m["content"] for m in messages)) <= budget:
            break
        kept.pop()
    notices += screened
    if len(kept) < len(passages):
        notices.append(f"Only {len(kept)} of {len(passages)} passages fit the model's context window.")
    return kept, sentences, messages


def run(mode: str, text: str, *, retriever: Retriever, store: Store, generator: Generator, prompts_dir: Path,
        k: int, temperature: float = 0.2, passages: Sequence[Passage] | None = None,
        max_tokens: int | None = None, on_token: OnToken | None = None,
        doc_ids: Collection[str] | None = None) -> Answer:
    """One request end to end. ``passages`` reuses earlier ones (a follow-up)."""
    started = time.perf_counter()
    req = clean_request(mode, text)
    found = list(passages) if passages is not None else gather(mode, req.text, retriever, k, doc_ids=doc_ids)
    retrieval_ms = (time.perf_counter() - started) * 1000
    if not found or (mode == "ask" and passages is None and top_dense(found) < ASK_MIN_SCORE):
        return _not_covered(req, generator.name, found, retrieval_ms)
    found, sentences, messages = fit_prompt(found, mode, req.text, generator, prompts_dir, req.notices)
    gen = generator.generate(messages, schema=schema_for(mode, [s.sid for s in sentences]),
                             max_tokens=max_tokens or MAX_TOKENS[mode], temperature=temperature,
                             on_token=on_token)
    data = parse_json(gen.text)
    if not data:
        req.notices.append("The model's output could not be read as a structured answer.")
    points, prose = to_points(mode, data, sentences, found, store)
    timings = Timings(retrieval_ms=retrieval_ms, prompt_tokens=gen.prompt_tokens, ttft_ms=gen.ttft_s * 1000,
                      generated_tokens=gen.completion_tokens, generation_s=gen.total_s - gen.ttft_s,
                      total_ms=(time.perf_counter() - started) * 1000)
    # The model's own "covered" counts only with a grounded point: in every mode, none means not covered.
    grounded = any(p.verified_quotes for p in points)
    covered = bool(data.get("covered", True)) and grounded
    notices = req.notices + (_balance_notices(mode, points) if covered else [_uncovered(mode, grounded)])
    return Answer(mode, req.text, generator.name, tuple(found), tuple(points), covered, tuple(notices), timings,
                  **prose)


def to_points(mode: str, data: dict[str, Any], sentences: Sequence[Sentence], passages: Sequence[Passage],
              store: Store) -> tuple[list[Point], dict[str, Any]]:
    """Model JSON -> verified points plus the mode's prose fields."""
    def check(refs: object) -> tuple[Quote, ...]:
        return verify(refs, sentences, passages, lambda doc_id: store.document(doc_id).text)

    def items(key: str) -> list[dict[str, Any]]:
        value = data.get(key)
        return [x for x in value if isinstance(x, dict)] if isinstance(value, list) else []

    def s(x: dict[str, Any], key: str) -> str:
        return str(x.get(key) or "").strip()

    if mode == "ask":
        points = [Point("answer", s(x, "text"), quotes=check(x.get("evidence"))) for x in items("points")]
        gaps = str(data.get("gaps") or "").strip()
        return points, {"gaps": (gaps,) if gaps else ()}
    if mode == "brief":
        points = [Point(side, s(x, "claim"), s(x, "reasoning"), check(x.get("evidence")))
                  for side in ("for", "against") for x in items(side)]
        return points, {"key_terms": tuple(KeyTerm(s(t, "term"), s(t, "definition")) for t in items("key_terms")),
                        "clashes": tuple(Clash(s(c, "issue"), s(c, "decider")) for c in items("clashes")),
                        "gaps": _strs(data, "gaps")}
    if mode == "steelman":
        points = [Point("reason", s(x, "claim"), s(x, "reasoning"), check(x.get("evidence"))) for x in items("reasons")]
        points += [Point("objection", s(x, "objection"), quotes=check(x.get("evidence")), reply=s(x, "reply"),
                         reply_quotes=check(x.get("reply_evidence"))) for x in items("objections")]
        return points, {"thesis": str(data.get("thesis") or "").strip(), "gaps": _strs(data, "gaps")}
    points = [Point("weak_point", s(x, "point"), s(x, "reasoning"), check(x.get("evidence")))
              for x in items("weak_points")]
    points += [Point("concession", s(x, "point"), quotes=check(x.get("evidence"))) for x in items("concessions")]
    return points, {"assumptions": _strs(data, "assumptions"), "speech": str(data.get("speech") or "").strip()}


def _strs(data: dict[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key)
    return tuple(str(v).strip() for v in value if str(v).strip()) if isinstance(value, list) else ()


def _not_covered(req: Request, model: str, found: list[Passage], retrieval_ms: float) -> Answer:
    note = "The sources do not cover this question: no passage is close enough to it."
    return Answer(req.mode, req.text, model, tuple(found), (), gaps=(note,), covered=False,
                  notices=(*req.notices, note), timings=Timings(retrieval_ms=retrieval_ms, total_ms=retrieval_ms))


def _uncovered(mode: str, grounded: bool) -> str:
    """The README's promise; ``grounded``: points were kept but the model itself said it is not covered."""
    what = {"ask": "question", "brief": "motion", "steelman": "position", "rebut": "claim"}[mode]
    return f"The sources do not cover this {what}" + ("." if grounded else ": no point could be grounded in them.")


def _balance_notices(mode: str, points: Sequence[Point]) -> list[str]:
    """For a covered brief (at least one side grounded): a note when the other side has nothing."""
    if mode != "brief":
        return []
    sides = {side: [p for p in points if p.section == side and p.verified_quotes] for side in ("for", "against")}
    missing = [side.upper() for side, ps in sides.items() if not ps]
    if len(missing) == 1:
        return [f"The sources support only one side: no {missing[0]} argument could be grounded in them."]
    return []
