"""Nothing is skipped in silence, and two writers on one index take turns.

Folder walks run on a real file system (a symlink loop, a link back to an
ancestor, a dangling link, a FIFO, an unreadable subfolder). An unreadable
folder needs a process the kernel refuses: as root (these tests' usual user)
``chmod 000`` does not stop reads, so the CLI runs under ``setpriv
--bounding-set=-dac_override,-dac_read_search``: still root, still able to
read the repo and the model cache, but bound by permission bits. The lock
tests run real ``assistant ingest`` subprocesses (real embedder, real Chroma)
on one index at the same time.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from assistant import Assistant
from assistant.config import Settings
from assistant.errors import InputError
from assistant.index.chunking import chunk_document
from assistant.index.corpus import read_document
from assistant.index.store import Store
from assistant.index.writelock import write_lock
from tests.conftest import REPO, write
from tests.fakes import FakeEmbedder

DOCS = 4


def _tree(root: Path) -> Path:
    """A folder with two readable files, a loop, a self-loop, a dangling link, a FIFO and a .py file."""
    d = root / "notes"
    write(d / "a.md", "# Tidal power\n\nTidal barrages cost a lot to build but run for a century.\n")
    write(d / "sub" / "b.txt", "Offshore wind is cheaper per megawatt hour than new nuclear plants.\n")
    write(d / "script.py", "print('not a document')\n")
    (d / "sub" / "up").symlink_to("..")  # back to notes/: rglob-style recursion must not loop
    (d / "self").symlink_to("self")
    (d / "gone.md").symlink_to("missing.md")
    os.mkfifo(d / "pipe.md")  # reading it would block forever
    return d


def _reasons(skipped: list) -> dict[str, str]:
    return {Path(s.path).name: s.reason for s in skipped}


def test_a_walk_lists_loops_dangling_links_and_special_files(tmp_path: Path) -> None:
    from assistant.index.corpus import scan

    d = _tree(tmp_path)
    write(tmp_path / "shared" / "c.md", "Shared notes on grid storage and pumped hydro.\n")
    (d / "linked").symlink_to(tmp_path / "shared")  # a linked folder is followed ...
    (d / "linked_again").symlink_to(tmp_path / "shared")  # ... once
    found = scan([d])
    assert [p.relative_to(d).as_posix() for p in found.files] == ["a.md", "linked/c.md", "sub/b.txt"]
    reasons = _reasons(found.skipped)
    assert set(reasons) == {"up", "self", "gone.md", "pipe.md", "linked_again"}
    assert reasons["up"] == f"symlink loop: leads back to {d}"
    assert reasons["self"].startswith("symlink loop")
    assert reasons["gone.md"] == "dangling symlink: missing.md does not exist"
    assert reasons["pipe.md"].startswith("not a regular file")
    assert reasons["linked_again"] == f"same folder as {d / 'linked'}, whose files are included"
    assert found.ignored == 1  # script.py: counted, not listed


def test_an_unreadable_subfolder_is_reported_not_dropped(fake_assistant: Assistant, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """In process, the refusal is simulated (root reads anything); the CLI test below makes it real."""
    d = tmp_path / "notes"
    write(d / "a.md", "Readable notes about tidal power.\n")
    write(d / "locked" / "c.md", "Notes nobody may read.\n")
    real_scandir = os.scandir

    def scandir(path: object = ".") -> object:
        if Path(str(path)) == d / "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", scandir)
    report = fake_assistant.ingest([d], show_progress=False)
    assert [i.title for i in report.added] == ["Readable notes about tidal power."]
    locked = (str(d / "locked"), "cannot read folder: Permission denied")
    assert [(s.path, s.reason) for s in report.skipped] == [locked]


def test_files_that_fail_to_read_still_stop_the_whole_ingest(fake_assistant: Assistant, tmp_path: Path) -> None:
    """Skipped entries are things a walk cannot look at; a found file that fails to read is an error."""
    d = _tree(tmp_path)
    write(d / "bad.txt", b"\x89PNG\x00\x00binary")
    with pytest.raises(InputError, match=r"cannot be ingested, so nothing was stored: bad\.txt \(binary"):
        fake_assistant.ingest([d], show_progress=False)
    assert not (tmp_path / "index").exists()
    with pytest.raises(InputError, match="no such file"):  # a dangling link the user named is an error
        fake_assistant.ingest([d / "gone.md"], show_progress=False)


def test_names_that_are_not_utf8_are_one_line_errors_or_printable_skips(fake_assistant: Assistant,
                                                                        tmp_path: Path) -> None:
    d = tmp_path / "notes"
    write(d / "a.md", "Readable notes about tidal power.\n")
    (d / os.fsdecode(b"\xfelink.md")).symlink_to(os.fsdecode(b"\xfemissing.md"))
    report = fake_assistant.ingest([d], show_progress=False)
    assert [Path(s.path).name for s in report.skipped] == ["\ufffdlink.md"]  # printable, not a surrogate
    write(d / os.fsdecode(b"\xffbad.md"), "Text under a Latin-1 file name.\n")
    with pytest.raises(InputError, match=r"1 of 2 files .*\ufffdbad\.md \(file name is not valid UTF-8"):
        fake_assistant.ingest([d], show_progress=False)
    assert len(fake_assistant.documents()) == 1


def _no_dac_override() -> list[str]:
    """A command prefix under which permission bits bind (nothing needed when not root)."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: cannot make a folder unreadable")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]


