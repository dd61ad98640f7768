"""Where a Chroma server is, and turning its connection failures into ``StoreError``.

Only the vectors go to the server: the documents' full texts, the metadata
table and the lexical (BM25) index stay in the assistant process, under the
index folder (``documents.sqlite``). Each index folder gets its own server
collection (``chunks-<index id>``), so two index folders pointing at one
server never see, or sweep, each other's vectors. The chromadb client itself
is built in ``vector_store.py`` (the one module that imports chromadb). Not handled:
retries, several Chroma servers, TLS client certificates.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ..errors import StoreError

# Bare names: chromadb and httpx raise these (and subclasses) when the server is down or drops us.
_NETWORK_ERRORS = ("ConnectError", "ConnectTimeout", "ReadTimeout", "ReadError", "RemoteProtocolError",
                   "WriteError", "PoolTimeout", "ConnectionError", "ConnectionRefusedError", "TimeoutError")


@dataclass(frozen=True)
class ChromaServer:
    """A Chroma server's address, e.g. ``ChromaServer("http://127.0.0.1:8000")``."""

    url: str
    token: str = field(default="", repr=False)

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        parts = urlsplit(self.url)
        return parts.port or (443 if parts.scheme == "https" else 8000)

    @property
    def ssl(self) -> bool:
        return urlsplit(self.url).scheme == "https"

    def auth_settings(self) -> dict[str, Any]:
        """chromadb client settings for token auth (sent as ``Authorization: Bearer``), when a token is set."""
        if not self.token:
            return {}
        return {"chroma_client_auth_provider": "chromadb.auth.token_authn.TokenAuthClientProvider",
                "chroma_client_auth_credentials": self.token}

    def unreachable(self, exc: BaseException) -> StoreError:
        """The one-line error for a failed call."""
        reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        return StoreError(f"the Chroma server at {self.url} failed ({reason}); is it running "
                          f"(`chroma run --path DIR --port {self.port}`) and is ASSISTANT_CHROMA_URL right?")


def collection_name(db: sqlite3.Connection, base: str) -> str:
    """``<base>-<index id>``: one server collection per index folder (the id is made once, kept in meta)."""
    row = db.execute("SELECT value FROM meta WHERE key = 'index_id'").fetchone()
    if row is None:
        with db:
            db.execute("INSERT INTO meta VALUES ('index_id', ?)", (uuid.uuid4().hex[:16],))
        return collection_name(db, base)
    return f"{base}-{row[0]}"


def is_network_error(exc: BaseException) -> bool:
    """True for connection-level failures (by class name: no chromadb/httpx import here)."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    return bool(names & set(_NETWORK_ERRORS)) or "Could not connect to" in str(exc)


class GuardedCollection:
    """A Chroma collection whose failures of the store (``fail`` says which) surface as one-line ``StoreError``s.

    ``fail(exc)`` returns the error to raise instead, or None to let ``exc`` through (a bug of ours):
    a server's network failures, an embedded folder's damage (vector_store.py).
    """

    def __init__(self, collection: Any, fail: Callable[[Exception], StoreError | None]) -> None:
        self._col = collection
        self._fail = fail

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._col, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return attr(*args, **kwargs)
            except Exception as exc:
                instead = self._fail(exc)
                if instead is not None:
                    raise instead from None
                raise

        return call
