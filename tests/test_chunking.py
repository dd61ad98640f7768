"""Chunks: sizes, overlap, and the offset invariant every quote check relies on."""

from __future__ import annotations

import pytest

from assistant.index.chunking import chunk_document
from assistant.index.corpus import read_document
from assistant.types import Document
from tests.conftest import SEEDS


@pytest.mark.parametrize(("size", "overlap"), [(800, 120), (400, 50), (1500, 0)])
def test_offsets_locate_every_chunk_in_its_document(size: int, overlap: int) -> None:
    for path in sorted(SEEDS.glob("*.md")):
        doc = read_document(path, max_bytes=10**7)
        chunks = chunk_document(doc, size=size, overlap=overlap)
        assert chunks, path
        for i, c in enumerate(chunks):
            assert doc.text[c.start:c.end] == c.text
            assert c.index == i and c.chunk_id == f"{doc.doc_id}:{i:04d}"
            assert len(c.text) <= size
            assert (c.doc_id, c.title, c.source) == (doc.doc_id, doc.title, doc.source)
        starts = [c.start for c in chunks]
        assert starts == sorted(starts) and len(set(starts)) == len(starts)


def test_chunks_cover_all_the_text() -> None:
    doc = read_document(SEEDS / "homeward-bound.md", max_bytes=10**7)
    chunks = chunk_document(doc, size=800, overlap=120)
    covered = [False] * len(doc.text)
    for c in chunks:
        covered[c.start:c.end] = [True] * (c.end - c.start)
    missed = "".join(ch for ch, hit in zip(doc.text, covered, strict=True) if not hit)
    assert missed.strip() == ""


def test_repeated_text_gets_distinct_increasing_offsets() -> None:
    text = ("The same sentence again. " * 80).strip() + "\n"
    doc = Document("d", "/r.txt", "R", text)
    chunks = chunk_document(doc, size=200, overlap=40)
    assert len(chunks) > 5
    assert all(doc.text[c.start:c.end] == c.text for c in chunks)
    assert all(b.start > a.start for a, b in zip(chunks, chunks[1:], strict=False))


def test_chunks_end_at_paragraph_or_sentence_boundaries() -> None:
    for path in SEEDS.glob("*.md"):
        doc = read_document(path, max_bytes=10**7)
        chunks = chunk_document(doc, size=800, overlap=120)
        clean = sum(doc.text[c.end:c.end + 1] in ("\n", "") or c.text.endswith((".", "?", "!", "”"))
                    for c in chunks)
        assert clean / len(chunks) > 0.9, path.name
