"""The staged path on the real seeds index with a scripted model: structure, stance and every gate.

The scripted model ignores grammars on purpose (it returns whatever the test
queues), so these tests show that code, not the prompt or the grammar, keeps
evidence on its side, unique, and out of the prose.
"""

from __future__ import annotations

import re

import pytest

from assistant import Assistant
from assistant.events import Draft, Finished, SourcesFound, StepStarted
from tests.fakes import FakeStanceGenerator

MOTION = "Remote work makes companies more productive"
PRO = re.compile(r"productiv|force multiplier|net positive|autonomy|Bloom|flexib", re.I)
CON = re.compile(r"offshor|training|hand.holding|distract|not proper work|decline|Rose", re.I)


def _stance(text: str) -> str:
    if CON.search(text):
        return "oppose"
    return "support" if PRO.search(text) else "neutral"


@pytest.fixture
def staged(seeded_assistant: Assistant) -> tuple[Assistant, FakeStanceGenerator]:
    gen = FakeStanceGenerator(_stance)
    seeded_assistant._generator = gen
    return seeded_assistant, gen


def _enums(schema: dict) -> dict[str, list[str]]:  # type: ignore[type-arg]
    return {k: v["properties"]["evidence"]["items"]["enum"] for k, v in schema["properties"].items()}


def _sentences(call: dict) -> dict[str, str]:  # type: ignore[type-arg]
    return dict(re.findall(r"^(S\d+) (.*)$", call["messages"][1]["content"], re.M))


def _side_reply(schema: dict, claims: list[str], evidence: str = "first") -> dict:  # type: ignore[type-arg]
    out = {}
    for (key, ids), claim in zip(_enums(schema).items(), claims, strict=False):
        out[key] = {"evidence": ids[:1] if evidence == "first" else evidence, "claim": claim}
    return out


def _tags(schema: dict, messages: list[dict[str, str]]) -> list[str]:  # type: ignore[type-arg]
    """Tags a careful model would write: the words of each group's first sentence."""
    quoted = dict(re.findall(r'(S\d+) "([^"]*)"', messages[-1]["content"]))
    return [" ".join(quoted[ids[0]].split()[:12]) for ids in _enums(schema).values()]


@pytest.fixture
def any_tag(monkeypatch: pytest.MonkeyPatch) -> None:
    """For tests of the other gates: scripted tags need not share words with their sentences."""
    monkeypatch.setattr("assistant.writing.gates.grounded", lambda tag, evidence: True)


FRAME = {"key_terms": [{"term": "productive", "definition": "more output per hour worked"}],
         "clashes": [{"for": "F1", "against": "A1", "decider": "Which studies measure output"}], "gaps": []}


def test_brief_sides_come_from_stance_and_evidence_is_never_reused(staged) -> None:  # type: ignore[no-untyped-def]
    a, gen = staged

    def generate(messages, *, schema=None, **kw):  # type: ignore[no-untyped-def]
        if schema and "a1" in schema["properties"]:
            gen.enqueue(_side_reply(schema, _tags(schema, messages)))
        elif schema:
            gen.enqueue(FRAME)
        return type(gen).generate(gen, messages, schema=schema, **kw)

    gen.generate = generate  # type: ignore[method-assign]
    ans = a.brief(MOTION)
    sides = {p.section for p in ans.points if p.verified_quotes}
    assert sides == {"for", "against"}
    step_calls = [c for c in gen.calls if c["schema"] and "a1" in c["schema"]["properties"]]  # type: ignore[operator]
    for_ids, against_ids = (set().union(*_enums(c["schema"]).values()) for c in step_calls)  # type: ignore[arg-type]
    text = _sentences(step_calls[0])
    assert for_ids and all(_stance(text[i]) == "support" for i in for_ids)
    assert against_ids and all(_stance(text[i]) == "oppose" for i in against_ids)
    cited = [(q.doc_id, q.start) for q in ans.quotes if q.verified]
    assert len(cited) == len(set(cited)) and ans.gates.evidence_reused == 0
    for p in ans.points:
        want = "support" if p.section == "for" else "oppose"
        assert all(q.stance == want for q in p.verified_quotes), p
    assert len({q.passage for q in ans.quotes if q.verified}) >= 3
    assert ans.key_terms and ans.clashes and ans.covered


