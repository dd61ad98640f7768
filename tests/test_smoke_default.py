"""Smoke tests of every mode on the default model (Qwen2.5-Coder-1.5B): slow, still run in CI."""

from __future__ import annotations

import pytest

from assistant import Assistant

pytestmark = [pytest.mark.slow, pytest.mark.integration]


@pytest.fixture(scope="module")
def default_assistant(seeded_index, real_embedder) -> Assistant:  # type: ignore[no-untyped-def]
    from assistant import Settings

    a = Assistant(Settings.load(index_dir=seeded_index, model="default", temperature=0.0), embedder=real_embedder)
    return a


def _all_verified(a: Assistant, ans) -> None:  # type: ignore[no-untyped-def]
    assert ans.verified_count > 0, ans
    assert ans.rejected_count == 0
    for q in ans.quotes:
        assert a.document(q.doc_id).text[q.start:q.end] == q.text


def test_brief_has_both_sides_with_verified_evidence(default_assistant: Assistant) -> None:
    ans = default_assistant.brief("Remote work makes companies more productive in the age of AI")
    _all_verified(default_assistant, ans)
    sides = {p.section for p in ans.points if p.verified_quotes}
    assert sides == {"for", "against"}, [(p.section, p.text) for p in ans.points]
    assert ans.clashes


def test_ask_answers_with_citations(default_assistant: Assistant) -> None:
    ans = default_assistant.ask("What reasons does the essay give for the UK's productivity gap?")
    _all_verified(default_assistant, ans)
    assert ans.covered and ans.points


def test_steelman_and_rebut(default_assistant: Assistant) -> None:
    s = default_assistant.steelman("Companies should bring staff back to the office")
    _all_verified(default_assistant, s)
    assert s.thesis and any(p.section == "reason" for p in s.points)
    r = default_assistant.rebut("Working from home is not proper work")
    _all_verified(default_assistant, r)
    assert r.speech and any(p.section == "weak_point" for p in r.points)
