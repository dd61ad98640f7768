"""Text generation in-process: the llama.cpp implementation of ``base.Generator``.

One ``Llama`` per model file per process, loaded on first use and reused, so
llama.cpp keeps its KV cache between requests: a prompt that shares a prefix
with the previous one (same instructions, same passages) is only evaluated
from where it differs. Output can be constrained by a JSON schema (llama.cpp
grammar), so a small model cannot emit malformed structure; the grammar is
checked against the sampled token only and applied in full when it rejects
one (``sampler.py``), so constrained decoding runs at nearly full speed.
Prompts are rendered with the model's own chat template and decoded by a
small loop of our own (not ``create_chat_completion``), which is what lets
``warm()`` evaluate a shared prefix ahead of the first request. Not handled:
GPU offload, several models resident at once.
"""

from __future__ import annotations

import atexit
import codecs
import os
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..errors import ModelError
from .base import Generation, OnToken
from .kv_stash import Stash, common_prefix
from .llama_params import llama_defaults, model_params

# Label tails scored together in one llama_decode, each on its own sequence sharing the prompt's
# cells (see label_logprobs); the context is made with this many sequences beside the prompt's.
PARALLEL_TAILS = 16
STASH_SLOTS = 3  # long prefixes kept across short prompts (kv_stash.py), in the sequences after the tails
STASH_ROOM = 1024  # cells left free beside a prompt and the stash (a reply, a batch of tails)


def physical_cores() -> int:
    """Physical cores available to us (llama.cpp is slower on hyper-threads)."""
    try:
        pairs = set()
        block: dict[str, str] = {}
        for line in Path("/proc/cpuinfo").read_text().splitlines() + [""]:
            if not line.strip():
                if "core id" in block:
                    pairs.add((block.get("physical id", "0"), block["core id"]))
                block = {}
            elif ":" in line:
                key, _, value = line.partition(":")
                block[key.strip()] = value.strip()
        cores = len(pairs)
    except OSError:
        cores = 0
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores or available, available))


