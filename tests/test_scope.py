"""Scoped research: --doc limits dense (Chroma where filter) and lexical retrieval, and every mode."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant import Assistant
from assistant.errors import InputError
from tests.library_support import citing_assistant, run_cli

pytestmark = pytest.mark.integration
ESSAY = "homeward-bound.md"


def test_search_in_scope_on_the_real_chroma(seeded_assistant: Assistant) -> None:
    home = seeded_assistant.find(ESSAY).doc_id
    for variant in ("dense", "lexical", "hybrid"):
        hits = seeded_assistant.search("AI offshoring of remote jobs", 8, variant=variant, docs=[ESSAY])
        assert hits and {p.chunk.doc_id for p in hits} == {home}, variant
    everything = seeded_assistant.search("AI offshoring of remote jobs", 8)
    assert len({p.chunk.doc_id for p in everything}) > 1  # the question is not about that essay
    vector = seeded_assistant.embedder.embed_query("productivity")
    assert {c.doc_id for c, _ in seeded_assistant.store().query(vector, 5, doc_ids=[home])} == {home}


def test_brief_in_scope_cites_only_that_essay(seeded_index: Path, tmp_path: Path, real_embedder) -> None:  # type: ignore[no-untyped-def]
    a = citing_assistant(seeded_index, tmp_path, real_embedder)
    home = a.find(ESSAY).doc_id
    answer = a.brief("Remote work makes companies more productive in the age of AI", docs=[ESSAY])
    assert answer.verified_count >= 2
    assert {p.chunk.doc_id for p in answer.passages} == {home}
    assert {q.doc_id for q in answer.quotes if q.verified} == {home}
    assert a.history().load(a.last_saved or 0).settings["doc_ids"] == [home]


def test_bad_scopes_are_input_errors(seeded_assistant: Assistant) -> None:
    with pytest.raises(InputError, match="empty scope"):
        seeded_assistant.search("remote work", docs=[])
    with pytest.raises(InputError, match="no document matches 'nope.md'"):
        seeded_assistant.search("remote work", docs=[ESSAY, "nope.md"])


def test_cli_scope_and_errors(seeded_assistant: Assistant, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_INDEX", str(seeded_assistant.settings.index_dir))
    code, out, _ = run_cli("search", "office mandates", "--doc", ESSAY, "--doc", "Homeward Bound", "--json")
    assert code == 0 and {Path(p["source"]).name for p in json.loads(out)["passages"]} == {ESSAY}
    code, out, err = run_cli("search", "office", "--doc", "nope.md")
    assert code == 2 and err.startswith("error: no document matches") and err.count("\n") == 1 and not out
    code, out, err = run_cli("--model", "no-such-model", "brief", "x", "--doc", "nope.md")
    assert code == 2 and "no document matches" in err  # checked before the model is looked up


@pytest.mark.slow
def test_cli_brief_with_the_tiny_model_in_scope_to_docx(seeded_assistant: Assistant, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_INDEX", str(seeded_assistant.settings.index_dir))
    out_file = tmp_path / "brief.docx"
    code, out, err = run_cli("--model", "test", "brief", "Remote work makes companies more productive",
                             "--doc", ESSAY, "--out", str(out_file), "--json", "--k", "3", "--max-tokens", "150")
    assert code == 0, err
    data = json.loads(out)
    assert {Path(p["source"]).name for p in data["passages"]} == {ESSAY}
    assert all(Path(p["source"]).name == ESSAY for p in data["passages"])
    assert out_file.stat().st_size > 1000 and "saved as #1" in err
