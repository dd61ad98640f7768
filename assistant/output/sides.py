"""The sides users set: a sentence's stance towards one request, corrected by hand and kept in the library.

The stance step is the model's reading, and on essay prose it is often wrong
(docs/evaluation.md). A debater who sees a card under the wrong side sets its
side once (the page's "Correct a side", ``assistant sides set``); every later
answer to the same request (brief, steelman, rebut, overview: any mode with a
stance step) takes that side for the sentence instead of reading it, and marks
the card "side set by you". A request and a sentence are matched by
``stance.key`` (case, spacing and punctuation aside), so the correction holds
wherever the sentence is retrieved from; a part of a sentence (at least
``MIN_WORDS`` words in a row, as a CLI user may paste) sets the side of every
sentence that holds it (``stance.set_side``). "neither" (neutral) keeps a sentence
out of both sides. The rows live in the ``sides`` table of the index's
``documents.sqlite`` beside the history (``dbfile.SIDES_DDL``), are salvaged
by a repair like it, and are labelled essay sentences a stance read-out can be
measured on: ``assistant sides export FILE`` writes them as gold items for
``assistant eval stance ... --gold FILE`` (``gold_items``).

Not handled: a correction carrying over to a differently worded request (the
motion's negation, a paraphrase): each wording is its own request.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..index.dbfile import SIDES_DDL
from ..writing.stance import key

# What a user may call a side, and the stance label each stands for.
NAMES = {"for": "support", "support": "support", "supports": "support", "pro": "support",
         "against": "oppose", "oppose": "oppose", "opposes": "oppose", "con": "oppose",
         "neither": "neutral", "neutral": "neutral", "none": "neutral"}
MIN_WORDS = 4  # a part of a sentence shorter than this would match sentences it was not meant for
SAID = {"support": "supports", "oppose": "opposes", "neutral": "argues neither side of"}


@dataclass(frozen=True)
class SetSide:
    """One sentence's side towards one request, as a user set it."""

    request: str
    sentence: str
    side: str  # support | oppose | neutral
    doc_id: str
    created: str

    def describe(self) -> str:
        """One line: 'the sentence' supports / opposes / argues neither side of 'the request'."""
        return f"“{short(self.sentence)}” {SAID[self.side]} “{short(self.request)}”"


def gold_items(rows: list[SetSide]) -> list[dict[str, object]]:
    """The sides set as gold items (one per request, the format of ``eval/gold_seeds.jsonl``).

    ``assistant eval stance ... --gold FILE`` then measures the stance step on the user's own
    corrections: essay sentences of known side. "neither" has no place in that format and is left out.

    >>> rows = [SetSide("M", "a b c d.", "support", "d1", ""), SetSide("m!", "e f g h.", "oppose", "d2", ""),
    ...         SetSide("M", "i j k l.", "neutral", "d1", "")]
    >>> gold_items(rows)
    [{'id': 'sides-1', 'text': 'M', 'support': [{'quote': 'a b c d.'}], 'oppose': [{'quote': 'e f g h.'}]}]
    """
    items: dict[str, dict[str, object]] = {}
    for r in rows:
        if r.side == "neutral":
            continue
        item = items.setdefault(key(r.request), {"id": f"sides-{len(items) + 1}", "text": r.request,
                                                 "support": [], "oppose": []})
        quotes = item[r.side]
        assert isinstance(quotes, list)
        quotes.append({"quote": r.sentence})
    return list(items.values())


def side_label(name: str) -> str:
    """The stance label for what a user typed: for / against / neither (and their synonyms).

    >>> side_label(" Against "), side_label("neither")
    ('oppose', 'neutral')
    """
    label = NAMES.get((name or "").strip().lower())
    if label is None:
        raise InputError(f"not a side: {name!r}; use for, against or neither")
    return label


class Sides:
    """The ``sides`` table of one index's ``documents.sqlite``."""

    def __init__(self, db_path: Path) -> None:
        from ..index.dbfile import connect, writable

        self._index = db_path.parent
        self.read_only = db_path.is_file() and not writable(self._index)
        # Opening and reading never write: an answer reads the sides of every request, and an index made
        # before this table (or a damaged one awaiting `check --repair`) must stay byte for byte as it was.
        self._db = connect(db_path, index=self._index, read_only=self.read_only)

    def _made(self) -> bool:
        return self._db.execute("SELECT 1 FROM sqlite_master WHERE name = 'sides'").fetchone() is not None

    def set(self, request: str, sentence: str, side: str, *, doc_id: str = "") -> SetSide:
        """Keep ``side`` (support | oppose | neutral) for ``sentence`` towards ``request``; replaces an earlier one."""
        from ..index.dbfile import ReadOnlyIndex

        if side not in SAID:
            raise InputError(f"not a side: {side!r}; use support, oppose or neutral")
        request, sentence = " ".join(request.split()), " ".join(sentence.split())
        if not key(request):
            raise InputError("setting a side needs the request (motion, position or claim)")
        if len(key(sentence).split()) < MIN_WORDS:
            raise InputError(f"give the card's sentence, or at least {MIN_WORDS} words of it in a row")
        if self.read_only:
            raise ReadOnlyIndex(self._index, "the side was not saved")
        row = SetSide(request, sentence, side, doc_id, time.strftime("%Y-%m-%d %H:%M:%S"))
        self._db.executescript(SIDES_DDL)  # the table is made on the first side set
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO sides VALUES (?, ?, ?, ?, ?, ?, ?)",
                             (key(request), key(sentence), side, request, sentence, doc_id, row.created))
        return row

    def clear(self, request: str, sentence: str) -> bool:
        """Forget the side set for ``sentence`` towards ``request``; False when none was set."""
        from ..index.dbfile import ReadOnlyIndex

        if self.read_only:
            raise ReadOnlyIndex(self._index, "nothing was cleared")
        if not self._made():
            return False
        with self._db:
            cur = self._db.execute("DELETE FROM sides WHERE request_key = ? AND sentence_key = ?",
                                   (key(request), key(sentence)))
        return cur.rowcount > 0

    def for_request(self, request: str) -> dict[str, str]:
        """``stance.key(sentence) -> side`` for every sentence whose side was set towards ``request``."""
        if not self._made():
            return {}
        rows = self._db.execute("SELECT sentence_key, side FROM sides WHERE request_key = ?", (key(request),))
        return {k: side for k, side in rows.fetchall()}

    def entries(self, request: str | None = None) -> list[SetSide]:
        """Every side set (towards ``request`` only, when given), newest first."""
        if not self._made():
            return []
        where, args = ("WHERE request_key = ?", (key(request),)) if request else ("", ())
        rows = self._db.execute(f"SELECT request, sentence, side, doc_id, created FROM sides {where} "
                                "ORDER BY created DESC, rowid DESC", args).fetchall()
        return [SetSide(*row) for row in rows]

    def close(self) -> None:
        self._db.close()


def short(text: str, words: int = 14) -> str:
    """The first ``words`` words of ``text``, and an ellipsis when there were more."""
    parts = text.split()
    return " ".join(parts[:words]) + (" …" if len(parts) > words else "")
