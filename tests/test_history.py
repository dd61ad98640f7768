"""The answer library: saved answers survive a restart, re-render after their sources change."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant import Assistant, Settings
from assistant.errors import InputError
from assistant.output.cards import SOURCE_CHANGED
from assistant.output.history import answer_from_dict, parse_id
from assistant.output.render import answer_dict
from assistant.types import Answer, Chunk, Clash, Gates, KeyTerm, Passage, Point, Quote, Timings
from tests.library_support import citing_assistant, run_cli

pytestmark = pytest.mark.integration
MOTION = "Remote work makes companies more productive"


def test_answer_from_dict_inverts_answer_dict() -> None:
    chunk = Chunk("c1", "d1", "T", "/x/t.md", 2, 10, 30, "Remote work raised output.")
    q = Quote("S1", True, "", 1, "c1", "d1", "T", 10, 36, "Remote work raised output.", "support")
    answer = Answer("brief", "m", "model", (Passage(chunk, 0.5, 1, 0.7, None),),
                    (Point("for", "c", "r", (q, Quote("S7", False, "not shown")), "", ()),
                     Point("objection", "o", "", (), "reply", (q,))),
                    True, ("note",), Timings(12.3, 100, 456.7, 40, 2.0, 3000.0),
                    key_terms=(KeyTerm("t", "d"),), clashes=(Clash("i", "x"),), gaps=("g",), thesis="th",
                    assumptions=("a",), speech="sp", gates=Gates(duplicate_dropped=2))
    data = answer_dict(answer)
    back = answer_from_dict(data)
    assert answer_dict(back) == data
    assert back.points == answer.points and back.passages == answer.passages and back.gates == answer.gates
    assert back.timings.generation_s == pytest.approx(2.0)


def test_history_survives_a_restart_and_forget_deletes(seeded_index: Path, tmp_path: Path, real_embedder) -> None:  # type: ignore[no-untyped-def]
    first = citing_assistant(seeded_index, tmp_path, real_embedder)
    answer = first.brief(MOTION, docs=None)
    hid = first.last_saved
    assert hid is not None
    first.close()

    again = Assistant(Settings.load(index_dir=first.settings.index_dir), embedder=real_embedder)
    assert [e.id for e in again.history().entries()] == [hid]
    saved = again.saved(hid)
    assert answer_dict(saved.answer) == answer_dict(answer)
    assert saved.settings["k"] == again.settings.k and saved.documents  # provenance snapshot kept
    assert again.history().forget(f"#{hid}").id == hid
    with pytest.raises(InputError, match=f"no saved answer #{hid}"):
        again.saved(hid)


def test_removed_source_marks_quotes_but_keeps_them(seeded_index: Path, tmp_path: Path, real_embedder) -> None:  # type: ignore[no-untyped-def]
    import docx

    a = citing_assistant(seeded_index, tmp_path, real_embedder)
    answer = a.brief(MOTION)
    cited = next(q for q in answer.quotes if q.verified)
    a.remove(cited.doc_id)
    saved = a.saved(a.last_saved or 0)
    marked = [q for q in saved.answer.quotes if q.doc_id == cited.doc_id and q.verified]
    assert marked and all(q.reason == SOURCE_CHANGED and q.text for q in marked)
    others = [q for q in saved.answer.quotes if q.verified and q.doc_id != cited.doc_id]
    assert all(q.reason == "" for q in others)
    assert any("Source changed" in n and "removed" in n for n in saved.answer.notices)
    assert a.saved_lookup(saved)(cited.doc_id) is not None  # the snapshot still gives the cite
    from assistant.output.export import export

    out = export(saved.answer, tmp_path / "old.docx", documents=a.saved_lookup(saved))
    text = "\n".join(p.text for p in docx.Document(str(out)).paragraphs)
    assert "source changed since this answer was saved" in text and cited.text in text


def test_history_can_be_turned_off(seeded_index: Path, tmp_path: Path, real_embedder) -> None:  # type: ignore[no-untyped-def]
    a = citing_assistant(seeded_index, tmp_path, real_embedder, save_history=False)
    a.ask("Does working from home hurt productivity?")
    assert a.last_saved is None and a.history().entries() == []


def test_cli_history_show_forget_and_bad_ids(seeded_index: Path, tmp_path: Path, real_embedder,  # type: ignore[no-untyped-def]
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    a = citing_assistant(seeded_index, tmp_path, real_embedder)
    a.brief(MOTION)
    hid = a.last_saved
    a.close()
    monkeypatch.setenv("ASSISTANT_INDEX", str(a.settings.index_dir))
    code, out, _ = run_cli("history")
    assert code == 0 and f"#{hid}" in out and MOTION in out
    code, out, _ = run_cli("show", str(hid))
    assert code == 0 and "# Debate brief: " + MOTION in out
    code, _, err = run_cli("show", str(hid), "--out", str(tmp_path / "b.docx"))
    assert code == 0 and (tmp_path / "b.docx").stat().st_size > 1000
    for args in (("show", "999"), ("show", "abc"), ("forget", "999"), ("show", str(hid), "--out", "x.rtf")):
        code, out, err = run_cli(*args)
        assert code == 2 and err.startswith("error: ") and err.count("\n") == 1 and not out, args
    assert run_cli("forget", str(hid))[0] == 0
    assert "No saved answers" in run_cli("history")[1]


def test_parse_id() -> None:
    assert parse_id("#12") == parse_id(" 12 ") == parse_id(12) == 12
    with pytest.raises(InputError):
        parse_id("0")

