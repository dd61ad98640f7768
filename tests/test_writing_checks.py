"""Checks on what the model writes (finish.py, faithful.py) and the one-sided stance evaluation (eval stance).

Pure logic gets fakes and Hypothesis; the evaluation command runs for real (the CLI in a subprocess, the
real embedder and the tiny model) on a small ArgKP-shaped folder written here, never on the shared data.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.evaluation import argkp
from assistant.writing import faithful, finish

REPO = Path(__file__).resolve().parent.parent

# -- finish: no shown field ends mid-word ---------------------------------------------------------------------

WORDS = st.sampled_from(["remote", "work", "the", "of", "saves", "time", "human-to-", "offices,", "g", "and",
                         "productivity.", "Lord", "Rose's", "view;", "it", "does", "tech", "j", "—", "(see", "it)."])


@settings(max_examples=300, deadline=None)
@given(st.lists(WORDS, min_size=1, max_size=40))
def test_trim_keeps_a_prefix_that_ends_on_a_boundary(words: list[str]) -> None:
    text = " ".join(words)
    cut = finish.trim(text)
    assert text.startswith(cut)
    if cut:
        last = cut.split()[-1].lower().strip(",;:")
        assert last not in finish.DANGLING and not cut.endswith(("-", ",", ";", ":", "—"))


def test_fit_strings_trims_only_strings_that_reached_their_cap() -> None:
    schema = {"type": "object", "properties": {
        "tag": {"type": "string", "maxLength": 40},
        "reasons": {"type": "array", "items": {"type": "string", "maxLength": 30}}}}
    data = {"tag": "Remote work saves time. It also helps f", "reasons": ["short and done.", "x" * 5 + " yz of"]}
    fitted, count = finish.fit_strings(data, schema)
    assert fitted == {"tag": "Remote work saves time.", "reasons": ["short and done.", "xxxxx yz of"]}
    assert count == 1


def test_unfinished_sees_cut_fields_and_passes_finished_ones() -> None:
    assert finish.unfinished("it does work for most tech j" + "x" * 112)  # 140 characters, the tag cap
    assert finish.unfinished("the lack of human-to-") and finish.unfinished("Lord Rose's view of the")
    assert not finish.unfinished("Offices cost money.") and not finish.unfinished("")


def test_echoes_catch_the_task_text_but_not_the_request() -> None:
    task = "- thesis: the position in one or two sentences, as its best defender would put it."
    assert finish.echoes("The position in one or two sentences, as its best defender would put it.", task)
    request = "Offices are where real collaboration happens, so remote teams fall behind"
    assert not finish.echoes(request, task + " CLAIM: " + request, request)


# -- faithful: kept, rewritten once, else a verbatim span ---------------------------------------------------

class Judge:
    """A fake model: P(yes) from a table keyed by tag; the rewrite answers from a list."""

    name = "fake"
    judge = True  # its reads decide (models.txt marks the default model so)

    def __init__(self, p_yes: dict[str, float], rewrites: list[str]) -> None:
        self.p_yes, self.rewrites, self.checked = p_yes, rewrites, []

    def label_logprobs(self, messages: Any, tails: list[str], labels: list[str]) -> list[dict[str, float]]:
        import math

        out = []
        for t in tails:
            tag = t.split('Tag: "', 1)[1].split('"\n', 1)[0]
            self.checked.append(tag)
            p = self.p_yes.get(tag, 0.9)
            out.append({" yes": math.log(p), " no": math.log(1 - p)})
        return out

    def generate(self, messages: Any, *, schema: dict[str, Any], **kw: Any) -> Any:
        from types import SimpleNamespace

        keys = list(schema["properties"])
        return SimpleNamespace(text=json.dumps(dict(zip(keys, self.rewrites, strict=False))))


def _render(name: str, **values: Any) -> str:
    return f"<{name}>"


def _embed(texts: list[str]) -> list[list[float]]:
    return [[1.0, float(len(t) % 7)] for t in texts]  # deterministic, no meaning: only the span's origin is checked


def test_settle_keeps_faithful_tags_rewrites_once_then_falls_back_to_a_verbatim_span() -> None:
    evidence = ("Prompting a machine is a cognitively demanding task that suffers under the constant "
                "distractions of a traditional cubicle farm, which is why many people work better at home.")
    cards = [("Prompting needs quiet", evidence), ("Prompting requires constant distractions", evidence),
             ("Offices are great", evidence)]
    judge = Judge({"Prompting requires constant distractions": 0.1, "Offices are great": 0.05,
                   "Offices are still great": 0.2}, ["Prompting suffers under distractions", "Offices are still great"])
    counts: dict[str, int] = {}
    tags = faithful.settle(judge, _render, _embed, cards, lambda k, n: counts.__setitem__(k, counts.get(k, 0) + n))
    assert tags[0] == "Prompting needs quiet"
    assert tags[1] == "Prompting suffers under distractions"
    assert tags[2] in evidence and 5 <= len(tags[2].split()) <= faithful.MAX_WORDS  # verbatim, never invented
    assert counts == {"unfaithful_rewritten": 1, "unfaithful_replaced": 1}


def test_a_model_whose_check_decides_nothing_shows_its_evidence_words_without_a_check_or_rewrite() -> None:
    evidence = ("Prompting a machine is a cognitively demanding task that suffers under the constant "
                "distractions of a traditional cubicle farm, which is why many people work better at home.")
    cards = [("Prompting requires constant distractions", evidence), ("many people work better at home", evidence),
             ("the constant distractions", evidence)]
    judge = Judge({"Prompting requires constant distractions": 0.9}, ["never asked"])
    judge.judge = False  # type: ignore[misc]  # the fast and test models (models.txt)
    counts: dict[str, int] = {}
    tags = faithful.settle(judge, _render, _embed, cards, lambda k, n: counts.__setitem__(k, counts.get(k, 0) + n))
    assert faithful.verbatim(tags[0], evidence) and tags[0] != cards[0][0]  # its "yes" of 0.9 is not believed
    assert tags[1] == "many people work better at home"  # already the evidence's own words: kept
    assert faithful.verbatim(tags[2], evidence) and len(tags[2].split()) >= faithful.MIN_SPAN_WORDS  # a copy too short
    assert judge.checked == [] and counts == {"unjudged_replaced": 2}  # no call read at all


def test_a_tag_that_stops_on_a_dangling_word_fails_whatever_the_model_says() -> None:
    assert not faithful.passes("Remote work is a", "Remote work is a necessity for most tech jobs.", 0.99)
    assert faithful.passes("Remote work suits most tech jobs", "Remote work is a necessity for most tech jobs.", 0.99)


GOLD_FRAGMENT = ("Despite the frantic pace of software development and the aggressive integration of machine "
                 "learning into corporate ecosystems, the anticipated surge in national productivity remains elusive.")


def test_a_tag_that_is_only_a_despite_or_while_clause_fails_and_its_span_is_the_main_clause() -> None:
    # gold-set tags (docs/evaluation.md): the sentence's subordinate clause without the point it makes
    tag = GOLD_FRAGMENT.split(",")[0]
    assert finish.unfinished(tag) and not faithful.passes(tag, GOLD_FRAGMENT, 0.99)
    assert finish.unfinished("Recent surveys suggest that while the majority of the workforce has tried the tools")
    assert not finish.unfinished("If cannabis was legalized it could be regulated")  # an ArgKP key point, no comma
    assert not finish.unfinished("Remote work helps while the offices distract")  # not at the start: a main clause
    short = "Despite the frantic pace of software development, national productivity remains stubbornly flat."

    def near_despite(texts: list[str]) -> list[list[float]]:  # the lone clause is nearest the whole sentence
        return [[1.0, 1.0] if t.startswith("Despite") else [1.0, 0.0] for t in texts]

    assert faithful.verbatim_span(short, near_despite) == "national productivity remains stubbornly flat."


def test_the_rebuttal_speech_agrees_in_number() -> None:
    from assistant.types import Point, Quote
    from assistant.writing.frames import speech

    def card(tag: str) -> Point:
        return Point("weak_point", tag, quotes=(Quote("S1", True, title="An essay", text="Offices cost money."),))

    assert speech("Offices pay", [card("Offices cost")]).endswith("So 1 piece of evidence stands against it.")
    assert speech("Offices pay", [card("a"), card("b")]).endswith("So 2 pieces of evidence stand against it.")


def test_the_line_code_writes_for_an_unaddressed_claim_is_not_counted_as_the_model_naming_the_sources() -> None:
    from assistant.types import Answer, Point, Quote
    from assistant.writing import gates

    def embed(texts: list[str]) -> list[list[float]]:
        return [[1.0, 0.0] for _ in texts]

    refused = Answer("rebut", "Offices pay", "m", (), (), covered=False, gaps=(gates.NO_OPPOSE,))
    assert gates.measure(refused, embed)["ids_in_prose"] == 0
    quote = (Quote("S1", True, title="An essay", text="Offices cost money."),)
    talking = Answer("rebut", "Offices pay", "m", (), (Point("weak_point", "As S1 shows, offices cost", quotes=quote),),
                     gaps=("The sources do not say what homes cost.",))
    assert gates.measure(talking, embed)["ids_in_prose"] == 2  # the model's own words still count


def test_a_tag_in_another_script_fails_whatever_the_model_says() -> None:
    assert not faithful.passes("laws protect他们的 rights", "Laws protect their rights.", 0.99)
    assert faithful.passes("Laws protect rights", "Laws protect their rights.", 0.99)


# -- the one-sided stance evaluation ---------------------------------------------------------------------------

PRO = ["School uniforms save families money on clothes.", "Uniforms stop bullying over brands.",
       "Uniforms make pupils feel part of one school.", "Uniforms save time every morning.",
       "Uniforms make strangers on the grounds easy to spot.", "Uniforms prepare pupils for work dress codes.",
       "Uniforms reduce competition over fashion.", "Uniforms help teachers keep order on trips."]
CON = ["Uniforms stop pupils expressing themselves.", "Uniforms cost poor families extra money.",
       "Uniforms are uncomfortable in hot weather.", "Uniforms do not improve grades.",
       "Uniforms teach conformity, not thought.", "Uniforms ignore cultural dress.",
       "Uniforms are a needless rule.", "Uniforms make pupils resent the school."]
OTHER = ["Cars pollute city air.", "Cars give families freedom.", "Cars are loud.", "Cars cause accidents."]


def write_mixes(folder: Path) -> Path:
    uniforms, cars = "We should adopt school uniforms", "We should ban cars"
    rows = ([(f"u{i}", t, uniforms, 1) for i, t in enumerate(PRO)]
            + [(f"v{i}", t, uniforms, -1) for i, t in enumerate(CON)]
            + [(f"c{i}", t, cars, 1 - 2 * (i % 2)) for i, t in enumerate(OTHER)])
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "arguments_dev.csv").open("w", newline="") as f:
        csv.writer(f).writerows([("arg_id", "argument", "topic", "stance"), *rows])
    for name, header in (("key_points_dev.csv", ("key_point_id", "key_point", "topic", "stance")),
                         ("labels_dev.csv", ("arg_id", "key_point_id", "label"))):
        with (folder / name).open("w", newline="") as f:
            csv.writer(f).writerow(header)
    return folder


def test_mixed_requests_hold_every_mix_with_off_topic_distractors(tmp_path: Path) -> None:
    data = argkp.load(write_mixes(tmp_path / "argkp"), "dev")
    requests = argkp.mixed_requests(data, topics=["We should adopt school uniforms"])
    assert [r.mix for r in requests] == list(argkp.MIXES)
    for r in requests:
        n_pro, n_con = argkp.MIXES[r.mix]
        assert sum(a.stance == 1 for a in r.arguments) == n_pro and sum(a.stance == -1 for a in r.arguments) == n_con
        assert len(r.off_topic) == argkp.OFF_TOPIC and all(a.topic == "We should ban cars" for a in r.off_topic)
    assert requests == argkp.mixed_requests(data, topics=["We should adopt school uniforms"])  # same seed, same draw


def _cli(*args: str, index: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ASSISTANT_INDEX": str(index)}
    return subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=600)


@pytest.mark.integration
def test_eval_stance_reports_every_mix_for_every_method_on_the_tiny_model(tmp_path: Path) -> None:
    folder = write_mixes(tmp_path / "argkp")
    out = tmp_path / "stance.json"
    proc = _cli("--model", "test", "eval", "stance", str(folder), "--split", "dev", "--topics", "1",
                "--methods", "contrast,paired", "--out", str(out), index=tmp_path / "index")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())["stance_mixes"]
    for method in ("contrast", "paired"):
        assert set(result[method]) == {*argkp.MIXES, "all"}
        for row in result[method].values():
            assert row["right"] + row["wrong"] + row["neutral"] == pytest.approx(1, abs=0.01)
            assert row["arguments"] == 8 * row["requests"] and 0 <= row["off_topic_neutral"] <= 1
    assert "| paired | all pro |" in proc.stdout


@pytest.mark.integration
def test_eval_stance_scores_the_gold_quotes_alone_with_two_probes_on_the_tiny_model(tmp_path: Path) -> None:
    """``--topics 0 --gold FILE``: the gold set's quotes only, a method per probe file, each quote counted once."""
    folder = write_mixes(tmp_path / "argkp")
    gold = tmp_path / "gold.jsonl"
    rows = [{"id": "m1", "kind": "motion", "text": "Remote work makes companies more productive",
             "support": [{"doc": "d", "quote": "Remote workers produced 13% more calls in a two-year trial."}],
             "oppose": [{"doc": "d", "quote": "Managers say junior staff learn less at home. They miss the office."}]},
            {"id": "q1", "kind": "question", "text": "Who said it?"}]  # no quotes: not a request
    gold.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "stance.json"
    proc = _cli("--model", "test", "eval", "stance", str(folder), "--topics", "0", "--gold", str(gold),
                "--methods", "paired,paired:zero-shot,paired:" + str(REPO / "assistant/data/stance_probe.npz"),
                "--out", str(out),
                index=tmp_path / "index")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    assert all(r["all"]["arguments"] == 0 for r in data["stance_mixes"].values())  # no mixes were read
    assert len(data["gold_quotes"]) == 3
    for result in data["gold_quotes"].values():
        assert result["support"]["quotes"] == 1 and result["oppose"]["quotes"] == 1 and result["all"]["quotes"] == 2
        assert result["all"]["right"] + result["all"]["wrong"] + result["all"]["neutral"] == pytest.approx(1)
    assert "| paired | all | 2 |" in proc.stdout and "(--topics 0)" in proc.stdout


