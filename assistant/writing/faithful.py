"""A tag says what its evidence says: checked by the model, rewritten once, else a verbatim span.

The 1.5B model's tags often read their card wrongly ("requires constant
distractions" over "suffers under the constant distractions"), wander off it,
or slip into another script. Every tag, reason, weak point, concession and
objection goes through ``settle``:

1. ``check``: the model's next-token log-probabilities of " yes" / " no"
   after ``Evidence: "..." / Tag: "..." / The tag states what the evidence
   says:`` (prompts/faithful*.txt; all cards of a step on parallel
   sequences after one short prompt, as the stance step reads its tails).
   P(yes) below ``THRESHOLD`` fails; so does a tag in a script its evidence
   does not use (Chinese characters under an English sentence).
2. Failing tags are rewritten in one call (prompts/faithful_rewrite.txt)
   and checked again.
3. What still fails becomes ``verbatim_span`` of its first evidence
   sentence: a clause of the sentence itself, which cannot misstate it.

``THRESHOLD`` (0.5, even odds), measured with ``eval/faithful_threshold.py``
on ArgKP (a key point as the tag of an argument it matches, of one it does
not, of the other side): on dev it keeps 0.947 of faithful tags and rejects
0.43 of other-side ones; AUC 0.835 against 0.673 for embedding cosine
(docs/evaluation.md, "The faithfulness check, measured"). Train's rule (keep
90 % of faithful cards) would give 0.553. A generator without log-probabilities (a model
server) skips step 1 (every tag passes). A local model not marked ``judge`` in models.txt (the fast
and test models, whose reads pass no right card) skips steps 1 and 2: ``unjudged``. Not handled: a tag that is true of
its evidence but beside the point of the debate.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from typing import Any

from ..llm.base import parse_json

THRESHOLD = 0.5
MAX_WORDS = 15
MIN_SPAN_WORDS = 5  # a verbatim span's clause has at least this many words
Render = Callable[..., str]
Embed = Callable[[list[str]], list[list[float]]]


def check(generator: Any, render: Render, cards: Sequence[tuple[str, str]]) -> list[float]:
    """P(yes) per (tag, evidence) card; 1.0 for every card when the model gives no log-probabilities."""
    if not cards or not hasattr(generator, "label_logprobs"):
        return [1.0] * len(cards)
    messages = [{"role": "system", "content": render("faithful_system")},
                {"role": "user", "content": render("faithful")}]
    tails = [f'Evidence: "{_clip(evidence, 80)}"\nTag: "{tag}"\nThe tag states what the evidence says:'
             for tag, evidence in cards]
    rows = generator.label_logprobs(messages, tails, [" yes", " no"])
    return [1 / (1 + math.exp(row[" no"] - row[" yes"])) for row in rows]


def passes(tag: str, evidence: str, p_yes: float) -> bool:
    """The check's verdict; a tag that stops on a dangling word ("Remote work is a", gold set) fails too."""
    from .finish import unfinished

    return p_yes >= THRESHOLD and not foreign_script(tag, evidence) and not unfinished(tag)


def foreign_script(tag: str, evidence: str) -> bool:
    """Letters of a script the evidence never uses (the model slipping into Chinese mid-tag).

    >>> foreign_script("laws protect他们的 rights", "Laws protect their rights."), foreign_script("café", "Café!")
    (True, False)
    """
    return bool(_scripts(tag) - _scripts(evidence))


def _scripts(text: str) -> set[str]:
    return {unicodedata.name(ch, "?").split()[0] for ch in text if ch.isalpha()}


def _clip(text: str, words: int) -> str:
    parts = text.split()
    return " ".join(parts[:words]) + (" ..." if len(parts) > words else "")


def verbatim_span(sentence: str, embed: Embed) -> str:
    """The clause of ``sentence`` (5 to 15 words, not a lone "despite ..." clause) nearest the whole, else its start.

    A verbatim span cannot misstate its sentence; the nearest clause keeps its point.
    """
    pieces = [p.strip(" ,;:—–-\"'“”") for p in re.split(r"[,;:—–]\s+|\s+(?:but|because|while|which|so)\s+",
                                                        sentence)]
    from .finish import fragment

    # not a lone "Despite X" clause
    fitting = [p for p in pieces if MIN_SPAN_WORDS <= len(p.split()) <= MAX_WORDS and not fragment(p)]
    if not fitting:
        words = sentence.split()
        return " ".join(words[:MAX_WORDS]).rstrip(",;:") if len(words) > MAX_WORDS else sentence.strip()
    vectors = embed([sentence, *fitting])
    whole = vectors[0]
    best = max(range(len(fitting)), key=lambda i: sum(a * b for a, b in zip(whole, vectors[i + 1], strict=True)))
    return fitting[best]


