"""A mode is a list of steps run over one numbered sources block.

Every step sees the same messages up to the end of the sources (the rules,
then the numbered sentences), and adds only its own short task. llama.cpp
therefore keeps the sources in its KV cache and each step after the first
re-reads a few dozen tokens. A write step has a task prompt (a file in
``prompts/``), a JSON schema built from what earlier steps decided, a token
budget and a parser; a code step (stance labelling, quality gates) is a
plain function of the context. Not handled: steps that run in parallel
(one model, one KV cache).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..events import Event, StepStarted, Token
from ..llm.base import Generation, Generator, parse_json
from ..types import Clash, KeyTerm, Passage, Point, Sentence
from . import finish, prompts
from .cite import sources_block
from .gates import ClaimFilter
from .stance import Stance

Schema = dict[str, Any]
Emit = Callable[[Event], None]


@dataclass
class Prose:
    """The answer's prose fields as the steps write them; ``Answer`` takes them by the same names."""

    key_terms: tuple[KeyTerm, ...] = ()
    clashes: tuple[Clash, ...] = ()
    gaps: tuple[str, ...] = ()
    thesis: str = ""
    assumptions: tuple[str, ...] = ()
    speech: str = ""

    def fields(self) -> dict[str, Any]:
        """As keyword arguments for ``Answer`` (shallow: the records inside stay records)."""
        return dict(vars(self))


@dataclass
class Plans:
    """What a step decided for the steps after it (a write step's schema for its own parser, too)."""

    stance_method: str | None = None  # None: stance.DEFAULT_METHOD
    claims: ClaimFilter | None = None  # made once per request, on first use
    groups: dict[str, list[list[Sentence]]] = field(default_factory=dict)  # write step -> evidence groups offered
    reply_ids: list[str] = field(default_factory=list)  # sentence ids a steelman reply may cite
    retried: set[str] = field(default_factory=set)  # write steps already written once more
    rerun: str = ""  # a write step to run once more right away (a gate rejected all it wrote)
    key_points: int = 0  # overview: key points per side at most (the request's k); 0: keypoints.K_MAX


@dataclass
class Context:
    """Everything one request's steps share and build up."""

    mode: str
    request: str
    passages: list[Passage]
    sentences: list[Sentence]
    generator: Generator
    prompts_dir: Path
    temperature: float
    emit: Emit
    embed: Callable[[list[str]], list[list[float]]]  # for the gates' similarity checks
    doc_text: Callable[[str], str]  # doc_id -> stored text, for verification
    counter: str = ""  # the other side's statement (counter.py); "" when the model gave none
    sides: dict[str, str] = field(default_factory=dict)  # stance.key(sentence) -> the side a user set (sides.py)
    stances: dict[str, Stance] = field(default_factory=dict)
    points: list[Point] = field(default_factory=list)
    prose: Prose = field(default_factory=Prose)
    used: set[str] = field(default_factory=set)  # sentence ids already cited as evidence
    gates: dict[str, int] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    covered: bool = True
    generations: list[tuple[str, Generation]] = field(default_factory=list)
    plans: Plans = field(default_factory=Plans)

    @property
    def by_id(self) -> dict[str, Sentence]:
        return {s.sid: s for s in self.sentences}

    def messages(self, task: str) -> list[dict[str, str]]:
        """Rules, then sources, then ``task``: the stable part first."""
        block = sources_block(self.passages, self.sentences)
        user = prompts.render(self.prompts_dir, "sources", sources=block) + "\n\n" + task
        return [{"role": "system", "content": prompts.render(self.prompts_dir, "system")},
                {"role": "user", "content": user}]

    def task(self, name: str, **values: str) -> str:
        return prompts.render(self.prompts_dir, name, **values)

    def count(self, gate: str, n: int = 1) -> None:
        self.gates[gate] = self.gates.get(gate, 0) + n


