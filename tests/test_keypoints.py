"""Key point analysis (writing/keypoints.py) and its ArgKP metric (evaluation/kpa_metric.py): pure logic.

The real embedder (paraphrase is what it is about; the hashed fake of ``tests/fakes.py`` puts two
paraphrases no nearer than two unrelated sentences once the shared direction is removed), each text
embedded once per session. The figures here are about the bookkeeping (prevalence, unmatched, one key
point per text); quality is measured on ArgKP (docs/evaluation.md, "Library overview").
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.evaluation.argkp import Argument, KeyPoint, Split
from assistant.evaluation.kpa_metric import track1_map
from assistant.writing import keypoints

pytestmark = pytest.mark.integration
COMMUTE = ["Remote staff save two hours of commuting every day",
           "Workers at home save hours of commuting every day",
           "Staff save the daily commuting hours when remote",
           "Commuting hours every day are saved by remote staff",
           "Remote workers save commuting time every single day"]
MOTION = "Remote work makes companies more productive"
# Other points on the same debate, each made once: no second key point, and none of them about commuting.
OTHER = ["Remote work makes mentoring junior staff harder",
         "Home offices need better chairs and desks",
         "Video calls tire remote employees by the afternoon",
         "Remote teams struggle to build trust with new managers",
         "Remote work lets firms hire talent from other countries"]
# A pool of statements on three themes and off-theme ones, for the property tests.
POOL = COMMUTE + OTHER + ["Offices help junior staff learn from mentors",
                          "Junior staff learn faster from mentors in offices",
                          "Mentors in the office teach junior staff quickly",
                          "Meetings in offices waste time for many staff",
                          "Office meetings waste staff time every week"]


def test_clauses_keep_decimals_drop_headings_questions_and_markers() -> None:
    assert keypoints.clauses("Output rose 3.5% in 2023 at firms.") == ["Output rose 3.5% in 2023 at firms"]
    assert keypoints.clauses("The Engine of the Next Industrial Revolution") == []
    assert keypoints.clauses("Is remote work better for everyone?") == []
    assert keypoints.clauses("First, remote staff save hours.") == ["Remote staff save hours"]
    assert keypoints.clauses("👉 Relationship jobs are the most secure.") == ["Relationship jobs are the most secure"]


@pytest.fixture(scope="module")
def embed(real_embedder) -> Callable[[list[str]], list[list[float]]]:  # type: ignore[no-untyped-def]
    seen: dict[str, list[float]] = {}

    def once(texts: list[str]) -> list[list[float]]:
        missing = [t for t in dict.fromkeys(texts) if t not in seen]
        seen.update(zip(missing, real_embedder.embed(missing), strict=True)) if missing else None
        return [seen[t] for t in texts]

    return once


def test_a_lone_key_point_does_not_take_sentences_about_something_else(embed) -> None:  # type: ignore[no-untyped-def]
    """With one key point, "no key point" must still compete (without it, all ten texts matched it)."""
    texts = COMMUTE + OTHER
    summary = keypoints.summarise(texts, [f"d{i}" for i in range(len(texts))], "support", embed, topic=MOTION)
    assert len(summary.key_points) == 1
    (point,) = summary.key_points
    assert set(point.sentences) <= set(range(len(COMMUTE))) and len(point.sentences) >= 3
    assert set(range(len(COMMUTE), len(texts))) <= set(summary.unmatched)


def test_prevalence_counts_documents_and_share(embed) -> None:  # type: ignore[no-untyped-def]
    texts = COMMUTE + OTHER
    docs = ["a", "a", "b", "b", "c"] + [f"x{i}" for i in range(len(OTHER))]
    (point,) = keypoints.summarise(texts, docs, "support", embed, topic=MOTION).key_points
    assert point.documents == len({docs[i] for i in point.sentences})
    assert point.share == round(len(point.sentences) / len(texts), 4)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(POOL), min_size=0, max_size=25), st.integers(1, 4), st.integers(1, 6))
def test_every_text_is_under_one_key_point_or_counted_unmatched(embed, texts: list[str], n_docs: int,  # type: ignore[no-untyped-def]
                                                                 k: int) -> None:
    docs = [f"doc{i % n_docs}" for i in range(len(texts))]
    summary = keypoints.summarise(texts, docs, "oppose", embed, k_max=k)
    listed = [i for p in summary.key_points for i in p.sentences]
    assert len(listed) == len(set(listed))  # no text under two key points
    assert not set(listed) & set(summary.unmatched)  # an unmatched text is never assigned
    assert sorted(listed + list(summary.unmatched)) == list(range(len(texts)))  # counts sum to the side
    assert summary.total == len(texts) and len(summary.key_points) <= k
    for p in summary.key_points:
        assert len(p.text.split()) <= keypoints.MAX_WORDS and p.text in keypoints.clauses(texts[p.source])
        assert p.documents == len({docs[i] for i in p.sentences}) and p.side == "oppose"
    counts = [(len(p.sentences), p.documents) for p in summary.key_points]
    assert counts == sorted(counts, reverse=True)  # most prevalent first
    assert len({p.text for p in summary.key_points}) == len(summary.key_points)


def test_track1_map_takes_the_top_half_and_counts_undecided_pairs_by_the_label_rule() -> None:
    args = [Argument(f"arg_1_{i}", "", "t", 1) for i in range(4)]
    kps = [KeyPoint("kp_1_0", "", "t", 1), KeyPoint("kp_1_1", "", "t", 1)]
    labels = {("arg_1_0", "kp_1_0"): 1, ("arg_1_2", "kp_1_0"): 1, ("arg_1_3", "kp_1_1"): 0}  # arg_1_1: undecided
    split = Split({"t": args}, {"t": kps}, labels)
    preds = {"arg_1_0": {"kp_1_0": 0.9}, "arg_1_1": {"kp_1_0": 0.8}, "arg_1_2": {"kp_1_0": 0.2},
             "arg_1_3": {"kp_1_1": 0.1}}
    got = track1_map(preds, split)
    # top half: arg_1_0 (1) then arg_1_1 (undecided: 0 strict, 1 relaxed)
    assert got["strict_2021_06"] == 1.0 and got["strict"] == 0.5
    assert got["relaxed_2021_06"] == 1.0 and got["relaxed"] == 1.0
