"""Every bad input through the real CLI: one line on stderr, the right exit code, the index untouched.

Exit 2 is bad input (a file, a flag, a path the user gave), 1 an environment or index problem.
"Untouched" is checked three ways after each case: the document rows, the vector ids, and the
lexical index's view (chunk id and text of every chunk it is built from).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from assistant.index.store import Store
from tests.conftest import REPO, SEEDS, write
from tests.docs_factory import make_pdf

pytestmark = pytest.mark.integration

IDENTITY = "sentence-transformers/all-MiniLM-L6-v2"
GOOD = "# Good essay\n\nRemote work lets teams hire across time zones. Output held steady.\n"


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[Path, Path], list[str]]  # (tmp dir, index) -> CLI arguments
    code: int
    says: str  # a fragment the one error line must contain


def _file(name: str, content: bytes | str) -> Callable[[Path, Path], list[str]]:
    return lambda tmp, _ix: ["ingest", str(write(tmp / name, content))]


def _aes_pdf() -> bytes:
    """A PDF whose trailer declares AES-256 (V5/R6) encryption, as Acrobat writes them."""
    pdf = make_pdf(["Secret text"])
    head, _, tail = pdf.rpartition(b"trailer\n")
    enc = (b"<< /Filter /Standard /V 5 /R 6 /Length 256 /P -1028 /O <" + b"11" * 48 + b"> /U <" + b"22" * 48
           + b"> /OE <" + b"33" * 32 + b"> /UE <" + b"44" * 32 + b"> /Perms <" + b"55" * 16 + b"> "
           b"/CF << /StdCF << /AuthEvent /DocOpen /CFM /AESV3 /Length 32 >> >> /StmF /StdCF /StrF /StdCF >>")
    return head + b"trailer\n" + tail.replace(b"/Root 1 0 R", b"/Root 1 0 R /Encrypt " + enc + b" /ID [<"
                                              + b"ab" * 16 + b"> <" + b"ab" * 16 + b">]")


def _password_pdf() -> bytes:
    import io

    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(make_pdf(["Locked text"]))))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _fifo(tmp: Path, _ix: Path) -> list[str]:
    os.mkfifo(tmp / "pipe.txt")
    return ["ingest", str(tmp / "pipe.txt")]


def _mixed_folder(tmp: Path, _ix: Path) -> list[str]:
    write(tmp / "folder" / "good.md", GOOD)
    write(tmp / "folder" / "empty.txt", "")
    write(tmp / "folder" / "nul.txt", "text " * 10 + "\x00")
    write(tmp / "folder" / "locked.pdf", _aes_pdf())
    return ["ingest", str(tmp / "folder")]


def _arguana_latin1(tmp: Path, _ix: Path) -> list[str]:
    return ["eval", "arguana", str(write(tmp / "points.jsonl", '{"point": "caf\xe9"}\n'.encode("latin-1")))]


def _out(target: str) -> Callable[[Path, Path], list[str]]:
    return lambda tmp, _ix: ["ask", "Is remote work productive?", "--out", target.format(tmp=tmp)]


CASES = [
    Case("aes-encrypted PDF", _file("aes.pdf", _aes_pdf()), 2, "encrypted PDF"),
    Case("password PDF", _file("locked.pdf", _password_pdf()), 2, "encrypted PDF"),
    Case("damaged PDF warns nothing extra", _file("broken.pdf", make_pdf(["Body"])[:-60]), 2, "PDF"),
    Case("UTF-16 odd byte count", _file("odd.txt", b"\xff\xfe" + "Hello".encode("utf-16-le") + b"\x41"), 2,
         "cannot decode UTF-16"),
    Case("UTF-16 lone surrogate", _file("surrogate.txt", b"\xff\xfe" + "Hi ".encode("utf-16-le") + b"\x00\xd8"
                                        + " there".encode("utf-16-le")), 2, "UTF-16"),
    Case("NUL after 8 KB", _file("late-nul.txt", "word " * 3000 + "\x00 end\n"), 2, "NUL byte at offset 15000"),
    Case("NUL in UTF-16", _file("nul16.txt", b"\xff\xfe" + "a\x00b text".encode("utf-16-le")), 2, "NUL"),
    Case("file name too long", lambda tmp, _ix: ["ingest", str(tmp / ("x" * 300 + ".txt"))], 2, "name too long"),
    Case("FIFO", _fifo, 2, "named pipe"),
    Case("/dev/null", lambda _t, _ix: ["ingest", "/dev/null"], 2, "character device"),
    Case("folder given as a file type", lambda tmp, _ix: ["ingest", str(tmp / "missing.md")], 2, "no such file"),
    Case("unsupported type", _file("data.csv", "a,b\n"), 2, "unsupported file type .csv"),
    Case("folder with three bad files", _mixed_folder, 2, "3 of 4 files cannot be ingested, so nothing was stored"),
    Case("index path is a regular file", lambda tmp, _ix: ["--index", str(write(tmp / "ixfile", "x")), "docs"], 2,
         "index path is not a folder"),
    Case("no index yet", lambda tmp, _ix: ["--index", str(tmp / "none"), "docs"], 1, "no index at"),
    Case("eval arguana: not UTF-8", _arguana_latin1, 2, "not UTF-8"),
    Case("eval arguana: a folder", lambda tmp, _ix: ["eval", "arguana", str(tmp)], 2, "is a folder"),
    Case("--embedder unknown", lambda _t, _ix: ["--embedder", "no-such-model", "docs"], 2, "unknown embedder"),
    Case("--out in a missing folder", _out("{tmp}/nowhere/brief.md"), 2, "does not exist"),
    Case("--out is a folder", _out("{tmp}"), 2, "is a folder"),
    Case("empty query", lambda _t, _ix: ["search", " "], 2, "empty query"),
]


def _view(index: Path) -> tuple[object, ...]:
    """Documents, vector ids and the lexical index's input, read straight from the store."""
    store = Store.open(index, embedder=IDENTITY)
    try:
        docs = [(d.doc_id, d.chunks, d.chars) for d in store.documents()]
        return docs, sorted(store.vector_ids()), [(c.chunk_id, c.text) for c in store.chunks()]
    finally:
        store.close()


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory, seeded_index: Path) -> Path:
    path = tmp_path_factory.mktemp("bad-input") / "index"
    shutil.copytree(seeded_index, path)
    return path


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_one_line_and_changes_nothing(case: Case, index: Path, tmp_path: Path) -> None:
    before = _view(index)
    args = case.make(tmp_path, index)
    proc = subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True, text=True,
                          env={**os.environ, "ASSISTANT_INDEX": str(index)}, cwd=REPO, timeout=120)
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert case.says in lines[0] and proc.returncode == case.code, (proc.returncode, lines[0])
    assert proc.stdout == ""
    assert _view(index) == before


