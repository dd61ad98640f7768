"""Answer -> a debate outline of cards, shared by the DOCX and PDF renderers.

A card is what debaters file as evidence: a **tag** (the claim), a **cite**
(author last name + two-digit year, then the full provenance) and a **body**
(the whole retrieved passage, verbatim, with the cited sentences marked).
The outline follows the Verbatim levels: Pocket (the request), Hat (a side or
part), Block (an argument, or "A2: <claim>" for a rebuttal), Tag (a card).

Only verified quotes become cards; a point without one is an analytic (a tag
with no cite). Nothing is added to, removed from or reworded in a body. Not
handled: shrinking unread text, choosing which words to read within a
sentence (the whole cited sentence is marked).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..types import Answer, Document, Point, Quote
from ..writing.specs import SPECS

DocLookup = Callable[[str], "Document | None"]
SOURCE_CHANGED = "source changed"  # Quote.reason of a saved quote whose document has changed since


@dataclass(frozen=True)
class Cite:
    short: str  # "Smith 24": read aloud, set in the Cite style
    rest: str  # "[Jane Smith, quals, 2024-03-05, “Title,” Publication, URL, accessed 2026-01-02]"


@dataclass(frozen=True)
class Card:
    tag: str
    cite: Cite | None  # None: an analytic, the debater's own claim without evidence
    body: tuple[tuple[str, bool], ...] = ()  # the passage as (text, cited) runs, in order
    changed: bool = False  # the source document changed after this answer was saved

    @property
    def text(self) -> str:
        """The body's plain text (the stored passage, verbatim)."""
        return "".join(t for t, _ in self.body)


@dataclass(frozen=True)
class Block:
    heading: str
    items: tuple[Card | str, ...]  # cards, and prose (reasoning, replies) between them


@dataclass(frozen=True)
class Hat:
    heading: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Outline:
    pocket: str
    intro: tuple[tuple[str, tuple[str, ...]], ...]  # (label, lines) before the hats: key terms, thesis, ...
    hats: tuple[Hat, ...]
    outro: tuple[tuple[str, tuple[str, ...]], ...]  # clashes, speech, gaps
    sources: tuple[Cite, ...]  # each cited document once, in order of first use
    notices: tuple[str, ...]
    footer: str


def outline(a: Answer, documents: DocLookup | None = None) -> Outline:
    """The answer as Pocket / Hat / Block / Tag levels with cards."""
    cites: dict[str, Cite] = {}

    def block(p: Point, n: int, *, numbered_tags: bool = False) -> Block:
        tag = f"{n}. {p.text}" if numbered_tags else p.text
        # No verified evidence: an analytic. Inside an A2 block it is a numbered tag of its own;
        # elsewhere the block heading already states it.
        items: list[Card | str] = [*(_cards(a, tag, p.quotes, documents, cites)
                                     or ([Card(tag, None)] if numbered_tags else []))]
        if p.reasoning:
            items.insert(0, p.reasoning)
        if p.prevalence:
            items.insert(0, prevalence_text(p))
        if p.reply:
            items += [f"Reply: {p.reply}", *_cards(a, p.reply, p.reply_quotes, documents, cites)]
        return Block(f"{n}. {p.text}", tuple(items))

    def section(name: str) -> list[Point]:
        return [p for p in a.points if p.section == name]

    hats: list[Hat] = []
    if a.mode == "rebut":
        answers = [x for i, p in enumerate(section("weak_point"), 1) for x in block(p, i, numbered_tags=True).items]
        hats.append(Hat("Answers", (Block(f"A2: {a.request}", tuple(answers)),)))
        if section("concession"):
            hats.append(Hat("Concessions", tuple(block(p, i) for i, p in enumerate(section("concession"), 1))))
    else:
        for s in SPECS[a.mode].sections:
            points = section(s.key)
            if points:
                hats.append(Hat(s.hat, tuple(block(p, i) for i, p in enumerate(points, 1))))
    return Outline(a.request, _intro(a), tuple(hats), _outro(a), tuple(cites.values()), a.notices,
                   f"{a.verified_count} verified quotes · model {a.model}")


def prevalence_text(p: Point) -> str:
    """An overview key point's counts, in words.

    >>> from assistant.types import Prevalence
    >>> prevalence_text(Point("keypoint_for", "x", prevalence=Prevalence(12, 3, 0.3429, 35)))
    '12 sentences from 3 documents: 34% of the 35 sentences on this side'
    """
    n = p.prevalence
    if n is None:
        return ""
    return (f"{n.sentences} sentence{'s' * (n.sentences != 1)} from {n.documents} document"
            f"{'s' * (n.documents != 1)}: {n.share:.0%} of the {n.side_total} sentences on this side")


