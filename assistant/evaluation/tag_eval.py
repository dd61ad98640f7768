"""Tag faithfulness on ArgKP: does a tag still lead to the key point its argument was matched to?

A tag should say what its card says. ArgKP gives, for each crowd-sourced
argument, the expert key points of its topic it matches (``labels_*.csv``,
label 1); a tag that says what the argument says should retrieve such a key
point among all of its topic's key points (both sides) as well as the
argument itself does. For each topic, a reproducible sample of the arguments
that match at least one key point; each is scored through several texts:

- ``argument``: its full text (the ceiling a faithful summary aims at);
- ``first 15 words``: a plain cut (a tag must do at least this well; for an
  argument of 15 words or fewer it is the argument itself);
- one row per tagger, ``(argument, topic) -> tag``. The default is the
  product's own tag step (``StepTagger``): the brief's FOR side step run on a
  one-passage request holding only the argument, its sentences labelled
  ``support`` by hand in place of the stance step. A tag the gates drop is an
  empty tag: a miss, also counted as ``dropped``.

Scores: the text and the topic's key points are embedded with the
assistant's embedder and ranked by cosine; hit@1 (the nearest key point is
one labelled 1 for the argument) and MRR (1 / rank of the first such one).
No index is built: the requests are assembled in memory. The results keep
argument ids, ranks and tags, never the arguments' texts. Develop on
``train``, report on ``dev``. Not handled: the other side steps (AGAINST,
weak points, concessions write with the same step and prompt), and the other
side's statement (``counter.py``), which a brief's gates also compare a tag
with (skipped: one model call per topic for a rare rejection).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..types import Chunk, Passage
from ..writing import modes, steps
from ..writing.cite import number_sentences
from ..writing.gates import cosine
from ..writing.stance import Stance
from . import argkp
from .report import Report

Tagger = Callable[[str, str], str]  # (argument text, topic) -> tag; "" when nothing was written
Embed = Callable[[list[str]], list[list[float]]]
FIRST_WORDS = 15
PROGRESS_EVERY = 10  # arguments between progress lines (and at the end of each topic)
FIXED_ROWS = ("argument", f"first {FIRST_WORDS} words")
# The brief's steps that write (and check) FOR tags, and the stance label their evidence needs.
TAG_STEPS = ("for",)
TAG_SIDE = "support"


def first_words(text: str, n: int = FIRST_WORDS) -> str:
    """The first ``n`` words.

    >>> first_words("one two three", 2)
    'one two'
    """
    return " ".join(text.split()[:n])


def sample(split: argkp.Split, per_topic: int | None, seed: int = 0) -> dict[str, list[argkp.Argument]]:
    """Per topic, ``per_topic`` arguments matched to at least one key point (all when None), in file order.

    Each topic draws from its own generator seeded by ``seed`` and its name, so a topic's
    sample does not depend on the others.
    """
    matched = {arg for (arg, _), label in split.labels.items() if label == 1}
    out = {}
    for topic in split.topics:
        pool = [a for a in split.arguments[topic] if a.arg_id in matched]
        if per_topic is not None and per_topic < len(pool):
            keep = set(random.Random(f"{seed}:{topic}").sample(range(len(pool)), per_topic))
            pool = [a for i, a in enumerate(pool) if i in keep]
        out[topic] = pool
    return out


def gold_rank(vec: Sequence[float], kp_vecs: Sequence[Sequence[float]], gold: Sequence[bool]) -> int | None:
    """1-based rank, by cosine to ``vec``, of the first key point marked in ``gold``; None if none is.

    >>> gold_rank([1.0, 0.0], [[0.0, 1.0], [1.0, 0.0], [0.6, 0.8]], [True, False, False])
    3
    """
    order = sorted(range(len(kp_vecs)), key=lambda i: -cosine(vec, kp_vecs[i]))
    return next((r for r, i in enumerate(order, 1) if gold[i]), None)


@dataclass
class Tally:
    """One row's counts (a row is a way of writing the text scored: argument, cut, a tagger)."""

    texts: int = 0
    hits: int = 0
    reciprocal: float = 0.0
    dropped: int = 0
    words: int = 0
    seconds: float = 0.0

    def add(self, text: str, rank: int | None, seconds: float = 0.0) -> None:
        self.texts += 1
        if not text.strip():
            self.dropped += 1
        elif rank is not None:
            self.hits += rank == 1
            self.reciprocal += 1.0 / rank
        self.words += len(text.split())
        self.seconds += seconds

    def summary(self, *, tagger: bool) -> dict[str, Any]:
        n = self.texts
        row: dict[str, Any] = {"texts": n, "hit_at_1": round(self.hits / n, 3) if n else None,
                               "mrr": round(self.reciprocal / n, 3) if n else None,
                               "mean_words": round(self.words / n, 1) if n else None}
        if tagger:
            row["dropped"] = self.dropped
            row["seconds_per_tag"] = round(self.seconds / n, 2) if n else None
        return row


