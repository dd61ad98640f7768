"""Citation verification against adversarial model output (scripted fake generator)."""

from __future__ import annotations

import pytest

from assistant import Assistant
from assistant.types import Chunk, Passage
from assistant.writing.cite import number_sentences, verify
from tests.fakes import FakeGenerator

DOC = "Remote work raised output. Offices cost money!\nManagers disagree.\nA second passage sentence here."


def _passages() -> list[Passage]:
    c1 = Chunk("d:0000", "d", "Essay", "/e.md", 0, 0, 65, DOC[0:65])
    c2 = Chunk("d:0001", "d", "Essay", "/e.md", 1, 66, len(DOC), DOC[66:])
    return [Passage(c1, 1.0, 1), Passage(c2, 0.9, 2)]


def _check(refs: object, doc: str = DOC):
    ps = _passages()
    return verify(refs, number_sentences(ps), ps, lambda _doc_id: doc)


def test_sentences_are_verbatim_spans_with_document_offsets() -> None:
    ps = _passages()
    sents = number_sentences(ps)
    assert [s.sid for s in sents] == ["S1", "S2", "S3", "S4"]
    assert [s.passage for s in sents] == [1, 1, 1, 2]
    assert all(DOC[s.start:s.end] == s.text for s in sents)


def test_valid_sentence_ids_verify_with_offsets() -> None:
    (q,) = _check(["S2"])
    assert q.verified and q.text == "Offices cost money!" and DOC[q.start:q.end] == q.text and q.passage == 1


@pytest.mark.parametrize(
    ("refs", "reason"),
    [
        (["S9"], "not given for this request"),
        (["[9]"], "not given for this request"),
        (["P3: Remote work raised output."], "P3 was not given"),
        (["P1: Remote work raised productivity."], "does not appear verbatim in P1"),  # altered quote
        (["P1: money!\nManagers disagree.\nA second passage"], "does not appear verbatim in P1"),  # spans passages
        (["P1: work"], "too short"),
        ([42], "not a citation"),
        ([{"id": "S1"}], "not a citation"),
    ],
)
def test_bad_references_fail_with_a_reason(refs: list[object], reason: str) -> None:
    (q,) = _check(refs)
    assert not q.verified and reason in q.reason


def test_free_text_quote_verifies_when_verbatim() -> None:
    (q,) = _check(["P2: A second passage sentence"])
    assert q.verified and DOC[q.start:q.end] == "A second passage sentence"


def test_changed_store_text_fails_verification() -> None:
    tampered = DOC.replace("raised", "lowered")
    (q,) = _check(["S1"], doc=tampered)
    assert not q.verified and "differs from the source" in q.reason


def test_duplicates_collapse_and_non_lists_are_handled() -> None:
    assert len(_check(["S1", "S1"])) == 1
    assert _check(None) == () and len(_check("S1")) == 1


# -- request checks shared by every mode: real embedder and store, scripted model -------------
# The modes' adversarial tests (ids, grammar, gates) are in tests/test_staged.py.


@pytest.fixture
def scripted(seeded_assistant: Assistant) -> tuple[Assistant, FakeGenerator]:
    gen = FakeGenerator()
    seeded_assistant._generator = gen
    return seeded_assistant, gen


def test_uncovered_question_skips_the_model(scripted: tuple[Assistant, FakeGenerator]) -> None:
    a, gen = scripted
    ans = a.ask("What is the best recipe for sourdough bread with rye flour?")
    assert not ans.covered and gen.calls == [] and "do not cover" in ans.notices[-1]


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_empty_requests_are_refused(scripted: tuple[Assistant, FakeGenerator], text: str) -> None:
    from assistant.errors import InputError

    a, gen = scripted
    with pytest.raises(InputError, match="empty brief request"):
        a.brief(text)
    assert gen.calls == []


def test_long_request_is_trimmed_with_notice(scripted: tuple[Assistant, FakeGenerator]) -> None:
    a, gen = scripted
    ans = a.steelman("remote work is good " * 200)
    assert len(ans.request) <= 600 and any("trimmed" in n for n in ans.notices)


def test_small_context_drops_passages_with_notice(scripted: tuple[Assistant, FakeGenerator]) -> None:
    a, gen = scripted
    gen.n_ctx = 1000  # the staged prompt holds the nearest sentences only: a small window to overflow
    ans = a.ask("Does working from home hurt productivity?")
    assert 0 < len(ans.passages) < 6 and any("fit the model's context window" in n for n in ans.notices)
