"""Saved answers: a library of every answer, in the index folder's SQLite database.

Each row keeps the answer as ``render.answer_dict`` gives it (request, mode,
model, passages with their text, points, quotes, timings), the settings it
was made with, and a snapshot of the provenance of the documents it cited.
A saved answer therefore re-renders (Markdown, DOCX, PDF) after its documents
were edited or removed; quotes whose stored text no longer matches are
marked "source changed". ``answer_from_dict`` is the inverse of
``answer_dict``. Not handled: search within history, sharing between indexes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..index.dbfile import HISTORY_DDL as _DDL
from ..types import Answer, Chunk, Clash, Document, Gates, KeyTerm, Passage, Point, Prevalence, Quote, Sentence, Timings
from .cards import SOURCE_CHANGED, DocLookup


@dataclass(frozen=True)
class HistoryEntry:
    """One saved answer as listed by ``assistant history``."""

    id: int
    created: str
    mode: str
    request: str
    model: str
    verified: int  # verified quotes


@dataclass(frozen=True)
class SavedAnswer:
    """A saved answer brought back: the answer, its settings and the cited documents' provenance then."""

    entry: HistoryEntry
    answer: Answer
    settings: dict[str, Any]
    documents: dict[str, Document]  # doc_id -> provenance at save time (text empty)


