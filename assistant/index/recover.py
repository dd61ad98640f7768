"""Rebuilding a damaged index from what is intact (``assistant check --repair``).

``documents.sqlite`` (found damaged by SQLite's ``quick_check``): every row
SQLite can still read of the tables that hold facts (meta, documents,
document_meta, history, sides) is copied into a fresh file, row by row in rowid
order; a page that fails is stepped over by probing further rowids (Python's
sqlite3 has no binding for SQLite's own recovery extension). The derived
lexical index starts empty and is rebuilt by the check that follows. The
damaged file is kept beside the new one as ``documents.sqlite.damaged-<time>``.
Documents whose rows were lost are named by the vectors' metadata (doc id,
source path), re-read from their source files when those still exist, and
reported as lost otherwise; their vectors are then orphans and are dropped.

The Chroma folder (found damaged when it cannot be opened or queried) is
moved aside as ``chroma.damaged-<time>`` and re-made empty; the check then
re-embeds every chunk from the stored texts.

Not handled: rows reachable only through a damaged interior b-tree page (their
documents are re-read from source files; saved answers there are lost); a
damaged meta table (the current embedder and schema are assumed); damage
SQLite cannot see (a changed byte inside a stored text).
"""

from __future__ import annotations

import os
import sqlite3
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import AssistantError
from .dbfile import IndexDamaged, ReadOnlyIndex, connect_tables, writable
from .store import EDITABLE, SCHEMA, Store
from .vector_store import forget_client
from .writelock import write_lock

# What each table of facts holds (the lexical tables are derived: rebuilt, not salvaged).
COLUMNS = {
    "meta": ("key", "value"),
    "documents": ("doc_id", "source", "title", "author", "publication", "date", "text", "chunks", "chunker",
                  "added", "url", "qualifications"),
    "document_meta": ("source", "key", "value"),
    "history": ("id", "created", "mode", "request", "model", "verified", "settings", "answer", "documents"),
    "sides": ("request_key", "sentence_key", "side", "request", "sentence", "doc_id", "created"),
}
_KEY_COLUMNS = "doc_id, source, title"  # read alone when a document's full row cannot be (its text spills)
_MAX_ROWID = 2**63 - 1


@dataclass
class Mending:
    """What the repair did before the check: one note per rebuilt file, and the documents to re-read."""

    notes: list[str] = field(default_factory=list)
    lost: dict[str, tuple[str, str]] = field(default_factory=dict)  # doc_id -> (source, title) of lost rows


@dataclass(frozen=True)
class Salvage:
    """Rows copied out of a damaged file, per table: (recovered, unreadable)."""

    counts: dict[str, tuple[int, int]]
    partial: dict[str, tuple[str, str]]  # doc_id -> (source, title) of document rows whose text was unreadable
    kept_as: Path


def mend(index: Path, open_store: Callable[..., Store], *, identity: str, embedded: bool) -> tuple[Store, Mending]:
    """Rebuild a damaged ``documents.sqlite`` and a damaged Chroma folder; the store opened afterwards."""
    if not (index / "documents.sqlite").is_file():
        return open_store(), Mending()  # "no index at ...": nothing to repair
    if not writable(index):
        raise ReadOnlyIndex(index, "`assistant check --repair` cannot write to it; run it as the index's owner")
    mending = Mending()
    with write_lock(index):  # files are replaced: no other process may be writing meanwhile
        problem = sqlite_problem(index / "documents.sqlite")
        salvage = None
        if problem:
            salvage = salvage_documents(index, identity=identity)
            mending.notes.append(_salvage_note(problem, salvage))
        store = open_mending_vectors(open_store, index, embedded=embedded, notes=mending.notes)
    if salvage is not None:
        known = {d.doc_id for d in store.documents()}
        mending.lost = {d: v for d, v in {**store.vector_sources(), **salvage.partial}.items() if d not in known}
    return store, mending


def verify(store: Store) -> None:
    """``assistant check``: damage anywhere in the SQLite file or the vector store is ``IndexDamaged``."""
    problem = sqlite_problem(store.path / "documents.sqlite")
    if problem:
        raise IndexDamaged(store.path, f"documents.sqlite is corrupted: {problem}")
    store.probe()


def open_writable(open_store: Callable[..., Store], index: Path, *, embedded: bool) -> Store:
    """The writers' open (ingest, sync): a damaged SQLite file is refused, a damaged vector store rebuilt.

    The whole SQLite file is read first (``quick_check``, about a second per few hundred MB): a write
    that happens to miss the damaged pages would otherwise bury the damage under new rows.
    """
    db_path = index / "documents.sqlite"
    problem = sqlite_problem(db_path) if db_path.is_file() else None
    if problem:
        raise IndexDamaged(index, f"documents.sqlite is corrupted: {problem}")
    return open_mending_vectors(open_store, index, embedded=embedded)


