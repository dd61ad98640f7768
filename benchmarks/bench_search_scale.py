"""Search latency at fixed index sizes (default 100 and 10,000 chunks).

Chunk texts are real (ArguAna points, chunked as usual) so BM25 sees real
term statistics; the stored vectors are random unit vectors, because
embedding 10,000 chunks costs ~7 minutes on 2 cores and HNSW search cost does
not depend on what the vectors mean. Query embeddings are real (MiniLM), so
dense and hybrid timings include the query encoding. This measures speed,
not quality (see `assistant eval arguana`).

    .venv/bin/python benchmarks/bench_search_scale.py --out benchmarks/results/search_scale.json
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from assistant import Assistant, Settings
from assistant.evaluation.arguana import build_corpus, load_points
from assistant.index.chunking import chunk_document, chunker_signature

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "arguana-dev.jsonl"


def build(a: Assistant, data: Path, size: int, rng: random.Random) -> int:
    """Fill ``a``'s index with ``size`` real chunks carrying random unit vectors."""
    s = a.settings
    docs, _ = build_corpus(load_points(data))
    unique = list({d.doc_id: d for d in docs}.values())  # ArguAna repeats a few texts
    items, total = [], 0
    for doc in unique:
        chunks = chunk_document(doc, size=s.chunk_size, overlap=s.chunk_overlap)[: size - total]
        items.append((doc, chunks))
        total += len(chunks)
        if total >= size:
            break
    vectors = []
    for _ in range(total):
        v = [rng.gauss(0, 1) for _ in range(384)]
        norm = sum(x * x for x in v) ** 0.5
        vectors.append([x / norm for x in v])
    a.store(create=True).add(items, vectors, chunker=chunker_signature(s.chunk_size, s.chunk_overlap))
    return a.store().chunk_count()


def latency(a: Assistant, queries: list[str], variant: str) -> dict[str, float]:
    for q in queries[:3]:
        a.search(q, 6, variant=variant)  # warm-up, not counted
    times = []
    for q in queries:
        t = time.perf_counter()
        a.search(q, 6, variant=variant)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return {"p50_ms": round(statistics.median(times), 2), "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 10_000])
    ap.add_argument("--queries", type=int, default=50)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/search_scale.json"))
    args = ap.parse_args()
    points = load_points(args.data)
    queries = [p.point.split("\n", 1)[0] for p in points[:: max(1, len(points) // args.queries)]][: args.queries]
    rows = []
    for size in args.sizes:
        a = Assistant(Settings.load(index_dir=Path(tempfile.mkdtemp(prefix="bench-scale-")) / "index"))
        chunks = build(a, args.data, size, random.Random(0))
        row = {"chunks": chunks, **{v: latency(a, queries, v) for v in ("dense", "lexical", "hybrid")}}
        rows.append(row)
        print(json.dumps(row), flush=True)
        a.close()
    result = {"command": " ".join(sys.argv), "queries": len(queries), "sizes": rows,
              "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
