"""Token sampling for llama.cpp with a grammar that is checked lazily.

llama-cpp-python puts the grammar inside its sampler chain, so at every step
the grammar is matched against all ~151k vocabulary entries of the Qwen
models, which costs about a third of the decoding time on 2 cores. This
module does what llama.cpp's own ``common_sampler`` does instead: sample from
the unconstrained chain, check only the sampled token against the grammar,
and only when the grammar rejects it apply the grammar to the whole
vocabulary and sample again. At temperature 0 both ways pick the same token
(the most likely one the grammar allows), so greedy output is identical.

A private helper of ``local.py`` (the only module that imports it): like
``local.py`` it drives llama_cpp, through its low-level sampler API. Not
handled: repetition penalties, mirostat, logit bias (the generator uses none).
"""

from __future__ import annotations

import ctypes
import json
import math
from typing import Any

import numpy as np

from ..errors import ModelError

# The defaults of llama-cpp-python's create_chat_completion, which the old path used.
TOP_K, TOP_P, MIN_P = 40, 0.95, 0.05
# On a rejection the grammar is matched against this many likeliest tokens before all of them.
SHORTLIST = 256
TOKEN_DATA = np.dtype([("id", np.intc), ("logit", np.single), ("p", np.single)], align=True)  # llama_token_data


# JSON forbids raw control characters inside strings; llama-cpp-python 0.3.36's converter allows them
# (its ``char ::= [^"\\] | ...``), and a sampled "\n" inside a string then failed ``json.loads`` (found
# 2026-12-01 by tests/test_llm_fast.py on the tiny model). Its own JSON grammar uses this rule.
CHAR_RULE = r'char ::= [^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F])'


def schema_grammar(schema: dict[str, Any]) -> str:
    """GBNF text for a JSON schema (llama-cpp-python's converter, as response_format uses), with
    strings that cannot hold raw control characters."""
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    lines = str(json_schema_to_gbnf(json.dumps(schema))).splitlines()
    return "\n".join(CHAR_RULE if line.startswith("char ::=") else line for line in lines) + "\n"


class Sampler:
    """One generation's sampler: an unconstrained chain plus an optional grammar.

    ``lazy`` (default) checks the grammar against the sampled token only;
    ``lazy=False`` applies it to the whole vocabulary every step, as
    llama-cpp-python does (kept for comparison and as a fallback).
    """

    def __init__(self, llm: Any, *, temperature: float, seed: int, grammar: str | None = None,
                 lazy: bool = True) -> None:
        import llama_cpp as lc

        self._lc = lc
        self._ctx = llm.ctx
        self.n_vocab = int(llm.n_vocab())
        self.lazy = lazy
        self.resampled = 0  # steps where the grammar rejected the sampled token
        self.full_matches = 0  # ... and allowed none of the shortlist either
        self.chain = lc.llama_sampler_chain_init(lc.llama_sampler_chain_default_params())
        if temperature <= 0:
            self._add(lc.llama_sampler_init_greedy())
        else:
            for s in (lc.llama_sampler_init_top_k(TOP_K), lc.llama_sampler_init_top_p(TOP_P, 1),
                      lc.llama_sampler_init_min_p(MIN_P, 1), lc.llama_sampler_init_temp(temperature),
                      lc.llama_sampler_init_dist(seed)):
                self._add(s)
        self.grammar = None
        if grammar is not None:
            vocab = lc.llama_model_get_vocab(llm.model)
            self.grammar = lc.llama_sampler_init_grammar(vocab, grammar.encode("utf-8"), b"root")
            if not self.grammar:
                self.close()
                raise ModelError("llama.cpp could not parse the output grammar for this schema")
        self._one = lc.llama_token_data(0, 0.0, 0.0)
        self._one_array = lc.llama_token_data_array(ctypes.pointer(self._one), 1, -1, False)

    def _add(self, s: Any) -> None:
        self._lc.llama_sampler_chain_add(self.chain, s)

    def sample(self) -> int:
        """The next token from the logits of the last evaluated position."""
        lc = self._lc
        if self.grammar is None:
            return int(lc.llama_sampler_sample(self.chain, self._ctx, -1))
        if self.lazy:
            token = int(lc.llama_sampler_sample(self.chain, self._ctx, -1))
            if self.allows(token):
                return token
            self.resampled += 1
        return self._sample_full()

    def allows(self, token: int) -> bool:
        """Whether the grammar, in its current state, accepts ``token`` next."""
        self._one.id, self._one.logit, self._one.p = token, 1.0, 0.0  # type: ignore[assignment]  # ctypes field
        self._one_array.size, self._one_array.selected, self._one_array.sorted = 1, -1, False
        self._lc.llama_sampler_apply(self.grammar, ctypes.byref(self._one_array))
        return not math.isinf(self._one.logit)

    def _sample_full(self) -> int:
        """Grammar, then the chain (llama-cpp-python's order) over the likeliest tokens, else all.

        The grammar is matched against the ``SHORTLIST`` likeliest tokens first;
        only if it allows none of them is it matched against the whole
        vocabulary. At temperature 0 this picks the same token as matching all
        of them (an allowed token outside the shortlist is less likely than every
        allowed one inside); when sampling, the tail it leaves out is what
        top-k 40 and min-p would cut anyway.
        """
        logits = np.ctypeslib.as_array(self._lc.llama_get_logits_ith(self._ctx, -1), shape=(self.n_vocab,))
        if self.lazy and self.n_vocab > SHORTLIST:
            top = np.argpartition(logits, -SHORTLIST)[-SHORTLIST:].astype(np.intc)
            token = self._pick(top, logits[top])
            if token is not None:
                return token
            self.full_matches += 1
        token = self._pick(np.arange(self.n_vocab, dtype=np.intc), logits)
        if token is None:
            raise ModelError("the output grammar allows no token here (the model cannot continue)")
        return token

    def _pick(self, ids: np.ndarray, logits: np.ndarray) -> int | None:
        """Apply the grammar then the chain to these candidates; None if the grammar allows none."""
        lc = self._lc
        data = np.zeros(len(ids), dtype=TOKEN_DATA)
        data["id"], data["logit"] = ids, logits
        arr = lc.llama_token_data_array(data.ctypes.data_as(lc.llama_token_data_p), len(ids), -1, False)
        lc.llama_sampler_apply(self.grammar, ctypes.byref(arr))
        if not np.isfinite(data["logit"][: arr.size]).any():
            return None
        lc.llama_sampler_apply(self.chain, ctypes.byref(arr))
        if not 0 <= arr.selected < arr.size:
            return None
        token = int(arr.data[arr.selected].id)
        lc.llama_sampler_accept(self.chain, token)
        return token

    def accept(self, token: int) -> None:
        """Advance the grammar past ``token`` (never call it with an end-of-generation token)."""
        if self.grammar is not None:
            self._lc.llama_sampler_accept(self.grammar, token)

    def close(self) -> None:
        for name in ("chain", "grammar"):
            s = getattr(self, name, None)
            if s:
                self._lc.llama_sampler_free(s)
            setattr(self, name, None)

    def __enter__(self) -> Sampler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
