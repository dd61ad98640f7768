"""Opening the vectors' Chroma collection: the one module that imports chromadb.

Three ways in: the embedded folder ``index/chroma`` (read-write); a private
copy of that folder when the index is read-only (Chroma writes to its folder
on every open, even to read, and has no read-only mode: chroma-core/chroma
#1438); or a collection on a Chroma server (remote_store.py). A folder Chroma
cannot open or query is ``IndexDamaged`` (part "vectors"), which
``assistant check --repair`` answers by setting the folder aside and
re-embedding every chunk from the stored texts (recover.py). Not handled:
vectors altered in place that still load (they only rank worse).
"""

from __future__ import annotations

import atexit
import os
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import Any

from ..errors import StoreError
from .dbfile import IndexDamaged, ReadOnlyIndex
from .remote_store import ChromaServer, GuardedCollection, collection_name, is_network_error

COPY_NOTICE_BYTES = 100 * 2**20  # copies of a read-only index's vectors larger than this are announced


def open_collection(path: Path, *, name: str, embedder: str, server: ChromaServer | None = None,
                    db: sqlite3.Connection | None = None, read_only: bool = False,
                    create: bool = False) -> tuple[Any, Path | None]:
    """The collection ``name`` of the index at ``path``, and the temporary copy it lives in (read-only), if any.

    A missing embedded folder is made only with ``create`` (a new index, or a repair about to re-embed);
    otherwise it is damage, reported without writing anything.
    """
    if server is not None:
        return _open_server(server, collection_name(db, name) if db is not None else name, embedder), None
    folder = path / "chroma"
    if not folder.is_dir() and (read_only or not create):
        raise IndexDamaged(path, f"vector store missing: no folder {folder}", part="vectors")
    scratch = _private_copy(path, folder) if read_only else None
    try:
        collection = _open_folder(path, scratch or folder, name, embedder)
    except BaseException:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
        raise
    return GuardedCollection(collection, lambda exc: _damaged(path, exc) if _is_chroma(exc) else None), scratch


def _open_folder(index: Path, folder: Path, name: str, embedder: str) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    try:
        client = chromadb.PersistentClient(path=str(folder), settings=ChromaSettings(anonymized_telemetry=False,
                                                                                       allow_reset=False))
        return client.get_or_create_collection(name, embedding_function=None,
                                               metadata={"hnsw:space": "cosine", "embedder": embedder})
    except Exception as exc:  # chromadb raises many types (and Rust panics) for a folder it cannot use
        forget_client(folder)  # else the failed client is reused by the next open in this process
        if _permission(exc):
            raise ReadOnlyIndex(index, f"the vector store at {folder} cannot be opened for writing") from None
        raise _damaged(index, exc) from None


def _open_server(server: ChromaServer, name: str, embedder: str) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    try:
        client = chromadb.HttpClient(host=server.host, port=server.port, ssl=server.ssl,
                                     settings=ChromaSettings(anonymized_telemetry=False, **server.auth_settings()))
        collection = client.get_or_create_collection(name, embedding_function=None,
                                                     metadata={"hnsw:space": "cosine", "embedder": embedder})
    except Exception as exc:  # a missing server, refused auth, ...
        raise server.unreachable(exc) from None
    return GuardedCollection(collection, lambda exc: server.unreachable(exc) if is_network_error(exc) else None)


def _private_copy(index: Path, folder: Path) -> Path:
    """Copy a read-only index's Chroma folder to a temporary folder this process may write."""
    size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    tmp = Path(tempfile.gettempdir())
    if shutil.disk_usage(tmp).free < size * 1.1:
        raise ReadOnlyIndex(index, f"its vectors ({size / 2**20:,.0f} MB) must be copied to be read, and {tmp} "
                                   "has no room for them (set TMPDIR to a roomier folder)")
    if size > COPY_NOTICE_BYTES:
        print(f"the index at {index} is read-only: reading its vectors from a temporary copy "
              f"({size / 2**20:,.0f} MB)", file=sys.stderr, flush=True)
    scratch = Path(tempfile.mkdtemp(prefix="assistant-vectors-"))
    atexit.register(shutil.rmtree, scratch, True)  # the CLI exits without closing its store
    try:
        shutil.copytree(folder, scratch / "chroma", ignore=shutil.ignore_patterns("revision*"))
        for f in (scratch / "chroma").rglob("*"):  # the copy keeps the read-only mode bits of the original
            os.chmod(f, 0o700 if f.is_dir() else 0o600)
        os.chmod(scratch / "chroma", 0o700)
    except OSError as exc:
        shutil.rmtree(scratch, ignore_errors=True)
        raise StoreError(f"cannot copy the vectors of the read-only index at {index} ({exc.strerror})") from None
    return scratch / "chroma"


def discard_copy(scratch: Path | None) -> None:
    """Delete the temporary copy made for a read-only index (after closing its client)."""
    if scratch is not None:
        forget_client(scratch)
        shutil.rmtree(scratch.parent, ignore_errors=True)


def forget_client(chroma_path: Path) -> None:
    """Drop chromadb's in-process client for a folder about to be deleted or moved, so a later open starts fresh."""
    try:
        from chromadb.api.shared_system_client import SharedSystemClient

        system = SharedSystemClient._identifier_to_system.pop(str(chroma_path), None)
        if system is not None:
            system.stop()
    except Exception:  # noqa: BLE001 - private chromadb detail; worst case the folder is recreated next open
        pass


def _is_chroma(exc: BaseException) -> bool:
    """chromadb's own errors (by class name: InternalError, InvalidArgumentError, ... all derive ChromaError)."""
    return any(cls.__name__ == "ChromaError" for cls in type(exc).__mro__)


def _permission(exc: BaseException) -> bool:
    text = str(exc)
    return isinstance(exc, PermissionError) or "readonly database" in text or "(code: 8)" in text


def _damaged(index: Path, exc: BaseException) -> StoreError:
    reason = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
    return IndexDamaged(index, f"vector store unreadable: {reason}", part="vectors")
