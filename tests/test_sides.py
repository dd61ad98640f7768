"""The sides users set ("Correct a side"): kept in the library, taken by the stance step, shown on the cards.

Real embedder and real Chroma in tmp_path. The stance model is the scripted one of the overview tests
(a sentence's side is read from its words, ``tests/test_overview.stance_of``; write steps cite the first
ids they may), so a test can set a side the model would not give and see which one wins; one test runs
the tiny GGUF through the CLI.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from assistant import Assistant, Settings
from assistant.app.session import Session
from assistant.app.ui_sides import CHOICES, card_choices, save_side, sentences
from assistant.errors import InputError
from assistant.output.history import answer_from_dict
from assistant.output.render import SIDES, answer_dict, answer_markdown
from assistant.output.sides import Sides
from assistant.types import Answer
from tests.fakes import FakeStanceGenerator
from tests.test_overview import MOTION, cli_at, library_assistant, stance_of, write_library
from tests.ui_support import CitingGenerator

pytestmark = pytest.mark.integration
SHOPS = "Banning cars from city centres hurts small shops."  # the scripted model reads it AGAINST
COUNCIL = "The city council meets on Tuesdays."  # ... and this one as neither side


class ScriptedModel(FakeStanceGenerator, CitingGenerator):
    """Stance from the sentence's words; every write step cites the first ids it may."""


@pytest.fixture
def library(tmp_path: Path, real_embedder) -> Assistant:  # type: ignore[no-untyped-def]
    return library_assistant(tmp_path, real_embedder, ScriptedModel(stance_of))


def _stance_of(answer: Answer, text: str) -> str:
    sid = next(s.sid for s in answer.sentences if s.text == text)
    return dict(answer.stances)[sid]


def _read(a: Assistant) -> set[str]:
    """The sentences the scripted model was asked about (every tail it scored)."""
    gen = a.generator
    return {m.group(1) for tails in gen.scored for t in tails if (m := re.match(r'Argument: "(.*)"\n', t, re.S))}


def test_a_side_set_wins_over_the_model_in_later_answers_and_is_marked(library: Assistant) -> None:
    first = library.run("brief", MOTION)
    assert _stance_of(first, SHOPS) == "oppose"
    assert _stance_of(library.run("overview", MOTION), COUNCIL) == "neutral"
    library.set_side(MOTION, SHOPS, "for")  # what the model would not say: the set side must win
    library.set_side(MOTION.upper() + "!", COUNCIL, "against")  # case and punctuation aside, the same request
    library.generator.scored.clear()

    again = library.run("brief", MOTION)
    assert _stance_of(again, SHOPS) == "support" and SHOPS not in _read(library)  # not read by the model at all
    assert any("of the sentences read" in n and "the side you set" in n for n in again.notices)
    cards = [(p.section, q) for p in again.points for q in p.verified_quotes if q.text == SHOPS]
    assert cards and all(section == "for" and q.corrected for section, q in cards)  # filed FOR, and marked
    assert "supports the request (side set by you)" in answer_markdown(again)
    back = answer_from_dict(json.loads(json.dumps(answer_dict(again))))  # history keeps the mark
    assert [q.corrected for p in back.points for q in p.quotes] == [q.corrected for p in again.points for q in p.quotes]
    overview = library.run("overview", MOTION)  # every mode with a stance step takes the sides set
    assert _stance_of(overview, SHOPS) == "support" and _stance_of(overview, COUNCIL) == "oppose"
    assert any("2 of the sentences read have the side you set" in n for n in overview.notices)

    other = library.run("brief", "Cities should keep cars in their centres")  # another request: the model reads
    assert not any("side you set" in n for n in other.notices)
    assert not any(q.corrected for p in other.points for q in p.quotes)

    assert library.clear_side(MOTION, SHOPS) and not library.clear_side(MOTION, SHOPS)
    assert _stance_of(library.run("brief", MOTION), SHOPS) == "oppose"