def _cli(*args: str, index: Path, prefix: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*prefix, sys.executable, "-m", "assistant", "--index", str(index), *args],
                          capture_output=True, text=True, cwd=REPO, timeout=300)


@pytest.mark.integration
def test_the_cli_report_lists_what_it_skipped(tmp_path: Path) -> None:
    d = _tree(tmp_path)
    write(d / "locked" / "c.md", "Notes nobody may read.\n").parent.chmod(0)
    index = tmp_path / "index"
    try:
        proc = _cli("ingest", str(d), index=index, prefix=_no_dac_override())
        again = _cli("ingest", "--json", str(d), index=index, prefix=_no_dac_override())
    finally:
        (d / "locked").chmod(0o755)  # so tmp_path can be cleaned up
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert f"skipped   {d / 'locked'}  (cannot read folder: Permission denied)" in lines
    assert f"skipped   {d / 'sub' / 'up'}  (symlink loop: leads back to {d})" in lines
    assert f"skipped   {d / 'gone.md'}  (dangling symlink: missing.md does not exist)" in lines
    assert sum(line.startswith("added ") for line in lines) == 2
    assert lines[-1].startswith("2 added, 0 replaced, 0 unchanged; ")
    assert lines[-1].endswith("; 5 skipped; 1 file of other types ignored (not .txt .md .pdf .html)")

    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert len(report["unchanged"]) == 2 and report["ignored"] == 1
    assert {Path(s["path"]).name: s["reason"] for s in report["skipped"]} == {
        "locked": "cannot read folder: Permission denied", "up": f"symlink loop: leads back to {d}",
        "self": "symlink loop: too many levels of symbolic links",
        "gone.md": "dangling symlink: missing.md does not exist",
        "pipe.md": "not a regular file: a pipe, socket or device"}


# -- one index, two writers ---------------------------------------------------------------------------


def _corpus(folder: Path) -> list[Path]:
    return [write(folder / f"essay{i}.md", f"# Essay {i}\n\n" + f"Point {i} about policy option {i}. " * 80)
            for i in range(DOCS)]


def _expected_chunk_ids(files: list[Path]) -> set[str]:
    s = Settings.load()
    return {c.chunk_id for f in files
            for c in chunk_document(read_document(f, max_bytes=10**7), size=s.chunk_size, overlap=s.chunk_overlap)}


def _stored(index: Path) -> tuple[int, set[str], set[str]]:
    """Documents, chunk ids the rows promise, vector ids: read through the real store."""
    store = Store.open(index, embedder=Store.recorded_embedder(index) or "")
    try:
        return len(store.documents()), set(store.expected_ids()), store.vector_ids()
    finally:
        store.close()


