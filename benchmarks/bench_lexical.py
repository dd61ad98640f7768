"""Lexical backends compared: quality on the seeds gold set, build time and latency on ArguAna.

Backends, all fed the same tokens (``lexical.tokenize``: lower case, no
stopwords, no possessive endings):

- ``memory BM25`` -- the in-memory Okapi BM25 every process used to build;
- ``FTS5 unicode61`` and ``FTS5 porter`` -- the persistent SQLite index
  (``LexicalIndex``) with FTS5's plain and Porter-stemming tokenizers;
- ``bm25s`` -- the ``bm25s`` package (sparse matrices, in memory), if installed.

1. Quality: recall@5, MRR@10 and nDCG@10 of the lexical and hybrid variants
   on ``eval/gold_seeds.jsonl`` (as ``assistant eval``), one backend at a time
   on the same private seeds index (the default embedder for the dense side).
2. Speed: every ArguAna dev chunk (~17k) in a store with random vectors
   (lexical search never reads them); build seconds and warm p50/p95 of
   ``--queries`` point titles, k=30 (the retriever's depth).

    .venv/bin/python benchmarks/bench_lexical.py [--out benchmarks/results/lexical.json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench_core import DEFAULT_ARGUANA, pick_queries, read_arguana

from assistant import Assistant, Settings
from assistant.evaluation import evaluate
from assistant.evaluation.arguana import build_corpus, load_points
from assistant.index.chunking import chunk_document, chunker_signature
from assistant.index.lexical import BM25, LexicalIndex, tokenize
from assistant.index.store import Store
from assistant.types import Chunk

REPO = Path(__file__).resolve().parent.parent
Search = Callable[[str, int], list[tuple[Chunk, float]]]


def memory_bm25(chunks: list[Chunk]) -> Search:
    index = BM25([c.text for c in chunks])
    return lambda q, k: [(chunks[i], s) for i, s in index.top(q, k)]


def fts5(store: Store, tokenizer: str) -> Search:
    store.lexical = LexicalIndex(store._db, tokenizer=tokenizer, version=f"bench:{tokenizer}")
    store.rebuild_lexical()
    return lambda q, k: store.lexical.search(q, k)


def bm25s_index(chunks: list[Chunk]) -> Search | None:
    try:
        import bm25s
    except ImportError:
        return None
    retriever = bm25s.BM25(k1=1.5, b=0.75)
    retriever.index([tokenize(c.text) or ["<empty>"] for c in chunks], show_progress=False)

    def search(q: str, k: int) -> list[tuple[Chunk, float]]:
        terms = [t for t in tokenize(q) if t in retriever.vocab_dict] or ["<empty>"]
        ids, scores = retriever.retrieve([terms], k=min(k, len(chunks)), show_progress=False)
        return [(chunks[int(i)], float(s)) for i, s in zip(ids[0], scores[0], strict=True) if s > 0]

    return search


def backends(store: Store) -> dict[str, Callable[[], Search | None]]:
    return {"memory BM25": lambda: memory_bm25(store.chunks()),
            "FTS5 unicode61": lambda: fts5(store, "unicode61"),
            "FTS5 porter": lambda: fts5(store, "porter unicode61"),
            "bm25s": lambda: bm25s_index(store.chunks())}


def quality(tmp: Path) -> dict[str, Any]:
    a = Assistant(Settings.load(index_dir=tmp / "seeds"))
    a.ingest([a.settings.seeds_dir], show_progress=False)
    gold = evaluate.load_gold(a.settings.home / "eval" / "gold_seeds.jsonl", a)
    out = {}
    for name, make in backends(a.store()).items():
        search = make()
        if search is None:
            continue
        a.retriever.lexical = lambda q, k, doc_ids=None, s=search: s(q, k)  # type: ignore[method-assign]
        out[name] = [vars(r) for r in evaluate.evaluate_retrieval(a, gold, variants=("lexical", "hybrid"))]
    a.close()
    return out


def speed(tmp: Path, arguana: Path, queries: Sequence[str]) -> dict[str, Any]:
    s = Settings.load()
    docs, _ = build_corpus(load_points(arguana))
    items = [(d, chunk_document(d, size=s.chunk_size, overlap=s.chunk_overlap))
             for d in {d.doc_id: d for d in docs}.values()]
    rng = random.Random(0)
    vectors = [[rng.gauss(0, 1) for _ in range(8)] for _ in range(sum(len(cs) for _, cs in items))]
    store = Store.open(tmp / "arguana", embedder="bench/random-8", create=True)
    store.add(items, vectors, chunker=chunker_signature(s.chunk_size, s.chunk_overlap))
    out: dict[str, Any] = {"chunks": store.chunk_count(), "loadavg": os.getloadavg()[0]}
    for name, make in backends(store).items():
        started = time.perf_counter()
        search = make()
        if search is None:
            continue
        build = time.perf_counter() - started
        times = []
        for q in queries:
            t = time.perf_counter()
            search(q, 30)
            times.append((time.perf_counter() - t) * 1000)
        out[name] = {"build_s": build, "p50_ms": statistics.median(times),
                     "p95_ms": statistics.quantiles(times, n=20, method="inclusive")[18]}
    store.close()
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--arguana", type=Path, default=DEFAULT_ARGUANA)
    p.add_argument("--queries", type=int, default=50)
    p.add_argument("--skip-speed", action="store_true", help="quality on the gold set only")
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "lexical.json")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-lexical-") as tmp:
        load_before = os.getloadavg()[0]
        out: dict[str, Any] = {"quality": quality(Path(tmp)), "loadavg_quality": load_before, "speed": {"chunks": 0}}
        print(json.dumps(out["quality"]), flush=True)
        if not args.skip_speed:
            queries = pick_queries(read_arguana(args.arguana, None), args.queries)
            out["speed"] = speed(Path(tmp), args.arguana, queries)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print("| backend | variant | recall@5 | MRR@10 | nDCG@10 |\n|---|---|---:|---:|---:|")
    for name, rows in out["quality"].items():
        for r in rows:
            print(f"| {name} | {r['variant']} | {r['recall_at_k']:.3f} | {r['mrr_at_10']:.3f} "
                  f"| {r['ndcg_at_10']:.3f} |")
    print(f"\n| backend ({out['speed']['chunks']} chunks) | build s | p50 ms | p95 ms |\n|---|---:|---:|---:|")
    for name, r in out["speed"].items():
        if isinstance(r, dict):
            print(f"| {name} | {r['build_s']:.2f} | {r['p50_ms']:.2f} | {r['p95_ms']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
