"""Citations checked in code, never taken on trust from the model.

Passages shown to the model are split into numbered sentences (S1, S2, ...),
each a verbatim span of its chunk with offsets in the source document. The
model cites sentence ids (a JSON-schema enum makes anything else impossible
for llama.cpp output), so quotes are verbatim by construction; we still check
every reference: the id must belong to this request, and the text at those
offsets in the *stored* document must equal the sentence. A free-text quote
(``"P2: some words"``) is accepted only if it appears verbatim in passage P2.
Anything that fails is returned with ``verified=False`` and a reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace

from ..types import Passage, Quote, Sentence

_SENTENCE = re.compile(r"[^\n]+?(?:[.!?…]+[\"'”’)\]]*(?=\s)|$)", re.M)
_FREE_QUOTE = re.compile(r"^P(\d+)\s*:\s*(.+)$", re.S)
MIN_QUOTE = 12  # shorter free-text quotes prove nothing


def number_sentences(passages: Sequence[Passage], *, dedupe: bool = True) -> list[Sentence]:
    """Split passages into sentences numbered S1.. across the whole request.

    Adjacent chunks overlap, so with ``dedupe`` a sentence whose span in its
    document overlaps one already numbered is left out (it is the same text).

    >>> from assistant.types import Chunk
    >>> c = Chunk("d:0", "d", "T", "/t", 0, 10, 36, "One claim. Two claims!\\nHeading")
    >>> [(s.sid, s.start, s.text) for s in number_sentences([Passage(c, 1.0, 1)])]
    [('S1', 10, 'One claim.'), ('S2', 21, 'Two claims!'), ('S3', 33, 'Heading')]
    """
    out: list[Sentence] = []
    spans: dict[str, list[tuple[int, int]]] = {}
    for n, p in enumerate(passages, 1):
        c = p.chunk
        for m in _SENTENCE.finditer(c.text):
            text = m.group(0).strip()
            if len(text) < 2:
                continue
            offset = m.start() + (len(m.group(0)) - len(m.group(0).lstrip()))
            start = c.start + offset
            seen = spans.setdefault(c.doc_id, [])
            if dedupe and any(start < e and s < start + len(text) for s, e in seen):
                continue
            seen.append((start, start + len(text)))
            out.append(Sentence(f"S{len(out) + 1}", n, c.chunk_id, c.doc_id, c.title,
                                start, start + len(text), text))
    return out


def renumber(sentences: Sequence[Sentence]) -> list[Sentence]:
    """The same sentences, ids made contiguous again (S1, S2, ...) in their order."""
    return [replace(s, sid=f"S{i}") for i, s in enumerate(sentences, 1)]


def sources_block(passages: Sequence[Passage], sentences: Sequence[Sentence]) -> str:
    """The SOURCES text the model sees: passage headers, then one sentence per line."""
    lines: list[str] = []
    for n, p in enumerate(passages, 1):
        mine = [f"{s.sid} {s.text}" for s in sentences if s.passage == n]
        if mine:  # a passage whose sentences were all left out is not shown
            lines += [f"[P{n}] {p.chunk.title}", *mine]
    return "\n".join(lines)


DocText = Callable[[str], str]  # doc_id -> stored normalised text


def verify(refs: object, sentences: Sequence[Sentence], passages: Sequence[Passage],
           doc_text: DocText) -> tuple[Quote, ...]:
    """Check each reference the model gave; unknown shapes count as failures."""
    if not isinstance(refs, list):
        refs = [] if refs in (None, "") else [refs]
    by_id = {s.sid: s for s in sentences}
    seen: set[tuple[str, int]] = set()
    out = []
    for ref in refs:
        quote = _verify_one(ref, by_id, passages, doc_text)
        key = (quote.chunk_id or quote.ref, quote.start)
        if quote.verified and key in seen:
            continue  # the same evidence twice in one point adds nothing
        seen.add(key)
        out.append(quote)
    return tuple(out)


def _verify_one(ref: object, by_id: dict[str, Sentence], passages: Sequence[Passage],
                doc_text: DocText) -> Quote:
    if not isinstance(ref, str) or not ref.strip():
        return Quote(ref=repr(ref)[:80], verified=False, reason="not a citation")
    ref = ref.strip()
    if ref in by_id:
        s = by_id[ref]
        return _checked(ref, s.passage, s.chunk_id, s.doc_id, s.title, s.start, s.end, s.text, doc_text)
    m = _FREE_QUOTE.match(ref)
    if not m:
        return Quote(ref=ref[:120], verified=False, reason="cites a source that was not given for this request")
    n, text = int(m.group(1)), m.group(2).strip().strip("\"“”'")
    if not 1 <= n <= len(passages):
        return Quote(ref=ref[:120], verified=False, reason=f"passage P{n} was not given for this request")
    if len(text) < MIN_QUOTE:
        return Quote(ref=ref[:120], verified=False, reason="quote too short to verify")
    c = passages[n - 1].chunk
    at = c.text.find(text)
    if at < 0:
        return Quote(ref=ref[:120], verified=False, reason=f"quote does not appear verbatim in P{n}")
    return _checked(ref, n, c.chunk_id, c.doc_id, c.title, c.start + at, c.start + at + len(text), text, doc_text)


def _checked(ref: str, passage: int, chunk_id: str, doc_id: str, title: str, start: int, end: int,
             text: str, doc_text: DocText) -> Quote:
    """Final word: the stored document must hold ``text`` at ``start:end``."""
    try:
        stored = doc_text(doc_id)[start:end]
    except Exception:  # a document removed mid-request is a failed check, not a crash
        stored = None
    ok = stored == text
    return Quote(ref=ref, verified=ok, reason="" if ok else "text at the cited offsets differs from the source",
                 passage=passage, chunk_id=chunk_id, doc_id=doc_id, title=title, start=start, end=end, text=text)