@pytest.mark.integration
def test_two_ingests_on_one_index_take_turns_and_report_true_counts(tmp_path: Path) -> None:
    files = _corpus(tmp_path / "essays")
    index = tmp_path / "index"  # not made yet: both runs also race to create it
    hold = {"ASSISTANT_TEST_HOLD_LOCK": "6"}  # each sits on the lock for 6 s: the other must arrive meanwhile
    cmd = [sys.executable, "-m", "assistant", "--index", str(index), "ingest", str(tmp_path / "essays")]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                              env={**os.environ, **hold}) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outs]
    summaries = sorted(out.splitlines()[-1].split(";")[0] for out, _ in outs)
    assert summaries == [f"0 added, 0 replaced, {DOCS} unchanged", f"{DOCS} added, 0 replaced, 0 unchanged"]
    second = next(err for out, err in outs if out.splitlines()[-1].startswith("0 added"))
    assert f"waiting for another process writing to the index at {index} ..." in second

    docs, promised, vectors = _stored(index)
    assert docs == DOCS
    assert promised == vectors == _expected_chunk_ids(files)


@pytest.mark.integration
def test_a_writer_waits_for_the_lock_and_leaves_the_index_alone_meanwhile(tmp_path: Path) -> None:
    _corpus(tmp_path / "essays")
    index = tmp_path / "index"
    index.mkdir()
    err = tmp_path / "stderr.txt"
    with write_lock(index):  # another writer, as far as the CLI can tell
        with err.open("w") as stderr:
            proc = subprocess.Popen([sys.executable, "-m", "assistant", "--index", str(index), "ingest",
                                     str(tmp_path / "essays")], stdout=subprocess.PIPE, stderr=stderr,
                                    text=True, cwd=REPO)
        deadline = time.monotonic() + 120
        while "waiting for another process" not in err.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, err.read_text()
            time.sleep(0.1)
        time.sleep(1.0)
        assert proc.poll() is None
        assert err.read_text().splitlines() == [f"waiting for another process writing to the index at {index} ..."]
        assert not (index / "documents.sqlite").exists()
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.read_text()
    assert out.splitlines()[-1].startswith(f"{DOCS} added, 0 replaced, 0 unchanged")


def test_sync_sweeps_and_removes_while_holding_the_lock(fake_assistant: Assistant, tmp_path: Path) -> None:
    """A sweep outside the lock would delete another writer's pending vectors as orphans."""
    files = _corpus(tmp_path / "essays")
    fake_assistant.ingest([tmp_path / "essays"], show_progress=False)
    files[0].unlink()
    store = fake_assistant.store()
    free: list[tuple[str, bool]] = []  # (step, could another process take the lock then?)

    def probing(name: str):  # type: ignore[no-untyped-def]
        real = getattr(store, name)

        def step(*args: object) -> object:
            with write_lock(store.path, wait=False) as got:  # a second descriptor: as another process sees it
                free.append((name, got))
            return real(*args)

        return step

    for name in ("sweep", "remove"):
        setattr(store, name, probing(name))
    report = fake_assistant.sync(tmp_path / "essays", show_progress=False)
    assert len(report.unchanged) == DOCS - 1
    assert free == [("sweep", False), ("remove", False)]
    with sqlite3.connect(store.path / "documents.sqlite") as db:
        assert db.execute("SELECT count(*) FROM documents").fetchone()[0] == DOCS - 1


def test_a_sync_that_waited_for_the_lock_does_not_then_wait_for_itself(tmp_path: Path) -> None:
    """The open before the wait could not repair (the lock was taken), so the stamp is still missing."""
    folder = tmp_path / "essays"
    _corpus(folder)
    index = tmp_path / "index"
    first = Assistant(Settings.load(index_dir=index), embedder=FakeEmbedder())
    first.ingest([folder], show_progress=False)
    first.close()
    (index / "chroma" / "revision").unlink()  # as a crash mid-write leaves it
    second = Assistant(Settings.load(index_dir=index), embedder=FakeEmbedder())
    reports: list[object] = []
    worker = threading.Thread(target=lambda: reports.append(second.sync(folder, show_progress=False)), daemon=True)
    with write_lock(index):  # another writer while the sync opens the index
        worker.start()
        time.sleep(1.0)
    worker.join(timeout=60)
    assert not worker.is_alive(), "sync waits for its own lock"
    assert [len(r.unchanged) for r in reports] == [DOCS]  # type: ignore[attr-defined]
    assert (index / "chroma" / "revision").is_file()