@pytest.mark.parametrize(("body", "says"), [
    ("[1, 2]\n", ":1: not a gold item"), ('{"id": "x", "text": "t", "support": [{"doc": "d"}]}\n', "KeyError"),
    ("nope\n", ":1: not a gold item"), ('{"id": "x", "text": "t"}\n', "no gold item has support or oppose quotes")])
def test_a_bad_gold_file_for_the_stance_quotes_is_one_clear_error(tmp_path: Path, body: str, says: str) -> None:
    from assistant.errors import InputError
    from assistant.evaluation import stance_gold

    (tmp_path / "gold.jsonl").write_text(body)
    with pytest.raises(InputError, match=says):
        stance_gold.load(tmp_path / "gold.jsonl")


def test_eval_stance_refuses_a_missing_folder_and_an_unknown_method_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "m1", "support": [{"quote": "x"}]}\n')  # no text
    for args in (("eval", "stance", str(tmp_path / "nowhere")),
                 ("eval", "stance", str(write_mixes(tmp_path / "argkp")), "--split", "dev", "--methods", "guess"),
                 ("eval", "stance", str(tmp_path / "argkp"), "--methods", "contrast:" + str(bad)),
                 ("eval", "stance", str(tmp_path / "argkp"), "--methods", "paired:" + str(bad)),  # not a probe
                 ("eval", "stance", str(tmp_path / "argkp"), "--methods", "paired:" + str(tmp_path / "none.npz")),
                 ("eval", "stance", str(tmp_path / "argkp"), "--topics", "0", "--gold", str(bad))):
        proc = _cli("--model", "test", *args, index=tmp_path / "index")
        assert proc.returncode == 2 and proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1, proc.stderr


