"""Damaged and read-only indexes through the real CLI: one line, the right exit code, then a repair.

Each damage kind is applied to a private copy of the seeded index (real embedder, real Chroma),
and one test per kind runs every command against it (each must print exactly one ``error:``
line, exit 1, and leave the damaged files as they were), then the repair, then checks that the
same documents, with the same texts, are listed and searchable again.

Read-only: the CLI runs as root without the capabilities that let root write anywhere
(``setpriv --bounding-set -dac_override,...``), so the kernel refuses writes to a ``chmod -R a-w``
index exactly as it would for any other user; and in-process, ``os.access`` says "not writable"
(root ignores mode bits), which checks that no write is even attempted: every file, Chroma's
included, stays byte-identical.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant import Assistant, Settings
from assistant.index.dbfile import IndexDamaged, ReadOnlyIndex
from assistant.index.store import Store
from assistant.index.vector_store import forget_client
from tests.conftest import REPO, write
from tests.fakes import FakeEmbedder

pytestmark = pytest.mark.integration

SIDE = ("Remote work makes companies more productive", "He said that it is 'not proper work'")  # a seeds sentence
ESSAY = ("# Four-day weeks\n\nA four-day week trial in Iceland kept output level while staff reported less "
         "burnout. Managers feared lost hours; the data showed meetings shrank instead.\n\n") * 4
NO_MODEL = "http://127.0.0.1:9/v1"  # ask must fail on the index before it needs a model; never on a model load
SETPRIV = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search,-fowner"]


def cli(*args: str, index: Path, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ASSISTANT_INDEX": str(index), "ASSISTANT_LLM_URL": NO_MODEL}
    return subprocess.run([*prefix, sys.executable, "-m", "assistant", *args], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=300)


def one_error(proc: subprocess.CompletedProcess[str], *fragments: str) -> str:
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert proc.returncode == 1 and proc.stdout == "", (proc.returncode, proc.stdout)
    assert all(f in lines[0] for f in fragments), lines[0]
    assert "delete" not in lines[0], lines[0]
    return lines[0]


def view(index: Path) -> dict[str, tuple[str, str, int]]:
    """doc id -> (title, full text, chunks), read straight from the store."""
    store = Store.open(index, embedder=Store.recorded_embedder(index) or "")
    try:
        return {d.doc_id: (d.title, store.document(d.doc_id).text, d.chunks) for d in store.documents()}
    finally:
        store.close()
        forget_client(index / "chroma")  # chromadb keeps a client per folder; the CLI is about to change it


def files(index: Path) -> dict[str, bytes]:
    return {str(p.relative_to(index)): p.read_bytes() for p in sorted(index.rglob("*")) if p.is_file()}


# -- the damage ---------------------------------------------------------------------


def _flip_middle_byte(index: Path) -> None:
    db = index / "documents.sqlite"
    data = bytearray(db.read_bytes())
    data[len(data) // 2] ^= 0xFF
    db.write_bytes(bytes(data))


def _truncate(index: Path) -> None:
    db = index / "documents.sqlite"
    db.write_bytes(db.read_bytes()[: db.stat().st_size // 2])


def _garbage_page(index: Path) -> None:
    db = index / "documents.sqlite"
    data = bytearray(db.read_bytes())
    middle = len(data) // 4096 // 2
    data[middle * 4096:(middle + 1) * 4096] = bytes((i * 37 + 11) % 256 for i in range(4096))
    db.write_bytes(bytes(data))


def _chroma_deleted(index: Path) -> None:
    shutil.rmtree(index / "chroma")


def _chroma_garbled(index: Path) -> None:
    f = index / "chroma" / "chroma.sqlite3"
    f.write_bytes(bytes((i * 131 + 7) % 256 for i in range(f.stat().st_size)))


SQLITE_DAMAGE: dict[str, Callable[[Path], None]] = {
    "one byte flipped": _flip_middle_byte, "truncated": _truncate, "a page of garbage": _garbage_page}
CHROMA_DAMAGE: dict[str, Callable[[Path], None]] = {
    "chroma deleted": _chroma_deleted, "chroma.sqlite3 garbled": _chroma_garbled}


@pytest.fixture
def copy(seeded_index: Path, tmp_path: Path) -> Path:
    index = tmp_path / "index"
    shutil.copytree(seeded_index, index)
    return index


@pytest.mark.parametrize("kind", SQLITE_DAMAGE)
def test_damaged_sqlite_is_one_line_then_repaired_from_what_is_intact(kind: str, copy: Path, tmp_path: Path) -> None:
    before = view(copy)
    SQLITE_DAMAGE[kind](copy)
    damaged, listing = (copy / "documents.sqlite").read_bytes(), sorted(files(copy))
    essay = write(tmp_path / "essays" / "four-day.md", ESSAY)
    for command in (["search", "productivity"], ["docs"], ["check"], ["ingest", str(essay)],
                    ["ask", "Is remote work productive?"]):
        one_error(cli(*command, index=copy), f"the index at {copy} is damaged (", "assistant check --repair")
    assert (copy / "documents.sqlite").read_bytes() == damaged and sorted(files(copy)) == listing  # no half repairs

    proc = cli("check", "--repair", index=copy)
    assert proc.returncode == 0 and proc.stdout.startswith("repaired: "), proc.stderr
    note = re.search(r"(\d+) document\(s\) recovered.*?(\d+) document\(s\) re-read from their source files, "
                     r"(\d+) lost", proc.stdout)
    assert note, proc.stdout
    recovered, reread, lost = map(int, note.groups())
    assert recovered + reread == len(before) and lost == 0, proc.stdout
    if kind != "truncated":  # one bad page: the rows around it come back from the file itself
        assert recovered >= 1, proc.stdout
    kept = re.search(r"kept as (documents\.sqlite\.damaged-[\d-]+)", proc.stdout)
    assert kept and (copy / kept.group(1)).read_bytes() == damaged

    assert view(copy) == before  # same documents, same texts (recovered, or re-read from the seeds)
    docs = json.loads(cli("docs", "--json", index=copy).stdout)
    assert sorted(d["doc_id"] for d in docs) == sorted(before)
    found = json.loads(cli("search", "remote work productivity", "--json", index=copy).stdout)["passages"]
    assert len(found) >= 3 and {p["doc_id"] for p in found} <= set(before)
    assert cli("check", index=copy).stdout.startswith("index OK: ")


@pytest.mark.parametrize("kind", CHROMA_DAMAGE)
def test_damaged_vectors_are_one_line_then_re_embedded(kind: str, copy: Path, tmp_path: Path) -> None:
    before = view(copy)
    CHROMA_DAMAGE[kind](copy)
    snapshot = files(copy)
    for command in (["search", "productivity"], ["docs"], ["check"], ["ask", "Is remote work productive?"]):
        one_error(cli(*command, index=copy), f"the index at {copy} is damaged (vector store ",
                  "assistant check --repair")
    assert files(copy) == snapshot  # nothing made, moved or written

    if kind == "chroma deleted":  # an ingest repairs what it finds, then adds
        essay = write(tmp_path / "essays" / "four-day.md", ESSAY)
        proc = cli("ingest", str(essay), index=copy)
        assert proc.returncode == 0 and "1 added" in proc.stdout, proc.stderr
        assert len(view(copy)) == len(before) + 1
    else:
        proc = cli("check", "--repair", index=copy)
        assert proc.returncode == 0 and proc.stdout.startswith("repaired: "), proc.stderr
        aside = re.search(r"set aside as (chroma\.damaged-[\d-]+), every chunk re-embedded", proc.stdout)
        assert aside and (copy / aside.group(1) / "chroma.sqlite3").read_bytes() == snapshot["chroma/chroma.sqlite3"]
        assert view(copy) == before
    found = json.loads(cli("search", "remote work productivity", "--json", "--retrieval", "dense",
                           index=copy).stdout)["passages"]
    assert len(found) >= 3 and found[0]["dense_score"] > 0.3
    assert cli("check", index=copy).stdout.startswith("index OK: ")


def test_garbled_hnsw_files_are_found_by_check_and_rebuilt(tmp_path: Path) -> None:
    """Chroma writes HNSW files past ~1000 vectors and reads them at the first query: damage shows there."""
    corpus = tmp_path / "corpus"
    for i in range(40):
        body = " ".join(f"remote office {i} desk{j}." for j in range(900))
        write(corpus / f"essay-{i:02d}.md", f"# Essay {i}\n\n{body}")
    a = Assistant(Settings.load(index_dir=tmp_path / "index"), embedder=FakeEmbedder())
    assert a.ingest([corpus], show_progress=False).chunks_written > 1000
    a.close()
    forget_client(tmp_path / "index" / "chroma")
    header = next((tmp_path / "index" / "chroma").glob("*/header.bin"))
    header.write_bytes(b"\x07" * header.stat().st_size)

    a = Assistant(Settings.load(index_dir=tmp_path / "index"), embedder=FakeEmbedder())
    for read in (a.check, lambda: a.search("remote office desk", 3)):
        with pytest.raises(IndexDamaged, match="vector store unreadable: .*hnsw"):
            read()
    text = a.check(repair=True).summary()
    assert re.search(r"set aside as chroma\.damaged-[\d-]+, every chunk re-embedded", text), text
    assert a.check().ok and len(a.search("remote office desk", 3)) == 3


def test_lost_rows_come_back_from_their_files_or_are_reported_lost(tmp_path: Path) -> None:
    """Many small documents over many pages: one bad leaf costs only its own rows; files gone are named."""
    corpus = tmp_path / "corpus"
    for i in range(240):
        write(corpus / f"essay-{i:03d}.md", f"# Essay {i}\n\nRemote work essay number {i} says offices cost "
                                           f"{i} dollars a desk and meetings shrink at home. " * 3)
    a = Assistant(Settings.load(index_dir=tmp_path / "index"), embedder=FakeEmbedder())
    a.ingest([corpus], show_progress=False)
    before = {d.doc_id: (d.title, a.document(d.doc_id).text) for d in a.documents()}
    a.close()
    db_path = tmp_path / "index" / "documents.sqlite"
    with sqlite3.connect(db_path) as db:  # leaves in tree order hold consecutive runs of rowids
        leaves = db.execute("SELECT pageno, ncell FROM dbstat WHERE name = 'documents' AND pagetype = 'leaf' "
                            "ORDER BY path").fetchall()
        middle = len(leaves) // 2
        first = sum(n for _, n in leaves[:middle])
        page, on_page = leaves[middle]
        there = db.execute("SELECT doc_id, source FROM documents ORDER BY rowid LIMIT ? OFFSET ?",
                           (on_page, first)).fetchall()
    assert len(leaves) > 4 and 2 < on_page < 60
    data = bytearray(db_path.read_bytes())
    data[(page - 1) * 4096:page * 4096] = b"\xee" * 4096
    db_path.write_bytes(bytes(data))
    for _, source in there[:2]:
        Path(source).unlink()

    with pytest.raises(IndexDamaged):
        Assistant(Settings.load(index_dir=tmp_path / "index"), embedder=FakeEmbedder()).check()
    a = Assistant(Settings.load(index_dir=tmp_path / "index"), embedder=FakeEmbedder())
    text = a.check(repair=True).summary()
    assert f"{len(before) - on_page} document(s) recovered," in text, text  # all but the bad page's
    assert f"{on_page - 2} document(s) re-read from their source files, 2 lost" in text, text
    after = {d.doc_id: (d.title, a.document(d.doc_id).text) for d in a.documents()}
    assert set(before) - set(after) == {doc_id for doc_id, _ in there[:2]}
    assert all(after[d] == before[d] for d in after)
    assert set(a.store().vector_ids()) == set(a.store().expected_ids())  # the lost ones' vectors dropped
    assert a.check().ok and a.search("offices cost dollars a desk", 3)


# -- read-only --------------------------------------------------------------------


def _setpriv_works(probe: Path) -> bool:
    probe.mkdir()
    probe.chmod(0o555)
    try:
        proc = subprocess.run([*SETPRIV, "touch", str(probe / "x")], capture_output=True)
    except OSError:
        return False
    finally:
        probe.chmod(0o755)
    return proc.returncode != 0 and not (probe / "x").exists()


def test_read_only_index_serves_reads_and_refuses_writes_in_one_line(copy: Path, tmp_path: Path) -> None:
    if not _setpriv_works(tmp_path / "probe"):
        pytest.skip("cannot run the CLI without write permission here (setpriv missing or not permitted)")
    essay = write(tmp_path / "essays" / "four-day.md", ESSAY)
    subprocess.run(["chmod", "-R", "a-w", str(copy)], check=True)
    before = files(copy)
    try:
        docs = cli("docs", "--json", index=copy, prefix=tuple(SETPRIV))
        assert docs.returncode == 0 and len(json.loads(docs.stdout)) == 4, docs.stderr
        found = cli("search", "remote work productivity", "--json", index=copy, prefix=tuple(SETPRIV))
        assert found.returncode == 0 and json.loads(found.stdout)["passages"], found.stderr
        assert cli("check", index=copy, prefix=tuple(SETPRIV)).stdout.startswith("index OK: ")
        for command in (["ingest", str(essay)], ["remove", "homeward-bound.md"], ["check", "--repair"]):
            one_error(cli(*command, index=copy, prefix=tuple(SETPRIV)), f"the index at {copy} is read-only")
        asked = cli("ask", "Is remote work productive?", index=copy, prefix=tuple(SETPRIV))
        assert asked.returncode != 0 and "read-only" not in asked.stderr and NO_MODEL.split("/v1")[0] in asked.stderr
        assert files(copy) == before
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(copy)], check=True)


def test_read_only_index_is_never_written(copy: Path, monkeypatch: pytest.MonkeyPatch, real_embedder) -> None:
    """As root, mode bits stop nothing: no write may even be attempted, or a file would change."""
    essay = write(copy.parent / "four-day.md", ESSAY)
    monkeypatch.setattr("assistant.index.dbfile.os.access", lambda path, mode: mode != os.W_OK)
    before = files(copy)
    a = Assistant(Settings.load(index_dir=copy), embedder=real_embedder)
    assert len(a.documents()) == 4 and a.search("Does remote work hurt productivity?", 3)
    assert a.check().ok and a.store().read_only
    assert a.sides().entries() == []  # an index made before sides existed reads as having none
    for write_something in (lambda: a.remove("homeward-bound.md"), lambda: a.ingest([essay], show_progress=False),
                            lambda: a.check(repair=True), lambda: a.set_side(*SIDE, "against")):
        with pytest.raises(ReadOnlyIndex, match="read-only \\(permission denied\\)") as err:
            write_something()
        assert "delete" not in str(err.value)
    a.close()
    assert files(copy) == before


def test_read_only_index_that_needs_repair_says_so_without_advising_deletion(
        copy: Path, monkeypatch: pytest.MonkeyPatch, real_embedder) -> None:
    store = Store.open(copy, embedder=real_embedder.identity)
    doc = store.documents()[0]
    store.delete_vectors([f"{doc.doc_id}:{i:04d}" for i in range(doc.chunks)])  # as a crash mid-write could leave
    store.bump()
    store.close()
    monkeypatch.setattr("assistant.index.dbfile.os.access", lambda path, mode: mode != os.W_OK)
    a = Assistant(Settings.load(index_dir=copy), embedder=real_embedder)
    with pytest.raises(ReadOnlyIndex, match=r"read-only \(permission denied\); it needs a repair .* missing") as err:
        a.documents()
    assert "delete" not in str(err.value) and "assistant check --repair" in str(err.value)