class LlamaGenerator:
    """llama-cpp-python in-process, lazily loaded, one generation at a time.

    ``lazy_grammar`` (default): check the schema's grammar against the sampled
    token only, as llama.cpp's own sampler does (see ``sampler.py``); False
    applies it to the whole vocabulary at every step (the slower old way).
    ``batched_labels`` (default): ``label_logprobs`` decodes its tails together
    on parallel sequences; False evaluates them one after another (the old way).
    """

    _lock = threading.Lock()  # llama.cpp contexts are not re-entrant

    def __init__(self, model_path: Path, *, name: str | None = None, n_ctx: int = 4096,
                 threads: int | None = None, seed: int = 0, lazy_grammar: bool = True,
                 batched_labels: bool = True) -> None:
        if not Path(model_path).is_file():
            raise ModelError(f"model file does not exist: {model_path} (run `assistant models verify`)")
        self.path = Path(model_path)
        self.name = name or self.path.name
        # Its yes/no reads may decide what is shown (models.txt ``judge``, set where measured): the 0.5B and
        # the 135M models answer "no" to nearly every card, right or wrong (docs/evaluation.md)
        self.judge = False
        self.n_ctx = n_ctx
        self.threads = threads or physical_cores()
        self.seed = seed
        self.lazy_grammar = lazy_grammar
        self.batched_labels = batched_labels
        self._llm: Any = None
        self._label_batch: Any = None
        self._template: Any = None
        self._stash = Stash(range(1 + PARALLEL_TAILS, 1 + PARALLEL_TAILS + STASH_SLOTS))
        self._hidden: Any = None  # hidden_states.HiddenStates, made on first use
        _LIVE.add(self)

    @property
    def llm(self) -> Any:
        if self._llm is None:
            from llama_cpp import Llama

            try:
                # use_mmap=False: llama.cpp repacks the weights for the CPU kernels into memory of
                # its own, and with mmap the file's pages stay resident too (the 1.5B model:
                # 1.86 GB RSS with mmap, 1.27 GB without; the kernels use the same repacked copy).
                # A unified KV cache with spare sequences lets label tails share the prompt's cells.
                with llama_defaults("llama_context_default_params", {"n_seq_max": 1 + PARALLEL_TAILS + STASH_SLOTS,
                                                                 "kv_unified": True}), model_params():
                    self._llm = Llama(model_path=str(self.path), n_ctx=self.n_ctx, n_threads=self.threads,
                                      n_threads_batch=self.threads, n_batch=512, seed=self.seed,
                                      use_mmap=False, verbose=False)
            except ValueError as exc:
                raise ModelError(f"cannot load model {self.path}: {exc}") from None
        return self._llm

    def close(self) -> None:
        """Free the probe's context, the label batch and the model now; the generator loads again on next use.

        Called for every generator still alive at exit (``_close_all``): left to llama_cpp's own ``__del__``
        at interpreter shutdown, freeing runs after its module is torn down and prints a TypeError
        traceback (seen at the end of every test run).
        """
        with self._lock:
            if self._hidden is not None:
                self._hidden.close()
                self._hidden = None
            if self._label_batch is not None:
                self._label_batch.close()
                self._label_batch = None
            if self._llm is not None:
                self._llm.close()
                self._llm = None
            self._stash.forget()  # its sequences went with the context

    def count_tokens(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def prompt_tokens(self, messages: list[dict[str, str]]) -> list[int]:
        """The tokens the model reads for ``messages``: its chat template, then the reply cue."""
        if self._template is None:
            self._template = _chat_formatter(self.llm)
        rendered = self._template(messages=messages)
        return list(self.llm.tokenize(rendered.prompt.encode("utf-8"), add_bos=not rendered.added_special,
                                      special=True))

    def cached_tokens(self, messages: list[dict[str, str]]) -> int:
        """How many leading tokens of the prompt for ``messages`` are already in the KV cache."""
        with self._lock:
            return common_prefix(self._cached(), self.prompt_tokens(messages))

    def warm(self, messages: list[dict[str, str]]) -> int:
        """Evaluate the prompt prefix every conversation starting with ``messages`` shares.

        E.g. ``warm([system])`` reads the system rules once, so the first request
        only reads its own sources and task. Returns the tokens evaluated now.
        """
        a = self.prompt_tokens([*messages, {"role": "user", "content": "A"}])
        b = self.prompt_tokens([*messages, {"role": "user", "content": "B"}])
        prefix = a[: common_prefix(a, b)]
        with self._lock:
            return self._prefill(prefix, need_logits=False)

    def generate(self, messages: list[dict[str, str]], *, schema: dict[str, Any] | None = None,
                 max_tokens: int = 512, temperature: float = 0.2,
                 on_token: OnToken | None = None) -> Generation:
        """Stream a chat completion; ``schema`` constrains the output to matching JSON."""
        from .sampler import Sampler, schema_grammar

        with self._lock:
            llm = self.llm  # loading the model is not part of the request's timings
            start = time.perf_counter()
            grammar = schema_grammar(schema) if schema is not None else None
            tokens = self.prompt_tokens(messages)
            if len(tokens) >= self.n_ctx:
                raise ModelError(f"the prompt ({len(tokens)} tokens) does not fit the model's context "
                                 f"window ({self.n_ctx} tokens); use fewer passages")
            with Sampler(llm, temperature=temperature, seed=self.seed, grammar=grammar,
                         lazy=self.lazy_grammar) as sampler:
                evaluated = self._prefill(tokens, need_logits=True)
                text, n, first = self._decode(sampler, min(max_tokens, self.n_ctx - len(tokens)), on_token)
        end = time.perf_counter()
        return Generation(text=text, prompt_tokens=len(tokens), completion_tokens=n,
                          ttft_s=(first or end) - start, total_s=end - start,
                          cached_tokens=len(tokens) - evaluated)

    def _decode(self, sampler: Any, limit: int, on_token: OnToken | None) -> tuple[str, int, float | None]:
        """Sample, stream and evaluate up to ``limit`` tokens: (text, tokens, time of first text)."""
        import llama_cpp

        llm = self.llm
        vocab = llama_cpp.llama_model_get_vocab(llm.model)
        utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pieces: list[str] = []
        first: float | None = None
        n = 0
        # On Ctrl-C or a UI stop raised from on_token nothing needs resetting: llm.eval records
        # a token only after llama.cpp has decoded it, so the KV cache still matches
        # llm.input_ids[:llm.n_tokens] and the next request reuses that prefix.
        while n < limit:
            token = sampler.sample()
            if llama_cpp.llama_vocab_is_eog(vocab, token):
                break
            sampler.accept(token)
            n += 1
            piece = utf8.decode(llm.detokenize([token]))
            if piece:
                first = first or time.perf_counter()
                pieces.append(piece)
                if on_token:
                    on_token(piece)
            if n < limit:
                llm.eval([token])
        tail = utf8.decode(b"", final=True)
        if tail:
            pieces.append(tail)
            if on_token:
                on_token(tail)
        return "".join(pieces), n, first

    def label_logprobs(self, messages: list[dict[str, str]], tails: list[str], labels: list[str],
                       on_progress: Callable[[int], None] | None = None) -> list[dict[str, float]]:
        """Next-token log-probabilities of each label after each tail, on one cached prefix.

        The prompt of ``messages`` is evaluated once (reusing whatever prefix the KV cache
        already holds); every tail is then read as if it followed the prompt directly, and
        the log-softmax over the first token of each label is read after it. Batched (the
        default), up to ``PARALLEL_TAILS`` tails go into one ``llama_decode``, each on a
        sequence of its own that shares the prompt's cells; otherwise the cache is rolled
        back to the prompt before each tail. Labels must start with distinct tokens.
        """
        with self._lock:
            llm = self.llm
            first = [self.first_token(label) for label in labels]
            if len(set(first)) != len(first):
                raise ValueError(f"labels {labels} share a first token")
            return self._read_tails(messages, tails, lambda i: _label_row(llm, i, labels, first), on_progress)

    def tail_logits(self, messages: list[dict[str, str]], tails: list[str], ids: Sequence[int],
                    on_progress: Callable[[int], None] | None = None) -> list[Any]:
        """The raw next-token logits at token ``ids`` after each tail (numpy rows), on one cached prefix.

        Like ``label_logprobs``, but the whole slice of the output layer a probe reads (stance_probe.py):
        the final hidden state seen through ``len(ids)`` rows of the output matrix.
        """
        import numpy as np

        chosen = np.asarray(ids, dtype=np.int64)
        with self._lock:
            llm = self.llm
            self._forget()  # the probe reads what a fresh process would (see _forget)
            width = llm.n_vocab()
            return self._read_tails(messages, tails, lambda i: np.ctypeslib.as_array(
                llm._ctx.get_logits_ith(i), shape=(width,))[chosen].astype(np.float32), on_progress)

    def tail_states(self, messages: list[dict[str, str]], tails: list[str], layer: int,
                    on_progress: Callable[[int], None] | None = None) -> list[Any]:
        """The hidden state of layer ``layer`` averaged over each tail's tokens (numpy rows), each tail
        read right after the prompt of ``messages`` (stance_probe.py).

        Read on a second context of the same weights (``hidden_states.py``): the main KV cache and its
        stash stay as they are, and every tail's cells lie where the probe's fit put them.
        """
        from .hidden_states import HiddenStates

        with self._lock:
            llm = self.llm
            if self._hidden is None:
                self._hidden = HiddenStates(llm.model, self.threads)
            pieces = [llm.tokenize(t.encode("utf-8"), add_bos=False, special=False) for t in tails]
            return self._hidden.read(self.prompt_tokens(messages), pieces, layer, on_progress)

    def _read_tails(self, messages: list[dict[str, str]], tails: list[str], read: Callable[[int], Any],
                    on_progress: Callable[[int], None] | None) -> list[Any]:
        """``read(batch position)`` after each tail, every tail read as if it followed the prompt directly."""
        llm = self.llm
        prompt = self.prompt_tokens(messages)
        self._prefill(prompt, need_logits=False)
        pieces = [llm.tokenize(t.encode("utf-8"), add_bos=False, special=False) for t in tails]
        budget = min(llm.n_batch, self.n_ctx - len(prompt))  # tokens one batch may hold
        if self.batched_labels and pieces and max(map(len, pieces)) <= budget:
            return self._labels_batched(len(prompt), budget, pieces, read, on_progress)
        out = []
        for tokens in pieces:
            llm.n_tokens = len(prompt)  # roll the KV cache back to the end of the prompt
            llm.eval(tokens)
            out.append(read(-1))
            if on_progress:
                on_progress(len(out))  # may raise to stop (a UI Stop, Ctrl-C): the cache stays consistent
        return out

    def _labels_batched(self, base: int, budget: int, pieces: list[list[int]], read: Callable[[int], Any],
                        on_progress: Callable[[int], None] | None) -> list[Any]:
        """``_read_tails`` on parallel sequences: sequence 0 holds the prompt (``base`` tokens).

        Every tail fits ``budget`` tokens (``_read_tails`` checked), the batch's capacity.
        """
        import llama_cpp
        from llama_cpp._internals import LlamaBatch

        llm = self.llm
        if self._label_batch is None:
            self._label_batch = LlamaBatch(n_tokens=llm.n_batch, embd=0, n_seq_max=1, verbose=False)
        batch = self._label_batch.batch
        self._stash.fit(llm, self._cached()[:base], self.n_ctx - budget)  # the batch may need stashed cells
        mem = llama_cpp.llama_get_memory(llm.ctx)
        llama_cpp.llama_memory_seq_rm(mem, 0, base, -1)  # cells of a longer earlier prompt, if any
        out: list[Any] = []
        for group in _groups([len(p) for p in pieces], budget, PARALLEL_TAILS):
            batch.n_tokens = 0
            ends = []
            for seq, i in enumerate(group, start=1):
                llama_cpp.llama_memory_seq_cp(mem, 0, seq, -1, -1)
                for pos, token in enumerate(pieces[i]):
                    k = batch.n_tokens
                    batch.token[k], batch.pos[k], batch.n_seq_id[k] = token, base + pos, 1
                    batch.seq_id[k][0], batch.logits[k] = seq, pos == len(pieces[i]) - 1
                    batch.n_tokens += 1
                ends.append(batch.n_tokens - 1)
            try:
                if llama_cpp.llama_decode(llm.ctx, batch) != 0:
                    raise ModelError("the model could not read the stance labels (llama_decode failed)")
                rows = [read(end) for end in ends]
            finally:  # the prompt's cells stay in sequence 0: the next request reuses them
                for seq in range(1, len(group) + 1):
                    llama_cpp.llama_memory_seq_rm(mem, seq, -1, -1)
            for row in rows:
                out.append(row)
                if on_progress:
                    on_progress(len(out))  # may raise to stop: the cache holds the prompt only
        return out

    def _forget(self) -> None:
        """Empty the KV cache, every sequence and the stash, so the next prompt sits where a fresh process puts it.

        llama.cpp's results depend on where in the cache a prompt's cells lie, not only on what they
        hold: the same stance tails read after another prompt was stashed moved by up to 0.37 in their
        logits and the probe's probabilities by up to 0.46, flipping 3 of 16 labels (same text, same
        model; a stashed prompt of the same length but other words changed nothing, so it is layout,
        not leakage: docs/evaluation.md). The probe was fitted on reads with nothing stashed, its
        prompt at the start of the cache; reading from an empty cache keeps it there, and its labels
        are then the same whatever was asked before. Costs the stance prompt's shared start (a few
        tokens) and whatever the stash held (a later step reads the shared rules again).
        """
        import llama_cpp

        llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(self.llm.ctx), True)
        self.llm.n_tokens = 0
        self._stash.forget()

    def first_token(self, label: str) -> int:
        """The id of the first token of ``label`` (what a label's log-probability is read at)."""
        return int(self.llm.tokenize(label.encode("utf-8"), add_bos=False, special=False)[0])

    def _cached(self) -> list[int]:
        llm = self._llm
        return [] if llm is None else llm.input_ids[: llm.n_tokens].tolist()

    def _prefill(self, tokens: list[int], *, need_logits: bool) -> int:
        """Evaluate what of ``tokens`` is not in the KV cache yet; returns how many were evaluated.

        With ``need_logits`` at least the last token is evaluated again, so
        its logits (which the cache does not keep) are there to sample from.
        """
        llm = self.llm
        cached = self._cached()
        keep = common_prefix(cached, tokens)
        self._stash.save(llm, cached, keep)
        keep = self._stash.restore(llm, tokens, keep)
        self._stash.fit(llm, tokens, self.n_ctx - STASH_ROOM)  # no room for all: slots are given up first
        if need_logits:
            keep = min(keep, len(tokens) - 1)
        llm.n_tokens = keep  # eval() first drops everything cached after n_tokens
        rest = tokens[keep:]
        if rest:
            llm.eval(rest)
        return len(rest)