class History:
    """The ``history`` table of one index's ``documents.sqlite``."""

    def __init__(self, db_path: Path) -> None:
        from ..index.dbfile import connect, writable

        self._index = db_path.parent
        self.read_only = db_path.is_file() and not writable(self._index)
        # dbfile's connection: damage and permission errors are one line at any query, not only here
        self._db = connect(db_path, index=self._index, read_only=self.read_only)
        if not self.read_only:
            self._db.executescript(_DDL)
        elif not self._db.execute("SELECT 1 FROM sqlite_master WHERE name = 'history'").fetchone():
            self._db.executescript(_DDL.replace("CREATE TABLE", "CREATE TEMP TABLE"))  # reads as empty

    def save(self, answer: Answer, *, settings: dict[str, Any], documents: DocLookup) -> int:
        """Store ``answer``; returns its id."""
        from ..index.dbfile import ReadOnlyIndex
        from .render import answer_dict

        if self.read_only:
            raise ReadOnlyIndex(self._index, "the answer was not saved")
        cited = dict.fromkeys(p.chunk.doc_id for p in answer.passages)
        snapshot = {d: {k: v for k, v in asdict(doc).items() if k != "text"}
                    for d in cited if (doc := documents(d)) is not None}
        with self._db:
            cur = self._db.execute(
                "INSERT INTO history (created, mode, request, model, verified, settings, answer, documents) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (time.strftime("%Y-%m-%d %H:%M:%S"), answer.mode, answer.request, answer.model,
                 answer.verified_count, json.dumps(settings, default=str), json.dumps(answer_dict(answer)),
                 json.dumps(snapshot)))
        return int(cur.lastrowid or 0)

    def entries(self, limit: int = 500) -> list[HistoryEntry]:
        """Saved answers, newest first."""
        rows = self._db.execute("SELECT id, created, mode, request, model, verified FROM history "
                                "ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [HistoryEntry(*row) for row in rows]

    def load(self, ref: int | str) -> SavedAnswer:
        """The saved answer ``ref`` (an id, with or without "#")."""
        hid = parse_id(ref)
        row = self._db.execute("SELECT id, created, mode, request, model, verified, settings, answer, documents "
                               "FROM history WHERE id = ?", (hid,)).fetchone()
        if row is None:
            raise InputError(f"no saved answer #{hid}; see `assistant history`")
        docs = {d: Document(**{**v, "text": ""}) for d, v in json.loads(row[8]).items()}
        return SavedAnswer(HistoryEntry(*row[:6]), answer_from_dict(json.loads(row[7])), json.loads(row[6]), docs)

    def forget(self, ref: int | str) -> HistoryEntry:
        """Delete one saved answer; returns what it was."""
        entry = self.load(ref).entry
        with self._db:
            self._db.execute("DELETE FROM history WHERE id = ?", (entry.id,))
        return entry

    def close(self) -> None:
        self._db.close()


def parse_id(ref: int | str) -> int:
    """A history id from user input: ``12``, ``"12"`` or ``"#12"``."""
    try:
        hid = int(str(ref).strip().lstrip("#"))
    except ValueError:
        raise InputError(f"not a history id: {str(ref)!r} (ids are numbers, see `assistant history`)") from None
    if hid < 1:
        raise InputError(f"not a history id: {hid}")
    return hid


def mark_changed(answer: Answer, current: Callable[[str], Document | None]) -> Answer:
    """Mark quotes whose document was removed or no longer has the quoted text at its offsets."""
    docs: dict[str, Document | None] = {}
    how: dict[str, str] = {}  # doc_id -> "removed" | "changed"

    def check(q: Quote) -> Quote:
        if not (q.verified and q.doc_id):
            return q
        if q.doc_id not in docs:
            docs[q.doc_id] = current(q.doc_id)
        doc = docs[q.doc_id]
        if doc is not None and doc.text[q.start:q.end] == q.text:
            return q
        how[q.doc_id] = "removed" if doc is None else "changed"
        return replace(q, reason=SOURCE_CHANGED)

    points = tuple(replace(p, quotes=tuple(map(check, p.quotes)), reply_quotes=tuple(map(check, p.reply_quotes)))
                   for p in answer.points)
    titles = {q.doc_id: q.title for q in answer.quotes}
    notes = tuple(f"Source changed since this answer was saved: “{titles.get(d, d)}” was {what}; "
                  f"its quotes are shown as they were verified then." for d, what in how.items())
    return replace(answer, points=points, notices=answer.notices + notes) if notes else answer


# -- answer_dict -> Answer ------------------------------------------------------------


def answer_from_dict(d: dict[str, Any]) -> Answer:
    """The inverse of ``render.answer_dict`` (timings keep the precision the dict kept)."""
    passages = tuple(_passage(p) for p in d.get("passages", []))

    def quotes(items: list[dict[str, Any]] | None) -> tuple[Quote, ...]:
        out = []
        for q in items or []:
            n = q.get("passage")
            chunk_id = passages[n - 1].chunk.chunk_id if isinstance(n, int) and 0 < n <= len(passages) else ""
            out.append(Quote(ref=q.get("ref", ""), verified=bool(q.get("verified")), reason=q.get("reason", ""),
                             passage=n, chunk_id=chunk_id, doc_id=q.get("doc_id", ""), title=q.get("title", ""),
                             start=q.get("start", -1), end=q.get("end", -1), text=q.get("text", ""),
                             stance=q.get("stance", ""), corrected=bool(q.get("corrected", False))))
        return tuple(out)

    points = tuple(Point(c["side"], c.get("text", ""), c.get("reasoning", ""), quotes(c.get("quotes")),
                         c.get("reply", ""), quotes(c.get("reply_quotes")),
                         Prevalence(**c["prevalence"]) if c.get("prevalence") else None) for c in d.get("claims", []))
    t = d.get("timings") or {}
    tps, made = t.get("tokens_per_s") or 0.0, t.get("generated_tokens", 0)
    timings = Timings(t.get("retrieval_ms", 0.0), t.get("prompt_tokens", 0), t.get("ttft_ms", 0.0), made,
                      made / tps if tps else 0.0, t.get("total_ms", 0.0))
    gate_names = {f.name for f in fields(Gates)}
    shown = tuple(_sentence(x, passages) for x in d.get("sentences", []))
    return Answer(
        d["mode"], d["request"], d.get("model", ""), passages, points, bool(d.get("covered", True)),
        tuple(d.get("notices", [])), timings,
        key_terms=tuple(KeyTerm(x.get("term", ""), x.get("definition", "")) for x in d.get("key_terms", [])),
        clashes=tuple(Clash(x.get("issue", ""), x.get("decider", "")) for x in d.get("clashes", [])),
        gaps=tuple(d.get("gaps", [])), thesis=d.get("thesis", ""), assumptions=tuple(d.get("assumptions", [])),
        speech=d.get("speech", ""),
        gates=Gates(**{k: v for k, v in (d.get("gates") or {}).items() if k in gate_names}),
        sentences=tuple(x for x in shown if x is not None),
        stances=tuple((x["id"], x["stance"]) for x in d.get("sentences", []) if x.get("stance")),
    )


def _sentence(x: dict[str, Any], passages: tuple[Passage, ...]) -> Sentence | None:
    """A shown sentence back from its offsets: its text is cut from the passage it came from."""
    n = x.get("passage")
    if not isinstance(n, int) or not 0 < n <= len(passages):
        return None
    c = passages[n - 1].chunk
    text = c.text[x["start"] - c.start:x["end"] - c.start]
    return Sentence(x["id"], n, c.chunk_id, c.doc_id, c.title, x["start"], x["end"], text)


def _passage(p: dict[str, Any]) -> Passage:
    chunk = Chunk(p["chunk_id"], p["doc_id"], p.get("title", ""), p.get("source", ""), p.get("chunk", 0),
                  p["start"], p["end"], p["text"])
    return Passage(chunk, p.get("score", 0.0), p.get("rank", 0), p.get("dense_score"), p.get("lexical_score"))
