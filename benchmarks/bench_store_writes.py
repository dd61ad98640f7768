"""Store write rate as the index grows: step 4 by metadata filter (old) beside by chunk id (new).

Until this benchmark, ``Store.add`` deleted the vectors a write made stale
(replaced documents, extra chunks of a re-chunked one) with one Chroma
``delete(where=...)`` per document. Chroma answers a filtered delete by scanning
the collection's metadata, so every document added cost time proportional to
the index size, even when there was nothing to delete. The new ``add`` reads the
old chunk counts from the document rows and deletes by chunk id.

Both paths write the same items, in the same order, into fresh indexes: copies
of the ArguAna documents (new ids and paths, same text), chunked with the
default settings, with random unit vectors (seeded) in place of embeddings, so
the numbers are the store's alone (Chroma upsert, SQLite rows, FTS5). The old
path is today's ``Store`` plus the per-document filtered deletes the old step 4
issued (the new by-id deletes are empty for new documents, so this is the old
cost exactly). Units of 256 chunks, as ``ingest`` writes them; the rate is
taken per ``--step`` chunks.

    .venv/bin/python benchmarks/bench_store_writes.py [--size 34000] [--step 8500] \
        [--out benchmarks/results/store_writes.json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench_core import DEFAULT_ARGUANA, machine_facts
from bench_scale import copies

from assistant import Settings
from assistant.evaluation.arguana import build_corpus, load_points
from assistant.index.chunking import chunker_signature
from assistant.index.ingest import Unit, _units
from assistant.index.store import Store
from assistant.types import Chunk, Document

REPO = Path(__file__).resolve().parent.parent
IDENTITY = "bench/random-unit-384"
UNIT = 256


class OldDeletes(Store):
    """Today's store with the old step 4: one filtered delete per document written."""

    def add(self, items: Sequence[tuple[Document, Sequence[Chunk]]], vectors: Sequence[Sequence[float]], *,
            chunker: str) -> list[str]:
        replaced = super().add(items, vectors, chunker=chunker)
        if replaced:
            self._col.delete(where={"doc_id": {"$in": replaced}})
        for doc, cs in items:
            self._col.delete(where={"$and": [{"doc_id": doc.doc_id}, {"index": {"$gte": len(cs)}}]})
        return replaced


def units(docs: Sequence[Document], size: int, settings: Settings) -> list[Unit]:
    """``ingest``'s own units (whole documents, >= 256 chunks) over copies of ``docs``, to ``size`` chunks."""
    plan: list[Unit] = []
    total, copy = 0, 0
    while total < size:
        for unit in _units(copies(docs, copy), settings.chunk_size, settings.chunk_overlap, UNIT):
            plan.append(unit)
            total += sum(len(cs) for _, cs in unit)
            if total >= size:
                break
        copy += 1
    return plan


def write(store_cls: type[Store], index: Path, plan: list[Unit], chunker: str, step: int) -> dict[str, Any]:
    import numpy as np

    rng = np.random.default_rng(0)
    store = store_cls.open(index, embedder=IDENTITY, create=True)
    started = last_t = time.perf_counter()
    written = last_n = 0
    segments = []
    try:
        for unit in plan:
            n = sum(len(cs) for _, cs in unit)
            v = rng.standard_normal((n, 384)).astype(np.float32)
            v /= np.linalg.norm(v, axis=1, keepdims=True)
            store.add(unit, v.tolist(), chunker=chunker)
            written += n
            if written - last_n >= step or unit is plan[-1]:
                now = time.perf_counter()
                segments.append({"chunks_from": last_n, "chunks_to": written,
                                 "chunks_per_s": (written - last_n) / (now - last_t)})
                print(f"{store_cls.__name__}: {written:,} chunks, {segments[-1]['chunks_per_s']:.0f} chunks/s",
                      file=sys.stderr, flush=True)
                last_n, last_t = written, now
    finally:
        store.close()
    seconds = time.perf_counter() - started
    return {"chunks": written, "seconds": seconds, "chunks_per_s": written / seconds, "segments": segments,
            "loadavg_after": [round(x, 2) for x in os.getloadavg()]}


def markdown(r: dict[str, Any]) -> str:
    old, new = r["old"]["segments"], r["new"]["segments"]
    lines = ["| chunks in the index | old: filtered deletes, chunks/s | new: deletes by id, chunks/s |",
             "|---|---:|---:|"]
    for o, n in zip(old, new, strict=False):
        lines.append(f"| {o['chunks_from']:,} → {o['chunks_to']:,} | {o['chunks_per_s']:.0f} "
                     f"| {n['chunks_per_s']:.0f} |")
    lines.append(f"| **whole run, {r['new']['chunks']:,} chunks** | **{r['old']['chunks_per_s']:.0f}** "
                 f"| **{r['new']['chunks_per_s']:.0f}** |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--arguana", type=Path, default=DEFAULT_ARGUANA)
    p.add_argument("--size", type=int, default=34_000)
    p.add_argument("--step", type=int, default=8_500)
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "store_writes.json")
    args = p.parse_args(argv)
    docs, _ = build_corpus(load_points(args.arguana))
    docs = list({d.doc_id: d for d in docs}.values())
    settings = Settings.load()
    plan = units(docs, args.size, settings)
    chunker = chunker_signature(settings.chunk_size, settings.chunk_overlap)
    tmp = Path(tempfile.mkdtemp(prefix="bench-store-"))
    started = time.perf_counter()
    try:
        results = {"old": write(OldDeletes, tmp / "old", plan, chunker, args.step),
                   "new": write(Store, tmp / "new", plan, chunker, args.step)}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out = {"command": shlex.join([sys.executable, *sys.argv]),
           "timestamp_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "machine": machine_facts(),
           "settings": {k: str(v) for k, v in vars(args).items()}, **results,
           "total_seconds": time.perf_counter() - started}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(markdown(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
