"""Ingest and search make no network connection (a socket guard fails any non-loopback connect)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from assistant import Assistant, Settings
from tests.conftest import SEEDS

pytestmark = pytest.mark.integration

LOOPBACK = ("127.", "::1", "localhost", "/")


class NetworkUsed(AssertionError):
    pass


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    attempts: list[str] = []
    real_connect = socket.socket.connect

    def guarded_connect(self: socket.socket, address):  # type: ignore[no-untyped-def]
        host = address if isinstance(address, str) else str(address[0])
        if not host.startswith(LOOPBACK):
            attempts.append(host)
            raise NetworkUsed(f"network connection attempted to {address}")
        return real_connect(self, address)

    def guarded_getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        attempts.append(f"dns:{host}")
        raise NetworkUsed(f"DNS lookup attempted for {host}")

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
    return attempts


def test_guard_really_blocks(no_network: list[str]) -> None:
    with pytest.raises(NetworkUsed), socket.create_connection(("198.51.100.1", 443), timeout=1):
        pass
    assert no_network


def test_ingest_and_search_make_no_connection(no_network: list[str], tmp_path: Path) -> None:
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    # A fresh embedder instance: the model is loaded inside the guard, not before it.
    from assistant.index.embed import SentenceTransformerEmbedder

    a = Assistant(Settings.load(index_dir=tmp_path / "ix"), embedder=SentenceTransformerEmbedder())
    report = a.ingest([SEEDS], show_progress=False)
    assert len(report.added) == 4
    for variant in ("dense", "lexical", "hybrid"):
        assert a.search("Is remote work more productive?", 3, variant=variant)
    assert a.documents()
    a.close()
    assert no_network == []