# -- the shipped stance read-out ---------------------------------------------------------------------------


def test_the_shipped_stance_probe_belongs_to_the_default_model_and_gives_probabilities() -> None:
    import numpy as np

    from assistant import Settings
    from assistant.llm import models
    from assistant.writing import stance_probe

    probe = stance_probe.load_probe()
    assert probe is not None, "assistant/data/stance_probe.npz is missing (eval/fit_stance_probe.py writes it)"
    s = Settings.load()
    entry = models.find_entry(models.load_registry(s.models_file), "default")
    assert probe.model == entry.name
    n = probe.width
    assert probe.weights.shape == (3, 2 * n) and 0.34 <= probe.threshold < 1
    assert len(probe.ids) == n if probe.layer < 0 else len(probe.ids) == 0  # logits at ids, or a layer's states
    rng = np.random.default_rng(0)
    scored = probe.scores(rng.normal(size=(4, n)), rng.normal(size=(4, n)))
    assert all(abs(x.support + x.oppose + x.neutral - 1) < 1e-5 for x in scored)
    assert stance_probe.load_probe(Path("/nonexistent/probe.npz")) is None  # then the zero-shot read-out is used


def test_the_probe_scores_no_sentences_without_reading_the_model() -> None:
    from assistant.writing import stance_probe
    from tests.fakes import FakeStanceGenerator

    gen = FakeStanceGenerator(lambda text: "support")
    gen.name = stance_probe.load_probe().model  # the shipped probe's path (its centring once failed on no rows)
    scored, need = stance_probe.score(gen, lambda name, **v: name, "Motion", "Opposite", [])
    assert scored == [] and 0 < need < 1 and gen.scored == []