class StepTagger:
    """The product's tag step (the brief's FOR side step) on a request whose only passage is the argument.

    Gate counts and unreadable outputs over all calls are kept in ``gates`` for the report.
    """

    def __init__(self, generator: Any, prompts_dir: Path, embed: Embed, *, temperature: float = 0.2) -> None:
        self.generator, self.prompts_dir, self.embed, self.temperature = generator, prompts_dir, embed, temperature
        brief = {s.name: s for s in modes.MODES["brief"].steps}
        if not all(name in brief for name in TAG_STEPS):
            raise RuntimeError(f"the brief has no step named {', '.join(TAG_STEPS)} (tag_eval.TAG_STEPS)")
        # The same step without the brief's thin-side guard (two labelled sentences): an argument is
        # often one sentence, and here it is the whole request.
        self.steps = tuple(modes.side_step(name, "support", name, brief[name].label) for name in TAG_STEPS)
        self.gates: dict[str, int] = {}

    def __call__(self, text: str, topic: str) -> str:
        ctx = self.context(text, topic)
        steps.run_steps(self.steps, ctx)
        for gate, n in ctx.gates.items():
            self.gates[gate] = self.gates.get(gate, 0) + n
        unreadable = sum(n.startswith("The model's output") for n in ctx.notices)  # steps.write's notice
        if unreadable:
            self.gates["unreadable"] = self.gates.get("unreadable", 0) + unreadable
        tags = [p.text for p in ctx.points if p.section == "for"]
        return tags[0] if tags else ""

    def context(self, text: str, topic: str) -> steps.Context:
        """A brief's context after its stance step: one passage, every sentence on the FOR side."""
        chunk = Chunk("argument:0", "argument", "argument", "argkp", 0, 0, len(text), text)
        passages = [Passage(chunk, 1.0, 1)]
        sentences = number_sentences(passages)
        ctx = steps.Context("brief", topic, passages, sentences, self.generator, self.prompts_dir,
                            self.temperature, lambda event: None, self.embed, lambda doc_id: text)
        # Equal margins: stance.ranked keeps sentence order, so the group is the argument's first sentences.
        ctx.stances = {s.sid: Stance(s.sid, TAG_SIDE, 1.0, 0.0) for s in sentences}
        return ctx


def default_taggers(a: Any) -> dict[str, Tagger]:
    """The product's tag step with ``a``'s model, prompts, embedder and temperature."""
    s = a.settings
    return {"tag step": StepTagger(a.generator, s.prompts_dir, a.embedder.embed, temperature=s.temperature)}


def evaluate(a: Any, folder: Path, *, split: str = "dev", per_topic: int | None = None,
             taggers: dict[str, Tagger] | None = None, report: Report | None = None, seed: int = 0
             ) -> dict[str, Any]:
    """Hit@1 and MRR of the gold key point per row, overall and per topic; saved as it goes.

    Returns ``{"json": the results, "text": a header and the Markdown table, "table": the table}``.
    """
    data = argkp.load(folder, split)
    chosen = sample(data, per_topic, seed)
    taggers = default_taggers(a) if taggers is None else taggers
    names = [*FIXED_ROWS, *taggers]
    report = report or Report()
    embed = a.embedder.embed
    report.data.update({"split": split, "per_topic": per_topic, "seed": seed, "topics": list(chosen),
                        "model": _model_name(a, taggers), "rows": {}, "by_topic": {}, "items": []})
    total = sum(len(v) for v in chosen.values())
    overall = {name: Tally() for name in names}
    done = 0
    for topic, arguments in chosen.items():
        kps = data.key_points[topic]
        kp_vecs = embed([k.text for k in kps])
        by_topic = {name: Tally() for name in names}
        for i, arg in enumerate(arguments, 1):
            texts, seconds = _texts(arg.text, topic, taggers)
            gold = [data.labels.get((arg.arg_id, k.kp_id)) == 1 for k in kps]
            ranks = _ranks(embed, texts, kp_vecs, gold)
            for name in names:
                for tally in (overall[name], by_topic[name]):
                    tally.add(texts[name], ranks[name], seconds.get(name, 0.0))
            # ids, not the argument texts: a results file must not carry the data set (its licence, and the
            # rule that ArgKP is never copied into the project); the tags are kept to be read
            report.data["items"].append({"arg_id": arg.arg_id, "topic": topic, "ranks": ranks,
                                         "tags": {n: texts[n] for n in taggers}})
            done += 1
            if i % PROGRESS_EVERY == 0 or i == len(arguments):
                _save(report, taggers, overall, by_topic, topic, len(arguments))
                report.progress("tags", done, total, _running(overall, names))
    report.data["rows"] = _rows(overall, taggers)
    table_md = table(report.data["rows"])
    text = (f"model {report.data['model']}, ArgKP {split}, {len(chosen)} topics, {total} arguments "
            f"(per topic: {per_topic or 'all'}, seed {seed})\n\n{table_md}\n\n"
            f"Per topic, hit@1 / MRR:\n\n{topic_table(report.data['by_topic'], names)}")
    return {"json": report.finish(), "text": text, "table": table_md}