@dataclass(frozen=True)
class Step:
    """One small job: a task prompt + schema + budget + parser, or a code action."""

    name: str
    label: str  # what the user is told while it runs
    prompt: str = ""  # task prompt file (write steps)
    max_tokens: int = 0
    schema: Callable[[Context], Schema | None] | None = None  # None: nothing to write, skip the step
    variables: Callable[[Context], dict[str, str]] | None = None
    parse: Callable[[Context, dict[str, Any]], None] | None = None
    action: Callable[[Context], None] | None = None  # code steps
    when: Callable[[Context], bool] = lambda ctx: ctx.covered


ECHO_NOTE = " Write in your own words: do not repeat these instructions."


def run_steps(steps: tuple[Step, ...], ctx: Context, *, max_tokens: int | None = None) -> None:
    """Run ``steps`` in order over ``ctx``; a step whose ``when`` is false is skipped."""
    for step in steps:
        if not step.when(ctx):
            continue
        if step.action is not None:
            ctx.emit(StepStarted(step.name, step.label))
            step.action(ctx)
            continue
        write(step, ctx, max_tokens=max_tokens)
        rerun, ctx.plans.rerun = ctx.plans.rerun, ""
        if rerun == step.name:  # a gate rejected everything: once more, with a note
            write(step, ctx, max_tokens=max_tokens)


def write(step: Step, ctx: Context, *, max_tokens: int | None = None) -> dict[str, Any] | None:
    """Run one write step: render its task, generate under its schema, check the prose, parse.

    Strings the grammar closed at their cap are cut back to a boundary (``finish.trim``); an output
    that repeats the task's own instructions is written once more with a note, and what still
    echoes is dropped with a notice.
    """
    assert step.schema is not None and step.parse is not None
    schema = step.schema(ctx)
    if schema is None:
        return None
    ctx.emit(StepStarted(step.name, step.label))
    values = step.variables(ctx) if step.variables else {}
    if "request" in prompts.placeholders(ctx.prompts_dir, step.prompt):  # a task may leave the request out
        values = {"request": ctx.request, **values}
    task = ctx.task(step.prompt, **values)
    # the template's own words, not what was filled in (a tag may repeat its card's words, a speech its tags)
    instructions = prompts.instructions(ctx.prompts_dir, step.prompt)
    data: dict[str, Any] = {}
    for attempt in range(2):
        data = _generate(step, ctx, task + (ECHO_NOTE if attempt else ""), schema, max_tokens)
        echoed = [path for path, text in finish.strings(data) if finish.echoes(text, instructions, ctx.request)]
        if not echoed:
            break
        ctx.count("regenerated" if attempt == 0 else "echo_dropped", 1 if attempt == 0 else len(echoed))
    else:
        for path in echoed:
            _blank(data, path)
        ctx.notices.append(f"Dropped {len(echoed)} field(s) of '{step.label}' that repeated the task's instructions.")
    step.parse(ctx, data)
    return data


def _generate(step: Step, ctx: Context, task: str, schema: Schema, max_tokens: int | None) -> dict[str, Any]:
    budget = min(step.max_tokens, max_tokens) if max_tokens else step.max_tokens
    gen = ctx.generator.generate(ctx.messages(task), schema=schema, max_tokens=budget, temperature=ctx.temperature,
                                 on_token=lambda piece: ctx.emit(Token(step.name, piece)))
    ctx.generations.append((step.name, gen))
    data = parse_json(gen.text)
    if not data:
        ctx.notices.append(f"The model's output for '{step.label}' could not be read.")
    data, trimmed = finish.fit_strings(data, schema)
    if trimmed:
        ctx.count("trimmed", trimmed)
    return data if isinstance(data, dict) else {}


def _blank(data: Any, path: tuple[Any, ...]) -> None:
    """Empty the string at ``path`` (parsers treat an empty field as absent)."""
    for key in path[:-1]:
        data = data[key]
    data[path[-1]] = ""