def test_every_step_shares_the_sources_prefix(staged) -> None:  # type: ignore[no-untyped-def]
    a, gen = staged
    for _ in range(3):
        gen.enqueue({})
    a.brief(MOTION)
    bodies = [c["messages"][1]["content"] for c in gen.calls  # type: ignore[index]
              if not c["messages"][1]["content"].startswith("TASK: Write the opposite")]  # type: ignore[index]
    prefix = bodies[0][: bodies[0].index("TASK:")]
    assert len(bodies) >= 2 and all(b.startswith(prefix) for b in bodies) and len(prefix) > 500
    assert all(c["messages"][0] == gen.calls[0]["messages"][0] for c in gen.calls)  # type: ignore[index]


def test_gates_drop_restated_duplicate_and_id_talk(staged, any_tag) -> None:  # type: ignore[no-untyped-def]
    a, gen = staged
    replies = iter([
        [MOTION + ".", "Home working lets staff focus (S3, S4).", "Home working lets staff focus."],
        ["The evidence for this claim is in the sources S16, S17.", "S1, S2, S3", "P3"],
    ])

    def generate(messages, *, schema=None, **kw):  # type: ignore[no-untyped-def]
        if schema and "a1" in schema["properties"]:
            gen.enqueue(_side_reply(schema, next(replies)))
        elif schema:
            gen.enqueue({**FRAME, "gaps": ["More data (S2) would help, as shown in the sources."]})
        return type(gen).generate(gen, messages, schema=schema, **kw)

    gen.generate = generate  # type: ignore[method-assign]
    ans = a.brief(MOTION)
    claims = [p.text for p in ans.points]
    assert claims == ["Home working lets staff focus."], claims
    g = ans.gates
    assert g.restating_dropped == 1 and g.duplicate_dropped == 1 and g.copy_dropped == 3
    assert g.ids_in_prose_repaired >= 4
    prose = " ".join(ans.prose)
    assert not re.search(r"\b[SP]\d+\b|the sources|evidence for this claim", prose, re.I), prose
    # the AGAINST side kept no argument: it says so, and the clashes say what that side must show
    assert any("little evidence AGAINST this motion" in n for n in ans.notices), ans.notices
    assert ans.clashes[0].issue == "Little evidence AGAINST the motion in your library"
    assert ans.clashes[0].decider.startswith("To argue AGAINST, a speaker would have to show that")


def test_off_group_and_reused_ids_from_a_model_that_ignores_the_grammar(staged, any_tag) -> None:  # type: ignore[no-untyped-def]
    a, gen = staged

    def generate(messages, *, schema=None, **kw):  # type: ignore[no-untyped-def]
        if schema and "a1" in schema["properties"]:
            all_ids = [i for ids in _enums(schema).values() for i in ids]
            reply = _side_reply(schema, ["Staff focus better at home.", "AI tools pay off at home.",
                                         "Parents keep working."], evidence=all_ids + ["S999", "[9]"])
            gen.enqueue(reply)
        elif schema:
            gen.enqueue(FRAME)
        return type(gen).generate(gen, messages, schema=schema, **kw)

    gen.generate = generate  # type: ignore[method-assign]
    ans = a.brief(MOTION)
    assert ans.rejected_count == 0 and ans.gates.evidence_reused == 0
    groups = [set(ids) for c in gen.calls if c["schema"] and "a1" in c["schema"]["properties"]  # type: ignore[operator]
              for ids in _enums(c["schema"]).values()]  # type: ignore[arg-type]
    for p in ans.points:
        refs = {q.ref for q in p.quotes}
        assert any(refs <= g for g in groups), (p.text, refs)


