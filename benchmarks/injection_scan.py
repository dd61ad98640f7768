"""How many sentences of real essays the injection screen flags (false positives).

Run: python benchmarks/injection_scan.py [--arguana ../shared/benchmarks/arguana-dev.jsonl] [--show 20]
Splits every seed essay and every ArguAna point/counter text into the same
numbered sentences the model sees (cite.number_sentences over one passage per
paragraph) and prints counts plus the flagged sentences.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.types import Chunk, Passage  # noqa: E402
from assistant.writing.cite import number_sentences  # noqa: E402
from assistant.writing.injection import flagged  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def scan(name: str, text: str) -> tuple[int, list[str]]:
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    passages = [Passage(Chunk(f"{name}:{i}", name, name, name, i, 0, len(p), p), 1.0, i + 1)
                for i, p in enumerate(paragraphs)]
    sentences = number_sentences(passages, dedupe=False)  # paragraphs at offset 0, not real chunk spans
    return len(sentences), [s.text for s, hit in zip(sentences, flagged(sentences), strict=True) if hit]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--arguana", default=str(ROOT.parent / "shared/benchmarks/arguana-dev.jsonl"))
    ap.add_argument("--show", type=int, default=20)
    args = ap.parse_args()
    texts = [(p.name, p.read_text(encoding="utf-8")) for p in sorted((ROOT / "seeds").glob("*.md"))]
    path = Path(args.arguana)
    if path.is_file():
        seen: set[str] = set()
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            for key in ("point", "counter"):
                if row.get(key) and row[key] not in seen:
                    seen.add(row[key])
                    texts.append((f"{row['point_id']}/{key}", row[key]))
    total, hits = 0, []
    for name, text in texts:
        n, flagged_texts = scan(name, text)
        total += n
        hits += [(name, t) for t in flagged_texts]
    print(f"{len(texts)} texts, {total} sentences, {len(hits)} flagged ({100 * len(hits) / max(total, 1):.3f}%)")
    for name, t in hits[:args.show]:
        print(f"  {name}: {t[:160]}")


if __name__ == "__main__":
    main()
