"""Stance read from the model's output layer, one sentence at a time, in both orientations.

Why not the earlier way (``stance.contrast``): scored after the sources and
standardised within the request, a label said how a sentence leaned *compared
with the request's other sentences*, so a one-sided library had its weaker
half filed under the other side (docs/evaluation.md, "Stance on one-sided
libraries"). Here nothing depends on the other sentences:

1. Two short prompts (``prompts/stance_paired*.txt``): "Motion: M /
   Opposite: O" and the same with M and O swapped (O is the other side's
   statement, ``counter.py``). Each sentence is a tail on both,
   ``Argument: "<sentence>" / Verdict: the argument``.
2. The features, at one of two places in the model, named by the probe file:
   the raw logits at ~4,100 token ids at the verdict (the output layer's
   view, centred per row; read with ``LlamaGenerator.tail_logits``: the
   shipped probe), or, when the file names a ``layer``, that layer's hidden
   state averaged over the tail's tokens (``LlamaGenerator.tail_states``, on
   a context of its own: ``llm/hidden_states.py``). Both are read for both
   orientations: ``D`` = their difference (what flips when motion and
   opposite swap: the stance), ``S`` = their sum (what does not: topic and
   relevance). Layer 18 (of the default model's 28) was fitted and measured
   in the eighth session (``eval/results/stance_probe_layer18.npz``): more
   right and fewer wrong labels on ArgKP, but fewer essay sentences decided
   and twice the false refusals on the seeds' briefs, so it is not the
   default (docs/evaluation.md, "Issue 19, eighth session"); on the gold
   set's essay quotes it is worse than the shipped probe ("ninth session").
3. A linear classifier over ``[D, S]`` gives P(supports the motion),
   P(opposes it), P(neither), fitted once on 16 of the 24 *train* topics of IBM's
   ArgKP (``eval/fit_stance_probe.py``; weights in
   ``assistant/data/stance_probe.npz``, CDLA-Sharing 1.0 data, figures in
   docs/evaluation.md). It is read symmetrised (``Probe.scores``): the
   swapped reading's features are ``(-D, S)``, so a side must flip when the
   motion is worded the other way. A side is kept only when its probability
   reaches ``threshold`` (fitted on train to keep wrong labels rare); else
   neutral.

The weights belong to one model (the default, named in the file). Any other
model with logits gets the same two orientations read at two labels only,
" supports" minus " opposes", forward minus swapped, with a fixed margin: no
fitting, but still independent of the mix. Not handled: sentences whose
stance depends on their neighbours ("He is wrong."), beyond what the sentence
says; models without logits (a remote server) use ``stance``'s ``call``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

PROBE_FILE = Path(__file__).resolve().parents[1] / "data" / "stance_probe.npz"  # package data: assistant/data/
TAIL_WORDS = 60
ZERO_SHOT_MARGIN = 0.5  # fallback: |forward - swapped| log-odds below this is neutral (wrong 0.08 on train)
CLASSES = ("support", "oppose", "neutral")
ZERO_SHOT = Path("zero-shot")  # as a probe file: no probe, the zero-shot read-out (evaluations only)

Render = Callable[..., str]


@dataclass(frozen=True)
class Scored:
    """One sentence: P(support), P(oppose), P(neutral)."""

    support: float
    oppose: float
    neutral: float


def tail(text: str) -> str:
    """What the model reads after the stance prompt, right before its verdict.

    >>> tail("Uniforms cut costs.")
    'Argument: "Uniforms cut costs."\\nVerdict: the argument'
    """
    words = text.split()
    clipped = " ".join(words[:TAIL_WORDS]) + (" ..." if len(words) > TAIL_WORDS else "")
    return f'Argument: "{clipped}"\nVerdict: the argument'


def messages(render: Render, motion: str, opposite: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": render("stance_paired_system")},
            {"role": "user", "content": render("stance_paired", motion=motion, opposite=opposite)}]


@dataclass(frozen=True)
class Probe:
    """The fitted linear read-out: ``weights`` (3 x 2n) over ``[D, S]``.

    The features are layer ``layer``'s hidden state averaged over the tail (``layer`` >= 0), or the
    logits at token ``ids`` at the verdict (``layer`` -1: the earlier probes).
    """

    model: str
    ids: Any  # numpy int array (empty for a hidden-state probe)
    weights: Any  # numpy float array, rows in CLASSES order
    bias: Any
    threshold: float
    layer: int = -1

    @property
    def width(self) -> int:
        """n, the length of ``D`` (and of ``S``)."""
        return int(self.weights.shape[1]) // 2

    def scores(self, d: Any, s: Any) -> list[Scored]:
        """Probabilities that flip exactly when motion and opposite swap (``D`` -> ``-D``, ``S`` unchanged).

        The probe's reading of the swapped pair costs nothing (its features are ``(-D, S)``), so each
        sentence gets the mean of "supports M" read directly and "opposes O" read in the mirror. A side
        can then only come from what flips with the swap; what does not (topic, wording, "fewer" and
        "cut" in the sentence) can make a sentence relevant or not, never FOR or AGAINST. Without this a
        probe fitted on one-sided cues called a sentence AGAINST both a motion and its opposite
        (docs/evaluation.md, "Issue 19, fifth session").
        """
        import numpy as np

        p = self._raw(np.hstack([d, s]))
        q = self._raw(np.hstack([-np.asarray(d), s]))[:, [1, 0, 2]]  # the mirror, its sides exchanged
        return [Scored(float(a), float(b), float(c)) for a, b, c in (p + q) / 2]

    def _raw(self, x: Any) -> Any:
        import numpy as np

        z = x @ self.weights.T + self.bias
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)


@lru_cache(maxsize=8)  # the shipped file, and the few an evaluation compares it with
def load_probe(path: Path = PROBE_FILE) -> Probe | None:
    """The shipped probe, or None if the file is missing (then every model gets the zero-shot read-out)."""
    import numpy as np

    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as f:
        layer = int(f["layer"]) if "layer" in f.files else -1
        return Probe(str(f["model"]), f["ids"], f["weights"], f["bias"], float(f["threshold"]), layer)


def read_both(read: Callable[..., Any], render: Render, motion: str, opposite: str, texts: Sequence[str],
              on_progress: Callable[[int], None] | None = None) -> tuple[Any, Any]:
    """``read(messages, tails, on_progress)`` on the forward prompt and on the swapped one: (forward, swapped) rows.

    Progress counts on over both reads (``2 * len(texts)`` in all).
    """
    import numpy as np

    tails = [tail(t) for t in texts]
    n = len(tails)
    half = (lambda k: on_progress(k)) if on_progress else None
    rest = (lambda k: on_progress(n + k)) if on_progress else None
    return (np.asarray(read(messages(render, motion, opposite), tails, half)),
            np.asarray(read(messages(render, opposite, motion), tails, rest)))


def paired_logits(generator: Any, render: Render, motion: str, opposite: str, texts: Sequence[str], ids: Any,
                  on_progress: Callable[[int], None] | None = None) -> tuple[Any, Any]:
    """(D, S): forward minus swapped and forward plus swapped logits at ``ids``, each row centred."""
    fwd, swp = read_both(lambda m, t, p: generator.tail_logits(m, t, ids, on_progress=p), render, motion, opposite,
                         texts, on_progress)
    if len(ids) > 2:  # the probe's slice: centre each row (the softmax's shift is not stance)
        fwd = fwd - fwd.mean(axis=1, keepdims=True)
        swp = swp - swp.mean(axis=1, keepdims=True)
    return fwd - swp, fwd + swp


def paired_states(generator: Any, render: Render, motion: str, opposite: str, texts: Sequence[str], layer: int,
                  on_progress: Callable[[int], None] | None = None) -> tuple[Any, Any]:
    """(D, S): forward minus swapped and forward plus swapped hidden states of ``layer``, mean over each tail."""
    fwd, swp = read_both(lambda m, t, p: generator.tail_states(m, t, layer, on_progress=p), render, motion,
                         opposite, texts, on_progress)
    return fwd - swp, fwd + swp


def score(generator: Any, render: Render, motion: str, opposite: str, texts: Sequence[str], *,
          on_progress: Callable[[int], None] | None = None,
          probe_file: Path | None = None) -> tuple[list[Scored], float]:
    """Probabilities per text, and the probability a side needs to be kept.

    ``probe_file``: another fitted probe than the shipped one (the evaluations compare probes this way);
    ``ZERO_SHOT`` reads every model as one the probe was not fitted on.
    """
    probe = None if probe_file == ZERO_SHOT else load_probe(probe_file or PROBE_FILE)
    if not texts:
        return [], probe.threshold if probe is not None else 0.5
    if probe is not None and probe.model == getattr(generator, "name", ""):
        if probe.layer >= 0 and hasattr(generator, "tail_states"):
            d, s = paired_states(generator, render, motion, opposite, texts, probe.layer, on_progress)
            return probe.scores(d, s), probe.threshold
        if probe.layer < 0:
            d, s = paired_logits(generator, render, motion, opposite, texts, probe.ids, on_progress)
            return probe.scores(d, s), probe.threshold
    ids = [generator.first_token(" supports"), generator.first_token(" opposes")]
    d, _ = paired_logits(generator, render, motion, opposite, texts, ids, on_progress)
    return [_zero_shot(float(row[0] - row[1])) for row in d], 0.5


def _zero_shot(margin: float) -> Scored:
    """A margin (forward minus swapped log-odds) as probabilities: neutral within ``ZERO_SHOT_MARGIN``.

    >>> _zero_shot(3.0).support > 0.5, _zero_shot(0.2).neutral > 0.5
    (True, True)
    """
    if abs(margin) < ZERO_SHOT_MARGIN:
        return Scored(0.2, 0.2, 0.6)
    p = 1 / (1 + math.exp(-margin))
    return Scored(p, 1 - p, 0.0)
