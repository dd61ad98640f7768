"""Deterministic, honest test doubles."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence


class FakeEmbedder:
    """Hashed bag of words: texts sharing words get similar unit vectors.

    Deterministic across runs and processes; no model, no network.
    """

    def __init__(self, dim: int = 64, name: str = "fake-hash") -> None:
        self.dim, self.name = dim, name
        self.calls = 0

    @property
    def identity(self) -> str:
        return f"fake/{self.name}/{self.dim}"

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls += 1
        return [self._one(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.embed([text])[0]

    def _one(self, text: str) -> list[float]:
        vec = [0.0] * self.dim
        for word in re.findall(r"[a-z0-9]+", text.lower()):
            h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "big")
            vec[h % self.dim] += 1.0 if (h >> 16) & 1 else -1.0
        norm = math.sqrt(sum(x * x for x in vec)) or 1.0
        return [x / norm for x in vec] if any(vec) else [1.0 / math.sqrt(self.dim)] * self.dim


class FakeGenerator:
    """Scripted model: replies are queued with ``enqueue`` and returned in order.

    Records every call (messages, schema) so tests can check what the model saw.
    """

    name = "fake-generator"

    def __init__(self, n_ctx: int = 4096) -> None:
        self.n_ctx = n_ctx
        self.replies: list[str] = []
        self.calls: list[dict[str, object]] = []

    def enqueue(self, reply: str | dict[str, object]) -> None:
        import json

        self.replies.append(reply if isinstance(reply, str) else json.dumps(reply))

    def count_tokens(self, text: str) -> int:
        return len(text) // 4 + 1

    def generate(self, messages, *, schema=None, max_tokens=512, temperature=0.2, on_token=None):  # type: ignore[no-untyped-def]
        from assistant.llm.base import Generation

        self.calls.append({"messages": messages, "schema": schema, "max_tokens": max_tokens})
        text = self.replies.pop(0) if self.replies else "{}"
        for piece in text.split(" "):
            if on_token:
                on_token(piece + " ")
        prompt = sum(self.count_tokens(m["content"]) for m in messages)
        return Generation(text, prompt, len(text.split(" ")), 0.01, 0.02)


class FakeStanceGenerator(FakeGenerator):
    """A scripted model that can also score stance labels (``label_logprobs``), like the llama.cpp one.

    ``stance_of(sentence_text)`` returns support / oppose / neutral towards the request; asked about the
    request's negation ("It is not true that ..."), support and oppose swap, as an honest model would.
    Asked to choose between A (the request) and B (its opposite), it answers A for support, B for oppose.
    """

    judge = True  # its yes/no reads decide, like the default model (models.txt)

    def __init__(self, stance_of, n_ctx: int = 4096) -> None:  # type: ignore[no-untyped-def]
        super().__init__(n_ctx)
        self.stance_of = stance_of
        self.scored: list[list[str]] = []
        self._forward_opposite: str | None = None

    LABEL_IDS = {" supports": 0, " opposes": 1}

    def first_token(self, label: str) -> int:
        return self.LABEL_IDS.get(label, 2)

    def tail_logits(self, messages, tails, ids, on_progress=None):  # type: ignore[no-untyped-def]
        """The paired stance prompts (stance_probe.py): forward, then motion and opposite swapped."""
        import math
        import re

        body = messages[-1]["content"]
        motion = re.search(r"^Motion: (.*)$", body, re.M).group(1)
        swapped = motion == self._forward_opposite  # the second read of a pair swaps the two statements
        self._forward_opposite = None if swapped else re.search(r"^Opposite: (.*)$", body, re.M).group(1)
        self.scored.append(list(tails))
        out = []
        for n, tail in enumerate(tails, 1):
            label = self.stance_of(re.match(r'Argument: "(.*)"\nVerdict', tail, re.S).group(1))
            if swapped and label != "neutral":
                label = "oppose" if label == "support" else "support"
            wanted = {0: "support", 1: "oppose"}
            out.append([math.log(0.8 if wanted.get(i) == label else 0.1) for i in ids])
            if on_progress:
                on_progress(n)
        return out

    def label_logprobs(self, messages, tails, labels, on_progress=None):  # type: ignore[no-untyped-def]
        import math
        import re

        if labels == [" yes", " no"]:  # the faithfulness check (faithful.py): an honest tagger passes
            self.scored.append(list(tails))
            return [{" yes": math.log(0.9), " no": math.log(0.1)} for _ in tails]
        body = messages[-1]["content"]
        text = dict(re.findall(r"^(S\d+) (.*)$", body, re.M))
        negated = "STATEMENT: It is not true that" in body
        self.scored.append(list(tails))
        out = []
        for n, tail in enumerate(tails, 1):
            label = self.stance_of(text[re.match(r"S\d+", tail).group(0)])
            if negated and label != "neutral":
                label = "oppose" if label == "support" else "support"
            if labels[0] == " A":
                label = {"support": "A", "oppose": "B"}.get(label, "neither")
            out.append({lab: math.log(0.8 if lab.strip() == label else 0.1) for lab in labels})
            if on_progress:
                on_progress(n)
        return out