def test_rebut_with_no_counter_evidence_says_the_sources_do_not_address_it(seeded_assistant: Assistant) -> None:
    # The stance step ranks sentences against each other (see stance.calibrate): a request whose
    # sentences all lean the same way gives no side at all, and rebut says so instead of inventing one.
    gen = FakeStanceGenerator(lambda text: "neutral")
    seeded_assistant._generator = gen
    ans = seeded_assistant.rebut("Working from home makes staff more productive")
    assert not ans.covered and ans.points == () and "do not address" in ans.notices[-1]
    assert all(c["schema"] is None or "a1" not in c["schema"]["properties"] for c in gen.calls)  # type: ignore[operator]


def test_a_brief_with_no_side_says_the_stance_step_found_none_not_that_the_sources_miss_it(
        seeded_assistant: Assistant) -> None:
    # Retrieval finds passages on the motion; only the stance step leaves both sides thin. The answer has no
    # point (not covered), and the reason given is the stance count, not "the sources do not cover this".
    seeded_assistant._generator = FakeStanceGenerator(lambda text: "oppose" if "proper work" in text else "neutral")
    ans = seeded_assistant.brief(MOTION)
    against = sum(1 for _, label in ans.stances if label == "oppose")
    assert not ans.covered and ans.points == () and ans.passages and against < 2
    assert not any("do not cover" in n for n in ans.notices), ans.notices
    assert ans.notices[-1] == (f"No side could be built: of the {len(ans.sentences)} sentences read, 0 argue FOR "
                               f"this motion and {against} AGAINST it, too few to build on; the passages found "
                               "are listed as sources.")


def test_off_topic_claim_is_not_addressed_without_calling_the_model(staged) -> None:  # type: ignore[no-untyped-def]
    a, gen = staged
    for mode in ("rebut", "steelman"):
        ans = a.run(mode, "The best sourdough needs a rye starter fed twice daily")
        assert not ans.covered and ans.points == () and "do not cover" in ans.notices[-1]
    assert gen.calls == [] and gen.scored == []


def test_ask_covered_follows_verified_points_ids_only_is_its_sentences_and_a_copy_kept_beside_own_words(staged) -> None:  # type: ignore[no-untyped-def]
    """A point that is only ids is read as the sentences it names (extractive); one naming no real sentence goes."""
    a, gen = staged

    def generate(messages, *, schema=None, **kw):  # type: ignore[no-untyped-def]
        ids = schema["properties"]["points"]["items"]["properties"]["evidence"]["items"]["enum"]
        text = _sentences({"messages": messages})
        gen.enqueue({"points": [{"text": "S1, S2, S3", "evidence": ids[:1]},
                                {"text": text[ids[1]], "evidence": ids[1:2]},
                                {"text": "Home working raised output in the studies cited.", "evidence": ids[2:3]},
                                {"text": "S999", "evidence": ["S999"]}],
                     "gaps": ""})
        return type(gen).generate(gen, messages, schema=schema, **kw)

    gen.generate = generate  # type: ignore[method-assign]
    ans = a.ask("Does working from home hurt productivity?")
    sentences = [p.verified_quotes[0].text for p in ans.points[:2]]
    assert [p.text for p in ans.points] == [*sentences, "Home working raised output in the studies cited."]
    assert ans.covered and ans.gates.ids_as_extractive == 1 and ans.gates.copy_dropped == 1
    assert ans.gates.regenerated == 0


