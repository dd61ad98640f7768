"""Key points in the model's words (writing/wording.py): kept only when every check passes, else the clause.

Measured and not used by the overview (docs/evaluation.md); ``assistant eval kpa --word`` runs it. Unit tests
with a scripted model (``Worder``: it words each phrase by a rule the test gives, and answers the faithfulness
check by another) and the real embedder.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable

import pytest

from assistant.writing import prompts, wording
from tests.conftest import REPO
from tests.fakes import FakeGenerator, FakeStanceGenerator
from tests.test_overview import stance_of

GROUPS = [wording.Group("The increase in distributed work capabilities",
                        ("The increase in distributed work capabilities",
                         "Distributed teams now have the tools to work well apart.")),
          wording.Group("customers stopped coming after the car ban",
                        ("Shopkeepers reported that customers stopped coming after the car ban.",))]
TOPIC = "Remote work makes companies more productive"


class Worder(FakeStanceGenerator):
    """Words each key point phrase by ``word(phrase)``; the faithfulness check says yes with ``p_yes(tag)``."""

    def __init__(self, word: Callable[[str], str], p_yes: Callable[[str], float] = lambda tag: 0.9,
                 stance=stance_of) -> None:  # type: ignore[no-untyped-def]
        super().__init__(stance)
        self.word, self.p_yes = word, p_yes
        self.checked: list[str] = []

    def generate(self, messages, *, schema=None, max_tokens=512, temperature=0.2, on_token=None):  # type: ignore[no-untyped-def]
        phrases = re.findall(r'^(k\d+): phrase "(.*?)" \| sentences:', messages[-1]["content"], re.M)
        if phrases:
            self.replies.insert(0, json.dumps({k: self.word(p) for k, p in phrases}))
        return super().generate(messages, schema=schema, max_tokens=max_tokens, temperature=temperature,
                                on_token=on_token)

    def label_logprobs(self, messages, tails, labels, on_progress=None):  # type: ignore[no-untyped-def]
        if labels != [" yes", " no"]:
            return super().label_logprobs(messages, tails, labels, on_progress)
        tags = [re.search(r'^Tag: "(.*)"$', t, re.M).group(1) for t in tails]
        self.checked += tags
        return [{" yes": math.log(self.p_yes(t)), " no": math.log(1 - self.p_yes(t))} for t in tags]


def _settle(model, embedder) -> list[wording.Wording]:  # type: ignore[no-untyped-def]
    render = lambda name, **v: prompts.render(REPO / "prompts", name, **v)  # noqa: E731
    return wording.settle(model, render, embedder.embed, GROUPS, TOPIC,
                          prompts.instructions(REPO / "prompts", "keypoint_word"))


def test_a_wording_that_passes_is_shown_and_checked_against_the_clauses_sentence(real_embedder) -> None:  # type: ignore[no-untyped-def]
    claims = {"The increase in distributed work capabilities": "Distributed work capabilities are increasing.",
              "customers stopped coming after the car ban": "Shops lost customers after the car ban"}
    model = Worder(lambda p: claims[p])
    out = _settle(model, real_embedder)
    assert [w.text for w in out] == ["Distributed work capabilities are increasing",
                                     "Shops lost customers after the car ban"]
    assert all(w.worded and w.p_yes == pytest.approx(0.9) for w in out)
    assert [w.clause for w in out] == [g.clause for g in GROUPS]
    assert model.checked == list(claims.values())  # every wording went through the faithfulness check


@pytest.mark.parametrize(("draft", "p_yes", "reason"), [
    ("Distributed work capabilities are increasing.", 0.2, "unfaithful"),
    ("", 0.9, "empty"),
    ("Distributed work capabilities keep increasing across every kind of firm and every industry today", 0.9,
     "too long"),
    ("Distributed work capabilities are increasing and the", 0.9, "unfinished"),
    ("Remote work makes companies more productive.", 0.9, "restates"),
    ("Write that point as one plain claim about work", 0.9, "echo"),
    ("分布式工作能力正在提高", 0.9, "script"),
])
def test_a_refused_wording_leaves_the_clause(real_embedder, draft: str, p_yes: float, reason: str) -> None:  # type: ignore[no-untyped-def]
    model = Worder(lambda p: draft if p.startswith("The increase") else "Shops lost customers after the car ban",
                   p_yes=lambda tag: p_yes if tag == draft else 0.9)
    first, second = _settle(model, real_embedder)
    assert (first.text, first.failed, first.worded) == (GROUPS[0].clause, reason, False)
    assert second.worded  # one refusal does not spill over to the other key point


def test_two_key_points_worded_alike_stay_two(real_embedder) -> None:  # type: ignore[no-untyped-def]
    model = Worder(lambda p: "Car bans cost shops their customers")
    first, second = _settle(model, real_embedder)
    assert first.worded and (second.text, second.failed) == (GROUPS[1].clause, "duplicate")


def test_a_model_that_cannot_check_keeps_every_clause(real_embedder) -> None:  # type: ignore[no-untyped-def]
    model = FakeGenerator()  # no log-probabilities: a model server
    out = _settle(model, real_embedder)
    assert [(w.text, w.failed) for w in out] == [(g.clause, "unchecked") for g in GROUPS]
    assert model.calls == []  # nothing asked that nothing could check
