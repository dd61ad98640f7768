"""Generation benchmarks: per mode on the seeds with the chosen model.

Measures, per mode: retrieval ms, prompt tokens, time to first token, total
time, generated tokens/s; the ratio of our tokens/s to raw llama-cpp-python
on the same model, messages and JSON schema; and the time to first token of a
follow-up question on the same passages (KV-cache reuse). Run it on an idle
machine: llama.cpp threads spin, and a second busy process halves or worse
every number. Not measured: quality (see `assistant eval`).

    .venv/bin/python benchmarks/bench_generate.py --model default --out benchmarks/results/generate.json
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

from assistant import Assistant, Settings
from assistant.cite import number_sentences, sources_block
from assistant.oneshot import MAX_TOKENS, messages_for
from assistant.schemas import schema_for

REQUESTS = {
    "ask": "What reasons does the essay give for the UK's productivity gap?",
    "brief": "Remote work makes companies more productive in the age of AI",
    "steelman": "Companies should bring staff back to the office",
    "rebut": "Working from home is not proper work",
}
FOLLOW_UP = "And what does it say about mental health?"


def raw_tokens_per_s(a: Assistant, mode: str, answer) -> float:  # type: ignore[no-untyped-def]
    """Plain llama-cpp-python on the same Llama object, messages and schema."""
    llm = a.generator.llm  # type: ignore[attr-defined]
    passages = list(answer.passages)
    sents = number_sentences(passages)
    msgs = messages_for(a.settings.prompts_dir, mode, answer.request, sources_block(passages, sents))
    fmt = {"type": "json_object", "schema": schema_for(mode, [s.sid for s in sents])}
    first, n = None, 0
    for chunk in llm.create_chat_completion(messages=msgs, response_format=fmt, max_tokens=MAX_TOKENS[mode],
                                            temperature=a.settings.temperature, seed=0, stream=True):
        if chunk["choices"][0]["delta"].get("content"):
            first = first or time.perf_counter()
            n += 1
    end = time.perf_counter()
    return n / (end - first) if first and end > first else 0.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="default")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/generate.json"))
    args = ap.parse_args()
    index = Path(tempfile.mkdtemp(prefix="bench-gen-")) / "index"
    a = Assistant(Settings.load(index_dir=index, model=args.model, temperature=0.0))
    a.ingest([a.settings.seeds_dir], show_progress=False)
    a.search("warm up the embedder", 1)
    load_start = time.perf_counter()
    a.generator.count_tokens("load the model")
    load_s = time.perf_counter() - load_start
    rows = []
    for mode, text in REQUESTS.items():
        a.generator.llm.reset()  # type: ignore[attr-defined]  # cold KV cache: a fresh request
        ans = a.run(mode, text)
        t = ans.timings
        raw = raw_tokens_per_s(a, mode, ans)  # same prompt: the prefix is cached, only decode differs
        rows.append({"mode": mode, "retrieval_ms": round(t.retrieval_ms), "prompt_tokens": t.prompt_tokens,
                     "ttft_s": round(t.ttft_ms / 1000, 2), "total_s": round(t.total_ms / 1000, 2),
                     "generated_tokens": t.generated_tokens, "tokens_per_s": round(t.tokens_per_s, 2),
                     "raw_tokens_per_s": round(raw, 2), "ratio": round(t.tokens_per_s / raw, 3) if raw else None,
                     "verified": ans.verified_count, "unverified": ans.rejected_count})
        print(json.dumps(rows[-1]), flush=True)
    first = a.ask(REQUESTS["ask"])
    follow = a.ask(FOLLOW_UP, passages=first.passages)
    result = {
        "machine": {"platform": platform.platform(), "python": sys.version.split()[0],
                    "llama_cpp_python": metadata.version("llama-cpp-python"), "threads": a.generator.threads},  # type: ignore[attr-defined]
        "command": " ".join(sys.argv), "model": a.generator.name, "model_load_s": round(load_s, 2),
        "modes": rows,
        "follow_up": {"first_ttft_s": round(first.timings.ttft_ms / 1000, 2),
                      "follow_up_ttft_s": round(follow.timings.ttft_ms / 1000, 2),
                      "follow_up_prompt_tokens": follow.timings.prompt_tokens},
        "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result["follow_up"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
