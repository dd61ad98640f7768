"""Split documents into overlapping chunks that know their char offsets.

Uses LangChain's ``RecursiveCharacterTextSplitter`` (paragraphs, then lines,
then sentences, then words). The splitter returns strings; we locate each one
in the document text so ``doc.text[chunk.start:chunk.end] == chunk.text``
always holds. Not handled: token-based sizing (a character budget is close
enough for English prose and needs no tokenizer at ingest time).
"""

from __future__ import annotations

from ..types import Chunk, Document

SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""]


def chunker_signature(size: int, overlap: int) -> str:
    """A stable label for the chunking settings, stored with each document."""
    return f"recursive-v1:{size}:{overlap}"


def chunk_id(doc_id: str, index: int) -> str:
    """The id of a document's ``index``-th chunk: the store deletes by these without a metadata query."""
    return f"{doc_id}:{index:04d}"


def chunk_document(doc: Document, *, size: int, overlap: int) -> list[Chunk]:
    """Split ``doc.text`` into chunks of at most ``size`` chars with ``overlap``.

    >>> d = Document("abc", "/x.txt", "X", "One. Two. Three.\\n")
    >>> [(c.start, c.end) for c in chunk_document(d, size=100, overlap=0)]
    [(0, 16)]
    """
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(
        chunk_size=size,
        chunk_overlap=overlap,
        separators=SEPARATORS,
        keep_separator="end",
        strip_whitespace=True,
    )
    chunks: list[Chunk] = []
    cursor = 0
    for piece in splitter.split_text(doc.text):
        start = doc.text.find(piece, cursor)
        if start < 0:  # cannot happen for a pure splitter; guard the offset invariant anyway
            raise AssertionError(f"chunk not found in {doc.source} after offset {cursor}")
        end = start + len(piece)
        chunks.append(
            Chunk(
                chunk_id=chunk_id(doc.doc_id, len(chunks)),
                doc_id=doc.doc_id,
                title=doc.title,
                source=doc.source,
                index=len(chunks),
                start=start,
                end=end,
                text=piece,
            )
        )
        cursor = start + 1
    return chunks