def test_the_probe_files_a_sentence_under_one_side_of_a_motion_and_the_other_of_its_opposite() -> None:
    """Issue 19: swapping motion and opposite turns ``(D, S)`` into ``(-D, S)``; the sides must exchange.

    The fitted probe alone did not (a sentence came out AGAINST "a four-day week makes companies more
    productive" and AGAINST "... less productive", 0.93 and 0.86): its side leaned on the sentence's words.
    Property-tested over random features and random probes, and on the shipped one.
    """
    import numpy as np
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from assistant.writing import stance_probe

    shipped = stance_probe.load_probe()
    assert shipped is not None

    @settings(max_examples=50, deadline=None, derandomize=True)
    @given(seed=st.integers(0, 2**32 - 1), rows=st.integers(1, 5), scale=st.floats(0.01, 50.0),
           use_shipped=st.booleans())
    def swapped_sides_exchange(seed: int, rows: int, scale: float, use_shipped: bool) -> None:
        rng = np.random.default_rng(seed)
        if use_shipped:
            probe, n = shipped, shipped.width
        else:
            n = 7
            probe = stance_probe.Probe("m", np.arange(n), rng.normal(size=(3, 2 * n)) * scale,
                                       rng.normal(size=3) * scale, 0.9)
        d, s = rng.normal(size=(rows, n)) * scale, rng.normal(size=(rows, n)) * scale
        for a, b in zip(probe.scores(d, s), probe.scores(-d, s), strict=True):
            assert abs(a.support - b.oppose) < 1e-6 and abs(a.oppose - b.support) < 1e-6
            assert abs(a.neutral - b.neutral) < 1e-6
        nothing = probe.scores(np.zeros((1, n)), s[:1])[0]  # no difference between orientations: no side
        assert abs(nothing.support - nothing.oppose) < 1e-6

    swapped_sides_exchange()