def test_failed_first_ingest_leaves_no_index_behind(tmp_path: Path) -> None:
    index = tmp_path / "new-index"
    bad = write(tmp_path / "bad.txt", "")
    proc = subprocess.run([sys.executable, "-m", "assistant", "ingest", str(bad)], capture_output=True, text=True,
                          env={**os.environ, "ASSISTANT_INDEX": str(index)}, cwd=REPO, timeout=120)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and not index.exists()


def test_embedder_flag_works_like_the_environment_variable(index: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "assistant", "--embedder", "all-MiniLM-L6-v2", "docs"],
                          capture_output=True, text=True, env={**os.environ, "ASSISTANT_INDEX": str(index)},
                          cwd=REPO, timeout=120)
    assert proc.returncode == 0 and "Homeward Bound" in proc.stdout, proc.stderr


def test_one_size_limit_in_one_unit(tmp_path: Path) -> None:
    from assistant import Settings
    from assistant.errors import InputError
    from assistant.index.corpus import read_document

    settings = Settings.load(max_file_mb=0.001)
    assert settings.max_file_bytes == 1000
    with pytest.raises(InputError, match=r"0\.0 MB > 0\.001 MB limit"):
        read_document(write(tmp_path / "big.txt", "x" * 1001), max_bytes=settings.max_file_bytes)
    assert SEEDS.is_dir()
