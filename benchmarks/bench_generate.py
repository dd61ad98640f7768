"""Generation benchmarks: constrained vs unconstrained decoding, per-mode latency, warm start.

1. Decoding speed on one prompt (a whole brief as one JSON object on the seeds), alternating
   the ways to decode, ``--repeats`` rounds, each ``--tokens`` long, prompt
   already in the KV cache so only decoding is timed (first token excluded):
   ``old``: llama-cpp-python's create_chat_completion with the JSON schema
   (grammar applied to the whole vocabulary each step); ``raw``: the same
   without a schema; ``fast``: our decoder, grammar checked on the sampled
   token (sampler.py); ``full``: our decoder, grammar on every token;
   ``free``: our decoder without a schema. Median and min tokens/s per way.
2. Per mode on the seeds with a cold KV cache: retrieval ms, prompt tokens,
   time to first token, total, tokens/s, with the stance tails batched and one
   by one; a follow-up on the same passages (prefix reuse).
3. Warm start: ``Assistant.warm_up()`` step times, and the prompt tokens the
   first request evaluates with and without it.

Run it on an idle machine: llama.cpp threads spin, and a second busy process
halves or worse every number; the load average is recorded next to each part.
Not measured: quality (see ``assistant eval``), the page (bench_serve.py).

    .venv/bin/python benchmarks/bench_generate.py --model default --out benchmarks/results/generate.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

from assistant import Assistant, Settings
from assistant.events import Draft, SourcesFound, StepStarted
from assistant.writing import prompts
from assistant.writing.cite import number_sentences, sources_block
from assistant.writing.gather import gather
from assistant.writing.schemas import schema_for

REQUESTS = {
    "ask": "What reasons does the essay give for the UK's productivity gap?",
    "brief": "Remote work makes companies more productive in the age of AI",
    "steelman": "Companies should bring staff back to the office",
    "rebut": "Working from home is not proper work",
}
FOLLOW_UP = "And what does it say about mental health?"
WAYS = ("old", "raw", "fast", "full", "free")


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def rate(stamps: list[float]) -> float:
    """Tokens per second between the first and the last token (the first one waits on the prompt)."""
    return (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 and stamps[-1] > stamps[0] else 0.0


def llama_cpp_stream(llm: Any, msgs: list[dict[str, str]], schema: dict | None, n: int) -> Iterator[str]:  # type: ignore[type-arg]
    fmt = {"response_format": {"type": "json_object", "schema": schema}} if schema else {}
    for chunk in llm.create_chat_completion(messages=msgs, max_tokens=n, temperature=0.0, seed=0, stream=True,
                                            **fmt):
        if piece := chunk["choices"][0]["delta"].get("content"):
            yield piece


def decode_once(a: Assistant, way: str, msgs: list[dict[str, str]], schema: dict, n: int) -> dict:  # type: ignore[type-arg]
    """One decoding run of ``way``: tokens/s and how many tokens."""
    gen: Any = a.generator
    stamps: list[float] = []
    if way in ("old", "raw"):
        for _ in llama_cpp_stream(gen.llm, msgs, schema if way == "old" else None, n):
            stamps.append(time.perf_counter())
    else:
        gen.lazy_grammar = way != "full"
        try:
            gen.generate(msgs, schema=None if way == "free" else schema, max_tokens=n, temperature=0.0,
                         on_token=lambda _p: stamps.append(time.perf_counter()))
        finally:
            gen.lazy_grammar = True
    return {"tokens_per_s": round(rate(stamps), 2), "tokens": len(stamps)}


def messages_for(prompts_dir: Path, request: str, block: str) -> list[dict[str, str]]:
    """The rules, the sources, then a whole brief asked for as one JSON object: a long constrained answer to time.

    (Before issue 21 this was the one-call path's own prompt; the decoding figures are only comparable
    within one run.)
    """
    task = f"TASK: a balanced debate brief on the motion, in the JSON shape required.\nMOTION: {request}"
    return [{"role": "system", "content": prompts.render(prompts_dir, "system")},
            {"role": "user", "content": prompts.render(prompts_dir, "sources", sources=block) + "\n\n" + task}]


def decoding(a: Assistant, repeats: int, n: int) -> dict:  # type: ignore[type-arg]
    passages = gather("brief", REQUESTS["brief"], a.retriever, a.settings.k)
    sents = number_sentences(passages)
    msgs = messages_for(a.settings.prompts_dir, REQUESTS["brief"], sources_block(passages, sents))
    schema = schema_for("brief", [s.sid for s in sents])
    decode_once(a, "free", msgs, schema, 2)  # read the prompt once: every run below only decodes
    runs: dict[str, list[dict]] = {w: [] for w in WAYS}  # type: ignore[type-arg]
    load_before = load()
    for r in range(repeats):
        order = WAYS if r % 2 == 0 else WAYS[::-1]  # alternate, so drift in load hits every way alike
        for way in order:
            runs[way].append(decode_once(a, way, msgs, schema, n))
            print(json.dumps({"round": r, "way": way, **runs[way][-1]}), flush=True)
    summary = {w: {"median": round(statistics.median(x["tokens_per_s"] for x in rs), 2),
                   "min": round(min(x["tokens_per_s"] for x in rs), 2),
                   "tokens": [x["tokens"] for x in rs]} for w, rs in runs.items()}
    med = {w: summary[w]["median"] for w in WAYS}
    return {"prompt_tokens": a.generator.count_tokens("\n".join(m["content"] for m in msgs)),
            "max_tokens": n, "repeats": repeats, "ways": summary,
            "ratio_fast_over_free": round(med["fast"] / med["free"], 3) if med["free"] else None,
            "ratio_old_over_raw": round(med["old"] / med["raw"], 3) if med["raw"] else None,
            "ratio_fast_over_old": round(med["fast"] / med["old"], 3) if med["old"] else None,
            "load_before": load_before, "load_after": load()}


# The path beside its former self on the same request: the staged steps with the stance tails
# batched; the same with the tails read one by one (before batching).
PATHS = {"staged": {}, "staged, tails one by one": {"batched_labels": False}}
SLOW_PATH_MODES = {"staged, tails one by one": ("brief",)}  # the tails matter most where there are two sides


def timed_run(a: Assistant, mode: str, text: str, path: str) -> tuple[dict, Any]:  # type: ignore[type-arg]
    """One request from a cold KV cache: when sources, the first verified point and the end came; step times."""
    gen = a.generator
    options = dict(PATHS[path])
    batched = options.pop("batched_labels", True)
    gen.llm.reset()  # type: ignore[attr-defined]  # cold KV cache: a fresh request
    marks: dict[str, float] = {}
    steps: list[tuple[str, float]] = []
    started = time.perf_counter()

    def on_event(event: Any) -> None:
        now = time.perf_counter() - started
        if isinstance(event, SourcesFound):
            marks.setdefault("sources_s", now)
        elif isinstance(event, Draft) and event.points:
            marks.setdefault("first_point_s", now)
        elif isinstance(event, StepStarted):
            steps.append((event.step, now))

    gen.batched_labels = batched  # type: ignore[attr-defined]
    try:
        ans = a.run(mode, text, on_event=None if options else on_event, **options)
    finally:
        gen.batched_labels = True  # type: ignore[attr-defined]
    end = time.perf_counter() - started
    t = ans.timings
    ends = [at for _, at in steps[1:]] + [end] if steps else []
    return {"mode": mode, "path": path, "retrieval_ms": round(t.retrieval_ms), "prompt_tokens": t.prompt_tokens,
            "sources_s": round(marks["sources_s"], 2) if "sources_s" in marks else None,
            "first_point_s": round(marks.get("first_point_s", t.ttft_ms / 1000), 2),
            "ttft_s": round(t.ttft_ms / 1000, 2), "total_s": round(end, 2),
            "steps_s": {name: round(stop - at, 2) for (name, at), stop in zip(steps, ends, strict=True)},
            "generated_tokens": t.generated_tokens, "tokens_per_s": round(t.tokens_per_s, 2),
            "verified": ans.verified_count, "unverified": ans.rejected_count, "load": load()}, ans


def per_mode(a: Assistant) -> list[dict]:  # type: ignore[type-arg]
    rows = []
    for mode, text in REQUESTS.items():
        for path in PATHS:
            if mode not in SLOW_PATH_MODES.get(path, (mode,)):
                continue
            row, _ = timed_run(a, mode, text, path)
            rows.append(row)
            print(json.dumps(rows[-1]), flush=True)
    return rows


class Recording:
    """The real generator, keeping each Generation so its token counts can be read."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.generations = inner, []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def generate(self, messages: list[dict[str, str]], **kw: Any) -> Any:
        self.generations.append(self.inner.generate(messages, **kw))
        return self.generations[-1]


