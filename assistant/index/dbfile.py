"""The index's SQLite file: its tables, how every query reaches it, what it says when damaged or read-only.

Every query of ``documents.sqlite`` goes through ``IndexConnection`` (a
``sqlite3.Connection`` subclass, so the lexical index and the history use it
unchanged). SQLite reports damage at whichever query first reads a bad page,
not only at connect, so the translation happens here, once, for every
statement, fetch and commit:

- corrupt page or not a database -> ``IndexDamaged`` ("... is damaged (...); run
  `assistant check --repair`");
- no permission to write (or read) -> ``ReadOnlyIndex``, which never advises deleting anything;
- busy, disk full, I/O error -> a one-line ``StoreError`` saying so;
- anything else (a constraint, a syntax error) is a bug and keeps its traceback.

The tables are made on first open and upgraded once (``_migrate``); an
index is opened read-only (SQLite ``mode=ro``, no DDL: it must already be
current) when the process may not write its folder or files (``writable``),
so searching a shared, read-only index never attempts a write. Not handled: damage that SQLite cannot see (a
flipped byte inside a stored text reads back as a different character).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import StoreError

REPAIR_HINT = "run `assistant check --repair`"
# Only for what no repair can fix (an index made by another schema or chunker): never for damage or permissions.
REBUILD_HINT = "build a new index with this version (`assistant --index NEW_FOLDER ingest ...`)"

_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY, source TEXT NOT NULL, title TEXT NOT NULL,
    author TEXT NOT NULL, publication TEXT NOT NULL, date TEXT NOT NULL,
    text TEXT NOT NULL, chunks INTEGER NOT NULL, chunker TEXT NOT NULL, added TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_source ON documents(source);
"""
# Saved answers (output/history.py) and the sides users set (output/sides.py): here, with the other tables,
# so a repair (recover.py) can make them.
HISTORY_DDL = """
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY AUTOINCREMENT, created TEXT NOT NULL, mode TEXT NOT NULL,
    request TEXT NOT NULL, model TEXT NOT NULL, verified INTEGER NOT NULL,
    settings TEXT NOT NULL, answer TEXT NOT NULL, documents TEXT NOT NULL
);
"""
SIDES_DDL = """
CREATE TABLE IF NOT EXISTS sides (
    request_key TEXT NOT NULL, sentence_key TEXT NOT NULL, side TEXT NOT NULL,
    request TEXT NOT NULL, sentence TEXT NOT NULL, doc_id TEXT NOT NULL, created TEXT NOT NULL,
    PRIMARY KEY (request_key, sentence_key)
);
"""
HISTORY_DDL += SIDES_DDL  # a repair (recover.py) makes both
# Provenance columns added after schema 1 shipped; ``_migrate`` adds them to older indexes once.
PROVENANCE_COLUMNS = ("url", "qualifications")

# SQLite's primary result codes (https://sqlite.org/rescode.html)
_PERM, _BUSY, _LOCKED, _READONLY, _IOERR = 3, 5, 6, 8, 10
_CORRUPT, _FULL, _CANTOPEN, _AUTH, _NOTADB = 11, 13, 14, 23, 26


class IndexDamaged(StoreError):
    """A part of the index cannot be read back: ``part`` is "documents" (SQLite) or "vectors" (Chroma)."""

    def __init__(self, index: Path, reason: str, *, part: str = "documents") -> None:
        super().__init__(f"the index at {index} is damaged ({reason}); {REPAIR_HINT}")
        self.index, self.reason, self.part = index, reason, part


class ReadOnlyIndex(StoreError):
    """The index may be read but not written by this process (permissions, a read-only mount)."""

    def __init__(self, index: Path, what: str = "") -> None:
        tail = f"; {what}" if what else ""
        super().__init__(f"the index at {index} is read-only (permission denied){tail}")
        self.index = index


def writable(index: Path) -> bool:
    """May this process write the index folder and the files a write touches (os.access: real ids)?"""
    paths = [index, index / "documents.sqlite", index / "chroma", index / "chroma" / "chroma.sqlite3"]
    return all(os.access(p, os.W_OK) for p in paths if p.exists())