run_eval = evaluate  # what ``assistant eval tags PATH`` calls


def _texts(argument: str, topic: str, taggers: dict[str, Tagger]) -> tuple[dict[str, str], dict[str, float]]:
    """Every row's text for one argument, and each tagger's seconds."""
    texts = {"argument": argument, FIXED_ROWS[1]: first_words(argument)}
    seconds = {}
    for name, tagger in taggers.items():
        started = time.perf_counter()
        texts[name] = tagger(argument, topic).strip()
        seconds[name] = time.perf_counter() - started
    return texts, seconds


def _ranks(embed: Embed, texts: dict[str, str], kp_vecs: list[list[float]], gold: list[bool]
           ) -> dict[str, int | None]:
    """Each text's gold rank; an empty text (a dropped tag) has none."""
    names = [n for n, t in texts.items() if t.strip()]
    vecs = embed([texts[n] for n in names]) if names else []
    ranks: dict[str, int | None] = dict.fromkeys(texts)
    ranks.update({n: gold_rank(v, kp_vecs, gold) for n, v in zip(names, vecs, strict=True)})
    return ranks


def _rows(tallies: dict[str, Tally], taggers: dict[str, Tagger]) -> dict[str, Any]:
    return {name: t.summary(tagger=name in taggers) for name, t in tallies.items()}


def _save(report: Report, taggers: dict[str, Tagger], overall: dict[str, Tally], by_topic: dict[str, Tally],
          topic: str, planned: int) -> None:
    report.data["rows"] = _rows(overall, taggers)
    report.data["by_topic"][topic] = {"arguments": planned, **_rows(by_topic, taggers)}
    report.data["gates"] = {n: dict(t.gates) for n, t in taggers.items() if isinstance(t, StepTagger)}
    report.save()


def _running(overall: dict[str, Tally], names: Sequence[str]) -> str:
    """``hit@1 argument 0.6, first 15 words 0.5, tag step 0.4``."""
    return "hit@1 " + ", ".join(f"{n} {t.hits / t.texts:.2f}" for n in names if (t := overall[n]).texts)


def _model_name(a: Any, taggers: dict[str, Tagger]) -> str | None:
    """The model, when a tagger uses one (a fake tagger must not load it)."""
    gens = [t.generator for t in taggers.values() if isinstance(t, StepTagger)]
    return gens[0].name if gens else None


def table(rows: dict[str, Any]) -> str:
    """Markdown: one row per way of writing the text; tagger-only columns are '-' for the others."""
    lines = ["| text | n | hit@1 | MRR | mean words | dropped | s / tag |", "|---|---:|---:|---:|---:|---:|---:|"]
    for name, r in rows.items():
        lines.append(f"| {name} | {r['texts']} | {r['hit_at_1']} | {r['mrr']} | {r['mean_words']} | "
                     f"{r.get('dropped', '-')} | {r.get('seconds_per_tag', '-')} |")
    return "\n".join(lines)


def topic_table(by_topic: dict[str, Any], names: Sequence[str]) -> str:
    """Markdown: one line per topic, ``hit@1 / MRR`` for each row."""
    lines = ["| topic | n | " + " | ".join(names) + " |", "|---|---:|" + "---:|" * len(names)]
    for topic, rows in by_topic.items():
        cells = [f"{rows[n]['hit_at_1']} / {rows[n]['mrr']}" for n in names]
        lines.append(f"| {topic} | {rows['arguments']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