def test_ask_answer_that_copies_its_sentence_is_an_extractive_answer(staged) -> None:  # type: ignore[no-untyped-def]
    """For a factual question the sentence itself is the best answer: kept, not rewritten, never a refusal."""
    from assistant.output.render import answer_markdown

    a, gen = staged

    def generate(messages, *, schema=None, **kw):  # type: ignore[no-untyped-def]
        ids = schema["properties"]["points"]["items"]["properties"]["evidence"]["items"]["enum"]
        text = _sentences({"messages": messages})
        gen.enqueue({"points": [{"text": text[ids[0]], "evidence": ids[:1]}], "gaps": ""})
        return type(gen).generate(gen, messages, schema=schema, **kw)

    gen.generate = generate  # type: ignore[method-assign]
    ans = a.ask("Does working from home hurt productivity?")
    assert len([c for c in gen.calls if c["schema"]]) == 1  # written once: a copy is not sent back
    assert ans.gates.regenerated == 0 and ans.covered and len(ans.points) == 1
    quote = ans.points[0].verified_quotes[0]
    shown = answer_markdown(ans)
    assert f"1. In *{quote.title}*:" in shown and shown.count(quote.text) == 1  # the quote under a lead, once


def test_ask_with_no_points_is_not_covered(staged) -> None:  # type: ignore[no-untyped-def]
    a, gen = staged
    gen.enqueue({"points": [], "gaps": "Nothing on this."})
    ans = a.ask("Does working from home hurt productivity?")
    assert not ans.covered and ans.points == ()


def test_stream_reports_sources_first_then_steps_then_the_answer(staged) -> None:  # type: ignore[no-untyped-def]
    a, gen = staged
    for _ in range(3):
        gen.enqueue({})
    events = list(a.stream("brief", MOTION))
    assert isinstance(events[0], SourcesFound) and events[0].passages  # before any model call
    assert isinstance(events[-1], Finished)
    steps = [e.step for e in events if isinstance(e, StepStarted)]
    assert steps[:2] == ["counter", "stance"] and "for" in steps and "frame_brief" in steps
    # The list from both sides' rankings, if it changed, comes before the model reads any source.
    stance_at = next(i for i, e in enumerate(events) if isinstance(e, StepStarted) and e.step == "stance")
    last_sources = max(i for i, e in enumerate(events) if isinstance(e, SourcesFound))
    assert last_sources < stance_at
    assert events[-1].answer.passages == events[last_sources].passages
    assert any(isinstance(e, Draft) for e in events)


def test_closing_the_stream_stops_the_request(staged) -> None:  # type: ignore[no-untyped-def]
    a, gen = staged
    stream = a.stream("brief", MOTION)
    first = next(stream)
    assert isinstance(first, SourcesFound)
    stream.close()  # what the page does on Stop
    assert all(c["schema"] is None for c in gen.calls)  # past the counter statement, never to a write step


def test_a_side_whose_claims_all_restate_the_motion_is_written_once_more(staged, any_tag) -> None:  # type: ignore[no-untyped-def]
    a, gen = staged
    replies = iter([[MOTION + ".", MOTION + " indeed.", MOTION + "!"],
                    ["Working from home lets staff focus on deep work.", "Autonomy turns AI tools into output."],
                    ["Junior staff miss training when remote."]])

    def generate(messages, *, schema=None, **kw):  # type: ignore[no-untyped-def]
        if schema and "a1" in schema["properties"]:
            gen.enqueue(_side_reply(schema, next(replies)))
        elif schema:
            gen.enqueue(FRAME)
        return type(gen).generate(gen, messages, schema=schema, **kw)

    gen.generate = generate  # type: ignore[method-assign]
    ans = a.brief(MOTION)
    side_calls = [c for c in gen.calls if c["schema"] and "a1" in c["schema"]["properties"]]  # type: ignore[operator]
    assert len(side_calls) == 3 and "did not say what their sentences say" in side_calls[1]["messages"][1]["content"]
    assert ans.gates.regenerated == 1 and ans.gates.restating_dropped == 3
    assert [p.section for p in ans.points].count("for") == 2