def test_a_part_of_a_sentence_sets_the_side_of_the_sentence_that_holds_it(library: Assistant) -> None:
    library.set_side(MOTION, "centres hurts small SHOPS", "neither")  # four words of it, in a row
    assert _stance_of(library.run("brief", MOTION), SHOPS) == "neutral"


def test_a_sentence_set_for_a_side_is_read_even_when_retrieval_ranks_it_low(library: Assistant) -> None:
    from tests.conftest import SEEDS

    library.ingest([SEEDS], show_progress=False)
    rose = "He said that it is 'not proper work'"  # a seeds sentence (curly quotes there) no car-ban search finds
    before = library.run("brief", MOTION, k=4)
    assert not any("not proper work" in s.text for s in before.sentences)
    library.set_side(MOTION, rose, "against")
    after = library.run("brief", MOTION, k=4)
    held = [s for s in after.sentences if "not proper work" in s.text]
    assert held and dict(after.stances)[held[0].sid] == "oppose" and len(after.passages) <= 4
    assert any("Homeward Bound" in p.chunk.title for p in after.passages)


def test_an_overview_lists_a_sentence_set_for_a_side_even_when_no_key_point_holds_it(library: Assistant) -> None:
    from tests.conftest import SEEDS

    library.ingest([SEEDS], show_progress=False)
    rose = "He said that it is 'not proper work'"  # one sentence of its kind: no key point can hold it

    def own_points(answer: Answer) -> list:  # type: ignore[type-arg]
        return [p for p in answer.points if p.reasoning.startswith("A point you set")]

    before = library.run("overview", MOTION)
    assert not own_points(before) and not any("not proper work" in q.text for p in before.points for q in p.quotes)
    library.set_side(MOTION, rose, "against")
    after = library.run("overview", MOTION)
    [own] = own_points(after)
    assert own.section == "keypoint_against" and "AGAINST" in own.reasoning
    [card] = own.verified_quotes
    assert "not proper work" in card.text and card.corrected and card.stance == "oppose"
    assert own.text.removesuffix(" …") in card.text  # the point is verbatim words of its own sentence
    assert own.prevalence is not None and (own.prevalence.sentences, own.prevalence.documents) == (1, 1)
    model_read = [p for p in after.points if p not in own_points(after)]  # key points as before: the model's
    assert [p.text for p in model_read] == [p.text for p in before.points]


@pytest.mark.parametrize("sides", [(), ("Cars pollute the air.", "Cars help shops.")])
def test_select_keeps_the_sentences_set_whatever_their_rank(sides: tuple[str, ...]) -> None:
    from assistant.types import Sentence
    from assistant.writing.pipeline import select
    from tests.fakes import FakeEmbedder

    texts = [f"Cars pollute the air, study {i} finds." for i in range(12)] + ["Zebras sleep standing up."]
    sents = [Sentence(f"S{i + 1}", 1, "c", "d", "t", 10 * i, 10 * i + 9, t) for i, t in enumerate(texts)]
    embed = FakeEmbedder().embed
    plain = select(sents, ["Cars pollute the air."], embed, 4, sides=sides)
    assert "Zebras sleep standing up." not in [x.text for x in plain]  # ranked last: cut without a side set
    kept = select(sents, ["Cars pollute the air."], embed, 4, sides=sides, keep=lambda x: x.text.startswith("Zebras"))
    assert len(kept) == 4 and kept[-1].text == "Zebras sleep standing up." and kept[-1].sid == "S4"


def test_sides_persist_in_the_library_and_bad_input_is_one_line(library: Assistant, tmp_path: Path) -> None:
    row = library.set_side(MOTION, SHOPS, "Against")
    assert row.side == "oppose" and row.doc_id and "opposes" in row.describe()
    library.close()
    reopened = Sides(tmp_path / "index" / "documents.sqlite")
    assert [(r.request, r.sentence, r.side) for r in reopened.entries()] == [(MOTION, SHOPS, "oppose")]
    shops_key = "banning cars from city centres hurts small shops"
    assert reopened.for_request(f"  {MOTION.lower()}. ") == {shops_key: "oppose"}
    reopened.close()
    a = Assistant(Settings.load(index_dir=tmp_path / "index"), embedder=library.embedder)
    for bad, said in [((MOTION, SHOPS, "sideways"), "not a side: 'sideways'"),
                      ((MOTION, "Cars are bad for everyone and everything.", "for"), "not in the library"),
                      ((MOTION, "small shops", "for"), "at least 4 words"),
                      (("  ", SHOPS, "for"), "needs the request")]:
        with pytest.raises(InputError, match=said):
            a.set_side(*bad)
    assert len(a.sides().entries()) == 1  # nothing stored was lost or changed


