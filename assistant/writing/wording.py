"""A key point in the model's words: one plain claim per point, checked against its sentences, else the clause.

The overview's key points are clauses of the library's own sentences
(``keypoints.py``): verbatim, so never false, but sometimes not a claim
("The increase in distributed work capabilities", an item of a list). Here
the model words every key point of a side in one short call (no sources
block: the group's phrase and up to ``SHOWN`` of its sentences), and each
wording is kept only when code lets it through:

- it is finished (``finish.unfinished``), at most ``MAX_WORDS`` words, in
  the script of its sentences, does not repeat the task's own words
  (``finish.echoes``) and does not restate the motion (``gates.restates``);
- it is not a near-duplicate of a wording kept before it (two points must
  stay two points);
- the faithfulness check passes against the sentence the clause came from
  (``faithful.check``, the model's P(yes) that the sentence says it, at the
  tags' ``faithful.THRESHOLD``).

A wording that fails any of these is not rewritten: the clause stands.
Matching and prevalence would stay the clause's either way.

**Measured, not used by the overview** (``assistant eval kpa --word``,
docs/evaluation.md, 2026-12-03): with the default 1.5B model, 70 of 95 train
drafts copy their clause; most others run past 12 words; the check passed the
one real rewording shown on train, which moved that key point away from its
gold one (hit@1 of the shown texts 0.553 -> 0.526 on 8 train topics; dev
0.609 both). Kept as the measured candidate for a stronger model. A
generator without log-probabilities cannot check a wording: the clauses stay.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..llm.base import parse_json
from . import faithful, finish, gates

MAX_WORDS = 12  # the "one-line statements (<= 12 words)", as the clauses
SHOWN = 3  # sentences of a group shown to the model: the clause's own sentence first
SENTENCE_WORDS = 40  # each shown sentence cut to this many words
DUPLICATE_MIN = 0.85  # cosine at which two wordings say the same thing (plain embeddings)
Render = Callable[..., str]
Embed = Callable[[list[str]], list[list[float]]]


@dataclass(frozen=True)
class Group:
    """One key point to word: its clause and its sentences, the clause's own sentence first."""

    clause: str
    sentences: tuple[str, ...]


@dataclass(frozen=True)
class Wording:
    """What a key point shows: the model's claim when it passed every check, else the clause."""

    text: str
    clause: str
    draft: str  # what the model wrote ("" when nothing)
    p_yes: float | None  # the faithfulness check's P(yes); None when the draft failed before it
    failed: str = ""  # "" (kept) or the first check it failed

    @property
    def worded(self) -> bool:
        return not self.failed


def draft(generator: Any, render: Render, groups: Sequence[Group], *, temperature: float = 0.0) -> list[str]:
    """One call: a claim per group; "" where the model gave nothing."""
    if not groups:
        return []
    keys = [f"k{i}" for i in range(1, len(groups) + 1)]
    lines = "\n".join(f'{k}: phrase "{g.clause}" | sentences: '
                      + " ".join(f'"{_clip(s, SENTENCE_WORDS)}"' for s in g.sentences[:SHOWN])
                      for k, g in zip(keys, groups, strict=True))
    schema = {"type": "object", "additionalProperties": False, "required": keys,
              "properties": {k: {"type": "string", "minLength": 3, "maxLength": 100} for k in keys}}
    messages = [{"role": "system", "content": render("system")},
                {"role": "user", "content": render("keypoint_word", groups=lines)}]
    gen = generator.generate(messages, schema=schema, max_tokens=30 * len(groups) + 10, temperature=temperature)
    data = parse_json(gen.text)
    return [str(data.get(k) or "").strip() if isinstance(data, dict) else "" for k in keys]


def settle(generator: Any, render: Render, embed: Embed, groups: Sequence[Group], topic: str,
           instructions: str = "") -> list[Wording]:
    """Each group's wording, or its clause with the reason the wording was refused.

    ``instructions``: the task's own words (the template without its placeholders), which a wording
    must not repeat.
    """
    if not groups:
        return []
    if not hasattr(generator, "label_logprobs"):  # nothing can check a wording: the verbatim clauses stay
        return [Wording(g.clause, g.clause, "", None, "unchecked") for g in groups]
    drafts = draft(generator, render, groups)
    topic_vec, *vecs = embed([topic, *[d or "-" for d in drafts]])
    failed = [refusal(d, g, topic, gates.cosine(v, topic_vec), instructions)
              for d, g, v in zip(drafts, groups, vecs, strict=True)]
    todo = [i for i, f in enumerate(failed) if not f]
    scores = dict(zip(todo, faithful.check(generator, render, [(drafts[i], groups[i].sentences[0]) for i in todo]),
                      strict=True))
    kept: list[int] = []
    out = []
    for i, (d, g) in enumerate(zip(drafts, groups, strict=True)):
        reason = failed[i]
        if not reason and scores[i] < faithful.THRESHOLD:
            reason = "unfaithful"
        if not reason and any(gates.cosine(vecs[i], vecs[j]) >= DUPLICATE_MIN for j in kept):
            reason = "duplicate"
        if not reason:
            kept.append(i)
        out.append(Wording(g.clause if reason else _sentence(d), g.clause, d, scores.get(i), reason))
    return out


def refusal(text: str, group: Group, topic: str, topic_cosine: float, instructions: str = "") -> str:
    """The first code check ``text`` fails as the wording of ``group`` ("" when none).

    >>> g = Group("The increase in distributed work capabilities", ("The increase in distributed work capabilities",))
    >>> refusal("Distributed work capabilities are increasing.", g, "Remote work makes firms productive", 0.4)
    ''
    >>> refusal("Distributed work is a", g, "Remote work makes firms productive", 0.4)
    'unfinished'
    >>> refusal("Remote work makes firms productive.", g, "Remote work makes firms productive", 0.99)
    'restates'
    """
    if not text.strip():
        return "empty"
    if len(text.split()) > MAX_WORDS:
        return "too long"
    if finish.unfinished(text):
        return "unfinished"
    if faithful.foreign_script(text, " ".join(group.sentences)):
        return "script"
    if instructions and finish.echoes(text, instructions, topic):
        return "echo"
    if gates.restates(text, topic, topic_cosine):
        return "restates"
    return ""


def _sentence(text: str) -> str:
    """A claim shown as a sentence: first letter capital, no final full stop (key points are headings)."""
    text = text.strip().rstrip(".")
    return text[:1].upper() + text[1:]


def _clip(text: str, words: int) -> str:
    parts = text.split()
    return " ".join(parts[:words]) + (" ..." if len(parts) > words else "")
