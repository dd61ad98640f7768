"""Typed records that cross module boundaries.

Library result shapes (Chroma dicts, pypdf pages, llama.cpp completions) are
converted into these at the module that talks to the library.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Document:
    """A normalised source document; ``text`` is what every char offset refers to."""

    doc_id: str  # content hash prefix: the same bytes always get the same id
    source: str  # resolved path the document was read from
    title: str
    text: str
    author: str = ""
    publication: str = ""
    date: str = ""

    @property
    def label(self) -> str:
        """Short human label: the title, or the file name."""
        return self.title or self.source.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Chunk:
    """A span of a document: ``document.text[start:end] == text``."""

    chunk_id: str
    doc_id: str
    title: str
    source: str
    index: int  # chunk number within its document, from 0
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its score and the ranks that produced it."""

    chunk: Chunk
    score: float
    rank: int  # 1-based, after fusion
    dense_score: float | None = None
    lexical_score: float | None = None


@dataclass(frozen=True)
class DocumentInfo:
    """A stored document as listed by ``assistant docs``."""

    doc_id: str
    title: str
    source: str
    chunks: int
    chars: int
    added: str


@dataclass(frozen=True)
class IngestReport:
    """What one ingest did, per file."""

    added: list[DocumentInfo] = field(default_factory=list)
    replaced: list[DocumentInfo] = field(default_factory=list)
    unchanged: list[DocumentInfo] = field(default_factory=list)
    chunks_written: int = 0
    seconds: float = 0.0
