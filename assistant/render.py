"""Records -> text for the terminal, and -> plain dicts for ``--json``."""

from __future__ import annotations

import textwrap
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .types import DocumentInfo, IngestReport, Passage


def passage_dict(p: Passage) -> dict[str, Any]:
    """A passage as JSON: provenance first, then the text."""
    c = p.chunk
    return {
        "rank": p.rank, "score": round(p.score, 6),
        "dense_score": None if p.dense_score is None else round(p.dense_score, 6),
        "lexical_score": None if p.lexical_score is None else round(p.lexical_score, 6),
        "chunk_id": c.chunk_id, "doc_id": c.doc_id, "title": c.title, "source": c.source,
        "chunk": c.index, "start": c.start, "end": c.end, "text": c.text,
    }


def passages_text(passages: list[Passage], *, width: int = 100) -> str:
    """Ranked passages with score, title, chunk number and char offsets."""
    if not passages:
        return "No passages found."
    blocks = []
    for p in passages:
        c = p.chunk
        head = (f"{p.rank}. [{p.score:.3f}] {c.title} — chunk {c.index}, chars {c.start}–{c.end}"
                f"  ({Path(c.source).name}, {c.doc_id})")
        body = textwrap.fill(" ".join(c.text.split()), width=width, initial_indent="   ",
                             subsequent_indent="   ")
        blocks.append(f"{head}\n{body}")
    return "\n\n".join(blocks)


def documents_text(docs: list[DocumentInfo]) -> str:
    if not docs:
        return "The index is empty: add files with `assistant ingest PATH`."
    rows = [f"{d.doc_id}  {d.chunks:>5} chunks  {d.chars:>8} chars  {d.title}  ({Path(d.source).name})"
            for d in docs]
    total = sum(d.chunks for d in docs)
    return "\n".join(rows + [f"{len(docs)} documents, {total} chunks"])


def ingest_text(r: IngestReport) -> str:
    lines = [f"added     {d.doc_id}  {d.chunks:>4} chunks  {d.title}" for d in r.added]
    lines += [f"replaced  {d.doc_id}  {d.chunks:>4} chunks  {d.title}" for d in r.replaced]
    lines += [f"unchanged {d.doc_id}  {d.chunks:>4} chunks  {d.title}" for d in r.unchanged]
    lines.append(f"{len(r.added)} added, {len(r.replaced)} replaced, {len(r.unchanged)} unchanged; "
                 f"{r.chunks_written} chunks embedded in {r.seconds:.1f} s")
    return "\n".join(lines)


def ingest_dict(r: IngestReport) -> dict[str, Any]:
    return asdict(r)
