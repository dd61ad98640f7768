"""Scale benchmark: ingest throughput, index size, memory and search latency up to 200k chunks.

1. **Ingest, old path beside new path, on unique real text.** ArguAna dev
   points and counters are written as ``.txt`` files (not timed), then ingested
   twice into fresh indexes: the *old path* (torch embedder, read -> chunk ->
   embed everything in slices of 32 -> one store write, one after the other,
   as ``ingest.py`` did before the pipeline) and the *new path*
   (``Assistant.ingest``: the default embedder and the overlapped pipeline).
2. **Scale indexes** of 10k, 50k and 200k chunks (``--sizes``): the unique
   ArguAna documents, then copies of them under new ids and paths (same text)
   until the size is reached (``--scale-points N``: copies of the first N
   points only), ingested through the new pipeline into one index that grows
   from size to size. Embedding every copy again would cost ~50
   minutes of both cores for numbers we already have, so the benchmark reuses
   the vector of a chunk text it has already embedded (a cache keyed by text
   hash, inside this script only); the ingest rate of this build is therefore
   the store side's (chunking, Chroma, SQLite + FTS5), reported as such.
3. At each size: index size on disk; a **cold process** (a new interpreter:
   import, open the index, load the embedder, one hybrid query) with its
   time to the first result and its peak RSS (VmHWM); the wall time of a
   one-shot ``assistant search`` CLI call (both three times, alternating;
   medians reported, every run kept); **warm p50/p95** of dense, lexical and hybrid
   search (``--queries`` point titles after 3 warm-up queries); and, for
   comparison, what the old in-memory BM25 needed before its first query
   (read every chunk from Chroma and build the index).

Every number is taken with ``os.getloadavg()`` beside it: on a shared machine
they are only comparable within one run. Indexes live in a temporary folder
and are deleted; the only files written are ``--out`` and ``--plot``.

    .venv/bin/python benchmarks/bench_scale.py [--sizes 10000 50000 200000]
        [--compare-points N] [--out benchmarks/results/scale.json] [--plot docs/scale-latency.png]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench_core import DEFAULT_ARGUANA, latency, machine_facts, pick_queries, read_arguana, write_arguana

from assistant import Assistant, Settings
from assistant.index.chunking import chunk_document, chunker_signature
from assistant.index.corpus import find_files, read_document
from assistant.index.embed import Embedder, SentenceTransformerEmbedder
from assistant.index.ingest import ingest_documents
from assistant.index.lexical import BM25
from assistant.index.store import Store
from assistant.types import Document

REPO = Path(__file__).resolve().parent.parent
VARIANTS = ("dense", "lexical", "hybrid")

# A new interpreter: import, open, first hybrid query. argv: index, query. Prints one JSON line.
# Peak RSS is VmHWM: getrusage's ru_maxrss keeps the parent's peak across fork + exec on Linux, so it
# reported this benchmark's own ~2 GB for every child until 2026-12-01.
CHILD = """
import json, sys, time
t0 = time.perf_counter()
from assistant import Assistant
t1 = time.perf_counter()
a = Assistant(index_dir=sys.argv[1])
a.search(sys.argv[2], 6, variant="hybrid")
t2 = time.perf_counter()
hwm = [line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")]
print(json.dumps({"import_s": t1 - t0, "first_query_s": t2 - t1, "to_first_result_s": t2 - t0,
                  "torch_imported": "torch" in sys.modules, "max_rss_mb": int(hwm[0]) / 1024 if hwm else None}))
"""
COLD_RUNS = 3  # new processes per size: the first after a build also replays Chroma's unpersisted log tail


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


class CachedEmbedder:
    """Reuses the vector of any text embedded before (benchmark only: copies repeat texts)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.cache, self.embedded, self.reused = inner, {}, 0, 0

    @property
    def identity(self) -> str:
        return self.inner.identity

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        keys = [hashlib.blake2b(t.encode(), digest_size=16).digest() for t in texts]
        missing = list({k: t for k, t in zip(keys, texts, strict=True) if k not in self.cache}.items())
        if missing:
            for (k, _), v in zip(missing, self.inner.embed([t for _, t in missing]), strict=True):
                self.cache[k] = v
        self.embedded += len(missing)
        self.reused += len(texts) - len(missing)
        return [self.cache[k] for k in keys]

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


# -- 1. ingest: old path beside new path ----------------------------------------------


def old_path(folder: Path, index: Path) -> dict[str, Any]:
    """The pre-pipeline ingest: torch embedder, every stage after the other, one store write."""
    s = Settings.load(index_dir=index)
    started, load_before = time.perf_counter(), load()
    embedder = SentenceTransformerEmbedder(s.embedder)
    docs = list({d.doc_id: d for d in (read_document(p, max_bytes=10**8) for p in find_files([folder]))}.values())
    items = [(d, chunk_document(d, size=s.chunk_size, overlap=s.chunk_overlap)) for d in docs]
    texts = [c.text for _, cs in items for c in cs]
    vectors: list[list[float]] = []
    for lo in range(0, len(texts), 32):
        vectors.extend(embedder.embed(texts[lo:lo + 32]))
    store = Store.open(index, embedder=embedder.identity, create=True)
    store.add(items, vectors, chunker=chunker_signature(s.chunk_size, s.chunk_overlap))
    store.close()
    seconds = time.perf_counter() - started
    return {"path": "old: torch, serial", "embedder": embedder.identity, "docs": len(docs), "chunks": len(texts),
            "seconds": seconds, "chunks_per_s": len(texts) / seconds, "loadavg_before": load_before,
            "loadavg_after": load()}


def new_path(folder: Path, index: Path, cache: CachedEmbedder) -> dict[str, Any]:
    """``Assistant.ingest`` with the default embedder (wrapped to remember vectors for step 2)."""
    started, load_before = time.perf_counter(), load()
    settings = Settings.load(index_dir=index)
    cache.inner = Assistant(settings).embedder  # the default, as the app chooses it (loads on first use)
    a = Assistant(settings, embedder=cache)
    report = a.ingest([folder], show_progress=False)
    a.close()
    seconds = time.perf_counter() - started  # includes loading the embedder, as the old path does
    return {"path": "new: default embedder, pipeline", "embedder": cache.identity, "docs": len(report.added),
            "chunks": report.chunks_written, "seconds": seconds, "chunks_per_s": report.chunks_written / seconds,
            "loadavg_before": load_before, "loadavg_after": load()}


# -- 2. scale indexes -------------------------------------------------------------------


def copies(docs: Sequence[Document], copy: int) -> list[Document]:
    """The same texts under new ids and paths (copy 0 is the original)."""
    if copy == 0:
        return list(docs)
    return [replace(d, doc_id=hashlib.sha256(f"{d.doc_id}#{copy}".encode()).hexdigest()[:16],
                    source=f"/bench/copy{copy}{d.source}") for d in docs]


def grow(a: Assistant, docs: Sequence[Document], target: int, state: dict[str, int]) -> dict[str, Any]:
    """Add copies until the index holds at least ``target`` chunks; returns the build rate."""
    s = a.settings
    started, chunks, load_before = time.perf_counter(), 0, load()
    while a.store(create=True).chunk_count() < target:
        batch = copies(docs, state["copy"])
        state["copy"] += 1
        need = target - a.store().chunk_count()
        taken, count = [], 0
        for d in batch:
            if count >= need:
                break
            taken.append(d)
            count += len(chunk_document(d, size=s.chunk_size, overlap=s.chunk_overlap))
        chunks += ingest_documents(taken, store=a.store(create=True), embedder=a.embedder, chunk_size=s.chunk_size,
                                   chunk_overlap=s.chunk_overlap, show_progress=None).chunks_written
    seconds = time.perf_counter() - started
    return {"chunks_added": chunks, "seconds": seconds, "chunks_per_s": chunks / seconds if seconds else 0.0,
            "loadavg_before": load_before, "loadavg_after": load()}


def disk_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def cold(index: Path, query: str) -> dict[str, Any]:
    """New processes' first hybrid query and one-shot ``assistant search`` wall times, ``COLD_RUNS`` each.

    The headline figures are the medians; every run is kept (``runs``, ``cli_runs``).
    """
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    load_before = load()
    runs, cli = [], []
    for _ in range(COLD_RUNS):
        out = subprocess.run([sys.executable, "-c", CHILD, str(index), query], capture_output=True, text=True,
                             cwd=REPO, env=env, check=True)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "assistant", "--index", str(index), "search", query, "--json"],
                       capture_output=True, text=True, cwd=REPO, env=env, check=True)
        cli.append(time.perf_counter() - started)
    median = sorted(runs, key=lambda r: r["to_first_result_s"])[len(runs) // 2]
    return {**median, "runs": runs, "cli_search_wall_s": statistics.median(cli), "cli_runs": cli,
            "loadavg": load_before}


def old_lexical_first_query(store: Store) -> float:
    """Seconds the old in-memory BM25 spent before a process's first lexical query."""
    started = time.perf_counter()
    BM25([c.text for c in store.chunks()])
    return time.perf_counter() - started


def measure(index: Path, queries: Sequence[str]) -> dict[str, Any]:
    row: dict[str, Any] = {"disk_mb": disk_mb(index), "cold": cold(index, queries[0])}
    a = Assistant(Settings.load(index_dir=index))
    try:
        row["chunks"] = a.store().chunk_count()
        row["warm_loadavg"] = load()
        row["warm"] = {v: latency(a, queries, v) for v in VARIANTS}
        row["old_lexical_build_s"] = old_lexical_first_query(a.store())
    finally:
        a.close()
    return row


# -- report ---------------------------------------------------------------------------------


def markdown(r: dict[str, Any]) -> str:
    lines = ["| ingest | embedder | docs | chunks | seconds | chunks/s | load avg before → after |",
             "|---|---|---:|---:|---:|---:|---|"]
    for x in r["ingest"]:
        lines.append(f"| {x['path']} | {x['embedder']} | {x['docs']} | {x['chunks']} | {x['seconds']:.1f} "
                     f"| {x['chunks_per_s']:.1f} | {x['loadavg_before'][0]} → {x['loadavg_after'][0]} |")
    lines += ["", "| chunks | build chunks/s (cached vectors) | disk MB | new process: first hybrid query s, "
              "median (first run) | + import s | one-shot CLI s | RSS MB | dense p50/p95 ms | lexical p50/p95 ms "
              "| hybrid p50/p95 ms | old BM25 build s | load avg |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for s in r["sizes"]:
        w, c = s["warm"], s["cold"]
        first = c.get("runs", [c])[0]["first_query_s"]
        lines.append(f"| {s['chunks']:,} | {s['build']['chunks_per_s']:.0f} | {s['disk_mb']:.0f} "
                     f"| {c['first_query_s']:.2f} ({first:.2f}) | {c['to_first_result_s']:.2f} "
                     f"| {c['cli_search_wall_s']:.2f} | {c['max_rss_mb']:.0f} | "
                     + " | ".join(f"{w[v]['p50_ms']:.1f} / {w[v]['p95_ms']:.1f}" for v in VARIANTS)
                     + f" | {s['old_lexical_build_s']:.2f} | {c['loadavg'][0]} / {s['warm_loadavg'][0]} |")
    return "\n".join(lines)


def plot(r: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [s["chunks"] for s in r["sizes"]]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for v in VARIANTS:
        left.plot(sizes, [s["warm"][v]["p50_ms"] for s in r["sizes"]], marker="o", label=f"{v} p50")
    left.set(xscale="log", xlabel="chunks in the index", ylabel="ms", title="warm search latency (p50)")
    left.legend()
    right.plot(sizes, [s["cold"]["first_query_s"] for s in r["sizes"]], marker="o", label="new process: "
               "first hybrid query (median)")
    right.plot(sizes, [s["cold"]["cli_search_wall_s"] for s in r["sizes"]], marker="o", label="`assistant search`")
    right.plot(sizes, [s["old_lexical_build_s"] for s in r["sizes"]], marker="x", label="old: BM25 build only")
    right.set(xscale="log", xlabel="chunks in the index", ylabel="seconds", title="cold, one query")
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


# -- main ---------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--arguana", type=Path, default=DEFAULT_ARGUANA)
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000, 200_000])
    p.add_argument("--compare-points", type=int, default=None, metavar="N",
                   help="ArguAna points for the old-vs-new ingest (default: all, ~17k chunks)")
    p.add_argument("--scale-points", type=int, default=None, metavar="N",
                   help="ArguAna points whose copies fill the scale indexes (default: all; fewer points "
                        "means fewer texts to embed once, more copies of each)")
    p.add_argument("--queries", type=int, default=50)
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "scale.json")
    p.add_argument("--plot", type=Path, default=REPO / "docs" / "scale-latency.png")
    return p.parse_args(argv)


