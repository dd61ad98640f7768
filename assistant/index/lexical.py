"""Lexical retrieval: our tokenizer, a persistent SQLite FTS5 index, and a reference BM25.

``LexicalIndex`` keeps one FTS5 row per chunk inside ``documents.sqlite``, so
it is written in the same transaction as the document rows (a chunk is
searchable exactly when its document is stored) and survives restarts: no
process rebuilds anything on its first query. Texts are indexed as our own
tokens (lower-cased, stopwords and possessives dropped) and ranked by FTS5's
built-in ``bm25()``. ``BM25`` is the small in-memory Okapi implementation the
index replaced; it stays as the reference the evaluation compares against.
Not handled: phrase or prefix queries (a query is an OR of its terms).
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Sequence

from ..types import Chunk

STOPWORDS = frozenset(
    """
    a an and are as at be been being but by can could did do does doing for from had has have having
    he her here hers him his how i if in into is it its itself just me more most my no nor not of
    off on once only or other our ours out over own same she should so some such than that the their
    theirs them then there these they this those through to too under until up very was we were what
    when where which while who whom why will with would you your yours
    """.split()
)
_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens without stopwords or possessive endings.

    >>> tokenize("Working from home isn't the office's problem")
    ['working', 'home', "isn't", 'office', 'problem']
    """
    out = []
    for tok in _WORD.findall(text.lower()):
        tok = re.sub(r"['’]s$", "", tok)
        if tok not in STOPWORDS:
            out.append(tok)
    return out


class BM25:
    """Okapi BM25 (k1=1.5, b=0.75) over a fixed list of texts."""

    def __init__(self, texts: Sequence[str], *, k1: float = 1.5, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        self.lengths: list[int] = []
        for i, text in enumerate(texts):
            counts = Counter(tokenize(text))
            self.lengths.append(sum(counts.values()))
            for term, tf in counts.items():
                self.postings[term].append((i, tf))
        n = len(self.lengths)
        self.avg_len = (sum(self.lengths) / n) if n else 0.0
        self.idf = {t: math.log(1 + (n - len(p) + 0.5) / (len(p) + 0.5)) for t, p in self.postings.items()}

    def scores(self, query: str) -> dict[int, float]:
        """Score of every text that shares a term with ``query``."""
        out: dict[int, float] = defaultdict(float)
        for term in set(tokenize(query)):
            idf = self.idf.get(term)
            if idf is None:
                continue
            for i, tf in self.postings[term]:
                norm = tf + self.k1 * (1 - self.b + self.b * self.lengths[i] / (self.avg_len or 1))
                out[i] += idf * tf * (self.k1 + 1) / norm
        return out

    def top(self, query: str, k: int) -> list[tuple[int, float]]:
        """The ``k`` best (index, score) pairs, best first."""
        return sorted(self.scores(query).items(), key=lambda kv: (-kv[1], kv[0]))[:k]


# unicode61 over our tokens matched or beat the old BM25 on every gold-set metric; the Porter stemmer
# lost lexical nDCG (docs/retrieval.md). Bump VERSION on any change: indexes rebuild it once on open.
FTS_TOKENIZER = "unicode61"
VERSION = "fts5-v1:unicode61"

_DDL = """
CREATE TABLE IF NOT EXISTS lex_chunks (
    rowid INTEGER PRIMARY KEY, chunk_id TEXT NOT NULL UNIQUE, doc_id TEXT NOT NULL,
    idx INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS lex_chunks_doc ON lex_chunks(doc_id);
CREATE VIRTUAL TABLE IF NOT EXISTS lex_fts USING fts5(tokens, tokenize = '{tokenizer}');
"""

_SEARCH = """
WITH hits AS (
    SELECT rowid, bm25(lex_fts) AS s FROM lex_fts WHERE lex_fts MATCH ?1 {scope} ORDER BY s LIMIT ?2
)
SELECT m.chunk_id, m.doc_id, d.title, d.source, m.idx, m.start, m."end",
       substr(d.text, m.start + 1, m."end" - m.start), -h.s
FROM hits h JOIN lex_chunks m ON m.rowid = h.rowid JOIN documents d ON d.doc_id = m.doc_id
ORDER BY h.s, m.chunk_id
"""
_SCOPE = "AND rowid IN (SELECT rowid FROM lex_chunks WHERE doc_id IN (SELECT value FROM json_each(?3)))"


def match_expression(query: str) -> str:
    """An FTS5 query that ORs the query's terms, each quoted so no user text is FTS5 syntax.

    >>> match_expression('NOT "office" OR (remote*) work:')
    '"office" OR "remote" OR "work"'
    """
    terms = dict.fromkeys(tokenize(query))  # unique, in order
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)


