"""Property-based: random bytes, encodings, file names and CLI arguments never crash the CLI.

Hypothesis writes files of random content (raw bytes; text in UTF-8, UTF-16 with a BOM, Windows-1252,
Latin-1; NUL and control characters; HTML and PDF-looking headers) under random names, and builds
random argument lists for the commands that need no model. Each example runs the real CLI entry point
(``assistant.app.cli.main``, in process: a subprocess per example would take minutes) on a copy of the
seeded index with the real embedder and Chroma, and asserts:

- the exit code is 0 or 2 (argparse's own exits included), never a Python exception;
- a failure prints exactly one ``error:`` line and changes nothing in the index;
- a success prints no traceback.

Commands that run the model (ask, brief, ...) take part only with arguments that fail before it
loads; their full runs are covered by tests/test_llm*.py and tests/test_smoke_default.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.app.cli import main
from assistant.index.store import Store

pytestmark = pytest.mark.integration

IDENTITY = "sentence-transformers/all-MiniLM-L6-v2"
SUFFIXES = [".txt", ".md", ".html", ".htm", ".pdf", ".markdown", ".csv", "", ".TXT", ".md.bak"]
ENCODINGS = ["utf-8", "utf-16", "cp1252", "latin-1"]
LIMITS = settings(max_examples=30, deadline=None, derandomize=True,
                  suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _view(index: Path) -> tuple[object, ...]:
    """Documents, vector ids and history ids, read straight from the store."""
    import sqlite3

    store = Store.open(index, embedder=IDENTITY)
    try:
        docs = sorted((d.doc_id, d.chunks, d.chars, d.title) for d in store.documents())
        vectors = sorted(store.vector_ids())
    finally:
        store.close()
    with sqlite3.connect(index / "documents.sqlite") as db:
        history = db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'history'").fetchone()[0]
        saved = db.execute("SELECT id FROM history").fetchall() if history else []
    return docs, vectors, saved


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        code = exc.code if isinstance(exc.code, int) else 2
    out, err = capsys.readouterr()
    return code, out, err


def _check(argv: list[str], index: Path, capsys: pytest.CaptureFixture[str]) -> int:
    before = _view(index)
    code, out, err = _run(argv, capsys)
    assert "Traceback" not in err and "Traceback" not in out, (argv, err)
    assert code in (0, 2), (argv, code, err)
    if code != 0:
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), (argv, err)
        assert _view(index) == before, argv
    return code


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory, seeded_index: Path) -> Path:
    path = tmp_path_factory.mktemp("properties") / "index"
    shutil.copytree(seeded_index, path)
    return path


names = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"), min_size=1,
                max_size=80).filter(lambda s: s not in (".", ".."))
texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=400)
headers = st.sampled_from([b"", b"%PDF-1.4\n", b"<html><head><title>", b"---\ntitle: ", b"\xff\xfe", b"\xef\xbb\xbf"])


@st.composite
def contents(draw: st.DrawFn) -> bytes:
    """Random file content: raw bytes, or random text in a random encoding, behind a random header."""
    if draw(st.booleans()):
        body = draw(st.binary(max_size=600))
    else:
        body = draw(texts).encode(draw(st.sampled_from(ENCODINGS)), errors="replace")
    return draw(headers) + body


@given(name=names, suffix=st.sampled_from(SUFFIXES), data=contents())
@LIMITS
def test_ingesting_random_files_is_exit_0_or_2_and_changes_nothing_on_failure(
        name: str, suffix: str, data: bytes, index: Path, tmp_path_factory: pytest.TempPathFactory,
        capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path_factory.mktemp("random-file")
    try:
        path = folder / (name + suffix)
        path.write_bytes(data)
    except (OSError, ValueError):  # a name the file system refuses: nothing to ingest
        return
    _check(["--index", str(index), "ingest", str(path)], index, capsys)


WORDS = st.sampled_from(["", " ", "-", "--", "abc", "0", "-1", "1e9", "nan", "999999", "#1", "../x", "/dev/null",
                         "/proc/self/mem", "seeds", "\x1b[31m", "é", "💥", "x" * 300, "a\nb", "--json", "--k",
                         "--doc", "--out", "--help-me", "--repair", "--limit", "--retrieval", "lexical", "dense"])
ARGS = st.lists(st.one_of(WORDS, st.text(max_size=30)), max_size=6)
COMMANDS = ["search", "docs", "check", "history", "show", "forget", "remove", "meta", "models", "eval",
            "ingest", "ask", "brief", "steelman", "rebut", "nope", ""]


@given(command=st.sampled_from(COMMANDS), args=ARGS)
@LIMITS
def test_random_cli_arguments_are_exit_0_or_2_and_change_nothing_on_failure(
        command: str, args: list[str], index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--index", str(index), *([command] if command else []), *args]
    if command in ("ask", "brief", "steelman", "rebut", "eval", "ingest") and "--help" not in args:
        # only the arguments that fail before any model, evaluation or file work
        argv += ["--k", "0"] if command != "ingest" else ["/nonexistent/\x00"]
    if command in ("models",) and args[:1] in (["verify"], ["embedder"]):
        return  # real set-up work (sha256 of 1.7 GB, an ONNX export): not a property to hammer
    _check(argv, index, capsys)
