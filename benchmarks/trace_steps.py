"""Where one answer's time goes: every step, and every model call inside it, with the prompt tokens it read.

    .venv/bin/python benchmarks/trace_steps.py --index DIR rebut "Offices are where real collaboration happens"

Prints one line per ``LlamaGenerator`` call (generate, label reads, tail reads, and the prompt evaluation
inside each: how many of its tokens were already cached) and one per step, as the step ends. The model
is loaded before the clock starts. This is how the KV stash's re-reads were found (docs/benchmarks.md):
a step that evaluates most of a prompt whose start an earlier step already read is the thing to look
for. Run it on an idle machine; llama.cpp runs on ``ASSISTANT_THREADS`` threads (default: the cores).
Not measured: the page's own overhead (bench_serve.py), quality.
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # an old revision: copy this file into its tree

from assistant import Assistant, Settings  # noqa: E402
from assistant.events import Event, StepStarted  # noqa: E402
from assistant.llm.local import LlamaGenerator  # noqa: E402


def traced(name: str, orig: Any) -> Any:
    @functools.wraps(orig)
    def call(self: LlamaGenerator, *args: Any, **kw: Any) -> Any:
        start = time.perf_counter()
        out = orig(self, *args, **kw)
        took = time.perf_counter() - start
        if name == "_prefill":
            what = f"prompt {len(args[0])} tokens, {out} evaluated"
        elif name == "generate":
            what = f"wrote {out.completion_tokens} tokens (cap {kw.get('max_tokens')})"
        else:
            what = f"{len(args[1])} tails"
        print(f"    {name:15s} {took:6.2f} s  {what}", flush=True)
        return out
    return call


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", type=Path, required=True, help="an index of the seeds (assistant --index DIR sync)")
    ap.add_argument("--model", default="default")
    ap.add_argument("mode")
    ap.add_argument("text")
    args = ap.parse_args()
    a = Assistant(Settings.load(index_dir=args.index, model=args.model, save_history=False))
    _ = a.generator.llm  # load the model before the clock starts
    for name in ("generate", "label_logprobs", "tail_logits", "_prefill"):  # those this revision has
        if hasattr(LlamaGenerator, name):
            setattr(LlamaGenerator, name, traced(name, getattr(LlamaGenerator, name)))
    started = time.perf_counter()
    last = [started, "retrieval"]

    def on_event(event: Event) -> None:
        if isinstance(event, StepStarted):
            now = time.perf_counter()
            print(f"{last[1]:14s} {now - last[0]:6.1f} s", flush=True)
            last[:] = [now, event.step]

    answer = a.run(args.mode, args.text, on_event=on_event, temperature=0.0)
    print(f"{last[1]:14s} {time.perf_counter() - last[0]:6.1f} s")
    print(f"total {time.perf_counter() - started:.1f} s; gates {answer.gates}")


if __name__ == "__main__":
    main()