class LexicalIndex:
    """BM25 over chunk tokens in an FTS5 table of the store's SQLite database.

    Writes (``add``, ``remove``, ``rebuild``) do not commit: the store calls
    them inside its own transaction, beside the document rows they belong to.
    Search joins the ``documents`` table for titles, sources and chunk texts.
    """

    def __init__(self, db: sqlite3.Connection, *, tokenizer: str = FTS_TOKENIZER, version: str = VERSION) -> None:
        self._db, self.tokenizer, self.version = db, tokenizer, version

    def create(self) -> None:
        """Create the tables if missing (no commit: DDL joins the caller's transaction)."""
        for statement in _DDL.format(tokenizer=self.tokenizer).split(";"):
            if statement.strip():
                self._db.execute(statement)

    def drop(self) -> None:
        self._db.execute("DROP TABLE IF EXISTS lex_fts")
        self._db.execute("DROP TABLE IF EXISTS lex_chunks")

    def add(self, chunks: Iterable[Chunk]) -> None:
        """Index chunks, replacing any earlier rows of their documents."""
        chunks = list(chunks)
        self.remove({c.doc_id for c in chunks})
        cur = self._db.cursor()
        for c in chunks:
            cur.execute("INSERT INTO lex_chunks (chunk_id, doc_id, idx, start, \"end\") VALUES (?, ?, ?, ?, ?)",
                        (c.chunk_id, c.doc_id, c.index, c.start, c.end))
            tokens = " ".join(tokenize(c.text))
            cur.execute("INSERT INTO lex_fts (rowid, tokens) VALUES (?, ?)", (cur.lastrowid, tokens))

    def remove(self, doc_ids: Collection[str]) -> None:
        """Forget every chunk of these documents."""
        if not doc_ids:
            return
        ids = json.dumps(sorted(doc_ids))
        scope = "SELECT rowid FROM lex_chunks WHERE doc_id IN (SELECT value FROM json_each(?))"
        self._db.execute(f"DELETE FROM lex_fts WHERE rowid IN ({scope})", (ids,))
        self._db.execute("DELETE FROM lex_chunks WHERE doc_id IN (SELECT value FROM json_each(?))", (ids,))

    def rebuild(self, chunks: Iterable[Chunk]) -> None:
        """Drop everything and index ``chunks`` (repair, upgrade, tokenizer change)."""
        self.drop()
        self.create()
        self.add(chunks)

    def search(self, query: str, k: int, *, doc_ids: Collection[str] | None = None) -> list[tuple[Chunk, float]]:
        """The ``k`` best (chunk, BM25 score) pairs, best first; ``doc_ids`` limits the scope."""
        expr = match_expression(query)
        if not expr or k < 1 or (doc_ids is not None and not doc_ids):
            return []
        if doc_ids is None:
            rows = self._db.execute(_SEARCH.format(scope=""), (expr, k)).fetchall()
        else:
            rows = self._db.execute(_SEARCH.format(scope=_SCOPE), (expr, k, json.dumps(sorted(doc_ids)))).fetchall()
        return [(Chunk(*row[:8]), float(row[8])) for row in rows]

    def count(self) -> int:
        """Number of indexed chunks."""
        return int(self._db.execute("SELECT count(*) FROM lex_chunks").fetchone()[0])

    def chunk_ids(self) -> set[str]:
        """Ids of every indexed chunk (for consistency checks against SQLite and Chroma)."""
        return {r[0] for r in self._db.execute("SELECT chunk_id FROM lex_chunks")}
