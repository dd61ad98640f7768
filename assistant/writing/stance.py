"""Stance of each source sentence towards a motion, position or claim.

Decided before any argument is written, so that the FOR step can only cite
supporting sentences and the AGAINST step only opposing ones. Four methods,
measured against each other in ``docs/evaluation.md``:

- ``logprob``: on the cached sources prefix, the model's next-token
  log-probabilities of " support" / " oppose" after a short tail that
  repeats the sentence (``S7 "<first 20 words>" ->``); every tail is read as
  if it followed the prefix directly (``LlamaGenerator.label_logprobs``
  decodes them together on parallel sequences sharing the prefix's cells),
  so each costs the tail only;
- ``symmetric``: ``logprob`` towards the request and towards its negation,
  halved difference, which cancels the part of the model's leaning to
  "support" that does not depend on the statement;
- ``contrast`` (default): one pass instead of two: the task shows the
  request as A and its opposite (``counter.py``, else the negation) as B,
  and the score is log P(" A") - log P(" B") after the same tails. On 40
  ArguAna debates, one run: passage accuracy 0.90 against 0.775 for
  ``symmetric``, at 4.4 s a debate against 10.6 s (half the tails to read);
- ``call``: one grammar-constrained call that labels every id.

Measured on ArguAna debates (docs/evaluation.md), the 1.5B model's raw
log-odds rank sentences well (symmetric, AUC 0.85) but sit on a
statement-dependent offset that neither the negation nor a content-free
"N/A" sentence removes; what works is centring each request's scores on
their mean: a sentence is labelled by how much more it leans than the
request's other sentences. That assumes the passages hold some of both
sides, which a brief's for/against retrieval aims for; a one-sided corpus
shows up as weak margins (labelled neutral) rather than as a side.

A generator without log-probabilities (a remote server) gets ``call``.
Not handled: stance towards anything but the one request of this answer.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..llm.base import Generator, parse_json
from ..types import Sentence

LABELS = ("support", "oppose", "neutral")
METHODS = ("logprob", "symmetric", "contrast", "call", "paired")
CONTRAST_LABELS = (" A", " B", " neither")
DEFAULT_METHOD = "paired"
# After centring and scaling, a sentence is labelled for a side only when it leans at least this
# many standard deviations beyond the request's mean; nearer the mean it is too ambiguous to be
# read aloud as evidence (and background sentences stay neutral however one-sided the rest is).
MIN_MARGIN = 0.5
TAIL_WORDS = 20


@dataclass(frozen=True)
class Stance:
    """One sentence's stance: its label and the log-odds ``support`` vs ``oppose``."""

    sid: str
    label: str  # support | oppose | neutral
    margin: float  # log P(support) - log P(oppose); > 0 leans support
    neutral: float  # P(neutral) after renormalising over the three labels
    corrected: bool = False  # set by a user for this request (output/sides.py), not read by the model


# A side a user set is stronger than any the model reads: it ranks first among its side's evidence.
SET_MARGIN = 20.0


def key(text: str) -> str:
    """What a sentence or request is matched on when a user has set a side: case, spacing, punctuation aside.

    >>> key("  Remote work  makes companies MORE productive.") == key("remote work makes companies more productive")
    True
    """
    return " ".join(re.sub(r"[\W_]+", " ", text.casefold()).split())


def padded(text: str) -> str:
    """``key(text)`` with a space either side: a key found inside it (``f" {part} " in ...``) is whole words.

    >>> f" {key('not proper work')} " in padded("It is 'not proper work'."), " proper wor " in padded("proper work")
    (True, False)
    """
    return f" {key(text)} "


def set_side(sentence: str, sides: Mapping[str, str]) -> str:
    """The side a user set for ``sentence`` (``sides``: ``key`` of a sentence or a part of one -> side), or "".

    A part matches whole words of the sentence; the longest part set wins.

    >>> set_side("He said it is 'not proper work', he added.", {"it is not proper work": "oppose"})
    'oppose'
    >>> set_side("This is not proper working.", {"it is not proper work": "oppose"})
    ''
    """
    if not sides:
        return ""
    whole = padded(sentence)
    found = [part for part in sides if f" {part} " in whole]
    return sides[max(found, key=len)] if found else ""