COLD_START = """
import json, sys
from assistant import Assistant, Settings
a = Assistant(Settings.load(index_dir=sys.argv[1], model=sys.argv[2]))
a.warm_up()
print(json.dumps({"seconds": a.warm_seconds, "error": a.warm_error}))
"""


def warm_start(a: Assistant) -> dict:  # type: ignore[type-arg]
    """What ``serve`` loads at start-up (a new process), and the first Ask's prompt work without and with it."""
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", COLD_START, str(a.settings.index_dir), a.settings.model],
                         capture_output=True, text=True, check=True)
    cold_process = {**json.loads(out.stdout.strip().splitlines()[-1]),
                    "process_s": round(time.perf_counter() - started, 2)}
    gen = Recording(a.generator)
    first: dict[str, Any] = {}
    for label in ("cold", "warm"):
        gen.llm.reset()
        b = Assistant(a.settings, embedder=a.embedder, generator=gen)
        if label == "warm":
            b.warm_up()
        b.ask(REQUESTS["ask"], max_tokens=8)
        g = gen.generations[-1]
        first[label] = {"prompt_tokens": g.prompt_tokens, "evaluated": g.prompt_tokens - g.cached_tokens,
                        "ttft_s": round(g.ttft_s, 2)}
    return {"new_process_warm_up": cold_process, "first_ask": first, "load": load()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="default")
    ap.add_argument("--repeats", type=int, default=3, help="rounds of the decoding comparison (>= 3)")
    ap.add_argument("--tokens", type=int, default=250, help="tokens per decoding run")
    ap.add_argument("--skip-modes", action="store_true", help="only the decoding comparison and warm start")
    ap.add_argument("--skip-decoding", action="store_true", help="no decoding comparison (measured on its own)")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/generate.json"))
    args = ap.parse_args()
    index = Path(tempfile.mkdtemp(prefix="bench-gen-")) / "index"
    settings = Settings.load(index_dir=index, model=args.model, temperature=0.0)
    a = Assistant(settings)
    a.ingest([a.settings.seeds_dir], show_progress=False)
    a.search("warm up the embedder", 1)
    load_start = time.perf_counter()
    a.generator.count_tokens("load the model")
    load_s = time.perf_counter() - load_start
    result: dict[str, Any] = {
        "machine": {"platform": platform.platform(), "python": sys.version.split()[0], "cpus": os.cpu_count(),
                    "llama_cpp_python": metadata.version("llama-cpp-python"),
                    "threads": a.generator.threads},  # type: ignore[attr-defined]
        "command": " ".join(sys.argv), "model": a.generator.name, "model_load_s": round(load_s, 2),
        "load_at_start": load(), "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    if not args.skip_decoding:
        result["decoding"] = decoding(a, max(3, args.repeats), args.tokens)
        print(json.dumps({k: v for k, v in result["decoding"].items() if k != "ways"}), flush=True)
    if not args.skip_modes:
        result["modes"] = per_mode(a)
        first = a.ask(REQUESTS["ask"])
        follow = a.ask(FOLLOW_UP, passages=first.passages)
        result["follow_up"] = {"first_ttft_s": round(first.timings.ttft_ms / 1000, 2),
                               "follow_up_ttft_s": round(follow.timings.ttft_ms / 1000, 2),
                               "follow_up_prompt_tokens": follow.timings.prompt_tokens}
    result["warm_start"] = warm_start(a)
    print(json.dumps(result["warm_start"]), flush=True)
    result["load_at_end"] = load()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