def _intro(a: Answer) -> tuple[tuple[str, tuple[str, ...]], ...]:
    parts = [("Key terms", tuple(f"{t.term}: {t.definition}" for t in a.key_terms)),
             ("Thesis", (a.thesis,) if a.thesis else ()),
             ("Assumptions the claim rests on", a.assumptions)]
    return tuple((label, lines) for label, lines in parts if lines)


def _outro(a: Answer) -> tuple[tuple[str, tuple[str, ...]], ...]:
    parts = [("Main clashes", tuple(f"{c.issue} — decided by: {c.decider}" for c in a.clashes)),
             ("Rebuttal speech", (a.speech,) if a.speech else ()),
             ("What the sources do not cover", a.gaps)]
    return tuple((label, lines) for label, lines in parts if lines)


def _cards(a: Answer, tag: str, quotes: tuple[Quote, ...], documents: DocLookup | None,
           cites: dict[str, Cite]) -> list[Card]:
    """One card per cited passage: its verified quotes marked in the whole passage."""
    by_passage: dict[int, list[Quote]] = {}
    for q in quotes:
        if q.verified and q.passage and 0 < q.passage <= len(a.passages):
            by_passage.setdefault(q.passage, []).append(q)
    out = []
    for n, qs in by_passage.items():
        chunk = a.passages[n - 1].chunk
        doc = documents(chunk.doc_id) if documents else None
        cite = cites.setdefault(chunk.doc_id, make_cite(doc or Document(chunk.doc_id, chunk.source, chunk.title, "")))
        out.append(Card(tag, cite, body_runs(chunk.text, chunk.start, qs),
                        any(q.reason == SOURCE_CHANGED for q in qs)))
    return out


def body_runs(text: str, offset: int, quotes: list[Quote]) -> tuple[tuple[str, bool], ...]:
    """Split a passage into runs, marking each quote's span (found by offset, else by its text).

    >>> q = Quote("S1", True, start=14, end=17, text="two")
    >>> body_runs("one two three", 10, [q])
    (('one ', False), ('two', True), (' three', False))
    """
    spans = []
    for q in quotes:
        s, e = q.start - offset, q.end - offset
        if not (0 <= s < e <= len(text)) or text[s:e] != q.text:
            s = text.find(q.text) if q.text else -1
            e = s + len(q.text)
        if s >= 0:
            spans.append((s, e))
    if not spans:  # the quote is verified but not inside this passage's text: show the quote alone
        return tuple((q.text, True) for q in quotes if q.text)
    runs: list[tuple[str, bool]] = []
    pos = 0
    for s, e in sorted(spans):
        s = max(s, pos)
        if s > pos:
            runs.append((text[pos:s], False))
        if e > s:
            runs.append((text[s:e], True))
        pos = max(pos, e)
    if pos < len(text):
        runs.append((text[pos:], False))
    return tuple(runs)


def make_cite(doc: Document) -> Cite:
    """Short cite (author last name + two-digit year) and the rest, from what is known.

    >>> make_cite(Document("d", "/x/a.md", "Homeward Bound", "", author="Jane Smith", date="2024-03-05")).short
    'Smith 24'
    """
    name = last_name(doc.author) or doc.publication or doc.title or Path(doc.source).name
    year = re.search(r"\b(?:19|20)(\d\d)\b", doc.date)
    short = f"{name} {year.group(1)}" if year else name
    where = doc.url or (Path(doc.source).name if doc.source else "")
    parts = [doc.author, doc.qualifications, doc.date, f"“{doc.title},”" if doc.title else "", doc.publication,
             where, f"accessed {doc.accessed}" if doc.accessed else ""]
    return Cite(short, "[" + ", ".join(p for p in parts if p).replace(",”,", ",”") + "]")


def last_name(author: str) -> str:
    """The first author's last name; "et al." when there are more.

    >>> last_name("Smith, Jane"), last_name("Ana Lopez and Bo Chen"), last_name("")
    ('Smith', 'Lopez et al.', '')
    """
    names = [n.strip() for n in re.split(r"\s*(?:;|&|\band\b)\s*", author.strip()) if n.strip()]
    if not names:
        return ""
    first = names[0]
    last = first.split(",")[0].strip() if "," in first else first.split()[-1]
    return last + (" et al." if len(names) > 1 else "")
