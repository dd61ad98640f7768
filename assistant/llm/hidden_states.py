"""A layer's hidden states, read on a second llama.cpp context of the loaded model (the stance probe's features).

Why a middle layer: the shipped stance probe reads the output layer (~4,100 logits at the verdict) and
reached side accuracy 0.76-0.79 on held-out ArgKP train topics; the same model's layer 18 of 28, averaged
over the argument's tokens, separates the sides much better (0.86; docs/evaluation.md, "Issue 19, eighth
session"). A probe file that names a layer is read through here; the one fitted on layer 18 is measured
and not the default (more false refusals in briefs, and worse on essay sentences: "ninth session").
llama-cpp-python exposes only the last layer, so llama.cpp's eval callback
(``cb_eval``) is set on a context of our own: for the one tensor asked for (``l_out-<layer>``) the
scheduler hands it over once computed, and we copy it out. Every other tensor is declined, so the graph
runs as usual.

Why a second context (same weights, its own small KV cache): the main context keeps its cache (the
sources, the stash) across the stance reads, and the probe's reads sit where the fit read them: the
prompt from cell 0, each tail right after it, one tail at a time. llama.cpp's sums depend on where
cells lie (docs/evaluation.md, "Issue 19, seventh session"), so this layout is what makes a sentence's
features the same whatever else was read before or beside it. Not handled: GPU offload; several layers
at once (one is read per call).
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any

from ..errors import ModelError

PROBE_CTX = 2048  # the stance prompt (~150 tokens and the motion) and one tail of at most ~100 tokens
PROBE_BATCH = 512


class Capture:
    """The eval callback: asks for the tensors named in ``wanted`` and keeps a copy of each, (tokens x n_embd).

    ``got`` maps a name to its copy from the last decode that computed it. Also used by
    ``eval/stance_layers.py``, which reads several layers at once.
    """

    def __init__(self, n_embd: int, wanted: Collection[str] = ()) -> None:
        import llama_cpp

        lib = ctypes.CDLL(str(Path(llama_cpp.__file__).parent / "lib" / "libggml-base.so"))
        lib.ggml_get_name.restype = ctypes.c_char_p
        lib.ggml_get_name.argtypes = [ctypes.c_void_p]
        lib.ggml_nelements.restype = ctypes.c_int64
        lib.ggml_nelements.argtypes = [ctypes.c_void_p]
        lib.ggml_backend_tensor_get.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t,
                                                ctypes.c_size_t]
        self.lib, self.n_embd = lib, n_embd
        self.wanted: set[bytes] = {name.encode() for name in wanted}
        self.got: dict[str, Any] = {}
        self.callback = llama_cpp.ggml_backend_sched_eval_callback(self._call)  # kept alive with self

    def _call(self, tensor: int, ask: bool, _user: Any) -> bool:
        name = self.lib.ggml_get_name(tensor)
        if ask:
            return name in self.wanted
        if name in self.wanted:
            import numpy as np

            n = self.lib.ggml_nelements(tensor)
            out = np.empty(n, dtype=np.float32)
            self.lib.ggml_backend_tensor_get(tensor, out.ctypes.data, 0, n * 4)
            self.got[name.decode()] = out.reshape(-1, self.n_embd)
        return True


class HiddenStates:
    """Reads ``l_out-<layer>`` of a model, mean over each tail's tokens, after a shared prompt."""

    def __init__(self, model: Any, threads: int) -> None:
        import llama_cpp

        self._capture = Capture(llama_cpp.llama_model_n_embd(model))
        params = llama_cpp.llama_context_default_params()
        params.n_ctx, params.n_batch, params.n_ubatch, params.n_seq_max = PROBE_CTX, PROBE_BATCH, PROBE_BATCH, 1
        params.n_threads = params.n_threads_batch = threads
        params.cb_eval = self._capture.callback
        self._ctx = llama_cpp.llama_init_from_model(model, params)
        if not self._ctx:
            raise ModelError("could not make the stance probe's llama.cpp context")
        self._prompt: list[int] = []

    def close(self) -> None:
        import llama_cpp

        if self._ctx:
            llama_cpp.llama_free(self._ctx)
            self._ctx = None

    def read(self, prompt: list[int], tails: Sequence[list[int]], layer: int,
             on_progress: Callable[[int], None] | None = None) -> list[Any]:
        """Mean hidden state of each tail (numpy rows), every tail read right after ``prompt``."""
        import llama_cpp

        if len(prompt) + max(map(len, tails), default=0) > PROBE_CTX:
            raise ModelError(f"the stance prompt and a sentence ({len(prompt)} + {max(map(len, tails))} tokens) "
                             f"do not fit the probe's context ({PROBE_CTX} tokens); shorten the motion")
        mem = llama_cpp.llama_get_memory(self._ctx)
        wanted = f"l_out-{layer}"
        self._capture.wanted = {wanted.encode()}
        if prompt != self._prompt:  # the prompt from cell 0, as the probe was fitted
            llama_cpp.llama_memory_clear(mem, True)
            self._prompt = []
            for start in range(0, len(prompt), PROBE_BATCH):
                self._decode(prompt[start:start + PROBE_BATCH], start)
            self._prompt = list(prompt)
        out = []
        for tokens in tails:
            llama_cpp.llama_memory_seq_rm(mem, 0, len(prompt), -1)
            self._capture.got.clear()
            self._decode(tokens, len(prompt))
            if wanted not in self._capture.got:
                raise ModelError(f"the model has no layer {layer} to read the stance from")
            out.append(self._capture.got[wanted].mean(axis=0))
            if on_progress:
                on_progress(len(out))  # may raise to stop: the next read rolls back to the prompt
        return out

    def _decode(self, tokens: list[int], start: int) -> None:
        import llama_cpp

        batch = llama_cpp.llama_batch_init(len(tokens), 0, 1)
        try:
            for i, token in enumerate(tokens):
                batch.token[i], batch.pos[i], batch.n_seq_id[i] = token, start + i, 1
                batch.seq_id[i][0], batch.logits[i] = 0, i == len(tokens) - 1
            batch.n_tokens = len(tokens)
            if llama_cpp.llama_decode(self._ctx, batch) != 0:
                self._prompt = []
                raise ModelError("the model could not read the stance sentences (llama_decode failed)")
        finally:
            llama_cpp.llama_batch_free(batch)