def set_by_user(sid: str, side: str) -> Stance:
    """The stance of a sentence whose side the user set (support | oppose | neutral).

    >>> set_by_user("S3", "oppose").margin < 0, set_by_user("S3", "neutral").neutral
    (True, 1.0)
    """
    margin = {"support": SET_MARGIN, "oppose": -SET_MARGIN}.get(side, 0.0)
    return Stance(sid, side, margin, 1.0 if side == "neutral" else 0.0, corrected=True)


Messages = Callable[[str], list[dict[str, str]]]  # task text -> full messages (rules, sources, task)
Render = Callable[..., str]  # (prompt name, **placeholders) -> task text


def negate(request: str) -> str:
    """The request's negation, for the symmetric check.

    >>> negate("Remote work makes companies more productive.")
    'It is not true that remote work makes companies more productive.'
    """
    text = request.strip()
    body = text[0].lower() + text[1:] if text[:2] != text[:2].upper() else text
    return f"It is not true that {body.rstrip('.')}."


def label(generator: Generator, messages: Messages, render: Render, request: str,
          sentences: Sequence[Sentence], *, method: str = DEFAULT_METHOD, temperature: float = 0.0,
          on_progress: Callable[[int, int], None] | None = None, opposite: str | None = None,
          embed: Callable[[list[str]], list[list[float]]] | None = None,
          probe: Path | None = None) -> dict[str, Stance]:
    """Stance of every sentence towards ``request``.

    ``render("stance", request=...)`` (and ``render("stance_contrast", request=..., opposite=...)``)
    make the task text; ``opposite`` (the other side's statement, ``counter.py``) replaces the
    plain negation in the symmetric and contrast methods. ``probe``: the ``paired`` method's probe file,
    when not the shipped one (evaluations only).
    """
    if not sentences:
        return {}
    if method != "call" and not hasattr(generator, "label_logprobs"):
        method = "call"
    if method == "call":
        return _by_call(generator, messages(render("stance", request=request)), sentences, temperature)
    other = opposite or negate(request)
    if method == "paired":
        return paired(generator, render, request, other, sentences, on_progress, probe)
    if method == "contrast":
        task = render("stance_contrast", request=request, opposite=other)
        report = (lambda n: on_progress(n, len(sentences))) if on_progress else None
        return calibrate(contrast_scores(generator, messages(task), sentences, report))
    passes = 1 if method == "logprob" else 2
    total = passes * len(sentences)

    def progress(offset: int) -> Callable[[int], None] | None:
        return (lambda n: on_progress(offset + n, total)) if on_progress else None

    forward = logprob_scores(generator, messages(render("stance", request=request)), sentences, progress(0))
    if method == "logprob":
        return calibrate(forward)
    backward = logprob_scores(generator, messages(render("stance", request=other)), sentences,
                              progress(len(sentences)))
    return calibrate(symmetric(forward, backward))


