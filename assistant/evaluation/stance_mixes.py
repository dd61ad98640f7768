"""The stance step on one-sided libraries: ArgKP arguments in five mixes of sides, plus off-topic ones.

A real library rarely holds both sides; a stance method that only ranks
sentences within a request (z-scores) files the weaker half of a one-sided
request under the other side. Here every request holds eight arguments of
one topic, all pro, all con, 3:1, 1:3 or 1:1 (``argkp.mixed_requests``), and
two arguments of another topic, each argument one passage, numbered into
sentences as a request's sources are. Each method labels the sentences
towards the topic (the motion) with the other side's statement written by
the model, as a brief does (``counter.opposite``); an argument's label is
the majority of its sentences' non-neutral labels (a tie is neutral).

Reported per method and mix: right share (labelled its gold side), wrong
share (labelled the other side), neutral share, and the share of off-topic
arguments labelled neutral. With ``negated`` every request is read a second
time about the motion's opposite (the model's opposite statement as the
motion, the topic as its opposite; gold sides exchange), reported as the
method's "motion negated" rows: a label taken from the sentence's words
rather than from the motion shows up there as wrong. Develop on ``train``,
report on ``dev``; no threshold is tuned on dev. Not handled: arguments longer than a few
sentences (ArgKP's are one or two).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..types import Chunk, Passage, Sentence
from ..writing import counter, prompts, stance, stance_probe
from ..writing.cite import number_sentences, sources_block
from . import argkp
from .report import Report
from .stance_eval import passage_labels, split_method


@dataclass
class MixTally:
    """Counts for one method and one mix."""

    arguments: int = 0
    right: int = 0
    wrong: int = 0
    off_topic: int = 0
    off_topic_neutral: int = 0
    seconds: float = 0.0
    requests: int = 0

    def add(self, gold: Sequence[int], got: Sequence[str], off: Sequence[str], seconds: float) -> None:
        for want, label in zip(gold, got, strict=True):
            self.arguments += 1
            self.right += label == ("support" if want == 1 else "oppose")
            self.wrong += label == ("oppose" if want == 1 else "support")
        self.off_topic += len(off)
        self.off_topic_neutral += sum(label == "neutral" for label in off)
        self.seconds += seconds
        self.requests += 1

    def summary(self) -> dict[str, Any]:
        def share(a: int, b: int) -> float | None:
            return round(a / b, 3) if b else None

        neutral = self.arguments - self.right - self.wrong
        return {"right": share(self.right, self.arguments), "wrong": share(self.wrong, self.arguments),
                "neutral": share(neutral, self.arguments),
                "off_topic_neutral": share(self.off_topic_neutral, self.off_topic),
                "arguments": self.arguments, "requests": self.requests,
                "seconds_per_request": round(self.seconds / self.requests, 2) if self.requests else None}


def request_sources(req: argkp.MixedRequest) -> tuple[list[Passage], list[Sentence], list[int]]:
    """Passages (one per argument, on-topic first, off-topic last), their sentences, and gold stances."""
    passages = []
    for n, arg in enumerate((*req.arguments, *req.off_topic), 1):
        chunk = Chunk(f"{arg.arg_id}:0", arg.arg_id, f"argument {n}", "argkp", 0, 0, len(arg.text), arg.text)
        passages.append(Passage(chunk, 1.0, n))
    return passages, number_sentences(passages), [a.stance for a in req.arguments]


def evaluate(generator: Any, prompts_dir: Path, requests: Sequence[argkp.MixedRequest], methods: Sequence[str], *,
             report: Report | None = None, embed: Callable[[list[str]], list[list[float]]] | None = None,
             negated: bool = False) -> dict[str, Any]:
    """Per method and mix: right / wrong / neutral shares and off-topic neutral share, saved as it goes."""
    readings = [(m, False) for m in methods] + [(m, True) for m in methods if negated]
    tallies = {name(m, neg): {mix: MixTally() for mix in argkp.MIXES} for m, neg in readings}
    opposites: dict[str, str] = {}
    system = prompts.render(prompts_dir, "system")
    render = lambda name, **values: prompts.render(prompts_dir, name, **values)  # noqa: E731
    for i, req in enumerate(requests, 1):
        if req.topic not in opposites:  # the other side's statement, written once per topic as a brief would
            opposites[req.topic] = counter.opposite(generator, prompts_dir, req.topic) or stance.negate(req.topic)
        passages, sentences, gold = request_sources(req)
        block = prompts.render(prompts_dir, "sources", sources=sources_block(passages, sentences))

        def messages(task: str, block: str = block) -> list[dict[str, str]]:
            return [{"role": "system", "content": system}, {"role": "user", "content": block + "\n\n" + task}]

        for method, neg in readings:
            started = time.perf_counter()
            motion, other = (opposites[req.topic], req.topic) if neg else (req.topic, opposites[req.topic])
            kind, probe = split_method(method)
            labels = stance.label(generator, messages, render, motion, sentences, method=kind,
                                  opposite=other, embed=embed, probe=probe)
            got = passage_labels(labels, sentences, len(passages))
            n = len(req.arguments)
            want = [-g for g in gold] if neg else gold
            tallies[name(method, neg)][req.mix].add(want, got[:n], got[n:], time.perf_counter() - started)
        summary = summaries(tallies)
        if report is not None:
            report.data["stance_mixes"] = summary
            report.data["opposites"] = opposites
            report.save()
            head = name(*readings[-1])
            report.progress("stance mixes", i, len(requests),
                            f"{head}: right {overall(tallies[head])['right']}, wrong {overall(tallies[head])['wrong']}")
    return summaries(tallies)


def name(method: str, negated: bool) -> str:
    return f"{method}, motion negated" if negated else method


def overall(by_mix: dict[str, MixTally]) -> dict[str, Any]:
    total = MixTally()
    for t in by_mix.values():
        for name in ("arguments", "right", "wrong", "off_topic", "off_topic_neutral", "requests"):
            setattr(total, name, getattr(total, name) + getattr(t, name))
        total.seconds += t.seconds
    return total.summary()


def summaries(tallies: dict[str, dict[str, MixTally]]) -> dict[str, Any]:
    return {m: {**{mix: t.summary() for mix, t in by_mix.items()}, "all": overall(by_mix)}
            for m, by_mix in tallies.items()}


def table(result: dict[str, Any]) -> str:
    """Markdown: one row per method and mix."""
    lines = ["| method | mix | right | wrong | neutral | off-topic neutral | s / request |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for method, rows in result.items():
        for mix, r in rows.items():
            lines.append(f"| {method} | {mix} | {r['right']} | {r['wrong']} | {r['neutral']} | "
                         f"{r['off_topic_neutral']} | {r['seconds_per_request']} |")
    return "\n".join(lines)


def run_eval(a: Any, folder: Path | None, *, split: str, methods: Sequence[str], topics: int | None = None,
             arguana: Path | None = None, debates: int = 40, report: Report | None = None,
             negated: bool = False, gold: Path | None = None) -> dict[str, Any]:
    """``assistant eval stance PATH``: the mixes on an ArgKP split, and optionally ArguAna's stance step and
    the gold set's quotes (``stance_gold``). No ``folder`` (only with ``topics=0``): no ArgKP at all, e.g. to
    measure the stance step on the sides a user set (``assistant sides export``)."""
    from ..errors import InputError

    unknown = {m for m in methods if split_method(m)[0] not in stance.METHODS}
    if not methods or unknown:
        raise InputError(f"--methods takes some of {', '.join(stance.METHODS)} (paired:FILE for another probe), "
                         f"got {', '.join(methods) or 'none'}")
    for method in methods:  # a probe file is read now, so a bad one fails before any work
        kind, probe = split_method(method)
        if probe is None or (probe == stance_probe.ZERO_SHOT and kind == "paired"):
            continue
        try:
            ok = kind == "paired" and stance_probe.load_probe(probe) is not None  # None: no such file
        except (OSError, ValueError, KeyError):
            ok = False
        if not ok:
            raise InputError(f"{method}: only paired takes a probe file (or zero-shot), and it must be one "
                             "(eval/fit_stance_probe.py writes them)")
    if folder is None and topics != 0:
        raise InputError("eval stance needs the ArgKP folder, unless --topics 0 with --gold or --arguana")
    data = argkp.load(folder, split) if folder is not None else None
    if gold is not None:
        from . import stance_gold

        gold_requests = stance_gold.load(gold)  # a bad file fails now, not after the mixes
    chosen = [] if data is None else data.topics[:topics] if topics is not None else None
    requests = argkp.mixed_requests(data, topics=chosen) if data is not None else []  # --topics 0: no mixes
    report = report or Report()
    s = a.settings
    report.data.update({"model": a.generator.name, "split": split, "methods": list(methods),
                        "topics": data.topics if data is not None and chosen is None else chosen})
    result = evaluate(a.generator, s.prompts_dir, requests, methods, report=report, embed=a.embedder.embed,
                      negated=negated)
    report.data["stance_mixes"] = result
    text = (f"model {a.generator.name}, ArgKP {split}, {len(requests)} requests" if data is not None
            else f"model {a.generator.name}, no ArgKP") + ("\n\n" + table(result) if requests else " (--topics 0)")
    if arguana is not None:
        from . import stance_eval
        from .arguana import load_points

        items = stance_eval.debate_items(load_points(arguana), debates)
        step = stance_eval.evaluate_methods(a.generator, s.prompts_dir, items, methods, report=report,
                                            embed=a.embedder.embed)
        report.data["arguana_stance_step"] = step
        text += "\n\nArguAna stance step (" + f"{len(items)} debates):\n\n" + stance_eval.methods_table(step)
    if gold is not None:
        quotes = stance_gold.evaluate(a.generator, s.prompts_dir, gold_requests, methods, report=report,
                                      embed=a.embedder.embed)
        report.data["gold_quotes"] = quotes
        text += f"\n\nGold set's quotes ({len(gold_requests)} motions and claims):\n\n" + stance_gold.table(quotes)
    return {"json": report.finish(), "text": text}
