"""The stance step alone, scored on real debates (ArguAna format): no brief needed, so it scales.

For each debate with both sides, a few of its texts become the passages of
one request: pro points and con counters support the thesis, con points and
pro counters oppose it. Each method labels their sentences towards the
thesis; a passage's predicted stance is the sign of its sentences' mean
log-odds (``call``: the majority label), scored against the truth. Also
reported: sentence-level accuracy over the sentences a method did not call
neutral, and how many it called neutral. ``logprob`` and ``symmetric`` come
from the same model passes (symmetric adds the negated thesis), so comparing
them costs one extra pass; ``contrast`` (the default) is one more pass with
the thesis as A and its negation as B, timed on its own. Not handled:
choosing the texts by retrieval (that is what the full-brief evaluation
measures).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..types import Chunk, Passage, Sentence
from ..writing import prompts, stance
from ..writing.cite import number_sentences, renumber, sources_block

TEXTS_PER_SIDE = 1  # one text a side keeps 40 debates within minutes; 2 a side: see docs
SENTENCES_PER_TEXT = 3


def split_method(spec: str) -> tuple[str, Path | None]:
    """A method as the stance evaluations name it: ``paired:FILE`` is ``paired`` with another probe file.

    >>> split_method("paired"), split_method("paired:eval/results/p.npz")
    (('paired', None), ('paired', PosixPath('eval/results/p.npz')))
    """
    method, _, probe = spec.partition(":")
    return method, Path(probe) if probe else None


def passage_labels(labels: dict[str, stance.Stance], sentences: Sequence[Sentence], n: int) -> list[str]:
    """Each passage's label: the majority of its sentences' non-neutral labels; a tie is neutral.

    >>> s = [Sentence("S1", 1, "", "", "", 0, 1, "a"), Sentence("S2", 1, "", "", "", 1, 2, "b")]
    >>> passage_labels({"S1": stance.Stance("S1", "support", 1.0, 0.0),
    ...                 "S2": stance.Stance("S2", "neutral", 0.0, 1.0)}, s, 2)
    ['support', 'neutral']
    """
    votes: dict[int, list[str]] = {}
    for s in sentences:
        st = labels.get(s.sid)
        if st is not None and st.label != "neutral":
            votes.setdefault(s.passage, []).append(st.label)
    out = []
    for p in range(1, n + 1):
        mine = votes.get(p, [])
        sup, opp = mine.count("support"), mine.count("oppose")
        out.append("support" if sup > opp else "oppose" if opp > sup else "neutral")
    return out


@dataclass(frozen=True)
class DebateItem:
    debate: str
    thesis: str
    texts: tuple[tuple[str, str], ...]  # (text, "support" | "oppose")


def debate_items(points: Sequence[Any], debates: int) -> list[DebateItem]:
    """The first ``debates`` debates (file order) that have texts on both sides."""
    by_debate: dict[str, list[tuple[str, str]]] = {}
    thesis: dict[str, str] = {}
    for p in points:
        thesis.setdefault(p.debate, p.thesis)
        truth_point = "support" if p.side == "pro" else "oppose"
        truth_counter = "oppose" if p.side == "pro" else "support"
        by_debate.setdefault(p.debate, []).append((p.point, truth_point))
        if p.counter.strip():
            by_debate[p.debate].append((p.counter, truth_counter))
    items = []
    for debate, texts in by_debate.items():
        sup = [t for t in texts if t[1] == "support"][:TEXTS_PER_SIDE]
        opp = [t for t in texts if t[1] == "oppose"][:TEXTS_PER_SIDE]
        if sup and opp:
            mixed = [x for pair in zip(sup, opp, strict=False) for x in pair]
            mixed += sup[len(opp):] + opp[len(sup):]
            items.append(DebateItem(debate, thesis[debate], tuple(mixed)))
        if len(items) >= debates:
            break
    return items


def passages_for(item: DebateItem) -> tuple[list[Passage], list[Sentence]]:
    """One passage per text, cut to its first few sentences, numbered as a request would be."""
    passages = []
    for n, (text, _) in enumerate(item.texts):
        body = text.strip()
        title = body.split("\n", 1)[0][:120]
        chunk = Chunk(f"{item.debate}-{n}:0", f"{item.debate}-{n}", title, "arguana", 0, 0, len(body), body)
        passages.append(Passage(chunk, 1.0, n + 1))
    sentences = number_sentences(passages)
    kept = [s for n in range(1, len(passages) + 1)
            for s in [x for x in sentences if x.passage == n][:SENTENCES_PER_TEXT]]
    return passages, renumber(kept)


def messages_fn(prompts_dir: Path, passages: list[Passage], sentences: list[Sentence]):  # type: ignore[no-untyped-def,unused-ignore]
    block = prompts.render(prompts_dir, "sources", sources=sources_block(passages, sentences))
    system = prompts.render(prompts_dir, "system")
    return lambda task: [{"role": "system", "content": system}, {"role": "user", "content": block + "\n\n" + task}]


@dataclass
class Tally:
    passages: int = 0
    passages_correct: int = 0
    sentences: int = 0
    decided: int = 0
    decided_correct: int = 0
    seconds: float = 0.0

    def add(self, truth: Sequence[str], by_passage: dict[int, list[stance.Stance]], sentence_passage: dict[str, int],
            labels: dict[str, stance.Stance], majority: bool) -> None:
        for n, want in enumerate(truth, 1):
            mine = by_passage.get(n, [])
            score: float
            if majority:
                score = sum(st.label == "support" for st in mine) - sum(st.label == "oppose" for st in mine)
            else:
                score = sum(st.margin for st in mine)
            self.passages += 1
            self.passages_correct += int((score > 0) == (want == "support") and score != 0)
        for sid, st in labels.items():
            self.sentences += 1
            if st.label != "neutral":
                self.decided += 1
                self.decided_correct += st.label == truth[sentence_passage[sid] - 1]

    def summary(self) -> dict[str, Any]:
        def share(a: int, b: int) -> float | None:
            return round(a / b, 3) if b else None

        return {"passage_accuracy": share(self.passages_correct, self.passages), "passages": self.passages,
                "sentence_accuracy_decided": share(self.decided_correct, self.decided),
                "decided_share": share(self.decided, self.sentences), "sentences": self.sentences,
                "seconds_per_debate": None}


def evaluate(generator: Any, prompts_dir: Path, items: Sequence[DebateItem], *, call_debates: int,
             report: Any = None) -> dict[str, Any]:
    """Accuracy per method over ``items``; ``call`` runs on the first ``call_debates`` only (it is slow)."""
    tallies = {m: Tally() for m in stance.METHODS}
    for i, item in enumerate(items, 1):
        passages, sentences = passages_for(item)
        messages = messages_fn(prompts_dir, passages, sentences)
        truth = [t for _, t in item.texts]
        where = {s.sid: s.passage for s in sentences}
        started = time.perf_counter()
        fwd = stance.logprob_scores(generator, messages(prompts.render(prompts_dir, "stance", request=item.thesis)),
                                    sentences)
        mid = time.perf_counter()
        neg = prompts.render(prompts_dir, "stance", request=stance.negate(item.thesis))
        bwd = stance.logprob_scores(generator, messages(neg), sentences)
        end = time.perf_counter()
        contrast = prompts.render(prompts_dir, "stance_contrast", request=item.thesis,
                                  opposite=stance.negate(item.thesis))
        con = stance.contrast_scores(generator, messages(contrast), sentences)
        results = {"logprob": stance.calibrate(fwd), "symmetric": stance.calibrate(stance.symmetric(fwd, bwd)),
                   "contrast": stance.calibrate(con)}
        tallies["logprob"].seconds += mid - started
        tallies["symmetric"].seconds += end - started
        tallies["contrast"].seconds += time.perf_counter() - end
        if i <= call_debates:
            t0 = time.perf_counter()
            render = lambda name, **values: prompts.render(prompts_dir, name, **values)  # noqa: E731
            results["call"] = stance.label(generator, messages, render, item.thesis, sentences, method="call")
            tallies["call"].seconds += time.perf_counter() - t0
        for method, labels in results.items():
            by_passage: dict[int, list[stance.Stance]] = {}
            for sid, st in labels.items():
                by_passage.setdefault(where[sid], []).append(st)
            tallies[method].add(truth, by_passage, where, labels, majority=method == "call")
        summary = _summaries(tallies, len(items), min(i, call_debates), i)
        if report is not None:
            report.data["stance_step"] = summary
            report.save()
            sym = summary["symmetric"]["passage_accuracy"]
            report.progress("stance step", i, len(items), f"symmetric passage accuracy {sym}")
    return _summaries(tallies, len(items), min(len(items), call_debates), len(items))


def _summaries(tallies: dict[str, Tally], total: int, call_done: int, done: int) -> dict[str, Any]:
    out = {}
    for method, t in tallies.items():
        n = call_done if method == "call" else done
        row = t.summary()
        row["debates"] = n
        row["seconds_per_debate"] = round(t.seconds / n, 1) if n else None
        out[method] = row
    out["debates_planned"] = total  # type: ignore[assignment]
    return out


def evaluate_methods(generator: Any, prompts_dir: Path, items: Sequence[DebateItem], methods: Sequence[str], *,
                     report: Any = None, embed: Any = None) -> dict[str, Any]:
    """Passage accuracy per method through ``stance.label`` itself (each method pays its own passes)."""
    tallies = {m: Tally() for m in methods}
    render = lambda name, **values: prompts.render(prompts_dir, name, **values)  # noqa: E731
    for i, item in enumerate(items, 1):
        passages, sentences = passages_for(item)
        messages = messages_fn(prompts_dir, passages, sentences)
        truth = [t for _, t in item.texts]
        where = {s.sid: s.passage for s in sentences}
        opposite = stance.negate(item.thesis)
        for method in methods:
            started = time.perf_counter()
            kind, probe = split_method(method)
            labels = stance.label(generator, messages, render, item.thesis, sentences, method=kind,
                                  opposite=opposite, embed=embed, probe=probe)
            tallies[method].seconds += time.perf_counter() - started
            by_passage: dict[int, list[stance.Stance]] = {}
            for sid, st in labels.items():
                by_passage.setdefault(where[sid], []).append(st)
            tallies[method].add(truth, by_passage, where, labels, majority=False)
        summary = {m: {**t.summary(), "debates": i, "seconds_per_debate": round(t.seconds / i, 1)}
                   for m, t in tallies.items()}
        if report is not None:
            report.data["arguana_stance_step"] = summary
            report.save()
            report.progress("ArguAna stance step", i, len(items),
                            " ".join(f"{m} {r['passage_accuracy']}" for m, r in summary.items()))
    return {m: {**t.summary(), "debates": len(items),
                "seconds_per_debate": round(t.seconds / len(items), 1) if items else None}
            for m, t in tallies.items()}


def methods_table(result: dict[str, Any]) -> str:
    lines = ["| method | debates | passage accuracy | sentence accuracy (decided) | decided share | s/debate |",
             "|---|---:|---:|---:|---:|---:|"]
    lines += [f"| {m} | {r['debates']} | {r['passage_accuracy']} | {r['sentence_accuracy_decided']} | "
              f"{r['decided_share']} | {r['seconds_per_debate']} |" for m, r in result.items()]
    return "\n".join(lines)