def _label_row(llm: Any, index: int, labels: list[str], first: list[int]) -> dict[str, float]:
    """Log-softmax of the logits at batch position ``index``, read at each label's first token."""
    import numpy as np

    logits = np.ctypeslib.as_array(llm._ctx.get_logits_ith(index), shape=(llm.n_vocab(),))
    top = float(logits.max())
    log_z = top + float(np.log(np.exp(logits - top).sum()))
    return {label: float(logits[t]) - log_z for label, t in zip(labels, first, strict=True)}


def _groups(lengths: list[int], budget: int, width: int) -> list[list[int]]:
    """Consecutive indices packed into groups of at most ``width`` items and ``budget`` tokens.

    An item longer than the budget goes alone.

    >>> _groups([30, 30, 30, 50, 10], 64, 16)
    [[0, 1], [2], [3, 4]]
    """
    groups: list[list[int]] = []
    used = 0
    for i, n in enumerate(lengths):
        if groups and len(groups[-1]) < width and used + n <= budget:
            groups[-1].append(i)
            used += n
        else:
            groups.append([i])
            used = n
    return groups


def _chat_formatter(llm: Any) -> Any:
    """The model's own chat template (the GGUF's), as llama-cpp-python builds it; ChatML without one."""
    from llama_cpp import llama_chat_format

    template = llm.metadata.get("tokenizer.chat_template")
    if not template:
        return llama_chat_format.format_chatml
    eos, bos = llm.token_eos(), llm.token_bos()
    text = llm._model.token_get_text  # noqa: SLF001 - the same call llama-cpp-python makes for this
    return llama_chat_format.Jinja2ChatFormatter(template=template, eos_token=text(eos) if eos != -1 else "",
                                                 bos_token=text(bos) if bos != -1 else "",
                                                 stop_token_ids=[eos])


_LOADED: dict[tuple[str, int], LlamaGenerator] = {}
_LIVE: weakref.WeakSet[LlamaGenerator] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    """Free every generator still alive while llama_cpp is still whole (see ``LlamaGenerator.close``)."""
    for generator in list(_LIVE):
        generator.close()


def load_generator(model_path: Path, *, name: str, n_ctx: int = 4096, threads: int | None = None,
                   judge: bool = False) -> LlamaGenerator:
    """The process-wide generator for a model file (loaded once, reused); ``judge``: see ``LlamaGenerator``."""
    key = (str(Path(model_path).resolve()), n_ctx)
    if key not in _LOADED:
        _LOADED[key] = LlamaGenerator(model_path, name=name, n_ctx=n_ctx, threads=threads)
    _LOADED[key].judge = judge
    return _LOADED[key]


