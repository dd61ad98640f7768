"""Spare homes in the KV cache for long prompt prefixes, so short prompts in between do not cost them.

A brief reads its sources block (~900 tokens) for every written step, and the
KV cache keeps it: each step only reads its own task. But the stance step and
the faithfulness check read prompts of their own (no sources), and
llama-cpp-python's cache is one sequence: after them, the next step read the
whole sources block again (three times a brief). Here, before a long cached
prefix is dropped, its cells are copied to a spare sequence of the unified
KV cache (``llama_memory_seq_cp``: cells are shared, nothing is recomputed);
when a later prompt starts with more of the stashed tokens than of the
cached ones, the cells are copied back to sequence 0.

There are a few such slots, the least recently used given up first: with one,
a failing card's rewrite (a prompt of its own, ~260 tokens) pushed the sources
block out, and a rebuttal's concessions read it all again (604 tokens, 11 s on
2 threads; docs/benchmarks.md). The check's own short prompt keeps a slot too,
so each card check after the first reads its tails only. When the cache
is short of room, slots are given up (least recently used first) before a
prompt is refused. Not handled: contexts without a unified KV cache
(``LlamaGenerator`` makes its own).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

MIN_TOKENS = 48  # shorter prefixes are not worth a slot (the faithfulness check's prompt, 56 tokens, is: ~1 s)
MIN_GAIN = 32  # restore only when it saves at least this many tokens


def common_prefix(a: list[int], b: list[int]) -> int:
    """Length of the shared start of two token lists.

    >>> common_prefix([1, 2, 3], [1, 2, 4, 5])
    2
    """
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


@dataclass
class _Slot:
    seq: int
    tokens: list[int] = field(default_factory=list)
    used: int = 0  # the stash's clock when this slot was last saved or restored


class Stash:
    """Stashed prefixes in sequences ``seqs`` of an ``llm``'s KV cache, one prefix per sequence."""

    def __init__(self, seqs: Sequence[int]) -> None:
        self.slots = [_Slot(seq) for seq in seqs]
        self._clock = 0

    def held(self, tokens: list[int]) -> int:
        """Cells the stash keeps that ``tokens`` does not share (room it takes beside that prompt)."""
        return sum(len(s.tokens) - common_prefix(s.tokens, tokens) for s in self.slots)

    def save(self, llm: Any, cached: list[int], keep: int) -> None:
        """Before sequence 0 is cut back to ``keep`` tokens: stash ``cached`` if that drops a long prefix.

        It goes to the slot it extends (an earlier stash of its own start), else an empty one, else the
        least recently used.
        """
        import llama_cpp

        if not self.slots or len(cached) < MIN_TOKENS or keep >= len(cached) - MIN_GAIN:
            return
        self._clock += 1
        for s in self.slots:
            if common_prefix(s.tokens, cached) >= len(cached):
                s.used = self._clock  # already stashed
                return
        slot = next((s for s in self.slots if s.tokens and common_prefix(s.tokens, cached) == len(s.tokens)),
                    None) or min(self.slots, key=lambda s: (bool(s.tokens), s.used))
        mem = llama_cpp.llama_get_memory(llm.ctx)
        llama_cpp.llama_memory_seq_rm(mem, slot.seq, -1, -1)
        llama_cpp.llama_memory_seq_cp(mem, 0, slot.seq, 0, len(cached))
        slot.tokens, slot.used = list(cached), self._clock

    def restore(self, llm: Any, tokens: list[int], keep: int) -> int:
        """Sequence 0 from the slot holding most of ``tokens``, when more than the cache; the tokens now kept."""
        import llama_cpp

        best = max(self.slots, key=lambda s: common_prefix(s.tokens, tokens), default=None)
        have = common_prefix(best.tokens, tokens) if best else 0
        if best is None or have < keep + MIN_GAIN:
            return keep
        mem = llama_cpp.llama_get_memory(llm.ctx)
        llama_cpp.llama_memory_seq_rm(mem, 0, -1, -1)
        llama_cpp.llama_memory_seq_cp(mem, best.seq, 0, 0, have)
        llm.input_ids[:have] = best.tokens[:have]
        llm.n_tokens = have
        self._clock += 1
        best.used = self._clock
        return have

    def fit(self, llm: Any, tokens: list[int], room: int) -> None:
        """Give up slots, least recently used first, until ``tokens`` and the stash fit in ``room`` cells."""
        import llama_cpp

        for s in sorted((s for s in self.slots if s.tokens), key=lambda s: s.used):
            if len(tokens) + self.held(tokens) <= room:
                return
            llama_cpp.llama_memory_seq_rm(llama_cpp.llama_get_memory(llm.ctx), s.seq, -1, -1)
            s.tokens = []

    def forget(self) -> None:
        """The whole KV cache was emptied: nothing is stashed any more."""
        for s in self.slots:
            s.tokens = []
