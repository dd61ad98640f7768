"""The stance step on the gold set's own quotes: essay sentences, what a brief on the seeds meets.

ArgKP's arguments (``stance_mixes``) are short crowd claims, each written to argue one side; a
library's sentences are essay prose: reported opinions ("He said that it is 'not proper work'"),
replies to a point made earlier ("he's just plain wrong"), hedged trends. A method can do well on
the first and not on the second (docs/evaluation.md, "Issue 19, ninth session"). Here every motion
and claim of the gold set (``eval/gold_seeds.jsonl``) with gold support or oppose quotes gives two
requests, one per side, one-sided as a real library mostly is: their quotes are the passages (one a
quote, numbered into sentences as a brief's sources are), labelled towards the item's text with the
other side's statement the model writes (``counter.opposite``), as a brief does. A quote's label is
the majority of its sentences' non-neutral labels (``stance_eval.passage_labels``).

Reported per method and gold side: quotes, right share (labelled its gold side), wrong share
(labelled the other), neutral share, and the accuracy of the decided ones. Every quote has a side,
so this measures sides, not neutrality (``stance_mixes`` measures off-topic sentences). It is the
project's own gold: 64 quotes of 18 items, written for the seeds, too few to choose constants on;
report it, do not tune on it. Not handled: a quote read with its neighbours (a brief's probe reads
sentence by sentence too; giving the previous sentence as context was measured: no better).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..types import Chunk, Passage
from ..writing import counter, prompts, stance
from ..writing.cite import number_sentences
from .report import Report
from .stance_eval import messages_fn, passage_labels, split_method

SIDES = ("support", "oppose")


@dataclass(frozen=True)
class GoldRequest:
    item_id: str
    text: str  # the motion or claim
    quotes: tuple[tuple[str, str], ...]  # (quote, "support" | "oppose")


def load(path: Path) -> list[GoldRequest]:
    """The gold items that have support or oppose quotes, in file order."""
    out = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise InputError(f"cannot read the gold file {path}: {e.strerror or e}") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            quotes = tuple((q["quote"], side) for side in SIDES for q in row.get(side, []))
            item = GoldRequest(row["id"], row["text"], quotes)
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise InputError(f"{path}:{n}: not a gold item ({type(e).__name__}: {e})") from None
        if quotes:
            out.append(item)
    if not out:
        raise InputError(f"{path}: no gold item has support or oppose quotes")
    return out


def one_sided(item: GoldRequest) -> list[GoldRequest]:
    """The item's support quotes as one request and its oppose quotes as another, as a one-sided library holds them.

    A method that labels sentences against the rest of its request (``contrast``) would be helped by a
    request holding both sides; a real library mostly holds one.

    >>> [r.quotes for r in one_sided(GoldRequest("m", "M", (("a", "support"), ("b", "oppose"), ("c", "support"))))]
    [(('a', 'support'), ('c', 'support')), (('b', 'oppose'),)]
    """
    return [GoldRequest(item.item_id, item.text, mine) for side in SIDES
            if (mine := tuple(q for q in item.quotes if q[1] == side))]


def passages_for(req: GoldRequest) -> list[Passage]:
    return [Passage(Chunk(f"{req.item_id}-{n}:0", f"{req.item_id}-{n}", f"quote {n}", "gold", 0, 0, len(q), q),
                    1.0, n) for n, (q, _) in enumerate(req.quotes, 1)]


@dataclass
class Tally:
    """One method: per gold side, quotes / right / wrong."""

    counts: dict[str, list[int]]
    seconds: float = 0.0

    @classmethod
    def empty(cls) -> Tally:
        return cls({side: [0, 0, 0] for side in SIDES})

    def add(self, gold: Sequence[str], got: Sequence[str]) -> None:
        for want, label in zip(gold, got, strict=True):
            c = self.counts[want]
            c[0] += 1
            c[1] += label == want
            c[2] += label not in (want, "neutral")

    def summary(self) -> dict[str, Any]:
        """Per side and over both.

        >>> t = Tally.empty(); t.add(["support", "support", "oppose"], ["support", "neutral", "support"])
        >>> t.summary()["all"]
        {'quotes': 3, 'right': 0.333, 'wrong': 0.333, 'neutral': 0.333, 'decided_accuracy': 0.5}
        """
        def row(n: int, right: int, wrong: int) -> dict[str, Any]:
            def share(a: int, b: int) -> float | None:
                return round(a / b, 3) if b else None

            return {"quotes": n, "right": share(right, n), "wrong": share(wrong, n),
                    "neutral": share(n - right - wrong, n), "decided_accuracy": share(right, right + wrong)}

        out = {side: row(*c) for side, c in self.counts.items()}
        out["all"] = row(*(sum(c[i] for c in self.counts.values()) for i in range(3)))
        return out


def evaluate(generator: Any, prompts_dir: Path, requests: Sequence[GoldRequest], methods: Sequence[str], *,
             report: Report | None = None, embed: Any = None) -> dict[str, Any]:
    """Per method: right / wrong / neutral shares of the gold quotes, saved as it goes."""
    tallies = {m: Tally.empty() for m in methods}
    render = lambda name, **values: prompts.render(prompts_dir, name, **values)  # noqa: E731
    opposites: dict[str, str] = {}
    for i, item in enumerate(requests, 1):
        opposites[item.item_id] = counter.opposite(generator, prompts_dir, item.text) or stance.negate(item.text)
        for req in one_sided(item):
            passages = passages_for(req)
            sentences = number_sentences(passages)
            messages = messages_fn(prompts_dir, passages, sentences)
            for method in methods:
                started = time.perf_counter()
                kind, probe = split_method(method)
                labels = stance.label(generator, messages, render, req.text, sentences, method=kind,
                                      opposite=opposites[req.item_id], embed=embed, probe=probe)
                got = passage_labels(labels, sentences, len(passages))
                tallies[method].add([side for _, side in req.quotes], got)
                tallies[method].seconds += time.perf_counter() - started
        if report is not None:
            report.data["gold_quotes"] = {m: t.summary() for m, t in tallies.items()}
            report.data["gold_opposites"] = opposites
            report.save()
            report.progress("gold quotes", i, len(requests),
                            " ".join(f"{m} right {t.summary()['all']['right']}" for m, t in tallies.items()))
    return {m: {**t.summary(), "seconds": round(t.seconds, 1)} for m, t in tallies.items()}


def table(result: dict[str, Any]) -> str:
    """Markdown: one row per method and gold side."""
    lines = ["| method | gold side | quotes | right | wrong | neutral | accuracy of decided |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for method, rows in result.items():
        for side in (*SIDES, "all"):
            r = rows[side]
            lines.append(f"| {method} | {side} | {r['quotes']} | {r['right']} | {r['wrong']} | {r['neutral']} | "
                         f"{r['decided_accuracy']} |")
    return "\n".join(lines)