def translate(exc: sqlite3.Error, index: Path) -> StoreError | None:
    """The one-line error for a SQLite failure of the index at ``index``; None for a bug."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    text = str(exc) or type(exc).__name__
    if primary in (_CORRUPT, _NOTADB) or "malformed" in text or "not a database" in text:
        return IndexDamaged(index, f"documents.sqlite is corrupted: {text}")
    if primary in (_READONLY, _PERM, _AUTH):
        return ReadOnlyIndex(index, "this command needs to write to it")
    if primary == _CANTOPEN:
        return StoreError(f"cannot open the index at {index} ({text}): check that its folder and files are "
                          "readable by you")
    if primary in (_BUSY, _LOCKED):
        return StoreError(f"the index at {index} is busy (another process is writing to it): try again")
    if primary == _FULL:
        return StoreError(f"the disk holding the index at {index} is full ({text})")
    if primary == _IOERR:
        return StoreError(f"the index at {index} could not be read or written ({text}): check the disk, "
                          "then run `assistant check`")
    return None


class IndexCursor(sqlite3.Cursor):
    """A cursor whose every statement and fetch raises the index's one-line errors."""

    connection: IndexConnection

    def _fail(self, exc: sqlite3.Error) -> BaseException:
        return translate(exc, self.connection.index) or exc

    def execute(self, sql: str, parameters: Any = ()) -> IndexCursor:
        try:
            return super().execute(sql, parameters)
        except sqlite3.Error as exc:
            raise self._fail(exc) from None

    def executemany(self, sql: str, seq_of_parameters: Iterable[Any]) -> IndexCursor:
        try:
            return super().executemany(sql, seq_of_parameters)
        except sqlite3.Error as exc:
            raise self._fail(exc) from None

    def fetchone(self) -> Any:
        try:
            return super().fetchone()
        except sqlite3.Error as exc:
            raise self._fail(exc) from None

    def fetchmany(self, size: int | None = None) -> list[Any]:
        try:
            return super().fetchmany(self.arraysize if size is None else size)
        except sqlite3.Error as exc:
            raise self._fail(exc) from None

    def fetchall(self) -> list[Any]:
        try:
            return super().fetchall()
        except sqlite3.Error as exc:
            raise self._fail(exc) from None

    def __next__(self) -> Any:
        try:
            return super().__next__()
        except sqlite3.Error as exc:
            raise self._fail(exc) from None


class IndexConnection(sqlite3.Connection):
    """The connection to one index's ``documents.sqlite``; ``index`` and ``read_only`` are set by ``connect``."""

    index: Path
    read_only: bool

    def cursor(self, factory: Any = IndexCursor) -> Any:
        return super().cursor(factory)

    def execute(self, sql: str, parameters: Any = ()) -> Any:
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, seq_of_parameters: Iterable[Any]) -> Any:
        return self.cursor().executemany(sql, seq_of_parameters)

    def executescript(self, script: str) -> Any:
        try:
            return super().executescript(script)
        except sqlite3.Error as exc:
            raise translate(exc, self.index) or exc from None

    def commit(self) -> None:
        try:
            super().commit()
        except sqlite3.Error as exc:
            raise translate(exc, self.index) or exc from None

    def __exit__(self, *exc_info: Any) -> Any:
        try:
            return super().__exit__(*exc_info)
        except sqlite3.Error as exc:  # a commit (or rollback) that hit damage or a read-only file
            raise translate(exc, self.index) or exc from None


def connect(db_path: Path, *, index: Path, read_only: bool = False) -> IndexConnection:
    """Open ``db_path`` for the index at ``index``; ``read_only`` opens with SQLite's ``mode=ro``."""
    target = f"{db_path.resolve().as_uri()}?mode=ro" if read_only else str(db_path)
    try:
        db = sqlite3.connect(target, uri=read_only, check_same_thread=False, factory=IndexConnection)
    except sqlite3.Error as exc:
        raise translate(exc, index) or exc from None
    db.index, db.read_only = index, read_only
    return db


def connect_tables(db_path: Path, index: Path, *, read_only: bool = False) -> IndexConnection:
    """The index's SQLite file, its tables made or upgraded once (read-write), or checked present (read-only).

    The table list is read before any DDL: a damaged file whose schema hides our tables must be
    reported, not have new empty tables written into it.
    """
    db = connect(db_path, index=index, read_only=read_only)
    try:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if tables and "documents" not in tables:
            raise IndexDamaged(index, f"documents.sqlite is corrupted: it has no documents table ({db_path})")
        if read_only:
            _check_current(db, index, tables)
        else:
            db.executescript(_DDL)
            _migrate(db)
        return db
    except BaseException:
        db.close()
        raise


def _check_current(db: sqlite3.Connection, index: Path, tables: set[str]) -> None:
    """A read-only index must already have what ``_migrate`` would add (it cannot be upgraded here)."""
    have = {row[1] for row in db.execute("PRAGMA table_info(documents)")}
    if not tables or "document_meta" not in tables or set(PROVENANCE_COLUMNS) - have:
        raise ReadOnlyIndex(index, "it needs a one-time upgrade that only its owner can run, e.g. with "
                                   "`assistant check --repair`")


def _migrate(db: sqlite3.Connection) -> None:
    """Bring an index made by an older version up to date, once: provenance columns, metadata table."""
    have = {row[1] for row in db.execute("PRAGMA table_info(documents)")}
    with db:
        for column in PROVENANCE_COLUMNS:
            if column not in have:
                db.execute(f"ALTER TABLE documents ADD COLUMN {column} TEXT NOT NULL DEFAULT ''")
        db.execute("CREATE TABLE IF NOT EXISTS document_meta (source TEXT NOT NULL, key TEXT NOT NULL, "
                   "value TEXT NOT NULL, PRIMARY KEY (source, key))")
        # chunk_count() on every open sums this column: from the index instead of the rows' pages
        # (full texts): 8.9 -> 0.7 ms at 23k documents / 50k chunks, measured 2026-12-01
        db.execute("CREATE INDEX IF NOT EXISTS documents_chunks ON documents (chunks)")