def symmetric(forward: dict[str, tuple[float, float]],
              backward: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
    """Towards the request minus towards its negation, halved."""
    return {sid: ((f[0] - backward[sid][0]) / 2, (f[1] + backward[sid][1]) / 2) for sid, f in forward.items()}


def calibrate(raw: dict[str, tuple[float, float]]) -> dict[str, Stance]:
    """Standardise the request's log-odds (z-scores), then label each sentence.

    >>> got = calibrate({"S1": (2.0, 0.0), "S2": (0.7, 0.0), "S3": (0.6, 0.0), "S4": (-0.5, 0.0)})
    >>> [(s.sid, s.label) for s in got.values()]
    [('S1', 'support'), ('S2', 'neutral'), ('S3', 'neutral'), ('S4', 'oppose')]
    """
    if not raw:
        return {}
    margins = [m for m, _ in raw.values()]
    mean = sum(margins) / len(margins)
    std = (sum((m - mean) ** 2 for m in margins) / len(margins)) ** 0.5
    if std < 1e-6:
        return {sid: Stance(sid, "neutral", 0.0, n) for sid, (_, n) in raw.items()}
    return {sid: decide(sid, (m - mean) / std, n) for sid, (m, n) in raw.items()}


TAIL = "text"  # "id": "S7:" (3 tokens, chance-level on ArguAna); "text": 'S7 "<first words>" ->'


def tail(s: Sentence, style: str = "") -> str:
    """What the model reads right before the label it is scored on."""
    if (style or TAIL) == "text":
        words = s.text.split()
        return f'{s.sid} "{" ".join(words[:TAIL_WORDS])}{" ..." if len(words) > TAIL_WORDS else ""}" ->'
    return f"{s.sid}:"


def logprob_scores(generator: Any, messages: list[dict[str, str]], sentences: Sequence[Sentence],
                   on_progress: Callable[[int], None] | None = None,
                   style: str = "") -> dict[str, tuple[float, float]]:
    """sid -> (log-odds support vs oppose, P(neutral)) from one prefix."""
    return _scores(generator, messages, sentences, [f" {x}" for x in LABELS], on_progress, style)


def contrast_scores(generator: Any, messages: list[dict[str, str]], sentences: Sequence[Sentence],
                    on_progress: Callable[[int], None] | None = None) -> dict[str, tuple[float, float]]:
    """sid -> (log-odds A (the request) vs B (its opposite), P(neither)) from one prefix."""
    return _scores(generator, messages, sentences, list(CONTRAST_LABELS), on_progress)


def _scores(generator: Any, messages: list[dict[str, str]], sentences: Sequence[Sentence], labels: list[str],
            on_progress: Callable[[int], None] | None, style: str = "") -> dict[str, tuple[float, float]]:
    """sid -> (log P(labels[0]) - log P(labels[1]), P(labels[2]) renormalised over the three)."""
    rows = generator.label_logprobs(messages, [tail(s, style) for s in sentences], labels, on_progress=on_progress)
    out = {}
    for s, row in zip(sentences, rows, strict=True):
        lp = [row[x] for x in labels]
        z = math.log(sum(math.exp(v) for v in lp))
        out[s.sid] = (lp[0] - lp[1], math.exp(lp[2] - z))
    return out


def decide(sid: str, margin: float, neutral: float) -> Stance:
    if abs(margin) < MIN_MARGIN:
        return Stance(sid, "neutral", margin, neutral)
    return Stance(sid, "support" if margin > 0 else "oppose", margin, neutral)


def schema(sentences: Sequence[Sentence]) -> dict[str, Any]:
    """The ``call`` method's schema: every id, in order, with one of the three labels."""
    props = {s.sid: {"type": "string", "enum": list(LABELS)} for s in sentences}
    return {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}


def _by_call(generator: Generator, messages: list[dict[str, str]], sentences: Sequence[Sentence],
             temperature: float) -> dict[str, Stance]:
    gen = generator.generate(messages, schema=schema(sentences), max_tokens=8 * len(sentences) + 16,
                             temperature=temperature)
    data = parse_json(gen.text)
    out = {}
    for s in sentences:
        value = data.get(s.sid)
        margin = {"support": 1.0, "oppose": -1.0}.get(str(value), 0.0)
        out[s.sid] = Stance(s.sid, str(value) if value in LABELS else "neutral", margin,
                            1.0 if value not in ("support", "oppose") else 0.0)
    return out


def ranked(stances: dict[str, Stance], side: str, exclude: set[str] = frozenset()) -> list[Stance]:  # type: ignore[assignment]
    """Sentences labelled ``side`` (support | oppose), strongest first."""
    sign = 1.0 if side == "support" else -1.0
    chosen = [st for st in stances.values() if st.label == side and st.sid not in exclude]
    return sorted(chosen, key=lambda st: -sign * st.margin)


def paired(generator: Any, render: Render, request: str, opposite: str, sentences: Sequence[Sentence],
           on_progress: Callable[[int, int], None] | None = None, probe: Path | None = None) -> dict[str, Stance]:
    """Each sentence on its own, both orientations, read out by the fitted probe (``stance_probe.py``)."""
    from . import stance_probe

    total = 2 * len(sentences)
    report = (lambda n: on_progress(n, total)) if on_progress else None
    scored, need = stance_probe.score(generator, render, request, opposite, [s.text for s in sentences],
                                      on_progress=report, probe_file=probe)
    return {s.sid: kept(s.sid, p, need) for s, p in zip(sentences, scored, strict=True)}


def kept(sid: str, p: Any, need: float) -> Stance:
    """A side only when its probability reaches ``need`` and beats the other side's.

    >>> from assistant.writing.stance_probe import Scored
    >>> kept("S1", Scored(0.8, 0.1, 0.1), 0.6).label, kept("S2", Scored(0.5, 0.1, 0.4), 0.6).label
    ('support', 'neutral')
    """
    margin = math.log(max(p.support, 1e-9)) - math.log(max(p.oppose, 1e-9))
    side = "support" if p.support >= p.oppose else "oppose"
    if max(p.support, p.oppose) < need:
        side = "neutral"
    return Stance(sid, side, margin, p.neutral)