def rewrite(generator: Any, render: Render, cards: Sequence[tuple[str, str]], *, temperature: float = 0.0) -> list[str]:
    """One call rewriting every failing (tag, evidence) card; "" where the model gave nothing."""
    keys = [f"t{i}" for i in range(1, len(cards) + 1)]
    lines = "\n".join(f'{k}: evidence "{_clip(evidence, 60)}" | misstated tag "{tag}"'
                      for k, (tag, evidence) in zip(keys, cards, strict=True))
    schema = {"type": "object", "additionalProperties": False, "required": keys,
              "properties": {k: {"type": "string", "minLength": 3, "maxLength": 120} for k in keys}}
    messages = [{"role": "system", "content": render("system")},
                {"role": "user", "content": render("faithful_rewrite", cards=lines)}]
    gen = generator.generate(messages, schema=schema, max_tokens=40 * len(cards), temperature=temperature)
    data = parse_json(gen.text)
    return [str(data.get(k) or "").strip() for k in keys]


def unjudged(generator: Any) -> bool:
    """A local model with yes/no reads that decide nothing: not marked ``judge`` in models.txt (fast, test).

    The 0.5B and the 135M models pass 0 of 30 right ArgKP cards (median P(yes) 0.13 and 0.09,
    docs/evaluation.md), so a tag of theirs that passes did so by chance and one that fails says nothing.
    A generator without log-probabilities (a model server) is not "unjudged": it is not read at all.
    """
    return hasattr(generator, "label_logprobs") and not getattr(generator, "judge", False)


def verbatim(tag: str, evidence: str) -> bool:
    """Whether ``tag`` is a run of words of ``evidence`` (case, quotes and punctuation aside).

    >>> verbatim("Offices cost money", "Offices cost money, says Rose."), verbatim("Offices are dear", "Offices cost")
    (True, False)
    """
    def words(text: str) -> str:
        return " " + " ".join(re.findall(r"\w+", text.lower())) + " "

    return bool(tag.strip()) and words(tag) in words(evidence)


def settle(generator: Any, render: Render, embed: Embed, cards: Sequence[tuple[str, str]],
           count: Callable[[str, int], None]) -> list[str]:
    """Each card's tag, kept if faithful, else rewritten once, else a verbatim span of its evidence.

    With a model whose check decides nothing (``unjudged``) no check or rewrite is run: a tag that is not
    already a run of at least ``MIN_SPAN_WORDS`` of the evidence's own words becomes its verbatim span
    at once (``unjudged_replaced``): the result the two calls led to anyway, sooner, and never an
    unchecked tag that passed by chance. (A shorter copy is often a heading, "Working For The Man".)
    """
    from .finish import trim, unfinished

    tags = [tag for tag, _ in cards]
    if unjudged(generator):
        for i, (tag, evidence) in enumerate(cards):
            if len(tag.split()) < MIN_SPAN_WORDS or not verbatim(tag, evidence) or unfinished(tag):
                tags[i] = verbatim_span(evidence, embed)
                count("unjudged_replaced", 1)
        return tags
    failing = [i for i, p in enumerate(check(generator, render, cards)) if not passes(*cards[i], p)]
    if not failing:
        return tags
    redone = rewrite(generator, render, [cards[i] for i in failing])
    again = [(trim(t) if len(t) >= 119 else t, cards[i][1]) for t, i in zip(redone, failing, strict=True)]
    scores = check(generator, render, [c for c in again if c[0]])
    it = iter(scores)
    for i, (tag, evidence) in zip(failing, again, strict=True):
        if tag and passes(tag, evidence, next(it)):
            tags[i] = tag
            count("unfaithful_rewritten", 1)
        else:
            tags[i] = verbatim_span(evidence, embed)
            count("unfaithful_replaced", 1)
    return tags
