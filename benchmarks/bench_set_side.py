"""How long setting a side takes as the library grows: ``Assistant.set_side`` checks every document.

A side may only be set for a sentence the library holds (``api.Assistant._holding``: each stored text,
normalised by ``stance.key``, is searched for the sentence), so the cost grows with the library. Here a
library of ``--docs`` synthetic documents (about 4,000 characters each, a made-up vocabulary, one unique
closing sentence each) is ingested with the tests' hashed embedder (the embedder is not what is timed),
then a side is set for the last document's closing sentence (the whole library scanned) and for an early
one (found at once), ``--repeat`` times each; the median is reported.

    .venv/bin/python benchmarks/bench_set_side.py [--docs 2000] [--repeat 5] [--out benchmarks/results/set_side.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant import Assistant, Settings  # noqa: E402
from tests.fakes import FakeEmbedder  # noqa: E402

WORDS = "remote work office productivity managers staff hybrid policy evidence study cost team".split()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    rng = random.Random(1)
    with tempfile.TemporaryDirectory(prefix="bench-set-side-") as tmp:
        lib = Path(tmp) / "lib"
        lib.mkdir()
        for i in range(args.docs):
            body = " ".join(rng.choice(WORDS) for _ in range(600))
            (lib / f"d{i:05}.md").write_text(f"# Doc {i}\n\n{body}. Unique closing sentence number {i} of this file.\n")
        a = Assistant(Settings.load(index_dir=Path(tmp) / "index"), embedder=FakeEmbedder())
        started = time.perf_counter()
        a.ingest([lib], show_progress=False)
        ingest_s = time.perf_counter() - started
        timings = {}
        for name, n in (("last document (full scan)", args.docs - 1), ("first document", 0)):
            runs = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                a.set_side("Remote work is good for staff", f"Unique closing sentence number {n} of this file.", "for")
                runs.append(time.perf_counter() - started)
            timings[name] = round(statistics.median(runs), 3)
        a.close()
    result = {"command": " ".join([Path(sys.executable).name, *sys.argv]), "docs": args.docs,
              "ingest_s": round(ingest_s, 1), "set_side_median_s": timings, "cpus": os.cpu_count(),
              "machine": platform.platform(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