def test_a_repair_salvages_the_sides_set(library: Assistant, tmp_path: Path) -> None:
    from assistant.index.recover import salvage_documents

    library.set_side(MOTION, SHOPS, "neither")
    identity = library.embedder.identity
    library.close()
    salvage = salvage_documents(tmp_path / "index", identity=identity)  # what `check --repair` runs on damage
    assert salvage.counts["sides"] == (1, 0)
    again = Sides(tmp_path / "index" / "documents.sqlite")
    assert [(r.sentence, r.side) for r in again.entries()] == [(SHOPS, "neutral")]
    again.close()


def test_the_page_sets_a_side_of_a_card_of_the_last_answer(library: Assistant) -> None:
    session = Session()
    assert "Run a brief" in save_side(library, session, None, None)
    session.last = library.run("brief", MOTION)
    choices = card_choices(session)
    ref = next(r for label, r in choices if "hurts small shops" in label)
    assert any(label.startswith("[card: AGAINST]") and "hurts small shops" in label for label, _ in choices)
    assert any(label.startswith("[read: neither]") for label, _ in choices)  # sentences read, not cards, too
    assert "Choose the side" in save_side(library, session, ref, None)
    assert "Choose a card or sentence" in save_side(library, session, "S999", list(CHOICES)[0])
    said = save_side(library, session, ref, "Neither: not evidence for a side")
    assert said.startswith("✓ Saved:") and "argues neither side of" in said
    assert library.sides().for_request(MOTION) == {"banning cars from city centres hurts small shops": "neutral"}
    clear = "Clear: the model reads its side again"
    assert save_side(library, session, ref, clear).startswith("✓ Cleared") and not library.sides().entries()
    assert save_side(library, session, ref, clear).startswith("No side was set")
    save_side(library, session, ref, "Neither: not evidence for a side")
    session.last = library.run("brief", MOTION)
    shops = [label for label, _ in card_choices(session) if "hurts small shops" in label]
    assert shops == [] or shops[0].startswith("[read: neither]")  # neither: no card now
    session.last = library.run("ask", "Do car bans hurt shops?")
    assert card_choices(session) == [] and "Run a brief" in save_side(library, session, ref, list(CHOICES)[0])


def test_the_page_sets_several_sentences_on_one_side_in_one_go(library: Assistant) -> None:
    session = Session()
    session.last = library.run("brief", MOTION)
    refs = [r for _, r in card_choices(session)][:3]
    against = "Against: it opposes the request"
    assert "Choose a card or sentence" in save_side(library, session, [*refs, "S999"], against)
    assert not library.sides().entries()  # one bad pick: nothing kept
    said = save_side(library, session, [*refs, refs[0]], against)  # a pick twice counts once
    assert said.startswith("✓ Saved 3 sentences: each opposes"), said
    texts = {sentences(session.last)[r].text for r in refs}
    assert {r.sentence for r in library.sides().entries()} == texts
    assert set(library.sides().for_request(MOTION).values()) == {"oppose"}
    clear = "Clear: the model reads its side again"
    assert save_side(library, session, refs[:2], clear).startswith("✓ Cleared 2 of 2")
    assert len(library.sides().entries()) == 1
    assert save_side(library, session, refs[:2], clear).startswith("No side was set for those sentences")
    assert save_side(library, session, [], against).startswith("⚠ Choose a card")