def test_a_brief_side_with_fewer_than_two_labelled_sentences_is_not_written() -> None:
    """Issue 19: a thin side would only be dropped by ``thin_sides``; the model must not spend a call on it."""
    from assistant.types import Sentence
    from assistant.writing import modes
    from assistant.writing.stance import Stance
    from assistant.writing.steps import Context

    sentences = [Sentence(f"S{i}", i, f"c{i}", "d", "T", 0, 10, f"Sentence {i}.") for i in (1, 2, 3)]
    ctx = Context("brief", "M", [], sentences, None, Path("."), 0.0, lambda e: None,  # type: ignore[arg-type]
                  _embed, lambda d: "")
    ctx.stances = {"S1": Stance("S1", "support", 3.0, 0.0), "S2": Stance("S2", "support", 2.0, 0.0),
                   "S3": Stance("S3", "oppose", -3.0, 0.0)}
    steps = {s.name: s for s in modes.MODES["brief"].steps}
    assert steps["for"].schema(ctx) is not None  # type: ignore[misc]
    assert steps["against"].schema(ctx) is None  # type: ignore[misc]  # one sentence: skipped
    ctx.stances["S2"] = Stance("S2", "oppose", -2.0, 0.0)
    assert steps["against"].schema(ctx) is not None  # type: ignore[misc]
