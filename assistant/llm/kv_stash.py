"""A second home in the KV cache for a long prompt prefix, so a short prompt in between does not cost it.

A brief reads its sources block (~900 tokens) for every written step, and the
KV cache keeps it: each step only reads its own task. But the stance step and
the faithfulness check read prompts of their own (no sources), and
llama-cpp-python's cache is one sequence: after them, the next step read the
whole sources block again (three times a brief). Here, before a long cached
prefix is dropped, its cells are copied to a spare sequence of the unified
KV cache (``llama_memory_seq_cp``: cells are shared, nothing is recomputed);
when a later prompt starts with more of the stashed tokens than of the
cached ones, the cells are copied back to sequence 0.

Not handled: more than one stashed prefix (the last long one wins), and
contexts without a unified KV cache (``LlamaGenerator`` makes its own).
"""

from __future__ import annotations

from typing import Any

MIN_TOKENS = 256  # shorter prefixes are cheaper to read again than to keep
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


class Stash:
    """One stashed prefix in sequence ``seq`` of ``llm``'s KV cache."""

    def __init__(self, seq: int) -> None:
        self.seq = seq
        self.tokens: list[int] = []

    def save(self, llm: Any, cached: list[int], keep: int) -> None:
        """Before sequence 0 is cut back to ``keep`` tokens: stash ``cached`` if that drops a long prefix."""
        import llama_cpp

        if len(cached) < MIN_TOKENS or keep >= len(cached) - MIN_GAIN:
            return
        if common_prefix(self.tokens, cached) >= len(cached):
            return  # already stashed
        mem = llama_cpp.llama_get_memory(llm.ctx)
        llama_cpp.llama_memory_seq_rm(mem, self.seq, -1, -1)
        llama_cpp.llama_memory_seq_cp(mem, 0, self.seq, 0, len(cached))
        self.tokens = list(cached)

    def restore(self, llm: Any, tokens: list[int], keep: int) -> int:
        """Sequence 0 from the stash when it holds more of ``tokens`` than the cache; the tokens now kept."""
        import llama_cpp

        have = common_prefix(self.tokens, tokens)
        if have < keep + MIN_GAIN:
            return keep
        mem = llama_cpp.llama_get_memory(llm.ctx)
        llama_cpp.llama_memory_seq_rm(mem, 0, -1, -1)
        llama_cpp.llama_memory_seq_cp(mem, self.seq, 0, 0, have)
        llm.input_ids[:have] = self.tokens[:have]
        llm.n_tokens = have
        return have

    def clear(self, llm: Any) -> None:
        """Free the stashed cells (when a batch needs the room)."""
        import llama_cpp

        if self.tokens:
            llama_cpp.llama_memory_seq_rm(llama_cpp.llama_get_memory(llm.ctx), self.seq, -1, -1)
            self.tokens = []