def test_the_sides_note_is_not_shown_when_every_side_shown_was_set_by_you(library: Assistant) -> None:
    library.set_side(MOTION, SHOPS, "against")
    answer = library.run("brief", MOTION)
    assert SIDES in answer_markdown(answer)  # other cards still carry the model's reading
    from dataclasses import replace

    only_set = replace(answer, points=tuple(replace(p, quotes=tuple(q for q in p.quotes if q.corrected))
                                            for p in answer.points))
    assert "(side set by you)" in answer_markdown(only_set) and SIDES not in answer_markdown(only_set)


@pytest.mark.slow
def test_cli_sides_then_a_brief_with_the_tiny_model(tmp_path: Path) -> None:
    cli = cli_at(tmp_path / "index")
    assert cli("ingest", str(write_library(tmp_path / "library"))).returncode == 0
    setting = cli("sides", "set", MOTION, SHOPS, "for")
    assert setting.returncode == 0 and setting.stdout.startswith("✓ Set:"), setting.stderr
    assert cli("sides", "set", MOTION, COUNCIL, "against").returncode == 0
    bad = cli("sides", "set", MOTION, SHOPS, "sideways")
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0 and "not a side" in bad.stderr
    listed = json.loads(cli("sides", "list", MOTION, "--json").stdout)
    assert {(r["sentence"], r["side"]) for r in listed} == {(SHOPS, "support"), (COUNCIL, "oppose")}

    a = Assistant(Settings.load(index_dir=tmp_path / "index", model="test"))  # the CLI's embedder
    answer = a.run("brief", MOTION)  # the tiny GGUF, in-process
    shown = {s.text: dict(answer.stances)[s.sid] for s in answer.sentences}
    assert shown.get(SHOPS, "support") == "support" and shown.get(COUNCIL, "oppose") == "oppose"
    assert SHOPS in shown or COUNCIL in shown  # at least one of them was read: the test can fail
    for p in answer.points:
        for q in p.quotes:
            if q.text in (SHOPS, COUNCIL):
                assert q.corrected and p.section == ("for" if q.text == SHOPS else "against")
    a.close()
    exported = cli("sides", "export", str(tmp_path / "mine.jsonl"))
    assert exported.returncode == 0 and "eval stance --topics 0 --gold" in exported.stdout, exported.stderr
    from assistant.evaluation import stance_gold

    (item,) = stance_gold.load(tmp_path / "mine.jsonl")  # the stance evaluation reads the user's own sides
    assert item.text == MOTION and set(item.quotes) == {(SHOPS, "support"), (COUNCIL, "oppose")}
    measured = cli("--model", "test", "eval", "stance", "--topics", "0", "--gold", str(tmp_path / "mine.jsonl"),
                   "--methods", "paired", "--json")  # no ArgKP folder needed for the user's own sides
    assert measured.returncode == 0, measured.stderr
    rows = json.loads(measured.stdout)["gold_quotes"]
    assert json.dumps(rows).count('"quotes": 2') >= 1, rows
    cleared = cli("sides", "clear", MOTION, SHOPS)
    assert cleared.returncode == 0 and cli("sides", "clear", MOTION, SHOPS).returncode == 1


def test_an_overview_with_the_tiny_model_never_hides_a_sentence_set_against(tmp_path: Path) -> None:
    cli = cli_at(tmp_path / "index")
    assert cli("ingest", str(write_library(tmp_path / "library"))).returncode == 0
    assert cli("sides", "set", MOTION, COUNCIL, "against").returncode == 0  # chatter, set AGAINST by hand
    done = cli("--model", "test", "overview", MOTION, "--json")  # the tiny GGUF reads every other sentence
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    held = [(c["side"], c["reasoning"], q) for c in answer["claims"] for q in c["quotes"] if q["text"] == COUNCIL]
    assert held, "a sentence the user set AGAINST must be listed, under a key point or as a point of its own"
    for side, reasoning, q in held:
        assert side == "keypoint_against" and q["corrected"] and q["stance"] == "oppose"
        assert reasoning == "" or reasoning.startswith("A point you set AGAINST")