def open_mending_vectors(open_store: Callable[..., Store], index: Path, *, embedded: bool,
                         notes: list[str] | None = None) -> Store:
    """Open the index; an embedded vector store that cannot be opened or queried is set aside and made anew."""
    try:
        store = open_store()
        try:
            store.probe()
        except BaseException:
            store.close()
            raise
        return store
    except IndexDamaged as exc:
        if exc.part != "vectors" or not embedded or not writable(index):
            raise
        folder = index / "chroma"
        forget_client(folder)
        kept = f"set aside as {set_aside(folder).name}, " if folder.exists() else ""
        note = f"{exc.reason}: {kept}every chunk re-embedded from the stored texts"
        if notes is None:  # an ingest or sync: say why it re-embeds everything first
            print(f"the index at {index}: {note}", file=sys.stderr, flush=True)
        else:
            notes.append(note)
        return open_store(create=True)


def reread(lost: dict[str, tuple[str, str]], ingest: Callable[[str], object]) -> list[str]:
    """Re-read lost documents from their source files, one at a time; one note saying what came back."""
    if not lost:
        return []
    back, gone = [], []
    for source, title in sorted(set(lost.values())):
        if not Path(source).is_file():
            gone.append(f"“{title}” ({source}: no longer there)")
            continue
        try:
            ingest(source)
            back.append(source)
        except AssistantError as exc:
            gone.append(f"“{title}” ({exc})")
    note = f"{len(back)} document(s) re-read from their source files, {len(gone)} lost"
    shown = "; ".join(gone[:3]) + (f"; and {len(gone) - 3} more" if len(gone) > 3 else "")
    return [f"{note}: {shown}" if gone else note]


# -- documents.sqlite ------------------------------------------------------------


def sqlite_problem(db_path: Path) -> str | None:
    """What SQLite's ``quick_check`` finds wrong with the file (first problem), or None if it reads whole."""
    try:
        with closing(_open_ro(db_path)) as db:
            rows = [r[0] for r in db.execute("PRAGMA quick_check(3)")]
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        return str(exc)
    if rows != ["ok"]:
        return " ".join(" ".join(rows).replace("*** in database main ***", "").split())[:200]
    return None if "documents" in tables else "no documents table"


def salvage_documents(index: Path, *, identity: str) -> Salvage:
    """Copy every readable row into a fresh ``documents.sqlite``; keep the damaged file beside it."""
    damaged = index / "documents.sqlite"
    fresh = index / "documents.sqlite.salvaged"
    for leftover in (fresh, *_companions(fresh)):
        leftover.unlink(missing_ok=True)  # a salvage interrupted before
    with closing(_open_ro(damaged)) as old:
        got = {table: _scan(old, table, _columns(old, table)) for table in COLUMNS}
        partial = {d: (s, t) for d, s, t in _partial_rows(old, got["documents"][1])}
    rows = {table: rs for table, (rs, _bad) in got.items()}
    rows["documents"] = [r for r in rows["documents"] if _whole_document(r)]
    try:
        _write_fresh(fresh, rows, identity=identity)
    except BaseException:
        fresh.unlink(missing_ok=True)
        raise
    kept = _keep(damaged)
    os.replace(fresh, damaged)
    counts = {t: (len(rows[t]), len(got[t][1]) + len(got[t][0]) - len(rows[t])) for t in COLUMNS}
    return Salvage(counts, partial, kept)


def _open_ro(db_path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True)


def _columns(db: sqlite3.Connection, table: str) -> list[str]:
    """The known columns the damaged table really has (older indexes lack some); all of them if unreadable."""
    try:
        have = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
    except sqlite3.DatabaseError:
        have = set()
    return [c for c in COLUMNS[table] if c in have] if have else list(COLUMNS[table])


def _scan(db: sqlite3.Connection, table: str, columns: Sequence[str]) -> tuple[list[dict[str, Any]], list[int]]:
    """Every readable row of ``table`` (as dicts) and the rowids whose row could not be read.

    One seek per row (not one scan: sqlite3 steps a cursor a row ahead, so a scan's error does not
    say which row failed), then the row on its own, so one bad row costs only itself; a seek
    that fails (a bad page on the way) resumes past the damage (``_resume``).
    """
    rows: list[dict[str, Any]] = []
    bad: list[int] = []
    start: int | None = 1  # our rowids start at 1
    select = f"SELECT {', '.join(columns)} FROM {table} WHERE rowid = ?"
    while start is not None:
        try:
            found = _seek(db, table, start)
        except sqlite3.DatabaseError:
            start = _resume(db, table, start)
            continue
        if found is None:
            break
        start = found + 1
        try:
            rows.append(dict(zip(columns, db.execute(select, (found,)).fetchone(), strict=True)))
        except sqlite3.DatabaseError:
            bad.append(found)
    return rows, bad


def _seek(db: sqlite3.Connection, table: str, start: int) -> int | None:
    """The first rowid at or after ``start`` (``>=`` only: ``> x`` seeks to x first, into a bad page)."""
    row = db.execute(f"SELECT rowid FROM {table} WHERE rowid >= ? ORDER BY rowid LIMIT 1", (start,)).fetchone()
    return None if row is None else int(row[0])