def test_tags_that_do_not_say_what_their_sentences_say_are_dropped_then_rewritten(staged) -> None:  # type: ignore[no-untyped-def]
    a, gen = staged
    made_up = ["Home working removes the daily commute.", "Cats prefer warm laptops.", "Quarterly rents fell."]
    calls = iter(["made up", "careful", "careful", "careful"])

    def generate(messages, *, schema=None, **kw):  # type: ignore[no-untyped-def]
        if schema and "a1" in schema["properties"]:
            tags = made_up if next(calls) == "made up" else _tags(schema, messages)
            gen.enqueue(_side_reply(schema, tags))
        elif schema:
            gen.enqueue(FRAME)
        return type(gen).generate(gen, messages, schema=schema, **kw)

    gen.generate = generate  # type: ignore[method-assign]
    ans = a.brief(MOTION)
    assert ans.gates.ungrounded_dropped >= 2 and ans.gates.regenerated == 1
    assert not {p.text for p in ans.points} & set(made_up)
    assert any(p.section == "for" and p.verified_quotes for p in ans.points)


def test_a_steelman_thesis_that_refuses_the_position_gives_way_to_the_position(staged, any_tag) -> None:  # type: ignore[no-untyped-def]
    """"The sources do not directly address the claim ..." is a refusal, not a thesis (gold run)."""
    a, gen = staged
    position = "Remote work makes companies more productive"

    def generate(messages, *, schema=None, **kw):  # type: ignore[no-untyped-def]
        props = (schema or {}).get("properties", {})
        if "a1" in props and "objection" in props["a1"]["properties"]:
            gen.enqueue({k: {"objection": position + ".",  # restates the position: dropped, never shown
                             "evidence": v["properties"]["evidence"]["items"]["enum"][:1],
                             "reply": "It does.", "reply_evidence": []} for k, v in props.items()})
        elif "a1" in props:
            gen.enqueue(_side_reply(schema, _tags(schema, messages)))
        elif schema:
            gen.enqueue({"thesis": "The sources do not directly address the claim, as they only present mixed "
                                   "evidence.", "gaps": []})
        return type(gen).generate(gen, messages, schema=schema, **kw)

    gen.generate = generate  # type: ignore[method-assign]
    ans = a.steelman(position)
    assert not [p for p in ans.points if p.section == "objection"] and ans.gates.restating_dropped >= 1
    assert ans.thesis == position


def test_ask_drops_a_point_its_sentences_do_not_say_and_refuses_when_none_is_left(staged) -> None:  # type: ignore[no-untyped-def]
    """The faithfulness check (P(yes) from the model) runs on points in the model's words; copies need none."""
    import math

    a, gen = staged
    made_up = "No, remote working has not pushed people out of cities."

    def generate(messages, *, schema=None, **kw):  # type: ignore[no-untyped-def]
        ids = schema["properties"]["points"]["items"]["properties"]["evidence"]["items"]["enum"]
        text = _sentences({"messages": messages})
        points = [{"text": made_up, "evidence": ids[:1]}]
        if "productivity" in messages[-1]["content"].split("QUESTION:")[-1]:
            points.append({"text": text[ids[1]], "evidence": ids[1:2]})
        gen.enqueue({"points": points, "gaps": ""})
        return type(gen).generate(gen, messages, schema=schema, **kw)

    honest = gen.label_logprobs

    def label_logprobs(messages, tails, labels, on_progress=None):  # type: ignore[no-untyped-def]
        if labels == [" yes", " no"]:
            return [{" yes": math.log(0.1 if made_up in t else 0.9), " no": math.log(0.9 if made_up in t else 0.1)}
                    for t in tails]
        return honest(messages, tails, labels, on_progress)

    gen.generate, gen.label_logprobs = generate, label_logprobs  # type: ignore[method-assign]
    ans = a.ask("Does working from home hurt productivity?")
    assert [p.text for p in ans.points] == [ans.points[0].verified_quotes[0].text]  # the copy stays, unchecked
    assert ans.covered and ans.gates.unfaithful_dropped == 1
    ans = a.ask("Has remote working pushed people out of cities?")
    assert not ans.covered and ans.points == () and ans.gates.unfaithful_dropped == 1