def run(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    rows = read_arguana(args.arguana, None)
    queries = pick_queries(rows, args.queries)
    write_arguana(rows[: args.compare_points] if args.compare_points else rows, tmp / "compare")
    cache = CachedEmbedder(SentenceTransformerEmbedder())
    ingest = [old_path(tmp / "compare", tmp / "old-index"), new_path(tmp / "compare", tmp / "new-index", cache)]
    print(json.dumps(ingest), file=sys.stderr, flush=True)  # kept in the log if a later part fails
    shutil.rmtree(tmp / "old-index")
    write_arguana(rows[: args.scale_points] if args.scale_points else rows, tmp / "all")
    docs = list({d.doc_id: d for d in (read_document(p, max_bytes=10**8) for p in find_files([tmp / "all"]))}.values())
    a = Assistant(Settings.load(index_dir=tmp / "scale"), embedder=cache)
    state, sizes = {"copy": 0}, []
    for size in sorted(args.sizes):
        build = grow(a, docs, size, state)
        a.close()
        print(f"built {size:,} chunks: {build['chunks_per_s']:.0f} chunks/s", file=sys.stderr, flush=True)
        sizes.append({"target": size, "build": build, **measure(tmp / "scale", queries)})
        a = Assistant(Settings.load(index_dir=tmp / "scale"), embedder=cache)
    a.close()
    return {"ingest": ingest, "sizes": sizes, "vectors": {"embedded": cache.embedded, "reused": cache.reused}}


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    try:
        results = run(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out = {"command": shlex.join([sys.executable, *sys.argv]),
           "timestamp_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
           "cpu_count": os.cpu_count(), "machine": machine_facts(),
           "settings": {k: str(v) for k, v in vars(args).items()},
           **results, "total_seconds": time.perf_counter() - started}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    plot(out, args.plot)
    print(markdown(out))
    print(f"\nwrote {args.out} and {args.plot} in {out['total_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