def _resume(db: sqlite3.Connection, table: str, failed: int) -> int | None:
    """The first rowid past ``failed`` a seek can start from; None if no later page can be read.

    Probes ``failed + 1, + 2, + 4, ...`` until a seek succeeds, then bisects back to the first
    start past the damage (damage covers a contiguous rowid range: a leaf, or an interior page's subtree).
    """
    def readable(start: int) -> bool:
        try:
            _seek(db, table, start)
            return True
        except sqlite3.DatabaseError:
            return False

    step = 1
    while failed + step <= _MAX_ROWID and not readable(failed + step):
        step *= 2
    if failed + step > _MAX_ROWID:
        return None
    lo, hi = failed + step // 2, failed + step  # a seek from lo fails, from hi succeeds
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if readable(mid) else (mid, hi)
    return hi


def _partial_rows(db: sqlite3.Connection, rowids: Sequence[int]) -> list[tuple[str, str, str]]:
    """(doc_id, source, title) of document rows whose whole row failed: the start of a row is stored first."""
    out = []
    for rowid in rowids:
        try:
            row = db.execute(f"SELECT {_KEY_COLUMNS} FROM documents WHERE rowid = ?", (rowid,)).fetchone()
        except sqlite3.DatabaseError:
            continue
        if row and all(isinstance(v, str) for v in row):
            out.append(row)
    return out


def _whole_document(row: dict[str, Any]) -> bool:
    text_fields = ("doc_id", "source", "title", "text", "chunker", "added")
    return all(isinstance(row.get(k), str) for k in text_fields) and isinstance(row.get("chunks"), int)


def _write_fresh(path: Path, rows: dict[str, list[dict[str, Any]]], *, identity: str) -> None:
    """A new index file with the salvaged rows; its revision moves on, so every part is checked against it."""
    from .dbfile import HISTORY_DDL
    from .lexical import LexicalIndex

    db = connect_tables(path, path.parent)
    db.executescript(HISTORY_DDL)  # the history and sides tables, as output/history.py makes them
    try:
        lexical = LexicalIndex(db)
        meta = {r["key"]: r["value"] for r in rows["meta"] if isinstance(r.get("key"), str)}
        revision = int(meta["revision"]) if str(meta.get("revision", "")).isdigit() else 0
        meta |= {"schema": str(SCHEMA), "embedder": meta.get("embedder") or identity, "revision": str(revision + 1),
                 "lexical": lexical.version}
        with db:
            db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", sorted(meta.items()))
            for table in ("documents", "document_meta", "history", "sides"):
                _insert(db, table, rows[table])
            lexical.create()  # empty: the check that follows rebuilds it from the texts
    finally:
        db.close()


def _insert(db: sqlite3.Connection, table: str, rows: list[dict[str, Any]]) -> None:
    columns = COLUMNS[table]
    defaults = {"url": "", "qualifications": ""}
    if table == "document_meta":
        rows = [r for r in rows if r.get("key") in EDITABLE]
    db.executemany(f"INSERT OR IGNORE INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                   [tuple(r.get(c, defaults.get(c)) for c in columns) for r in rows])


def _keep(damaged: Path) -> Path:
    """Hard-link the damaged file aside (a copy where links fail) and move its journal files with it."""
    import shutil

    kept = _aside_name(damaged)
    try:
        os.link(damaged, kept)
    except OSError:
        shutil.copy2(damaged, kept)
    for extra in _companions(damaged):  # a hot journal must not be replayed into the new file
        if extra.exists():
            os.replace(extra, kept.with_name(kept.name + extra.name[len(damaged.name):]))
    return kept


def set_aside(path: Path) -> Path:
    """Rename ``path`` to ``<name>.damaged-<time>`` beside it; returns the new path."""
    kept = _aside_name(path)
    os.replace(path, kept)
    return kept


def _aside_name(path: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    kept, n = path.with_name(f"{path.name}.damaged-{stamp}"), 1
    while kept.exists():
        kept, n = path.with_name(f"{path.name}.damaged-{stamp}-{n}"), n + 1
    return kept


def _companions(db_path: Path) -> list[Path]:
    return [db_path.with_name(db_path.name + s) for s in ("-journal", "-wal", "-shm")]


def _salvage_note(problem: str, salvage: Salvage) -> str:
    docs_ok, docs_bad = salvage.counts["documents"]
    answers_ok, answers_bad = salvage.counts["history"]
    return (f"documents.sqlite was damaged ({problem}): {docs_ok} document(s) recovered"
            f"{f', {docs_bad} unreadable' if docs_bad else ''}, {answers_ok} saved answer(s) recovered"
            f"{f', {answers_bad} unreadable' if answers_bad else ''}"
            f"{'' if salvage.counts['meta'][0] else '; its settings were unreadable: the current embedder is assumed'}"
            f"; the damaged file is kept as {salvage.kept_as.name}")
